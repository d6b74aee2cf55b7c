"""Doses, weights and observations sent from the tablet's offline queue (issue 12).

The queue (static/js/bench-queue.js) posts each entry with its client UUID and the header
X-Bench-Client, and may send it again: after a lost answer, after a reload, from two
flushes at once. The server stores an entry once, answers a replay with the stored record,
refuses a UUID reused for other content (409, in plain words) and never answers hostile
input with a server error or a half-written record.
"""

import json
import re
import threading
import uuid
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection, connections
from django.urls import reverse

from animals import services
from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from labstudy.models import Membership, Role, Study
from tests.worlds import make_bench_study

QUEUED = {"HTTP_HX_REQUEST": "true", "HTTP_X_BENCH_CLIENT": "1"}


def outcome(response) -> tuple[int, str, str]:
    """What the queue reads: status, X-Bench-Result, the message (decoded)."""
    return (
        response.status_code,
        response.headers.get("X-Bench-Result", ""),
        unquote(response.headers.get("X-Bench-Message", "")),
    )


def post_dose(client, bench, form_id, *, code="R02", status="given", reason="", **extra):
    url = reverse("bench_dose_record", args=[bench.study.slug, bench.animals[code].pk])
    data = {"date": bench.today.isoformat(), "status": status, "reason": reason}
    data["client_uuid"] = str(form_id)
    return client.post(url, {**data, **extra}, **QUEUED)


def post_weight(client, bench, form_id, grams="305", *, code="R01", **extra):
    url = reverse("bench_weight_record", args=[bench.study.slug, bench.animals[code].pk])
    data = {"date": bench.today.isoformat(), "grams": grams, "client_uuid": str(form_id)}
    return client.post(url, {**data, **extra}, **QUEUED)


def post_observation(client, bench, form_id, *, code="R02", terms=("sedation",), **extra):
    url = reverse("bench_observations", args=[bench.study.slug])
    data = {
        "date": bench.today.isoformat(),
        "animal": str(bench.animals[code].pk),
        "terms": list(terms),
        "severity": "mild",
        "notes": "",
        "client_uuid": str(form_id),
    }
    return client.post(url, {**data, **extra}, **QUEUED)


def stored() -> tuple[int, int, int]:
    return (
        DoseAdministration.objects.count(),
        BodyWeight.objects.count(),
        Observation.objects.count(),
    )


def written() -> tuple[int, ...]:
    """Every bench record and every change to one (history rows), and animals' changes."""
    return (
        *stored(),
        DoseAdministration.history.count(),
        BodyWeight.history.count(),
        Observation.history.count(),
        Animal.history.count(),
    )


# ---------------------------------------------------------------------------
# A replay is the stored record, once


