"""A weight or observation form sent twice (answer lost on patchy Wi-Fi, a second tap on
Save, an htmx retry) is stored once: each form carries an id made when it is shown."""

import re
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse

from animals import services
from animals.models import Animal, BodyWeight, Observation
from tests.worlds import make_bench_study


def form_ids(html: str) -> list[str]:
    return re.findall(r'name="client_uuid" value="([^"]*)"', html)


def post_weight(client, bench, grams, form_id, *, code="R01", confirm=False) -> str:
    data = {"date": bench.today.isoformat(), "grams": grams, "client_uuid": str(form_id)}
    if confirm:
        data["confirm"] = "1"
    url = reverse("bench_weight_record", args=[bench.study.slug, bench.animals[code].pk])
    return client.post(url, data, HTTP_HX_REQUEST="true").content.decode()


def weights_today(bench, code="R01") -> list[Decimal]:
    return list(
        BodyWeight.objects.filter(animal=bench.animals[code], date=bench.today)
        .order_by("pk")
        .values_list("grams", flat=True)
    )


@pytest.mark.django_db
def test_each_weight_form_has_its_own_id_and_a_reload_makes_new_ones(client_for, bench):
    client = client_for("technician")
    url = reverse("bench_weights", args=[bench.study.slug])
    first = form_ids(client.get(url).content.decode())
    again = form_ids(client.get(url).content.decode())
    assert len(first) == len(set(first)) == 4
    assert all(uuid.UUID(value) for value in first)
    assert not set(first) & set(again)


