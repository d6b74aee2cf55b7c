"""Dates on the set-up pages: every date input shows its saved value (ISO, as a browser's
date picker needs), a save that does not touch Day 0 keeps it, and moving Day 0 or a
timepoint's day under recorded data says what moves and needs confirmation and a reason.
A chosen pair naming a timepoint the study does not have is refused, as the import does."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from animals.forms import AnimalStatusForm
from animals.models import Animal, BodyWeight, DoseAdministration, Surgery
from front import selectors
from labstudy.forms import NewStudyForm
from labstudy.models import Study
from sessions.models import TestSession
from tests.worlds import browser_value, settings_as_posted

T3_DATE = dt.date(2026, 9, 29)  # day 28 of a study whose Day 0 is 1 Sep 2026


@pytest.fixture
def running(study):
    study.status = Study.Status.RUNNING
    study.save()
    return study


@pytest.fixture
def recorded_t3(running, people):
    """Three rats tested at T3 on its day (29 Sep), each dosed and weighed that day."""
    t3 = running.timepoints.get(label="T3")
    group = running.groups.get(code="K10")
    for number in range(1, 4):
        animal = Animal.objects.create(study=running, code=f"R{number:02d}", group=group)
        TestSession.objects.create(
            animal=animal,
            timepoint=t3,
            paw="right",
            tested_at=timezone.make_aware(dt.datetime.combine(T3_DATE, dt.time(9, number))),
            method=running.threshold_method,
            status=TestSession.Status.COMPLETE,
        )
        DoseAdministration.objects.create(
            animal=animal,
            scheduled_date=T3_DATE,
            study_day=28,
            dose_mg_kg=Decimal("10"),
            status=DoseAdministration.Status.GIVEN,
            given_at=timezone.now(),
        )
        BodyWeight.objects.create(animal=animal, date=T3_DATE, grams=Decimal("300"))
    return running


@pytest.mark.django_db
def test_every_date_input_shows_its_saved_date_as_iso(client_for, study):
    Study.objects.filter(pk=study.pk).update(day0_date=dt.date(2026, 9, 1))
    html = client_for("data_manager").get(reverse("study_setup", args=[study.slug])).content
    assert browser_value(html.decode(), "study-day0_date") == "2026-09-01"
    assert 'value="2026-09-01"' in html.decode()
    status = AnimalStatusForm(initial={"date": dt.date(2026, 9, 14)})
    assert 'type="date"' in str(status["date"]) and 'value="2026-09-14"' in str(status["date"])
    new = NewStudyForm(initial={"day0_date": dt.date(2026, 12, 7)})
    assert 'value="2026-12-07"' in str(new["day0_date"])


@pytest.mark.django_db
def test_changing_the_title_without_touching_day0_keeps_day0(client_for, running):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[running.slug])
    data = settings_as_posted(client, url) | {
        "study-title": "PSNL allodynia study (cohort 2)",
        "study-change_reason": "cohort number added to the title",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    running.refresh_from_db()
    assert running.title == "PSNL allodynia study (cohort 2)"
    assert running.day0_date == dt.date(2026, 9, 1)


@pytest.mark.django_db
def test_moving_day0_lists_what_moves_and_saves_nothing_unconfirmed(client_for, recorded_t3):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[recorded_t3.slug])
    data = settings_as_posted(client, url) | {
        "study-day0_date": "2026-09-02",
        "study-change_reason": "surgery was on 2 Sep",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "3 sessions, 3 doses and 3 weights recorded on 29 Sep 2026 would fall on day 27 "
        "(day 28 now); T3 is day 28." in page
    )
    assert "3 recorded sessions would no longer be on their timepoint&#x27;s day" in page
    assert "tick the box to confirm" in page
    recorded_t3.refresh_from_db()
    assert recorded_t3.day0_date == dt.date(2026, 9, 1)
    assert set(DoseAdministration.objects.values_list("study_day", flat=True)) == {28}

    # The first box alone is not enough: the sessions would leave T3's day.
    response = client.post(url, data | {"confirm_move": "1"})
    assert "tick the second box too" in response.content.decode()
    recorded_t3.refresh_from_db()
    assert recorded_t3.day0_date == dt.date(2026, 9, 1)


@pytest.mark.django_db
def test_moving_day0_needs_a_reason_even_when_confirmed(client_for, recorded_t3):
    Study.objects.filter(pk=recorded_t3.pk).update(status=Study.Status.PLANNING)
    client = client_for("data_manager")
    url = reverse("study_setup", args=[recorded_t3.slug])
    data = settings_as_posted(client, url) | {
        "study-day0_date": "2026-09-02",
        "confirm_move": "1",
        "confirm_off_day": "1",
    }
    response = client.post(url, data)
    assert response.context["form"].errors["change_reason"] == [
        "Say why Day 0 changes: data already recorded move (listed above)."
    ]
    recorded_t3.refresh_from_db()
    assert recorded_t3.day0_date == dt.date(2026, 9, 1)


@pytest.mark.django_db
def test_confirmed_day0_move_saves_with_its_reason_in_the_history(client_for, recorded_t3):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[recorded_t3.slug])
    data = settings_as_posted(client, url) | {
        "study-day0_date": "2026-09-02",
        "study-change_reason": "surgery log says 2 Sep",
        "confirm_move": "1",
        "confirm_off_day": "1",
    }
    assert client.post(url, data).status_code == 302
    recorded_t3.refresh_from_db()
    assert recorded_t3.day0_date == dt.date(2026, 9, 2)
    latest = recorded_t3.history.latest()
    assert latest.history_change_reason == "surgery log says 2 Sep"
    assert latest.history_user.username == "dan"
    # Doses keep their date and take its new study day, with the reason in their history.
    dose = DoseAdministration.objects.first()
    assert (dose.scheduled_date, dose.study_day) == (T3_DATE, 27)
    assert dose.history.latest().history_change_reason == "Day 0 moved: surgery log says 2 Sep"


@pytest.mark.django_db
def test_day0_of_a_study_without_records_moves_without_questions(client_for, running):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[running.slug])
    data = settings_as_posted(client, url) | {
        "study-day0_date": "2026-09-03",
        "study-change_reason": "surgery postponed",
    }
    assert client.post(url, data).status_code == 302
    running.refresh_from_db()
    assert running.day0_date == dt.date(2026, 9, 3)


def timepoint_rows(client, url) -> dict:
    formset = client.get(url).context["formset"]
    data = {f"timepoints-{k}": v for k, v in formset.management_form.initial.items()}
    for i, form in enumerate(formset.forms):
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[f"timepoints-{i}-{name}"] = value.pk if hasattr(value, "pk") else value
    return data


@pytest.mark.django_db
def test_moving_a_timepoint_under_its_sessions_needs_both_confirmations(client_for, recorded_t3):
    client = client_for("data_manager")
    url = reverse("study_setup_rows", args=[recorded_t3.slug, "timepoints"])
    data = timepoint_rows(client, url)
    index = next(k for k, v in data.items() if v == "T3" and k.endswith("-label")).split("-")[1]
    data[f"timepoints-{index}-day"] = "27"
    data["change_reason"] = "T3 was planned for day 27"
    response = client.post(url, data)
    page = response.content.decode()
    assert "3 sessions recorded on 29 Sep 2026 stay on day 28; T3 would be day 27." in page
    assert recorded_t3.timepoints.get(label="T3").day == 28

    response = client.post(url, data | {"confirm_move": "1"})
    assert "tick the second box too" in response.content.decode()
    assert recorded_t3.timepoints.get(label="T3").day == 28

    response = client.post(url, data | {"confirm_move": "1", "confirm_off_day": "1"})
    assert response.status_code == 302
    t3 = recorded_t3.timepoints.get(label="T3")
    assert t3.day == 27
    assert t3.history.latest().history_change_reason == "T3 was planned for day 27"


@pytest.mark.django_db
def test_a_chosen_pair_with_an_unknown_timepoint_is_refused_in_settings(client_for, running):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[running.slug])
    data = settings_as_posted(client, url) | {
        "study-comparison_pairs": "T7-T4, T9-T4",
        "study-change_reason": "add a pair",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors["comparison_pairs"] == [
        "Chosen timepoint comparisons: pair T9-T4 names T9, which this study does not have "
        "(its timepoints: T0, T1, T2, T3, T4, T5, T6, T7)."
    ]
    running.refresh_from_db()
    assert running.comparison_pairs == "T7-T4"


@pytest.mark.django_db
def test_the_day_change_selector_counts_every_kind_of_record(recorded_t3):
    study = recorded_t3
    for animal in study.animals.all():
        Surgery.objects.create(animal=animal, date=dt.date(2026, 9, 1))
    assert not selectors.day_change_effects(study, day0_date=study.day0_date).moves_records
    moved = selectors.day_change_effects(study, day0_date=dt.date(2026, 8, 31))
    assert [row.sentence for row in moved.rows] == [
        "3 surgeries recorded on 1 Sep 2026 would fall on day 1 (day 0 now).",
        "3 sessions, 3 doses and 3 weights recorded on 29 Sep 2026 would fall on day 29 "
        "(day 28 now); T3 is day 28.",
    ]
    assert moved.off_day_sessions == 3
    # Moving T3 to day 27 only touches T3's sessions; doses and weights keep their day.
    t3 = study.timepoints.get(label="T3")
    retimed = selectors.day_change_effects(study, timepoint_days={t3.pk: 27})
    assert [row.sentence for row in retimed.rows] == [
        "3 sessions recorded on 29 Sep 2026 stay on day 28; T3 would be day 27."
    ]
    # Moving Day 0 and T3 together keeps T3's sessions on T3's day.
    both = selectors.day_change_effects(
        study, day0_date=dt.date(2026, 9, 2), timepoint_days={t3.pk: 27}
    )
    assert both.off_day_sessions == 0 and both.moves_records
