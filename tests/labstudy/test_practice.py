"""Today's bench practice study: a technician opening the bench finds a real day's work
(T3 von Frey, injections, weighing) still to do, blinded, on top of simulated T0-T2."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from analysis import frames
from animals.models import BodyWeight, DoseAdministration
from front.practice import load_practice_study, practice_slug
from labstudy.models import Study
from sessions.models import TestSession


@pytest.fixture
def practice(db):
    return load_practice_study()


@pytest.mark.django_db
def test_today_is_t3_with_every_session_and_dose_still_to_do(practice):
    study = practice.study
    today = timezone.localdate()
    assert study.day_of_date(today) == 28 and study.blinded
    assert study.timepoints.get(day=28).label == "T3"
    assert (practice.sessions_due, practice.doses_due) == (6, 6)  # controls get vehicle
    assert not TestSession.objects.filter(animal__study=study, timepoint__day=28).exists()
    assert not DoseAdministration.objects.filter(animal__study=study, scheduled_date=today)
    assert not BodyWeight.objects.filter(animal__study=study, date__gt=today - dt.timedelta(7))
    # Days 7..27 of phase A given to all six rats; T0-T2 tested and complete.
    assert DoseAdministration.objects.filter(animal__study=study).count() == 6 * 21
    sessions = frames.session_frame(study)
    assert sorted(set(sessions["timepoint"])) == ["T0", "T1", "T2"]
    assert len(sessions) == 18 and set(sessions["status"]) <= {"ok", "cutoff_high"}


@pytest.mark.django_db
def test_the_technician_sees_the_day_blinded(practice, client, django_user_model):
    client.force_login(django_user_model.objects.get(username="technician"))
    slug = practice.study.slug
    page = client.get(reverse("bench_today", args=[slug])).content.decode()
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "study day 28" in words and "von Frey · T3" in words
    assert words.count("0 of 6 done 6 left") == 3  # sessions, doses, weights
    doses = client.get(reverse("bench_doses", args=[slug])).content.decode()
    assert doses.count("Solution ") >= 6
    text = re.sub(r'class="[^"]*"', "", page + doses)
    assert not re.search(r"\bK5\b|\bK10\b|ketamine|mg/kg|\bcontrol\b", text, re.I)


@pytest.mark.django_db
def test_one_practice_study_per_day_and_none_deleted(practice):
    again = load_practice_study()
    assert not again.created and again.study.pk == practice.study.pk
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    later = load_practice_study(today=tomorrow)
    assert later.created and later.study.slug == practice_slug(tomorrow)
    assert Study.objects.filter(slug__startswith="bench-practice-").count() == 2
