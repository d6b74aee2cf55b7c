"""Filament sets, sessions and stimuli: what the database and the services refuse."""

import importlib
import uuid

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from analysis.thresholds import STOELTING_20
from animals.models import Animal
from sessions import services
from sessions.models import Filament, FilamentSet, Stimulus, TestSession


@pytest.fixture
def session(study, people):
    animal = Animal.objects.create(study=study, code="R01", cage="C1")
    return services.start_session(
        animal=animal,
        timepoint=study.timepoints.get(label="T0"),
        paw="right",
        user=people["technician"],
    )


@pytest.mark.django_db
def test_stoelting_set_from_migration_matches_the_threshold_engine():
    # The test database is made from the models (--nomigrations), so run the data
    # migration's own function on it, as `migrate` does; test_backup.py runs them all.
    migration = importlib.import_module("sessions.migrations.0002_stoelting_20")
    FilamentSet.objects.all().delete()  # tests/conftest.py made it as the migration does
    migration.create_set(django_apps, None)
    migration.create_set(django_apps, None)  # migrating again changes nothing
    fset = FilamentSet.objects.get(slug="stoelting-20")
    rows = [(f.size, f.grams) for f in fset.filaments.order_by("order")]
    assert rows == [(f.size, f.grams) for f in STOELTING_20]
    assert rows[9] == ("4.31", 2.0) and rows[-1] == ("6.65", 300.0)


@pytest.mark.django_db
def test_stimulus_with_filament_outside_the_study_set_is_refused(session, people):
    with pytest.raises(ValidationError) as err:
        services.record_stimulus(
            session=session, filament_size="4.32", withdrew=True, user=people["technician"]
        )
    assert "filament_size" in err.value.message_dict
    assert "'4.32'" in err.value.message_dict["filament_size"][0]
    other_set = FilamentSet.objects.create(slug="other", name="Other")
    stray = Filament.objects.create(filament_set=other_set, size="4.31", grams=2.0, order=1)
    stimulus = Stimulus(
        session=session, order=1, filament=stray, withdrew=True, recorded_at=session.tested_at
    )
    with pytest.raises(ValidationError) as err:
        stimulus.full_clean()
    assert "filament" in err.value.message_dict
    assert Stimulus.objects.count() == 0


@pytest.mark.django_db
def test_taps_are_numbered_in_order_and_a_resent_tap_is_stored_once(session, people):
    tap = uuid.uuid4()
    first = services.record_stimulus(
        session=session,
        filament_size="4.31",
        withdrew=False,
        client_uuid=tap,
        user=people["technician"],
    )
    again = services.record_stimulus(
        session=session,
        filament_size="4.31",
        withdrew=False,
        client_uuid=tap,
        user=people["technician"],
    )
    second = services.record_stimulus(
        session=session, filament_size="4.56", withdrew=True, user=people["technician"]
    )
    assert first.created and not again.created
    assert again.stimulus.pk == first.stimulus.pk
    assert list(session.stimuli.values_list("order", "filament__size", "withdrew")) == [
        (1, "4.31", False),
        (2, "4.56", True),
    ]
    assert second.stimulus.recorded_by == people["technician"]


@pytest.mark.django_db
def test_order_is_unique_within_a_session(session, people):
    services.record_stimulus(session=session, filament_size="4.31", withdrew=False, user=None)
    dup = Stimulus(
        session=session,
        order=1,
        filament=Filament.objects.get(size="4.56"),
        withdrew=True,
        recorded_at=session.tested_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        dup.save()


@pytest.mark.django_db
def test_undo_voids_the_last_tap_with_reason_and_keeps_it(session, people):
    services.record_stimulus(session=session, filament_size="4.31", withdrew=False, user=None)
    services.record_stimulus(session=session, filament_size="4.56", withdrew=True, user=None)
    undone = services.undo_last_stimulus(session=session, user=people["technician"])
    assert (undone.order, undone.voided, undone.void_reason) == (2, True, "undo")
    assert Stimulus.objects.filter(session=session).count() == 2
    assert services.live_series(session) == [("4.31", False)]
    assert undone.history.first().history_change_reason == "undo"


@pytest.mark.django_db
def test_a_session_started_outside_a_request_names_its_technician_in_the_audit_trail(
    session, people
):
    # No request here (an import, a shell, a script): the history row still says who.
    created = session.history.get(history_type="+")
    assert created.history_user == people["technician"]
    services.record_stimulus(
        session=session, filament_size="4.31", withdrew=False, user=people["technician"]
    )
    assert Stimulus.history.get(history_type="+").history_user == people["technician"]


@pytest.mark.django_db
def test_one_live_session_per_animal_timepoint_and_paw(session, people):
    with pytest.raises(IntegrityError), transaction.atomic():
        TestSession.objects.create(
            animal=session.animal, timepoint=session.timepoint, paw="right", method="up_down"
        )
    services.void_session(session=session, user=people["investigator"], reason="wrong paw")
    again = services.start_session(
        animal=session.animal, timepoint=session.timepoint, paw="right", user=None
    )
    assert again.pk != session.pk
    assert TestSession.objects.filter(animal=session.animal).count() == 2


@pytest.mark.django_db
def test_voided_session_refuses_new_taps(session, people):
    services.void_session(session=session, user=people["investigator"], reason="rat unsettled")
    with pytest.raises(ValidationError) as err:
        services.record_stimulus(session=session, filament_size="4.31", withdrew=True, user=None)
    assert "session" in err.value.message_dict


@pytest.mark.django_db
def test_voiding_needs_a_reason(session, people):
    with pytest.raises(ValidationError) as err:
        services.void_session(session=session, user=people["investigator"], reason="  ")
    assert "reason" in err.value.message_dict
    session.refresh_from_db()
    assert session.status == TestSession.Status.IN_PROGRESS
