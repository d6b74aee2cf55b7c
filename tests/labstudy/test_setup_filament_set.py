"""The settings page chooses the study's filament set; once a filament has been applied
in the study the set is fixed (the recorded taps name filaments of that set)."""

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from animals.models import Animal
from sessions.models import Filament, FilamentSet, Stimulus, TestSession
from tests.worlds import settings_as_posted


@pytest.fixture
def other_set(db):
    """A second set with the study's start filament 4.31 in it."""
    fset = FilamentSet.objects.create(name="North Coast 8-filament set", slug="nc-8")
    for order, (size, grams) in enumerate([("3.61", 0.4), ("4.31", 2.0), ("5.07", 10.0)], 1):
        Filament.objects.create(filament_set=fset, size=size, grams=grams, order=order)
    return fset


@pytest.mark.django_db
def test_the_settings_page_lists_the_filament_sets(client_for, study, other_set):
    page = client_for("data_manager").get(reverse("study_setup", args=[study.slug]))
    text = page.content.decode()
    assert 'name="study-filament_set"' in text
    assert "Stoelting 20-filament von Frey set" in text and "North Coast 8-filament set" in text


@pytest.mark.django_db
def test_the_set_can_be_changed_before_any_filament_is_applied(client_for, study, other_set):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[study.slug])
    response = client.post(url, settings_as_posted(client, url, filament_set=other_set.pk))
    assert response.status_code == 302, response.context["form"].errors
    study.refresh_from_db()
    assert study.filament_set == other_set


@pytest.mark.django_db
def test_a_set_without_the_start_filament_is_refused_naming_the_field(client_for, study):
    tiny = FilamentSet.objects.create(name="Two filaments", slug="two")
    Filament.objects.create(filament_set=tiny, size="6.65", grams=300.0, order=1)
    client = client_for("data_manager")
    url = reverse("study_setup", args=[study.slug])
    response = client.post(url, settings_as_posted(client, url, filament_set=tiny.pk))
    assert response.status_code == 200
    assert (
        "Filament '4.31' is not in Two filaments."
        in response.context["form"].errors["start_filament"]
    )
    study.refresh_from_db()
    assert study.filament_set.slug != "two"


@pytest.mark.django_db
def test_the_set_is_fixed_once_a_filament_is_recorded(client_for, study, other_set, people):
    animal = Animal.objects.create(study=study, code="R01")
    session = TestSession.objects.create(
        animal=animal, timepoint=study.timepoints.get(label="T0"), method="first_response"
    )
    Stimulus.objects.create(
        session=session,
        order=1,
        filament=study.filament_set.filaments.get(size="4.31"),
        withdrew=False,
        recorded_at=timezone.now(),
    )
    client = client_for("data_manager")
    url = reverse("study_setup", args=[study.slug])
    response = client.post(url, settings_as_posted(client, url, filament_set=other_set.pk))
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert (
        "The filament set cannot be changed: 1 filament application is already recorded "
        "in this study with Stoelting 20-filament von Frey set." in text
    )
    study.refresh_from_db()
    assert study.filament_set.slug != other_set.slug
    # Other settings still save while the set stays as it is.
    response = client.post(url, settings_as_posted(client, url, cutoff_g="100"))
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.cutoff_g == 100
