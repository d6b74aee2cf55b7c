"""animals 0010 keeps every record: doses get an empty client id, and an observation that
repeats a term of its submission (possible before one term per submission was enforced)
keeps all its content and loses only its form id. Run on the migration itself."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from animals.models import Animal

# The test database must be the migrations' own (make test's second pass, --migrations).
pytestmark = pytest.mark.migrations

BEFORE = [("animals", "0009_h6_dose_status_without_voided")]
AFTER = [("animals", "0010_h6_client_ids")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_repeated_terms_of_one_submission_are_all_kept(study):
    r01 = Animal.objects.create(study=study, code="R01")
    old = _migrate(BEFORE)
    try:
        observation = old.get_model("animals", "Observation")
        dose = old.get_model("animals", "DoseAdministration")
        form_id = uuid.uuid4()
        day = dt.date(2026, 9, 8)
        pks = [
            observation.objects.create(
                animal_id=r01.pk, date=day, term=term, notes=note, client_uuid=form_id
            ).pk
            for term, note in (("sedation", "a"), ("sedation", "b"), ("hematuria", "c"))
        ]
        dose_pk = dose.objects.create(
            animal_id=r01.pk, scheduled_date=day, study_day=7, status="scheduled"
        ).pk
        new = _migrate(AFTER)
        rows = new.get_model("animals", "Observation").objects.order_by("pk")
        assert list(rows.values_list("pk", "term", "notes", "client_uuid")) == [
            (pks[0], "sedation", "a", form_id),
            (pks[1], "sedation", "b", None),
            (pks[2], "hematuria", "c", form_id),
        ]
        migrated_dose = new.get_model("animals", "DoseAdministration").objects.get(pk=dose_pk)
        assert (migrated_dose.status, migrated_dose.client_uuid) == ("scheduled", None)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