@pytest.mark.django_db
def test_the_same_weight_sent_twice_is_stored_once(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    first = post_weight(client, bench, "312,4", form_id)
    second = post_weight(client, bench, "312,4", form_id)
    assert "R01: 312.4 g saved." in first
    assert "R01: 312.4 g saved (already saved)." in second
    assert "<strong>312.4 g</strong>" in second  # the row still shows the day's weight
    assert weights_today(bench) == [Decimal("312.4")]
    stored = BodyWeight.objects.get(date=bench.today)
    assert (stored.client_uuid, stored.history.count()) == (form_id, 1)
    # After a save the row's form has a new id, so the next weight is a new record.
    assert form_ids(first) != [str(form_id)] and form_ids(second) != [str(form_id)]


@pytest.mark.django_db
def test_two_forms_with_different_ids_store_two_weights_once_confirmed(client_for, bench):
    """A second weight on one day is asked about first (attack probe F9: five weights of
    one rat in a day, none questioned); confirmed, it is a second record."""
    client = client_for("technician")
    post_weight(client, bench, "305", uuid.uuid4())
    second = uuid.uuid4()
    asked = post_weight(client, bench, "306", second)
    assert "R01 already has a weight on" in asked and "(305.0 g)" in asked
    assert weights_today(bench) == [Decimal("305.0")]
    html = post_weight(client, bench, "306", second, confirm=True)
    assert "R01: 306.0 g saved." in html and "(already saved)" not in html
    assert weights_today(bench) == [Decimal("305.0"), Decimal("306.0")]


@pytest.mark.django_db
def test_a_refused_weight_corrected_with_the_same_id_is_one_record(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    refused = post_weight(client, bench, "5000", form_id)
    assert "is not a plausible rat weight" in refused
    assert form_ids(refused) == [str(form_id)]  # shown again with the same id
    assert "R01: 310.0 g saved." in post_weight(client, bench, "310", form_id)
    assert "(already saved)" in post_weight(client, bench, "310", form_id)
    assert weights_today(bench) == [Decimal("310.0")]


@pytest.mark.django_db
def test_a_confirmed_big_change_sent_twice_is_saved_once(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    asked = post_weight(client, bench, "340", form_id)  # +13 % from 300 g
    assert "Save it anyway?" in asked and form_ids(asked) == [str(form_id)]
    assert weights_today(bench) == []
    assert "R01: 340.0 g saved." in post_weight(client, bench, "340", form_id, confirm=True)
    resent = post_weight(client, bench, "340", form_id, confirm=True)
    assert "R01: 340.0 g saved (already saved)." in resent
    # Even the unconfirmed first post arriving late finds the saved weight.
    assert "(already saved)" in post_weight(client, bench, "340", form_id)
    assert weights_today(bench) == [Decimal("340.0")]


@pytest.mark.django_db
def test_a_used_form_id_with_another_weight_is_refused_not_dropped(client_for, bench):
    """A page from the tablet's offline copy carries an id already used: a different
    weight under it is not a resend, so it must not vanish as "already saved"."""
    client = client_for("technician")
    form_id = uuid.uuid4()
    post_weight(client, bench, "305", form_id)
    html = post_weight(client, bench, "312", form_id)
    assert "This form was already used to save 305.0 g on" in html
    assert "save again" in html and "alert-danger" in html
    assert weights_today(bench) == [Decimal("305.0")]
    (new_id,) = form_ids(html)
    assert new_id != str(form_id)
    # A second weight that day is asked about, then saved under the new id.
    assert "R01 already has a weight on" in post_weight(client, bench, "312", new_id)
    assert "R01: 312.0 g saved." in post_weight(client, bench, "312", new_id, confirm=True)
    assert weights_today(bench) == [Decimal("305.0"), Decimal("312.0")]


@pytest.mark.django_db
def test_a_form_id_of_another_animal_is_refused(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    post_weight(client, bench, "305", form_id, code="R01")
    html = post_weight(client, bench, "305", form_id, code="R02")
    assert "already used to save an entry for another animal" in html
    assert weights_today(bench, "R02") == []
    assert weights_today(bench, "R01") == [Decimal("305.0")]


@pytest.mark.django_db
def test_a_damaged_form_id_is_refused_and_nothing_is_stored(client_for, bench):
    html = post_weight(client_for("technician"), bench, "305", "not-a-uuid")
    assert "This form is out of date: reload the page" in html
    assert weights_today(bench) == []


# ---------------------------------------------------------------------------
# Observations


def post_observation(client, bench, form_id, *, code="R02", terms=("hematuria", "sedation")):
    return client.post(
        reverse("bench_observations", args=[bench.study.slug]),
        {
            "date": bench.today.isoformat(),
            "animal": bench.animals[code].pk,
            "terms": list(terms),
            "severity": "mild",
            "notes": "pink urine on the bedding",
            "client_uuid": str(form_id),
        },
        follow=True,
    ).content.decode()


@pytest.mark.django_db
def test_the_same_observation_sent_twice_stores_its_two_terms_once(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    first = post_observation(client, bench, form_id)
    second = post_observation(client, bench, form_id)
    assert "R02: recorded hematuria, sedation." in first
    assert "R02: recorded hematuria, sedation (already saved)." in second
    rows = Observation.objects.order_by("term").values_list("animal__code", "term", "client_uuid")
    assert list(rows) == [("R02", "hematuria", form_id), ("R02", "sedation", form_id)]
    # The page after a save has a new form id for the next observation.
    assert str(form_id) not in form_ids(second)


@pytest.mark.django_db
def test_the_observation_page_keeps_the_id_of_a_refused_form(client_for, bench):
    client = client_for("technician")
    url = reverse("bench_observations", args=[bench.study.slug])
    (shown,) = form_ids(client.get(url).content.decode())
    assert uuid.UUID(shown)
    day = bench.today.isoformat()
    refused = client.post(url, {"date": day, "terms": ["autotomy"], "client_uuid": shown})
    assert "Pick the animal." in refused.content.decode()
    assert form_ids(refused.content.decode()) == [shown]
    fixed = {"date": day, "terms": ["autotomy"], "client_uuid": shown}
    client.post(url, {**fixed, "animal": bench.animals["R01"].pk})
    client.post(url, {**fixed, "animal": bench.animals["R01"].pk})
    assert list(Observation.objects.values_list("term", flat=True)) == ["autotomy"]


@pytest.mark.django_db
def test_a_used_observation_form_id_with_other_terms_is_refused(client_for, bench):
    client = client_for("technician")
    form_id = uuid.uuid4()
    post_observation(client, bench, form_id, terms=["autotomy"])
    html = post_observation(client, bench, form_id, terms=["hematuria"])
    assert "This form was already used to save autotomy on" in html
    assert str(form_id) not in form_ids(html)
    assert list(Observation.objects.values_list("term", flat=True)) == ["autotomy"]
    other = post_observation(client, bench, form_id, code="R03", terms=["autotomy"])
    assert "already used to save an entry for another animal" in other
    assert not Observation.objects.filter(animal=bench.animals["R03"]).exists()


# ---------------------------------------------------------------------------
# Both requests at once (PostgreSQL: SQLite serialises writers with a file lock)


def _at_once(work) -> tuple[list, list]:
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_a_weight_sent_twice_at_once_is_stored_once(study):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in CI's DATABASE_URL=postgres://... pass")
    bench = make_bench_study(study)
    form_id = uuid.uuid4()

    def save():
        return services.record_weight(
            animal=Animal.objects.select_related("study").get(pk=bench.animals["R01"].pk),
            grams=Decimal("312.4"),
            date=bench.today,
            user=None,
            client_uuid=form_id,
        )

    results, errors = _at_once(save)
    assert errors == []
    assert sorted(w.already_saved for w in results) == [False, True]
    assert weights_today(bench) == [Decimal("312.4")]


@pytest.mark.django_db(transaction=True)
def test_an_observation_sent_twice_at_once_is_stored_once(study):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in CI's DATABASE_URL=postgres://... pass")
    bench = make_bench_study(study)
    form_id = uuid.uuid4()

    def save():
        return services.record_observations(
            animal=Animal.objects.select_related("study").get(pk=bench.animals["R02"].pk),
            date=bench.today,
            terms=["hematuria", "sedation"],
            notes="",
            severity="mild",
            user=None,
            client_uuid=form_id,
        )

    results, errors = _at_once(save)
    assert errors == []
    assert sorted(rows[0].already_saved for rows in results) == [False, True]
    assert Observation.objects.filter(client_uuid=form_id).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_dose_marked_twice_at_once_is_stored_once_and_the_second_told_why(study):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in CI's DATABASE_URL=postgres://... pass")
    from animals.models import DoseAdministration

    bench = make_bench_study(study)

    def mark():
        return services.record_dose(
            animal=Animal.objects.select_related("study", "group").get(pk=bench.animals["R03"].pk),
            date=bench.today,
            status="given",
            user=None,
        )

    results, errors = _at_once(mark)
    assert len(results) == 1
    assert len(errors) == 1 and "already marked given" in errors[0]
    assert DoseAdministration.objects.filter(animal=bench.animals["R03"]).count() == 1