@pytest.mark.django_db
def test_a_dose_replayed_is_stored_once_and_answered_with_the_stored_mark(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    first = post_dose(client, bench, form_id)
    assert outcome(first) == (200, "created", "R02: dose given.")
    again = post_dose(client, bench, form_id)
    assert outcome(again) == (200, "duplicate", "R02: dose given (already saved).")
    assert "✓ Given" in again.content.decode()  # the row the tablet swaps in
    dose = DoseAdministration.objects.get()
    assert (dose.client_uuid, dose.status, dose.history.count()) == (form_id, "given", 1)


@pytest.mark.django_db
def test_a_dose_replayed_after_the_study_was_locked_still_finds_its_record(
    client_for, bench, people
):
    """The answer was lost, then the study was locked: the replay is not a refusal."""
    client = client_for("technician")
    form_id = uuid.uuid4()
    post_dose(client, bench, form_id)
    Study.objects.filter(pk=bench.study.pk).update(status=Study.Status.LOCKED)
    assert outcome(post_dose(client, bench, form_id))[:2] == (200, "duplicate")
    assert DoseAdministration.objects.count() == 1


@pytest.mark.django_db
def test_a_dose_id_reused_for_another_mark_is_a_409_in_plain_words(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    post_dose(client, bench, form_id)
    status, result, message = outcome(
        post_dose(client, bench, form_id, status="refused", reason="struggled")
    )
    assert (status, result) == (409, "conflict:reused")
    assert message == (
        f"This form was already used to save a dose marked given on {bench.today:%d %b %Y}. "
        "To record this as another entry, save again."
    )
    status, result, message = outcome(post_dose(client, bench, form_id, code="R03"))
    assert (status, result) == (409, "conflict:reused")
    assert "already used to save a dose for another animal" in message
    assert list(DoseAdministration.objects.values_list("animal__code", "status")) == [
        ("R02", "given")
    ]


@pytest.mark.django_db
def test_a_weight_replayed_is_stored_once_and_other_grams_under_its_id_is_a_409(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    assert outcome(post_weight(client, bench, form_id, "305,5")) == (
        200,
        "created",
        "R01: 305.5 g saved.",
    )
    assert outcome(post_weight(client, bench, form_id, "305.5")) == (
        200,
        "duplicate",
        "R01: 305.5 g saved (already saved).",
    )
    status, result, message = outcome(post_weight(client, bench, form_id, "306"))
    assert (status, result) == (409, "conflict:reused")
    assert message.startswith("This form was already used to save 305.5 g on")
    today = BodyWeight.objects.filter(date=bench.today)
    assert list(today.values_list("grams", "client_uuid")) == [(Decimal("305.5"), form_id)]


@pytest.mark.django_db
def test_an_observation_replayed_is_stored_once_and_other_terms_under_its_id_is_a_409(
    client_for, bench
):
    client = client_for("technician")
    form_id = uuid.uuid4()
    terms = ("hematuria", "sedation")
    assert outcome(post_observation(client, bench, form_id, terms=terms)) == (
        200,
        "created",
        "R02: recorded hematuria, sedation.",
    )
    status, result, message = outcome(post_observation(client, bench, form_id, terms=terms))
    assert (status, result, message) == (200, "duplicate", message)
    assert message == "R02: recorded hematuria, sedation (already saved)."
    status, result, message = outcome(post_observation(client, bench, form_id, terms=("autotomy",)))
    assert (status, result) == (409, "conflict:reused")
    assert message.startswith("This form was already used to save hematuria, sedation on")
    rows = Observation.objects.order_by("term").values_list("term", "client_uuid")
    assert list(rows) == [("hematuria", form_id), ("sedation", form_id)]


@pytest.mark.django_db
def test_a_term_sent_twice_in_one_observation_is_one_row(client_for, bench):
    client = client_for("technician")
    response = post_observation(client, bench, uuid.uuid4(), terms=("sedation", "sedation"))
    assert outcome(response)[:2] == (200, "created")
    assert list(Observation.objects.values_list("term", flat=True)) == ["sedation"]


# ---------------------------------------------------------------------------
# Refused meanwhile: the reason, in words, with a 409


@pytest.mark.django_db
def test_what_changed_meanwhile_is_a_409_with_the_reason(client_for, bench, people):
    client = client_for("technician")
    services.change_animal_status(
        animal=bench.animals["R03"],
        status="excluded",
        date=bench.today,
        reason="autotomy",
        user=people["investigator"],
    )
    status, result, message = outcome(post_dose(client, bench, uuid.uuid4(), code="R03"))
    assert (status, result) == (409, "conflict:refused")
    assert (
        message
        == f"R03 is marked excluded since {bench.today:%d %b %Y}: no dose is recorded for it."
    )

    Study.objects.filter(pk=bench.study.pk).update(status=Study.Status.LOCKED)
    refusal = Study.objects.get(pk=bench.study.pk).recording_refusal()
    for response in (
        post_dose(client, bench, uuid.uuid4()),
        post_weight(client, bench, uuid.uuid4()),
        post_observation(client, bench, uuid.uuid4()),
    ):
        assert outcome(response) == (409, "conflict:refused", refusal)
    assert stored() == (0, 4, 0)  # the four weights of a week ago only


@pytest.mark.django_db
def test_a_second_weight_that_day_comes_back_as_a_question_not_a_record(client_for, bench):
    client = client_for("technician")
    post_weight(client, bench, uuid.uuid4(), "305")
    status, result, message = outcome(post_weight(client, bench, uuid.uuid4(), "306"))
    assert (status, result) == (409, "conflict:confirm")
    assert "R01 already has a weight on" in message and "(305.0 g)" in message
    assert BodyWeight.objects.filter(date=bench.today).count() == 1


# ---------------------------------------------------------------------------
# Hostile input: a message, never a 500, nothing half-written

LONG = "x" * 10_000
SCRIPT = "<script>alert(1)</script>"
HOSTILE_IDS = ["not-a-uuid", LONG, SCRIPT, "00000000-0000-0000-0000-00000000000g", " "]


@pytest.mark.django_db
@pytest.mark.parametrize("form_id", HOSTILE_IDS)
@pytest.mark.parametrize("post", [post_dose, post_weight, post_observation])
def test_a_form_id_that_is_not_a_uuid_is_a_message(client_for, bench, post, form_id):
    client = client_for("technician")
    before = written()
    status, result, message = outcome(post(client, bench, form_id))
    if form_id == " ":  # blank: an old page without ids; saved once all the same
        assert (status, result) == (200, "created")
        return
    assert (status, result) == (400, "invalid")
    assert message == "This form is out of date: reload the page and enter it again."
    assert written() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("post", "field", "value", "words"),
    [
        (post_dose, "reason", LONG, "Reason: Ensure this value has at most 300 characters"),
        (post_dose, "status", SCRIPT, "Status: Select a valid choice"),
        (post_dose, "date", LONG, "Date: Enter a valid date"),
        (post_weight, "grams", LONG, "Enter the weight in grams"),
        (post_weight, "grams", SCRIPT, "Enter the weight in grams"),
        (post_weight, "date", "9999-12-31", "outside the dates the bench records"),
        (post_observation, "notes", LONG, "Notes: Ensure this value has at most 1000"),
        (post_observation, "terms", SCRIPT, "Terms: Select a valid choice"),
        (post_observation, "animal", SCRIPT, "Pick the animal."),
        (post_observation, "severity", LONG, "Severity: Select a valid choice"),
    ],
)
def test_hostile_fields_are_a_message_and_nothing_is_written(
    client_for, bench, post, field, value, words
):
    client = client_for("technician")
    before = written()
    response = post(client, bench, uuid.uuid4(), **{field: value})
    status, result, message = outcome(response)
    assert status in (400, 409) and result in ("invalid", "conflict:refused"), message
    assert words in message
    assert SCRIPT not in response.content.decode()  # never echoed as markup
    assert written() == before


@pytest.mark.django_db
def test_markup_in_a_note_is_stored_as_typed_and_shown_as_text(client_for, bench):
    client = client_for("technician")
    notes = f"{SCRIPT} wound looks {'<b>'}fine"
    assert outcome(post_observation(client, bench, uuid.uuid4(), notes=notes))[1] == "created"
    assert Observation.objects.get().notes == notes
    page = client.get(reverse("bench_observations", args=[bench.study.slug])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; wound looks &lt;b&gt;fine" in page
    assert SCRIPT not in page


@pytest.mark.django_db
def test_an_animal_of_another_study_is_a_404_for_doses_and_a_message_for_observations(
    client_for, bench, small_study
):
    client = client_for("technician")
    stranger = Animal.objects.exclude(study=bench.study).first()
    url = reverse("bench_dose_record", args=[bench.study.slug, stranger.pk])
    response = client.post(url, {"date": bench.today.isoformat(), "status": "given"}, **QUEUED)
    assert response.status_code == 404
    response = post_observation(client, bench, uuid.uuid4(), animal=str(stranger.pk))
    assert outcome(response) == (409, "conflict:refused", "This animal is not in this study.")
    assert not Observation.objects.filter(animal__study=bench.study).exists()


# ---------------------------------------------------------------------------
# Two copies at the same moment (PostgreSQL: SQLite serialises writers with a file lock)


def _at_once(*works) -> tuple[list, list]:
    barrier = threading.Barrier(len(works))
    results, errors = [], []

    def run(work) -> None:
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(w,)) for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


def _animal(bench, code) -> Animal:
    return Animal.objects.select_related("study", "group").get(pk=bench.animals[code].pk)


def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in CI's DATABASE_URL=postgres://... pass")


@pytest.mark.django_db(transaction=True)
def test_a_dose_replayed_twice_at_once_is_one_record(study):
    _needs_postgres()
    bench = make_bench_study(study)
    form_id = uuid.uuid4()

    def mark():
        return services.record_dose(
            animal=_animal(bench, "R03"),
            date=bench.today,
            status="given",
            user=None,
            client_uuid=form_id,
        )

    results, errors = _at_once(mark, mark)
    assert errors == []
    assert sorted(d.already_saved for d in results) == [False, True]
    assert list(DoseAdministration.objects.values_list("client_uuid", flat=True)) == [form_id]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("what", ["dose", "weight", "observation"])
def test_one_id_for_two_animals_at_once_stores_one_and_refuses_the_other(study, what):
    """Only a tampered queue sends this; the unique id still holds, with a message."""
    _needs_postgres()
    bench = make_bench_study(study)
    form_id = uuid.uuid4()

    def save(code):
        animal = _animal(bench, code)
        if what == "dose":
            return lambda: services.record_dose(
                animal=animal, date=bench.today, status="given", user=None, client_uuid=form_id
            )
        if what == "weight":
            return lambda: services.record_weight(
                animal=animal,
                grams=Decimal("305"),
                date=bench.today,
                user=None,
                client_uuid=form_id,
            )
        return lambda: services.record_observations(
            animal=animal,
            date=bench.today,
            terms=["sedation"],
            notes="",
            severity="",
            user=None,
            client_uuid=form_id,
        )

    results, errors = _at_once(save("R02"), save("R03"))
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], services.FormReused), repr(errors[0])
    assert "This form was already used to save" in " ".join(errors[0].messages)
    model = {"dose": DoseAdministration, "weight": BodyWeight, "observation": Observation}[what]
    assert model.objects.filter(client_uuid=form_id).count() == 1


