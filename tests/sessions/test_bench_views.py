"""The bench's day list and guided session, as the four people see them and as the
database records them: what shows, what must not, what is stored once, what is refused."""

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analysis import thresholds
from animals.models import Animal
from labstudy.models import Study
from sessions import selectors, services
from sessions.forms import NOTE_PICKS
from sessions.models import Filament, FilamentSet, Stimulus, TestSession
from tests.worlds import session_url, state_of, tap

# What a blinded technician must never see on a bench page, partial or JSON block.
# Word-bounded, because a random CSRF token may contain "K5" inside it.
SECRETS = re.compile(
    r"\bK5\b|\bK10\b|ketamine|mg/kg|Control \(PSNL \+ saline vehicle\)|\bcontrol\b", re.I
)


# ---------------------------------------------------------------------------
# Who gets in


@pytest.mark.django_db
def test_bench_pages_need_a_login_and_hide_the_study_from_outsiders(client, client_for, bench):
    urls = [reverse("bench_today", args=[bench.study.slug]), session_url(bench)]
    for url in urls:
        assert client.get(url).status_code == 302
    outsider = client_for("outsider")
    for url in urls:
        assert outsider.get(url).status_code == 404
    response = tap(outsider, bench, withdrew=True, size="4.31")
    assert response.status_code == 404
    assert not Stimulus.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["technician", "investigator", "data_manager"])
def test_every_member_who_records_can_use_the_bench(client_for, bench, who):
    client = client_for(who)
    page = client.get(reverse("bench_today", args=[bench.study.slug])).content.decode()
    assert "R03" in page and "Bench today" in page
    assert client.get(session_url(bench)).status_code == 200


# ---------------------------------------------------------------------------
# The day list


@pytest.mark.django_db
def test_today_lists_the_day_in_cage_order_with_counts(client_for, bench):
    html = client_for("technician").get(reverse("bench_today", args=[bench.study.slug]))
    html = html.content.decode()
    codes = re.findall(r'<span class="bench-code">(R\d\d)</span>', html)
    assert codes == ["R03", "R01", "R04", "R02"]  # C1, C2, C2, C10: natural cage order
    assert "T3" in html and "study day 28" in html
    assert "<strong>0</strong> of 4 done" in html  # von Frey
    assert "<strong>0</strong> of 4 done" in html  # doses: every rat, controls get vehicle
    assert "4 left" in html


@pytest.mark.django_db
def test_seeded_random_order_is_reproducible_and_per_day(bench):
    study = bench.study
    study.randomise_test_order = True
    study.order_seed = 7
    study.save()
    animals = list(Animal.objects.filter(study=study))
    first = [a.code for a in selectors.bench_order(study, animals, 28)]
    again = [a.code for a in selectors.bench_order(study, list(reversed(animals)), 28)]
    assert first == again
    assert sorted(first) == ["R01", "R02", "R03", "R04"]
    orders = {tuple(a.code for a in selectors.bench_order(study, animals, d)) for d in range(7, 57)}
    assert len(orders) > 1  # another day, another order


@pytest.mark.django_db
def test_today_accepts_another_date_and_says_when_nothing_is_due(client_for, bench):
    client = client_for("technician")
    url = reverse("bench_today", args=[bench.study.slug])
    html = client.get(url + f"?date={bench.today + dt.timedelta(days=1)}").content.decode()
    assert "No von Frey testing on this day" in html and "Next: <strong>T4</strong>" in html
    html = client.get(url + "?date=tomorrow").content.decode()
    assert "is not a date like" in html and "study day 28" in html


@pytest.mark.django_db
def test_a_blinded_technician_never_sees_a_group_drug_or_dose(client_for, bench):
    client = client_for("technician")
    slug = bench.study.slug
    first = tap(client, bench, withdrew=False, size="4.31", code="R04")
    pages = [
        client.get(reverse("bench_today", args=[slug])),
        client.get(session_url(bench, "R04")),
        first,
        client.get(reverse("bench_doses", args=[slug])),
        client.get(reverse("bench_weights", args=[slug])),
        client.get(reverse("bench_observations", args=[slug])),
    ]
    for response in pages:
        html = response.content.decode()
        text = re.sub(r'class="[^"]*"', "", html)  # "form-control" is a CSS class
        assert not SECRETS.findall(text), response.request["PATH_INFO"]
    doses = pages[3].content.decode()
    k10_letter = bench.study.groups.get(code="K10").coded_letter
    assert f"Solution {k10_letter}" in doses and "0.30 ml" in doses
    unblinded = client_for("investigator").get(reverse("bench_doses", args=[slug]))
    assert "K10 ketamine 10 mg/kg" in unblinded.content.decode()


