"""Plausible body weights depend on the study's species: a mouse study refuses a rat's
weight and the other way round, and the message names the limits."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from animals.models import Animal, BodyWeight


def _as_species(bench, species: str) -> Animal:
    """The bench study as another species, with a fresh animal that has no weight yet."""
    bench.study.species = species
    bench.study.save()
    return Animal.objects.create(study=bench.study, code="M01", cage="C9")


def post_weight(client, bench, animal, grams, *, confirm=False):
    data = {"date": bench.today.isoformat(), "grams": grams}
    if confirm:
        data["confirm"] = "1"
    url = reverse("bench_weight_record", args=[bench.study.slug, animal.pk])
    return client.post(url, data, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.django_db
def test_a_mouse_study_accepts_25_g(client_for, bench):
    mouse = _as_species(bench, "mouse")
    html = post_weight(client_for("technician"), bench, mouse, "25")
    assert "M01: 25.0 g saved." in html
    assert BodyWeight.objects.get(animal=mouse).grams == Decimal("25.0")


@pytest.mark.django_db
@pytest.mark.parametrize("grams", ["5", "100", "9.9", "60.1", "300"])
def test_a_mouse_study_refuses_weights_outside_10_to_60_g(client_for, bench, grams):
    mouse = _as_species(bench, "Mouse")
    html = post_weight(client_for("technician"), bench, mouse, grams)
    assert "is not a plausible mouse weight (10–60 g)" in html
    assert not BodyWeight.objects.filter(animal=mouse).exists()


@pytest.mark.django_db
def test_a_rat_study_still_refuses_a_mouse_weight(client_for, bench):
    rat = _as_species(bench, "rat")
    html = post_weight(client_for("technician"), bench, rat, "25")
    assert "is not a plausible rat weight (50–1,000 g)" in html
    assert "M01: 300.0 g saved." in post_weight(client_for("technician"), bench, rat, "300")


@pytest.mark.django_db
def test_another_species_has_wide_limits_and_still_asks_about_big_changes(client_for, bench):
    pig = _as_species(bench, "guinea pig")
    client = client_for("technician")
    assert "is not a plausible guinea pig weight (1–100,000 g)" in post_weight(
        client, bench, pig, "0.5"
    )
    assert "(1–100,000 g)" in post_weight(client, bench, pig, "100001")
    BodyWeight.objects.create(
        animal=pig, date=bench.today - dt.timedelta(days=7), grams=Decimal("900.0")
    )
    html = post_weight(client, bench, pig, "1200")  # +33 %
    assert "1200.0 g is 33 % more than the last weight (900.0 g on" in html
    assert not BodyWeight.objects.filter(animal=pig, date=bench.today).exists()
    assert "M01: 1200.0 g saved." in post_weight(client, bench, pig, "1200", confirm=True)
