"""On PostgreSQL the stimuli export comes from COPY, formatted in SQL: it must be the very
text the row-by-row path writes (`csv_chunks` over `rows("stimuli")`), cell for cell."""

import datetime as dt

import pytest
from django.db import connection

from analysis import exports
from animals.models import Animal
from sessions import services as session_services
from sessions.models import Stimulus
from tests.worlds import build_small_study


@pytest.mark.django_db
def test_stimuli_copy_is_the_row_by_row_text(people):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's; runs in CI's DATABASE_URL=postgres://... pass")
    study = build_small_study(people)
    # An unallocated animal whose code needs quoting, no cage, no tester; winter and
    # summer times with microseconds (offsets +00:00 and +01:00 in Europe/London).
    odd = Animal.objects.create(study=study, code='X,"1"', cage="", sex="female")
    session = session_services.start_session(
        animal=odd, timepoint=study.timepoints.get(label="T0"), paw="left", user=None
    )
    for size, withdrew in (("4.31", False), ("4.56", True), ("4.31", True)):
        session_services.record_stimulus(
            session=session, filament_size=size, withdrew=withdrew, user=None
        )
    stamps = [
        dt.datetime(2026, 1, 15, 9, 5, 7, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 7, 1, 23, 30, 0, 123, tzinfo=dt.UTC),
    ]
    for stimulus, when in zip(Stimulus.objects.filter(session=session), stamps, strict=False):
        Stimulus.objects.filter(pk=stimulus.pk).update(recorded_at=when)

    export = exports.StudyExport(study)
    copied = "".join(export.csv_chunks("stimuli"))
    row_by_row = "".join(exports.csv_chunks(export.header("stimuli"), export.rows("stimuli")))
    assert copied.splitlines() == row_by_row.splitlines()
    assert copied == row_by_row
    assert '"X,""1"""' in copied and "2026-07-02T00:30:00+01:00" in copied
    assert "2026-01-15T09:05:07+00:00" in copied
