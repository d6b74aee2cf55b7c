"""Records that cannot change behind the technician's back: a voided weight, dose or
observation keeps its first reason (a second void is refused and says when, by whom and
why), and weights, doses and observations dated in the future or before the study's
first day are refused, from the bench forms, the services and the admin alike."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from animals import services
from animals.models import BodyWeight, DoseAdministration, Observation


def _voided_on(record, **voided) -> str:
    """'03 Dec 2026 14:02', the moment the history recorded the void."""
    moment = record.history.filter(**voided).earliest("history_date").history_date
    return f"{timezone.localtime(moment):%d %b %Y %H:%M}"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html.replace("&#x27;", "'"))


# ---------------------------------------------------------------------------
# A second void is refused; the first reason stays


@pytest.mark.django_db
def test_voiding_a_voided_weight_keeps_its_reason(client_for, bench):
    client = client_for("technician")
    day = bench.today.isoformat()
    client.post(
        reverse("bench_weight_record", args=[bench.study.slug, bench.animals["R01"].pk]),
        {"date": day, "grams": "305"},
        HTTP_HX_REQUEST="true",
    )
    weight = BodyWeight.objects.get(date=bench.today)
    url = reverse("bench_weight_void", args=[bench.study.slug, weight.pk])
    client.post(url, {"date": day, "reason": "scale not tared"}, HTTP_HX_REQUEST="true")
    versions = weight.history.count()
    html = client.post(url, {"date": day, "reason": "typo"}, HTTP_HX_REQUEST="true")
    when = _voided_on(weight, voided=True)
    assert f"This weight (305.0 g) was already voided on {when} by tess: scale not tared." in _text(
        html.content.decode()
    )
    weight.refresh_from_db()
    assert (weight.voided, weight.void_reason) == (True, "scale not tared")
    assert weight.history.count() == versions


@pytest.mark.django_db
def test_voiding_a_voided_dose_keeps_its_reason(client_for, bench, people):
    client = client_for("technician")
    day = bench.today.isoformat()
    client.post(
        reverse("bench_dose_record", args=[bench.study.slug, bench.animals["R04"].pk]),
        {"date": day, "status": "given"},
    )
    dose = DoseAdministration.objects.get()
    url = reverse("bench_dose_void", args=[bench.study.slug, dose.pk])
    client.post(url, {"date": day, "reason": "tapped the wrong rat"}, HTTP_HX_REQUEST="true")
    versions = dose.history.count()
    html = client.post(url, {"date": day, "reason": "again"}, HTTP_HX_REQUEST="true")
    when = _voided_on(dose, voided=True)
    assert f"This dose record was already voided on {when} by tess: tapped the wrong rat." in _text(
        html.content.decode()
    )
    dose.refresh_from_db()
    assert (dose.voided, dose.void_reason, dose.status) == (True, "tapped the wrong rat", "given")
    assert dose.history.count() == versions
    with pytest.raises(ValidationError, match="already voided on .* by tess: tapped the wrong"):
        services.void_dose(dose=dose, user=people["investigator"], reason="third time")
    dose.refresh_from_db()
    assert dose.void_reason == "tapped the wrong rat"


@pytest.mark.django_db
def test_voiding_a_voided_observation_keeps_its_reason(client_for, bench):
    client = client_for("technician")
    page = reverse("bench_observations", args=[bench.study.slug])
    day = bench.today.isoformat()
    client.post(page, {"date": day, "animal": bench.animals["R01"].pk, "terms": ["autotomy"]})
    observation = Observation.objects.get()
    url = reverse("bench_observation_void", args=[bench.study.slug, observation.pk])
    client.post(url, {"date": day, "reason": "wrong rat"})
    response = client.post(url, {"date": day, "reason": "not autotomy"}, follow=True)
    when = _voided_on(observation, voided=True)
    assert f"This observation (autotomy) was already voided on {when} by tess: wrong rat." in _text(
        response.content.decode()
    )
    observation.refresh_from_db()
    assert (observation.voided, observation.void_reason) == (True, "wrong rat")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["weight", "dose", "observation"])
def test_the_services_refuse_a_second_void(bench, people, kind):
    animal = bench.animals["R04"]
    tess, ivy = people["technician"], people["investigator"]
    if kind == "weight":
        record = services.record_weight(animal=animal, grams=Decimal("301"), date=bench.today,
                                        user=tess)  # fmt: skip
        void = services.void_weight
    elif kind == "dose":
        record = services.record_dose(animal=animal, date=bench.today, status="given", user=tess)
        void = services.void_dose
    else:
        record = services.record_observations(
            animal=animal, date=bench.today, terms=["sedation"], notes="", severity="", user=tess
        )[0]
        void = services.void_observation
    void(**{kind: record, "user": tess, "reason": "first reason"})
    stale = type(record).objects.get(pk=record.pk)
    with pytest.raises(ValidationError, match=r"already voided on .* by tess: first reason\."):
        void(**{kind: stale, "user": ivy, "reason": "second reason"})
    # A copy read before the first void (a second tablet) is refused just the same.
    with pytest.raises(ValidationError, match="already voided"):
        void(**{kind: record, "user": ivy, "reason": "second reason"})
    stored = type(record).objects.get(pk=record.pk)
    assert stored.void_reason == "first reason"
    reasons = list(stored.history.values_list("history_change_reason", flat=True))
    assert "second reason" not in reasons and "first reason" in reasons


# ---------------------------------------------------------------------------
# Dates before the study or in the future


def _dates(bench) -> dict[str, tuple[dt.date, str]]:
    first = bench.study.date_of_day(bench.study.first_day)  # day -7
    before = first - dt.timedelta(days=1)
    tomorrow = bench.today + dt.timedelta(days=1)
    return {
        "before the study": (
            before,
            f"Date {before:%d %b %Y} is before the study's first day (day -7, {first:%d %b %Y}).",
        ),
        "in the future": (tomorrow, f"Date {tomorrow:%d %b %Y} is in the future."),
    }


WHEN = ["before the study", "in the future"]
# Posted as an investigator: a blinded technician is refused any earlier day before the
# date rule is reached (tests/animals/test_bench_past_days.py).


@pytest.mark.django_db
@pytest.mark.parametrize("when", WHEN)
def test_the_weights_form_refuses_a_date_outside_the_study(client_for, bench, when):
    date, message = _dates(bench)[when]
    html = client_for("investigator").post(
        reverse("bench_weight_record", args=[bench.study.slug, bench.animals["R01"].pk]),
        {"date": date.isoformat(), "grams": "300"},
        HTTP_HX_REQUEST="true",
    )
    assert message in _text(html.content.decode())
    assert BodyWeight.objects.count() == 4  # the world's own, a week ago


@pytest.mark.django_db
@pytest.mark.parametrize("when", WHEN)
def test_the_dosing_form_refuses_a_date_outside_the_study(client_for, bench, when):
    date, message = _dates(bench)[when]
    html = client_for("investigator").post(
        reverse("bench_dose_record", args=[bench.study.slug, bench.animals["R04"].pk]),
        {"date": date.isoformat(), "status": "missed", "reason": "escaped"},
        HTTP_HX_REQUEST="true",
    )
    assert message in _text(html.content.decode())
    assert not DoseAdministration.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("when", WHEN)
def test_the_observations_form_refuses_a_date_outside_the_study(client_for, bench, when):
    date, message = _dates(bench)[when]
    html = client_for("investigator").post(
        reverse("bench_observations", args=[bench.study.slug]),
        {"date": date.isoformat(), "animal": bench.animals["R01"].pk, "terms": ["hematuria"]},
    )
    assert message in _text(html.content.decode())
    assert not Observation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("kind", ["weight", "dose", "observation"])
def test_the_services_refuse_a_date_outside_the_study(bench, people, kind, when):
    date, message = _dates(bench)[when]
    animal, tess = bench.animals["R04"], people["technician"]
    with pytest.raises(ValidationError) as refused:
        if kind == "weight":
            services.record_weight(animal=animal, grams=Decimal("300"), date=date, user=tess)
        elif kind == "dose":
            services.record_dose(animal=animal, date=date, status="given", user=tess)
        else:
            services.record_observations(
                animal=animal, date=date, terms=[], notes="calm", severity="", user=tess
            )
    assert refused.value.message_dict == {"date": [message]}
    assert BodyWeight.objects.count() == 4
    assert not DoseAdministration.objects.exists() and not Observation.objects.exists()


@pytest.mark.django_db
def test_the_study_days_first_and_today_are_accepted(bench, people):
    first = bench.study.date_of_day(bench.study.first_day)
    animal, tess = bench.animals["R01"], people["technician"]
    # The first day is a week before the world's weights: no >10 % question arises.
    assert services.record_weight(animal=animal, grams=Decimal("300"), date=first, user=tess)
    assert services.record_observations(
        animal=animal, date=bench.today, terms=[], notes="calm", severity="", user=tess
    )


@pytest.mark.django_db
def test_the_admin_refuses_a_weight_or_dose_dated_outside_the_study(client, bench, people):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="x")
    client.force_login(root)
    weight = BodyWeight.objects.get(animal=bench.animals["R01"])
    # The admin changes records only while their study is in planning (issue 18).
    type(bench.study).objects.filter(pk=bench.study.pk).update(status="planning")
    date, message = _dates(bench)["before the study"]
    url = reverse("admin:animals_bodyweight_change", args=[weight.pk])
    response = client.post(
        url,
        {
            "animal": weight.animal_id,
            "date": date.isoformat(),
            "grams": "300.0",
            "change_reason": "typed the wrong year",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["date"] == [message]
    weight.refresh_from_db()
    assert weight.date == bench.today - dt.timedelta(days=7)

    tomorrow, message = _dates(bench)["in the future"]
    dose = services.record_dose(
        animal=bench.animals["R04"], date=bench.today, status="given", user=people["technician"]
    )
    response = client.post(
        reverse("admin:animals_doseadministration_change", args=[dose.pk]),
        {
            "animal": dose.animal_id,
            "scheduled_date": tomorrow.isoformat(),
            "study_day": dose.study_day + 1,
            "status": "given",
            "given_at_0": bench.today.isoformat(),
            "given_at_1": "09:00:00",
            "route": dose.route,
            "change_reason": "moved",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["scheduled_date"] == [message.replace("Date", "Scheduled date")]
    dose.refresh_from_db()
    assert dose.scheduled_date == bench.today
