"""An animal's data end the day it dies: a death date before a recorded session is
refused (its thresholds would otherwise stay in the statistics of an animal already
dead), and no session is started at a timepoint after the day an animal died or was
euthanised."""

import datetime as dt
import html

import pytest
from django.urls import reverse

from animals.models import Animal, Observation
from animals.services import change_animal_status
from sessions.importing import import_study_csv
from sessions.models import TestSession
from tests.worlds import counts, record, rows_for, series_to, session_url, tap, to_csv


def status_url(bench, code):
    return reverse("animal_status", args=[bench.study.slug, code])


def _died(client, bench, code, day):
    return client.post(
        status_url(bench, code),
        {"status": "died", "date": day.isoformat(), "reason": "found dead in the cage"},
    )


@pytest.mark.django_db
def test_a_death_date_before_a_recorded_session_is_refused_naming_both_dates(client_for, bench):
    # R03 was tested today (T3, day 28); a death three days ago cannot be true.
    record(bench.animals["R03"], bench.tp, series_to(8.0))
    earlier = bench.today - dt.timedelta(days=3)
    page = html.unescape(_died(client_for("data_manager"), bench, "R03", earlier).content.decode())
    assert (
        f"R03 has a test session at study day 28 ({bench.today:%-d %b %Y}), after "
        f"{earlier:%-d %b %Y}: the day it died cannot come before its recorded data." in page
    )
    animal = Animal.objects.get(pk=bench.animals["R03"].pk)
    assert (animal.status, animal.status_date) == ("active", None)
    assert animal.history.count() == 1  # only its creation: nothing half-written


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["died", "euthanised"])
def test_the_day_of_the_last_session_or_later_is_accepted(client_for, bench, status):
    record(bench.animals["R03"], bench.tp, series_to(8.0))
    client_for("investigator").post(
        status_url(bench, "R03"),
        {"status": status, "date": bench.today.isoformat(), "reason": "humane end point"},
    )
    animal = Animal.objects.get(pk=bench.animals["R03"].pk)
    assert (animal.status, animal.status_date) == (status, bench.today)


@pytest.mark.django_db
def test_a_voided_session_does_not_hold_the_death_date_back(client_for, bench):
    record(
        bench.animals["R03"],
        bench.tp,
        series_to(8.0),
        status=TestSession.Status.VOIDED,
        void_reason="wrong rat",
    )
    earlier = bench.today - dt.timedelta(days=3)
    _died(client_for("data_manager"), bench, "R03", earlier)
    assert Animal.objects.get(pk=bench.animals["R03"].pk).status_date == earlier


@pytest.mark.django_db
def test_excluding_before_a_session_stays_allowed(client_for, bench):
    # An excluded animal lives on and leaves the statistics whole; only death ends data.
    record(bench.animals["R03"], bench.tp, series_to(8.0))
    earlier = bench.today - dt.timedelta(days=3)
    client_for("data_manager").post(
        status_url(bench, "R03"),
        {"status": "excluded", "date": earlier.isoformat(), "reason": "wrong surgery side"},
    )
    assert Animal.objects.get(pk=bench.animals["R03"].pk).status == "excluded"


@pytest.mark.django_db
def test_found_dead_backdated_before_a_session_writes_no_observation(client_for, bench):
    record(bench.animals["R04"], bench.tp, series_to(8.0))
    earlier = bench.today - dt.timedelta(days=2)
    # A past day is open to the data manager (the technician's bench shows today only).
    response = client_for("data_manager").post(
        reverse("bench_observations", args=[bench.study.slug]),
        {"date": earlier.isoformat(), "animal": bench.animals["R04"].pk, "terms": ["found dead"]},
    )
    assert response.status_code == 200
    assert "the day it died cannot come before its recorded data" in html.unescape(
        response.content.decode()
    )
    assert not Observation.objects.filter(animal=bench.animals["R04"]).exists()
    assert Animal.objects.get(pk=bench.animals["R04"].pk).status == "active"


@pytest.mark.django_db
def test_no_session_is_started_for_an_animal_marked_died(client_for, bench):
    _died(client_for("data_manager"), bench, "R03", bench.today - dt.timedelta(days=1))
    client = client_for("technician")
    response = tap(client, bench, withdrew=False, size="4.31", code="R03")
    page = html.unescape(response.content.decode())
    assert response.status_code != 500
    assert "R03 was marked died on" in page
    assert f"no test session can be started for it at T3 ({bench.today:%-d %b %Y})" in page
    assert not TestSession.objects.filter(animal=bench.animals["R03"]).exists()
    # The other animals are tested as before.
    assert tap(client, bench, withdrew=False, size="4.31", code="R02").status_code == 200
    assert TestSession.objects.filter(animal=bench.animals["R02"]).count() == 1
    assert client.get(session_url(bench, "R02")).status_code == 200


@pytest.mark.django_db
def test_a_session_begun_before_death_can_still_be_finished(client_for, bench):
    # Tested in the morning, found dead in the afternoon: the series begun stays open.
    client = client_for("technician")
    assert tap(client, bench, withdrew=False, size="4.31", code="R03").status_code == 200
    session = TestSession.objects.get(animal=bench.animals["R03"])
    _died(client_for("data_manager"), bench, "R03", bench.today)
    response = tap(client, bench, withdrew=True, size="6.10", code="R03", session=session.pk)
    assert response.status_code == 200
    assert session.stimuli.count() == 2


@pytest.mark.django_db
def test_a_session_on_the_day_of_death_can_still_be_started(client_for, bench):
    # Tested, then found dead the same afternoon; marked first, tapped from paper after.
    _died(client_for("data_manager"), bench, "R03", bench.today)
    response = tap(client_for("technician"), bench, withdrew=False, size="4.31", code="R03")
    assert response.status_code == 200
    assert TestSession.objects.get(animal=bench.animals["R03"]).stimuli.count() == 1


@pytest.mark.django_db
def test_an_import_after_the_day_of_death_names_the_line_and_writes_nothing(small_study, people):
    # A1 died on day 22 (after its T2 session, day 21); a file adds T3, day 28, for it.
    change_animal_status(
        animal=Animal.objects.get(study=small_study, code="A1"),
        status=Animal.Status.DIED,
        date=small_study.date_of_day(22),
        reason="found dead in cage",
        user=people["data_manager"],
    )
    rows = rows_for("N1", "K10", 15, tp="T3", day=28) + rows_for(
        "A1", "control", 26, tp="T3", day=28
    )
    before = counts()
    result = import_study_csv(data=to_csv(rows), slug="small", source_name="rats.csv")
    first_a1 = 2 + len(rows_for("N1", "K10", 15, tp="T3", day=28))
    assert result.error_lines() == [
        f"line {first_a1}, day: animal A1 was marked died on 23 Sep 2026 in this study; "
        "T3 (day 28, 29 Sep 2026) comes after"
    ]
    assert counts() == before
