"""What the bench refuses, and that a refusal writes nothing: a first tap in a signed-off
timepoint, a closed study or with a filament outside the set leaves no empty session; a
timepoint whose day has not come cannot be tested; Undo is for the tap just made; a
session id of another animal, timepoint or paw than the screen's is refused; a voided
session keeps its first reason."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from labstudy.models import Study
from sessions import services
from sessions.models import Stimulus, TestSession
from tests.worlds import session_url, state_of, tap


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("refusal", "size", "status", "words"),
    [
        ("signed_off", "4.31", 409, "Timepoint T3 has been signed off"),
        ("study_locked", "4.31", 409, "The study is locked"),
        ("unknown_filament", "4.32", 400, "Filament '4.32' is not in the study's filament set"),
    ],
)
def test_a_refused_first_tap_leaves_no_session(client_for, bench, refusal, size, status, words):
    if refusal == "signed_off":
        bench.tp.locked_at = timezone.now()
        bench.tp.save()
    elif refusal == "study_locked":
        Study.objects.filter(pk=bench.study.pk).update(status=Study.Status.LOCKED)
    response = tap(client_for("technician"), bench, withdrew=False, size=size)
    assert response.status_code == status
    assert words in response.content.decode()
    assert TestSession.objects.count() == 0
    assert Stimulus.objects.count() == 0


@pytest.mark.django_db
def test_a_timepoint_before_its_day_cannot_be_tested(client_for, bench):
    t4 = bench.study.timepoints.get(label="T4")  # study day 35; today is day 28
    bench.tp = t4
    response = tap(client_for("technician"), bench, withdrew=False, size="4.31")
    assert response.status_code == 400
    when = bench.today + dt.timedelta(days=7)
    assert f"T4 is on {when:%-d %b %Y} (study day 35)" in response.content.decode()
    assert TestSession.objects.count() == 0


@pytest.mark.django_db
def test_undo_is_refused_half_an_hour_after_the_tap(client_for, bench):
    client = client_for("technician")
    state = state_of(tap(client, bench, withdrew=False, size="4.31", after=""))
    assert state["can_undo"] is True
    Stimulus.objects.update(recorded_at=timezone.now() - dt.timedelta(minutes=31))
    page = client.get(session_url(bench)).content.decode()
    assert (
        'id="bench-undo-button" class="btn btn-outline-danger bench-undo" type="submit" disabled'
        in page
    )
    assert "Undo is only for a tap just made" in page
    response = client.post(
        session_url(bench, name="bench_undo"),
        {"session": state["session"], "target": state["series"][0]["uuid"]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409 and response["X-Bench-Result"] == "conflict:stale"
    assert "void it with a reason" in response.content.decode()
    assert not Stimulus.objects.filter(voided=True).exists()


@pytest.mark.django_db
def test_a_session_of_a_locked_study_cannot_be_voided(bench, people):
    session = services.start_session(
        animal=bench.animals["R03"], timepoint=bench.tp, paw="right", user=None
    )
    Study.objects.filter(pk=bench.study.pk).update(status=Study.Status.LOCKED)
    session = TestSession.objects.select_related("animal__study", "timepoint").get(pk=session.pk)
    with pytest.raises(services.TapConflict, match="The study is locked"):
        services.void_session(session=session, user=people["investigator"], reason="wrong rat")
    assert TestSession.objects.get(pk=session.pk).status == TestSession.Status.IN_PROGRESS


def _r03_session_with_a_tap(client, bench) -> dict:
    return state_of(tap(client, bench, withdrew=False, size="4.31", after="", code="R03"))


@pytest.mark.django_db
def test_a_tap_with_another_animals_session_id_is_refused(client_for, bench):
    client = client_for("technician")
    r03 = _r03_session_with_a_tap(client, bench)
    response = tap(
        client,
        bench,
        withdrew=True,
        size="4.56",
        code="R01",  # R01's screen, R03's session id
        session=r03["session"],
        after=r03["series"][0]["uuid"],
    )
    assert response.status_code == 409
    assert response["X-Bench-Result"] == "conflict:wrong_session"
    page = response.content.decode()
    assert f"Session {r03['session']} is not the session of this screen" in page
    assert not re.search(r"\bR03\b", page)  # whose session it is stays unsaid (word-bounded:
    # a random CSRF token may hold "R03")
    assert "nothing was recorded" in response.content.decode()
    assert Stimulus.objects.count() == 1  # R03's first tap only
    assert list(TestSession.objects.values_list("animal__code", flat=True)) == ["R03"]


@pytest.mark.django_db
def test_a_tap_with_the_animals_session_of_another_timepoint_is_refused(client_for, bench):
    client = client_for("technician")
    t2 = bench.study.timepoints.get(label="T2")  # day 21: a week ago
    earlier = services.start_session(
        animal=bench.animals["R03"], timepoint=t2, paw="right", user=None
    )
    response = tap(client, bench, withdrew=False, size="4.31", session=earlier.pk, after="")
    assert response.status_code == 409
    assert f"Session {earlier.pk} is not the session of this screen" in response.content.decode()
    assert not re.search(r"\bT2\b", response.content.decode())  # not inside a CSRF token
    assert Stimulus.objects.count() == 0
    assert TestSession.objects.count() == 1


@pytest.mark.django_db
def test_undo_and_void_with_another_animals_session_id_are_refused(client_for, bench):
    client = client_for("technician")
    r03 = _r03_session_with_a_tap(client, bench)
    undo = client.post(
        session_url(bench, "R01", "bench_undo"),
        {"session": r03["session"], "target": r03["series"][0]["uuid"]},
        HTTP_HX_REQUEST="true",
    )
    assert undo.status_code == 409 and undo["X-Bench-Result"] == "conflict:wrong_session"
    assert not Stimulus.objects.filter(voided=True).exists()
    void = client.post(
        session_url(bench, "R01", "bench_void"),
        {"session": r03["session"], "reason": "wrong rat"},
        follow=True,
    )
    assert f"Session {r03['session']} is not the session of this screen" in void.content.decode()
    session = TestSession.objects.get(pk=r03["session"])
    assert (session.status, session.void_reason) == ("in_progress", "")


@pytest.mark.django_db
def test_voiding_a_voided_session_keeps_its_first_reason(client_for, bench, people):
    client = client_for("technician")
    r03 = _r03_session_with_a_tap(client, bench)
    url = session_url(bench, name="bench_void")
    client.post(url, {"session": r03["session"], "reason": "rat unsettled"})
    response = client.post(url, {"session": r03["session"], "reason": "other"}, follow=True)
    voided_at = TestSession.history.get(id=r03["session"], status="voided").history_date
    when = timezone.localtime(voided_at)
    assert (
        f"This session was already voided on {when:%d %b %Y %H:%M} by tess: rat unsettled"
        in response.content.decode()
    )
    session = TestSession.objects.get(pk=r03["session"])
    assert session.void_reason == "rat unsettled"
    assert session.history.count() == 2  # created, voided once
    with pytest.raises(services.TapConflict, match="already voided on .* by tess: rat unsettled"):
        services.void_session(session=session, user=people["investigator"], reason="again")
    assert TestSession.objects.get(pk=session.pk).void_reason == "rat unsettled"
