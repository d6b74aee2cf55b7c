"""A blinded bench role works on today only (issue 18, found by the attack probe): a
weight, dose or observation posted for an earlier day, or a void of an earlier day's
record, is refused and nothing is stored; the answer shows today's row, not the earlier
day's records. Investigators, who see past results, still correct earlier days."""

import datetime as dt

import pytest
from django.urls import reverse

from animals import services
from animals.models import BodyWeight, DoseAdministration, Observation

CLOSED = "Past days are closed while the study is blinded"


def _post(client, name, bench, pk, data):
    url = reverse(name, args=[bench.study.slug, pk])
    return client.post(url, data, HTTP_HX_REQUEST="true")


@pytest.mark.django_db
def test_a_technician_cannot_weigh_or_dose_on_an_earlier_day(client_for, bench):
    client = client_for("technician")
    r01 = bench.animals["R01"]
    yesterday = (bench.today - dt.timedelta(days=1)).isoformat()
    weights, doses = BodyWeight.objects.count(), DoseAdministration.objects.count()

    weighed = _post(
        client, "bench_weight_record", bench, r01.pk, {"date": yesterday, "grams": "abc"}
    )
    dosed = _post(
        client, "bench_dose_record", bench, r01.pk, {"date": yesterday, "status": "given"}
    )

    for response in (weighed, dosed):
        assert CLOSED in response.content.decode()
    assert BodyWeight.objects.count() == weights
    assert DoseAdministration.objects.count() == doses
    assert not DoseAdministration.objects.filter(
        animal=r01, scheduled_date=bench.today - dt.timedelta(days=1), status="given"
    ).exists()


@pytest.mark.django_db
def test_a_technician_cannot_void_an_earlier_days_weight(client_for, bench):
    week_old = BodyWeight.objects.get(animal=bench.animals["R01"])  # made 7 days ago
    response = _post(
        client_for("technician"),
        "bench_weight_void",
        bench,
        week_old.pk,
        {"date": week_old.date.isoformat(), "reason": "scale not tared"},
    )
    assert CLOSED in response.content.decode()
    week_old.refresh_from_db()
    assert (week_old.voided, week_old.void_reason) == (False, "")


@pytest.mark.django_db
def test_a_technician_cannot_record_or_void_an_earlier_days_observation(client_for, bench, people):
    r02 = bench.animals["R02"]
    yesterday = bench.today - dt.timedelta(days=1)
    (earlier,) = services.record_observations(
        animal=r02, date=yesterday, terms=["hematuria"], notes="", severity="mild",
        user=people["investigator"],
    )  # fmt: skip
    client = client_for("technician")
    url = reverse("bench_observations", args=[bench.study.slug])
    response = client.post(
        url, {"date": yesterday.isoformat(), "animal": r02.pk, "terms": ["sedation"]}, follow=True
    )
    assert CLOSED in response.content.decode()
    assert list(Observation.objects.values_list("term", flat=True)) == ["hematuria"]

    void = reverse("bench_observation_void", args=[bench.study.slug, earlier.pk])
    response = client.post(
        void, {"date": yesterday.isoformat(), "reason": "wrong rat"}, follow=True
    )
    assert CLOSED in response.content.decode()
    earlier.refresh_from_db()
    assert not earlier.voided


@pytest.mark.django_db
def test_an_investigator_still_corrects_an_earlier_day(client_for, bench):
    r01 = bench.animals["R01"]
    yesterday = bench.today - dt.timedelta(days=1)
    response = _post(
        client_for("investigator"),
        "bench_weight_record",
        bench,
        r01.pk,
        {"date": yesterday.isoformat(), "grams": "301"},
    )
    assert CLOSED not in response.content.decode()
    assert BodyWeight.objects.filter(animal=r01, date=yesterday, grams=301).exists()