# ---------------------------------------------------------------------------
# The day list keeps these pages for offline reloads (its "precache" list)


@pytest.mark.django_db
def test_the_day_list_keeps_the_form_pages_a_person_may_open(client, client_for, bench, make_user):
    def precached(client) -> list[str]:
        html = client.get(reverse("bench_today", args=[bench.study.slug])).content.decode()
        found = re.search(
            r'<script id="bench-precache" type="application/json">(.*?)</script>', html
        )
        return json.loads(found.group(1))

    base = f"/s/{bench.study.slug}/bench/"
    day = f"?date={bench.today.isoformat()}"
    pages = precached(client_for("technician"))
    for name in ("doses", "weights", "observations"):
        assert f"{base}{name}/" in pages and f"{base}{name}/{day}" in pages
    # The cage-card QR reader, so Scan cage works after the Wi-Fi dropped.
    reader = [page for page in pages if page.endswith(".js")]
    assert len(reader) == 1 and "jsqr" in reader[0].lower()
    assert finders.find(reader[0].removeprefix(settings.STATIC_URL)) is not None
    tester = make_user("tom")
    Membership.objects.create(user=tester, study=bench.study, role=Role.TESTER)
    client.force_login(tester)
    pages = precached(client)
    assert f"{base}weights/" in pages and f"{base}observations/" in pages
    assert not any("/doses/" in page for page in pages)  # a tester never sees the worksheet
