"""animals 0008/0009 keep every dose: a dose stored with status "voided" comes out
voided, with its reason as the void reason and the status (and reason) it had before the
void, read from its history; its history says the same, so "already voided on ... by ..."
still finds the moment of the void. Run on the migrations themselves (MigrationExecutor)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from animals.models import Animal, DoseAdministration
from labstudy.audit import already_voided

# The test database must be the migrations' own (make test's second pass, --migrations).
pytestmark = pytest.mark.migrations

BEFORE = [("animals", "0007_merge_20261203_1342")]
AFTER = [("animals", "0009_h6_dose_status_without_voided")]


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_dose_stored_voided_comes_out_voided_with_its_reason_and_status(study, people):
    tess = people["technician"]
    r01 = Animal.objects.create(study=study, code="R01")
    r02 = Animal.objects.create(study=study, code="R02")
    old = _migrate(BEFORE)
    try:
        dose_model = old.get_model("animals", "DoseAdministration")
        history_model = old.get_model("animals", "HistoricalDoseAdministration")
        day8, day9 = dt.date(2026, 9, 8), dt.date(2026, 9, 9)
        t0 = timezone.now() - dt.timedelta(days=2)

        def dose(animal, date, status, reason, past):
            """A dose as stored before 0008, with its history rows (status, reason, when)."""
            row = dose_model.objects.create(
                animal_id=animal.pk, scheduled_date=date, study_day=(date - study.day0_date).days,
                status=status, reason=reason,
            )  # fmt: skip
            for i, (was, why, hours) in enumerate(past):
                history_model.objects.create(
                    id=row.pk, animal_id=animal.pk, scheduled_date=date,
                    study_day=row.study_day, status=was, reason=why,
                    created_at=row.created_at, updated_at=row.updated_at,
                    history_date=t0 + dt.timedelta(hours=hours), history_user_id=tess.pk,
                    history_type="+" if i == 0 else "~", history_change_reason=why,
                )  # fmt: skip
            return row.pk

        # Marked missed, then voided as entered on the wrong day; then marked again.
        past = [("scheduled", "", 0), ("missed", "escaped", 1), ("voided", "entered twice", 2)]
        missed = dose(r01, day8, "voided", "entered twice", past)
        again = dose(r01, day8, "given", "", [("given", "", 3)])
        # Voided with no history at all (rows from before the history was kept).
        bare = dose(r02, day8, "voided", "wrong rat", [])
        # A live refused dose is left as it was.
        refused = dose(r02, day9, "refused", "struggled", [("refused", "struggled", 0)])
    finally:
        _migrate(AFTER)
        _migrate(_latest())  # the models below are today's (later migrations' columns)

    doses = DoseAdministration.objects.in_bulk()
    assert len(doses) == 4
    as_was = {
        pk: (d.voided, d.void_reason, d.status, d.reason) for pk, d in doses.items()
    }  # fmt: skip
    assert as_was == {
        missed: (True, "entered twice", "missed", "escaped"),
        again: (False, "", "given", ""),
        bare: (True, "wrong rat", "scheduled", ""),
        refused: (False, "", "refused", "struggled"),
    }
    # The file contract of the doses export: a voided dose still reads "voided".
    assert [doses[pk].state for pk in (missed, again, bare, refused)] == [
        "voided", "given", "voided", "refused",
    ]  # fmt: skip
    # The history reads the same: the void row is voided, with the status before it.
    trail = list(
        doses[missed]
        .history.order_by("history_date")
        .values_list("status", "voided", "void_reason")
    )
    assert trail == [
        ("scheduled", False, ""), ("missed", False, ""), ("missed", True, "entered twice"),
    ]  # fmt: skip
    when = timezone.localtime(t0 + dt.timedelta(hours=2))
    assert already_voided(doses[missed], voided=True) == (
        f"already voided on {when:%d %b %Y %H:%M} by tess: entered twice"
    )
    # The one-live-dose rule now reads `voided`: R01's day 8 keeps its voided and live dose.
    assert (
        DoseAdministration.objects.filter(animal=r01, scheduled_date=day8, voided=False).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_runs_backwards_to_the_old_status(study):
    animal = Animal.objects.create(study=study, code="R01")
    dose = DoseAdministration.objects.create(
        animal=animal, scheduled_date=dt.date(2026, 9, 8), study_day=7, status="given",
        given_at=timezone.now(), voided=True, void_reason="wrong rat",
    )  # fmt: skip
    try:
        old = _migrate(BEFORE)
        stored = old.get_model("animals", "DoseAdministration").objects.get(pk=dose.pk)
        assert (stored.status, stored.reason) == ("voided", "wrong rat")
    finally:
        _migrate(AFTER)
        _migrate(_latest())  # the models below are today's (later migrations' columns)
    dose.refresh_from_db()
    assert (dose.voided, dose.void_reason, dose.status) == (True, "wrong rat", "scheduled")
