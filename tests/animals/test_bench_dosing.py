"""The dosing worksheet: volumes from the latest weight, stale-weight warnings, given /
missed / refused, corrections by void, and what a blinded technician sees."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from animals import services
from animals.models import BodyWeight, DoseAdministration
from labstudy.models import Study, TreatmentGroup


def group(study, code) -> TreatmentGroup:
    return study.groups.get(code=code)


@pytest.mark.parametrize(
    ("dose", "conc", "weight", "ml"),
    [
        (10, 10, "300.0", "0.30"),  # K10: 10 mg/kg x 0.3 kg / 10 mg/ml
        (5, 5, "312.4", "0.31"),
        (10, 10, "315.0", "0.32"),  # 0.315 rounds half up
        (10, 10, "314.9", "0.31"),
        (2.5, 1, "250.0", "0.63"),  # 0.625 -> 0.63
    ],
)
def test_dose_volume_is_dose_times_weight_over_concentration(dose, conc, weight, ml):
    g = TreatmentGroup(dose_mg_kg=Decimal(str(dose)), concentration_mg_ml=Decimal(str(conc)))
    assert services.dose_volume_ml(g, Decimal(weight)) == Decimal(ml)


def test_vehicle_only_group_gets_its_volume_per_kg_and_a_missing_concentration_is_said():
    vehicle = TreatmentGroup(volume_ml_kg=Decimal("1.00"))
    assert services.dose_volume_ml(vehicle, Decimal("280")) == Decimal("0.28")
    with pytest.raises(ValidationError, match="no concentration"):
        services.dose_volume_ml(TreatmentGroup(dose_mg_kg=Decimal("5")), Decimal("280"))


@pytest.mark.django_db
def test_worksheet_shows_volume_and_solution_letter_to_a_blinded_technician(client_for, bench):
    html = (
        client_for("technician")
        .get(reverse("bench_doses", args=[bench.study.slug]))
        .content.decode()
    )
    # every rat is injected (the control gets the saline vehicle), so none stands out
    assert html.count('class="bench-volume"') == 4
    assert "Solution C" in html and "Solution B" in html and "Solution A" in html
    assert '<span class="bench-volume">0.30 ml</span>' in html
    assert "from 300.0 g weighed" in html and "(7 days ago)" in html
    for secret in ("K10", "K5", "ketamine", "mg/kg"):
        # word-bounded: the random CSRF token in the page can contain "K5"
        assert not re.search(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", html), secret
    assert "R01" in html  # the control rat is on the worksheet like the others


@pytest.mark.django_db
def test_a_weight_older_than_seven_days_carries_a_warning(client_for, bench):
    BodyWeight.objects.filter(animal=bench.animals["R03"]).update(
        date=bench.today - dt.timedelta(days=9)
    )
    html = (
        client_for("technician")
        .get(reverse("bench_doses", args=[bench.study.slug]))
        .content.decode()
    )
    assert "The latest weight is 9 days old (more than 7): weigh R03 before dosing." in html
    assert html.count("days old (more than 7)") == 1


@pytest.mark.django_db
def test_marking_a_dose_given_records_time_person_and_volume(client_for, bench, people):
    client = client_for("technician")
    animal = bench.animals["R02"]  # K5, 300 g
    url = reverse("bench_dose_record", args=[bench.study.slug, animal.pk])
    response = client.post(
        url, {"date": bench.today.isoformat(), "status": "given"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    dose = DoseAdministration.objects.get(animal=animal)
    assert dose.status == "given" and dose.volume_ml == Decimal("0.30")
    assert dose.dose_mg_kg == Decimal("5.000") and dose.route == "i.p."
    assert dose.given_by == people["technician"] and dose.given_at is not None
    assert dose.study_day == 28
    html = response.content.decode()
    assert "R02: dose given." in html and "✓ Given" in html and "by tess" in html
    again = client.post(
        url, {"date": bench.today.isoformat(), "status": "given"}, HTTP_HX_REQUEST="true"
    )
    assert "already marked given; void it first" in again.content.decode()
    assert DoseAdministration.objects.filter(animal=animal).count() == 1


@pytest.mark.django_db
def test_missed_or_refused_needs_a_reason(client_for, bench):
    client = client_for("technician")
    animal = bench.animals["R03"]
    url = reverse("bench_dose_record", args=[bench.study.slug, animal.pk])
    day = bench.today.isoformat()
    response = client.post(url, {"date": day, "status": "missed"}, HTTP_HX_REQUEST="true")
    assert "Give the reason the dose was missed." in response.content.decode()
    assert not DoseAdministration.objects.exists()
    client.post(
        url, {"date": day, "status": "refused", "reason": "struggled"}, HTTP_HX_REQUEST="true"
    )
    dose = DoseAdministration.objects.get()
    assert (dose.status, dose.reason, dose.given_at) == ("refused", "struggled", None)


@pytest.mark.django_db
def test_a_wrong_dose_record_is_voided_with_a_reason_and_kept(client_for, bench, people):
    client = client_for("technician")
    animal = bench.animals["R04"]
    day = bench.today.isoformat()
    client.post(
        reverse("bench_dose_record", args=[bench.study.slug, animal.pk]),
        {"date": day, "status": "given"},
    )
    dose = DoseAdministration.objects.get()
    response = client.post(
        reverse("bench_dose_void", args=[bench.study.slug, dose.pk]),
        {"date": day, "reason": "tapped the wrong rat"},
        HTTP_HX_REQUEST="true",
    )
    assert "dose record voided" in response.content.decode()
    dose.refresh_from_db()
    # Voided as weights are; the status keeps what was marked.
    assert (dose.voided, dose.void_reason, dose.status) == (True, "tapped the wrong rat", "given")
    assert dose.history.first().history_change_reason == "tapped the wrong rat"
    client.post(
        reverse("bench_dose_record", args=[bench.study.slug, animal.pk]),
        {"date": day, "status": "missed", "reason": "escaped"},
    )
    assert list(DoseAdministration.objects.order_by("pk").values_list("voided", "status")) == [
        (True, "given"),
        (False, "missed"),
    ]


@pytest.mark.django_db
def test_no_dosing_outside_dosed_phases_and_nothing_recorded_in_a_locked_study(client_for, bench):
    client = client_for("technician")
    url = reverse("bench_doses", args=[bench.study.slug])
    day_40 = bench.study.date_of_day(40)  # phase B: discontinuation
    assert "No dosing on this day." in client.get(f"{url}?date={day_40}").content.decode()
    bench.study.status = Study.Status.LOCKED
    bench.study.save()
    animal = bench.animals["R03"]
    response = client.post(
        reverse("bench_dose_record", args=[bench.study.slug, animal.pk]),
        {"date": bench.today.isoformat(), "status": "given"},
        HTTP_HX_REQUEST="true",
    )
    assert "The study is locked" in response.content.decode()
    assert not DoseAdministration.objects.exists()


@pytest.mark.django_db
def test_a_dose_for_a_future_day_is_refused(bench, people):
    with pytest.raises(ValidationError, match="in the future"):
        services.record_dose(
            animal=bench.animals["R03"],
            date=bench.today + dt.timedelta(days=1),
            status="given",
            user=people["technician"],
        )
