"""Bench session details: the time since the animal's injection on a day with both dosing
and testing (recorded on the session, shown on the screen and the animal page), grams on
the chips, and tool buttons that do not look disabled."""

import csv
import datetime as dt
import io
import re

from django.urls import reverse
from django.utils import timezone

from analysis import exports
from animals import services as animal_services
from animals.models import DoseAdministration
from sessions.models import TestSession
from tests.worlds import session_url, state_of, tap


def given(bench, people, code: str, minutes_ago: int) -> DoseAdministration:
    dose = animal_services.record_dose(
        animal=bench.animals[code], date=bench.today, status="given", user=people["technician"]
    )
    dose.given_at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    dose.save(update_fields=["given_at"])
    return dose


def dose_line(html: str) -> str | None:
    found = re.search(r'<p id="bench-dose-time"[^>]*>(.*?)</p>', html)
    return found.group(1) if found else None


def test_the_session_records_and_shows_the_time_since_the_injection(bench, client_for, people):
    dose = given(bench, people, "R03", minutes_ago=85)
    client = client_for("technician")
    page = client.get(session_url(bench)).content.decode()
    at = f"{timezone.localtime(dose.given_at):%H:%M}"
    assert dose_line(page) == f"Injected today at {at}, 1 h 25 min ago."

    response = tap(client, bench, withdrew=False, size="4.31")
    session = TestSession.objects.get(animal=bench.animals["R03"])
    assert session.minutes_after_dose == 85
    assert dose_line(response.content.decode()) == (
        "Session started 1 h 25 min after today&#x27;s injection."
    )
    page = client.get(session_url(bench)).content.decode()
    assert (
        dose_line(page)
        == f"Session started 1 h 25 min after today&#x27;s injection (given at {at})."
    )

    animal_page = client_for("investigator").get(
        reverse("dashboard_animal", args=[bench.study.slug, bench.animals["R03"].pk])
    )
    assert "started 85 min after that day's injection" in animal_page.content.decode()
    export = exports.StudyExport(bench.study)
    taps = list(csv.DictReader(io.StringIO("".join(export.csv_chunks("taps_all")))))
    assert [r["minutes_after_dose"] for r in taps] == ["85"]


def test_no_dose_another_animals_dose_or_a_voided_one_says_nothing(bench, client_for, people):
    given(bench, people, "R01", minutes_ago=30)  # another animal
    voided = given(bench, people, "R03", minutes_ago=30)
    animal_services.void_dose(dose=voided, user=people["technician"], reason="wrong animal")
    client = client_for("technician")
    assert dose_line(client.get(session_url(bench)).content.decode()) is None
    tap(client, bench, withdrew=False, size="4.31")
    assert TestSession.objects.get(animal=bench.animals["R03"]).minutes_after_dose is None


def test_a_dose_given_after_the_session_started_is_said_so(bench, client_for, people):
    client = client_for("technician")
    tap(client, bench, withdrew=False, size="4.31")
    dose = given(bench, people, "R03", minutes_ago=0)
    html = client.get(session_url(bench)).content.decode()
    at = f"{timezone.localtime(dose.given_at):%H:%M}"
    assert dose_line(html) == f"Injected at {at}, after this session started."


def test_chips_show_grams_and_the_tools_look_active(bench, client_for):
    client = client_for("technician")
    response = tap(client, bench, withdrew=False, size="4.31")
    state = state_of(response)
    html = client.get(session_url(bench)).content.decode()
    chip = re.search(r'<li class="bench-chip is-no">(.*?)</li>', html).group(1)
    assert (
        '<span class="bench-chip-size">4.31</span> <span class="bench-chip-grams">2 g</span>'
        in chip
    )
    assert state["series"][0]["size"] == "4.31"
    assert '<summary class="btn btn-outline-dark">Different filament</summary>' in html
    assert '<summary class="btn btn-outline-dark">Add note</summary>' in html