# ---------------------------------------------------------------------------
# Taps


@pytest.mark.django_db
def test_first_tap_starts_the_session_and_the_panel_guides_to_the_next_filament(
    client_for, bench, people
):
    client = client_for("technician")
    page = client.get(session_url(bench)).content.decode()
    assert 'id="bench-next-size" class="bench-next-size">4.31<' in page
    response = tap(client, bench, withdrew=False, size="4.31", after="")
    assert response.status_code == 200 and response["X-Bench-Result"] == "created"
    session = TestSession.objects.get()
    assert (session.animal.code, session.timepoint.label, session.paw) == ("R03", "T3", "right")
    assert session.tester == people["technician"]
    assert session.method == "first_response"
    html = response.content.decode()
    assert ">4.56<" in html and "4 g" in html  # one filament up after no response
    state = state_of(response)
    assert state["session"] == session.pk and len(state["series"]) == 1
    assert state["series"][0]["size"] == "4.31" and state["series"][0]["withdrew"] is False


@pytest.mark.django_db
def test_a_resent_tap_is_stored_once(client_for, bench):
    client = client_for("technician")
    tap_uuid = uuid.uuid4()
    first = tap(client, bench, withdrew=False, size="4.31", tap_uuid=tap_uuid, after="")
    session = state_of(first)["session"]
    again = tap(client, bench, withdrew=False, size="4.31", tap_uuid=tap_uuid, session=session)
    assert again.status_code == 200 and again["X-Bench-Result"] == "duplicate"
    assert Stimulus.objects.filter(client_uuid=tap_uuid).count() == 1
    assert Stimulus.objects.count() == 1


@pytest.mark.django_db
def test_a_full_series_over_http_ends_with_the_threshold_and_next_animal(client_for, bench):
    client = client_for("technician")
    study = bench.study
    study.threshold_method = "up_down"
    study.save()
    responses = iter([False, False, True, False, True, True, False])  # O O X O X X O
    series, session, after = [], "", ""
    while True:
        size = thresholds.next_filament(series, method="up_down")
        if size is None:
            break
        withdrew = next(responses)
        response = tap(client, bench, withdrew=withdrew, size=size, session=session, after=after)
        assert response.status_code == 200, response.content
        state = state_of(response)
        session, after = state["session"], state["series"][-1]["uuid"]
        series.append((size, withdrew))
    expected = thresholds.up_down_threshold(series)
    stored = list(
        Stimulus.objects.filter(session_id=session)
        .order_by("order")
        .values_list("filament__size", "withdrew")
    )
    assert stored == series
    html = response.content.decode()
    assert "Series complete" in html
    assert f">{expected.grams:.3g} g<" in html  # 4.32 g
    assert "Up-down 50% threshold (Chaplan/Dixon)" in html and expected.pattern in html
    assert "Next animal" in html
    assert TestSession.objects.get(pk=session).status == TestSession.Status.COMPLETE
    # The series is closed: one more tap is refused, not appended.
    extra = tap(client, bench, withdrew=True, size="4.31", session=session, after=after)
    assert extra.status_code == 409 and extra["X-Bench-Result"] == "conflict:complete"
    assert Stimulus.objects.filter(session_id=session).count() == len(series)


@pytest.mark.django_db
def test_picking_another_filament_is_recorded_as_an_override_with_a_note(client_for, bench):
    client = client_for("technician")
    response = client.post(
        session_url(bench, name="bench_tap"),
        {
            "client_uuid": str(uuid.uuid4()),
            "withdrew": "0",
            "filament": "4.31",
            "pick": "5.07",
            "note_pick": ["guarding", "licking"],
            "note": "ambulated twice",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    stimulus = Stimulus.objects.get()
    assert (stimulus.filament.size, stimulus.is_override) == ("5.07", True)
    assert stimulus.note == "guarding; licking; ambulated twice"
    assert "override" in response.content.decode()
    assert ">5.18<" in response.content.decode()  # the rule continues from 5.07


@pytest.mark.django_db
def test_taps_on_a_voided_session_are_refused_and_shown_plainly(client_for, bench, people):
    client = client_for("technician")
    first = tap(client, bench, withdrew=False, size="4.31", after="")
    state = state_of(first)
    session = TestSession.objects.get(pk=state["session"])
    services.void_session(session=session, user=people["investigator"], reason="rat unsettled")
    response = tap(
        client,
        bench,
        withdrew=True,
        size="4.56",
        session=state["session"],
        after=state["series"][0]["uuid"],
    )
    assert response.status_code == 409 and response["X-Bench-Result"] == "conflict:voided"
    assert "This session was voided (rat unsettled)" in response.content.decode()
    refused = state_of(response)
    assert refused["conflict"]["code"] == "voided"
    assert refused["session"] is None and refused["series"] == []  # a new session is next
    assert Stimulus.objects.count() == 1


@pytest.mark.django_db
def test_a_tap_that_does_not_extend_the_servers_series_is_refused(client_for, bench):
    client = client_for("technician")
    state = state_of(tap(client, bench, withdrew=False, size="4.31", after=""))
    # Another tablet taps meanwhile; this one still thinks the series ends at tap one.
    tap(
        client,
        bench,
        withdrew=False,
        size="4.56",
        session=state["session"],
        after=state["series"][0]["uuid"],
    )
    stale = tap(
        client,
        bench,
        withdrew=True,
        size="4.56",
        session=state["session"],
        after=state["series"][0]["uuid"],
    )
    assert stale.status_code == 409 and stale["X-Bench-Result"] == "conflict:changed"
    assert "another device" in stale.content.decode()
    assert Stimulus.objects.count() == 2


@pytest.mark.django_db
def test_a_signed_off_timepoint_refuses_taps(client_for, bench, people):
    client = client_for("technician")
    state = state_of(tap(client, bench, withdrew=False, size="4.31", after=""))
    bench.tp.locked_at = timezone.now()
    bench.tp.save()
    response = tap(client, bench, withdrew=True, size="4.56", session=state["session"])
    assert response.status_code == 409 and response["X-Bench-Result"] == "conflict:locked"
    assert "signed off" in response.content.decode()
    assert Stimulus.objects.count() == 1


@pytest.mark.django_db
def test_a_plain_form_post_without_htmx_redirects_back_to_the_session(client_for, bench):
    client = client_for("technician")
    response = client.post(
        session_url(bench, name="bench_tap"),
        {"client_uuid": str(uuid.uuid4()), "withdrew": "1", "filament": "4.31"},
    )
    assert response.status_code == 302 and response["Location"] == session_url(bench)
    assert Stimulus.objects.count() == 1


# ---------------------------------------------------------------------------
# Undo, void, next


@pytest.mark.django_db
def test_undo_voids_exactly_the_last_tap_once_and_keeps_it(client_for, bench):
    client = client_for("technician")
    s1 = state_of(tap(client, bench, withdrew=False, size="4.31", after=""))
    s2 = state_of(
        tap(
            client,
            bench,
            withdrew=True,
            size="4.56",
            session=s1["session"],
            after=s1["series"][0]["uuid"],
        )
    )
    target = s2["series"][-1]["uuid"]
    url = session_url(bench, name="bench_undo")
    data = {"session": s1["session"], "target": target}
    first = client.post(url, data, HTTP_HX_REQUEST="true")
    again = client.post(url, data, HTTP_HX_REQUEST="true")  # the same undo, re-sent
    assert first["X-Bench-Result"] == "undone" and again["X-Bench-Result"] == "undone"
    rows = list(Stimulus.objects.order_by("order").values_list("order", "voided", "void_reason"))
    assert rows == [(1, False, ""), (2, True, "undo")]
    undone = Stimulus.objects.get(order=2)
    assert undone.history.first().history_change_reason == "undo"
    assert ">4.56<" in first.content.decode()  # the guidance goes back to 4.56
    # Undoing a tap that is no longer the last live one is refused.
    stale = client.post(
        url, {"session": s1["session"], "target": s1["series"][0]["uuid"]}, HTTP_HX_REQUEST="true"
    )
    assert stale.status_code == 200  # tap one is now the last live tap: undone
    assert Stimulus.objects.filter(voided=True).count() == 2


@pytest.mark.django_db
def test_undo_of_a_tap_with_later_taps_is_refused(client_for, bench):
    client = client_for("technician")
    s1 = state_of(tap(client, bench, withdrew=False, size="4.31", after=""))
    tap(client, bench, withdrew=True, size="4.56", session=s1["session"])
    response = client.post(
        session_url(bench, name="bench_undo"),
        {"session": s1["session"], "target": s1["series"][0]["uuid"]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409 and response["X-Bench-Result"] == "conflict:changed"
    assert not Stimulus.objects.filter(voided=True).exists()


@pytest.mark.django_db
def test_voiding_a_session_keeps_its_taps_and_the_next_tap_starts_afresh(client_for, bench):
    client = client_for("technician")
    state = state_of(tap(client, bench, withdrew=False, size="4.31", after=""))
    url = session_url(bench, name="bench_void")
    response = client.post(url, {"session": state["session"], "reason": "wrong paw tested"})
    assert response.status_code == 302
    voided = TestSession.objects.get(pk=state["session"])
    assert (voided.status, voided.void_reason) == ("voided", "wrong paw tested")
    assert voided.history.first().history_change_reason == "wrong paw tested"
    page = client.get(session_url(bench)).content.decode()
    assert "An earlier session was voided (wrong paw tested)" in page
    fresh = state_of(tap(client, bench, withdrew=True, size="4.31", after=""))
    assert fresh["session"] != state["session"]
    assert Stimulus.objects.count() == 2 and TestSession.objects.count() == 2


@pytest.mark.django_db
def test_next_animal_goes_to_the_next_unfinished_session_of_the_day(client_for, bench):
    client = client_for("technician")
    # Day order: R03, R01, R04, R02. Finish R01 (cutoff: no response up to the top).
    session = services.start_session(
        animal=bench.animals["R01"], timepoint=bench.tp, paw="right", user=None
    )
    series = []
    while (size := thresholds.next_filament(series, method="first_response")) is not None:
        services.record_stimulus(session=session, filament_size=size, withdrew=False, user=None)
        series.append((size, False))
    response = client.get(session_url(bench, "R03", "bench_next"))
    assert response["Location"] == session_url(bench, "R04")  # R01 is done: skipped
    response = client.get(session_url(bench, "R02", "bench_next"))
    assert response["Location"] == session_url(bench, "R03")  # wraps round


@pytest.mark.django_db
def test_the_service_worker_is_served_under_the_bench_to_members(client_for, bench):
    url = reverse("bench_service_worker", args=[bench.study.slug])
    response = client_for("technician").get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "networkFirst" in response.content.decode()
    assert "no-cache" in response["Cache-Control"]  # an update check always asks the server


@pytest.mark.django_db
def test_the_service_worker_is_not_served_to_anonymous_visitors_or_outsiders(
    client, client_for, bench
):
    url = reverse("bench_service_worker", args=[bench.study.slug])
    response = client.get(url)
    assert response.status_code == 302  # to sign in: a browser cannot install a redirect
    assert response["Location"].startswith(reverse("login"))
    assert "networkFirst" not in response.content.decode()
    response = client_for("outsider").get(url)
    assert response.status_code == 404
    assert "networkFirst" not in response.content.decode()


# ---------------------------------------------------------------------------
# Cost of a tap


TRANSACTION_CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|BEGIN|COMMIT)", re.I)


@pytest.mark.django_db
def test_each_tap_is_one_transaction_of_at_most_five_queries(
    bench, people, django_assert_max_num_queries
):
    """Every tap of a whole series, the one that completes it included. Inside the test's
    own transaction the service's transaction shows as SAVEPOINT/RELEASE: 5 + those 2."""
    session = services.start_session(
        animal=bench.animals["R03"], timepoint=bench.tp, paw="right", user=None
    )
    services.filament_table(bench.study.filament_set_id)  # once per process
    responses = iter([False, False, True, False, True, True, False])
    series, last = [], None
    while (size := thresholds.next_filament(series, method="first_response")) is not None:
        withdrew = next(responses)
        with django_assert_max_num_queries(5 + 2) as captured:
            result = services.record_stimulus(
                session=TestSession(pk=session.pk),
                filament_size=size,
                withdrew=withdrew,
                client_uuid=uuid.uuid4(),
                user=people["technician"],
                expected_last=last,
                study=bench.study,
            )
        control = [q["sql"] for q in captured if TRANSACTION_CONTROL.match(q["sql"])]
        assert len(control) == 2 and control[0].upper().startswith("SAVEPOINT")
        assert len(captured) - len(control) <= 5
        # The study the request already read is not read again: its 36 columns are a
        # millisecond of a tap's Python.
        assert not [q for q in captured if '"labstudy_study"' in q["sql"]]
        last = result.stimulus.client_uuid
        series.append((size, withdrew))
    assert result.state.session.status == TestSession.Status.COMPLETE
    # Called outside a request, the history still names who tapped.
    assert Stimulus.history.filter(history_user=people["technician"]).count() == len(series)
    with django_assert_max_num_queries(5 + 2):
        services.undo_tap(session=TestSession(pk=session.pk), user=None, client_uuid=last)
    assert TestSession.objects.get(pk=session.pk).status == TestSession.Status.IN_PROGRESS


@pytest.mark.django_db
def test_a_tap_request_end_to_end_stays_small(client_for, bench):
    """The whole HTTP request: sign-in session and user, study access, the tap, the panel."""
    client = client_for("technician")
    state = state_of(tap(client, bench, withdrew=False, size="4.31", after=""))
    with CaptureQueriesContext(connection) as captured:
        response = tap(
            client,
            bench,
            withdrew=False,
            size="4.56",
            session=state["session"],
            after=state["series"][0]["uuid"],
        )
    assert response.status_code == 200
    queries = [q["sql"] for q in captured if not TRANSACTION_CONTROL.match(q["sql"])]
    # 2 (session, user) + 2 (study, membership) + 4 (the tap) = 8
    assert len(queries) <= 9, "\n".join(queries)


# ---------------------------------------------------------------------------
# The page's state stamp: a copy that read the series before a tap was stored must not
# look newer than the tap's answer (the tablet keeps the newest, bench-queue.js `remember`)


@pytest.mark.django_db
def test_a_page_is_stamped_when_its_series_was_read_not_when_it_was_drawn(client_for, bench):
    """The Today page asks the tablet's worker to fetch every session page ahead; one such
    fetch can read the series, then a tap on that session commits, then the fetch draws
    the page. Stamped when drawn, that copy (without the tap) looked newer than the tap's
    answer, and after an offline reload the tablet showed the series without the tap and
    guided to the wrong filament. The stamp must not be later than the read."""
    import time

    client = client_for("technician")
    assert tap(client, bench, withdrew=False, size="4.31").status_code == 200
    table = connection.ops.quote_name(Stimulus._meta.db_table)
    read_times = []

    def note_reads(execute, sql, params, many, context):
        if table in sql and sql.lstrip().upper().startswith("SELECT"):
            read_times.append(time.time())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note_reads):
        page = client.get(session_url(bench))
    tap_answer = tap(client, bench, withdrew=False, size="4.56")

    state = state_of(page)
    assert [s["size"] for s in state["series"]] == ["4.31"]
    assert read_times, "the page read the session's taps"
    assert state["rendered_at"] <= min(read_times)
    # the answer to a tap stored after that read is newer, so the tablet keeps it
    assert state_of(tap_answer)["rendered_at"] > state["rendered_at"]
    assert [s["size"] for s in state_of(tap_answer)["series"]] == ["4.31", "4.56"]


# ---------------------------------------------------------------------------
# The pickers, drawn once per process for each filament set


@pytest.mark.django_db
def test_the_filament_picker_lists_the_studys_own_set_after_another_sets_was_drawn(
    client_for, bench
):
    """The pickers are kept from one panel to the next (sessions/templatetags/
    bench_panel.py): a study on another set must still get that set's filaments."""
    client = client_for("technician")
    picks = re.compile(r'name="pick" id="pick-\d+" value="([^"]+)"')
    first = client.get(session_url(bench)).content.decode()
    assert picks.findall(first) == [f.size for f in thresholds.STOELTING_20]
    other = FilamentSet.objects.create(name="North Coast 3-filament set", slug="nc-3")
    for order, (size, grams) in enumerate([("3.61", 0.4), ("4.31", 2.0), ("5.07", 10.0)], 1):
        Filament.objects.create(filament_set=other, size=size, grams=grams, order=order)
    Study.objects.filter(pk=bench.study.pk).update(filament_set=other)
    page = client.get(session_url(bench)).content.decode()
    assert picks.findall(page) == ["3.61", "4.31", "5.07"]
    assert "<small>10 g</small>" in page and "<small>300 g</small>" not in page
    # and the panel a tap answers with, drawn by the same tag
    answer = tap(client, bench, withdrew=False, size="4.31").content.decode()
    assert picks.findall(answer) == ["3.61", "4.31", "5.07"]
    notes = re.findall(r'name="note_pick" id="note-\d+" value="([^"]+)"', answer)
    assert notes == list(NOTE_PICKS)
