"""The first tap's decision, as a service (sessions.services.tap_slot): a tap into a slot
with no session starts one; the next tap goes into that session; a refused first tap
leaves no empty session behind; a voided session's slot starts afresh."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions import services
from sessions.models import Stimulus, TestSession
from tests.worlds import make_bench_study


@pytest.fixture
def bench(study):
    return make_bench_study(study)  # today is day 28 = T3


def _tap(bench, user, *, size="4.31", withdrew=False, session_pk=None, asked=None):
    animal, tp = bench.animals["R01"], bench.tp
    slot = (animal.pk, tp.pk, "right")

    def slot_objects():
        if asked is not None:
            asked.append(slot)
        return animal, tp

    return services.tap_slot(
        study=bench.study, slot=slot, session_pk=session_pk, filament_size=size,
        withdrew=withdrew, client_uuid=None, user=user, slot_objects=slot_objects,
    )  # fmt: skip


@pytest.mark.django_db
def test_the_first_tap_starts_a_session_and_the_next_goes_into_it(bench, people):
    tess, asked = people["technician"], []
    first = _tap(bench, tess, asked=asked)
    second = _tap(bench, tess, size="4.56", asked=asked)
    assert len(asked) == 1  # the animal and timepoint are read only to start the session
    session = TestSession.objects.get()
    assert (session.animal.code, session.timepoint.label, session.paw) == ("R01", "T3", "right")
    assert first.stimulus.session_id == second.stimulus.session_id == session.pk
    assert list(session.stimuli.values_list("filament__size", flat=True)) == ["4.31", "4.56"]


@pytest.mark.django_db
def test_a_refused_first_tap_leaves_no_empty_session(bench, people):
    with pytest.raises(ValidationError):
        _tap(bench, people["technician"], size="4.32")  # not a Stoelting filament
    assert not TestSession.objects.exists()


@pytest.mark.django_db
def test_after_a_void_the_next_tap_starts_a_new_session(bench, people):
    tess = people["technician"]
    voided = _tap(bench, tess).stimulus.session
    services.void_session(session=voided, user=tess, reason="wrong paw")
    fresh = _tap(bench, tess).stimulus.session
    assert fresh.pk != voided.pk
    assert list(TestSession.objects.order_by("pk").values_list("status", "void_reason")) == [
        ("voided", "wrong paw"),
        ("in_progress", ""),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_tap_into_a_named_session_is_one_transaction_without_savepoints(bench, people):
    # Every tap after a series' first names its session: it is record_stimulus's own
    # transaction, not one nested in another (a savepoint and its release are two more
    # round trips on every tap); it is still stored once, with its history row.
    tess = people["technician"]
    session = _tap(bench, tess).stimulus.session
    with CaptureQueriesContext(connection) as captured:
        tapped = _tap(bench, tess, size="4.56", session_pk=session.pk)
    sql = [q["sql"].upper() for q in captured]
    assert not [s for s in sql if "SAVEPOINT" in s]
    assert tapped.created and tapped.stimulus.session_id == session.pk
    stored = Stimulus.objects.get(client_uuid=tapped.stimulus.client_uuid)
    assert stored.history.count() == 1
    assert list(session.stimuli.values_list("filament__size", flat=True)) == ["4.31", "4.56"]


@pytest.mark.django_db(transaction=True)
def test_the_first_tap_starts_its_session_in_the_taps_own_transaction(bench, people):
    # The first tap of a series starts the session inside the tap's transaction: no
    # savepoint of start_session's own (a refusal rolls the whole tap back anyway), and
    # the slot's live session is looked for once before the timepoint's lock and once
    # after it, not twice before. Both rows and both history rows are stored.
    tess = people["technician"]
    with CaptureQueriesContext(connection) as captured:
        tapped = _tap(bench, tess)
    sql = [q["sql"].upper() for q in captured]
    created = next(
        i for i, s in enumerate(sql) if s.startswith('INSERT INTO "VF_SESSIONS_TESTSESSION"')
    )
    looks = [s for s in sql[:created] if s.startswith('SELECT "VF_SESSIONS_TESTSESSION"')]
    assert len(looks) == 2
    # one savepoint around the session's insert (a duplicate loses to the unique index
    # and is read instead), one around the stimulus's (its UUID race is retried)
    assert len([s for s in sql if s.startswith("SAVEPOINT")]) == 2
    session = TestSession.objects.get()
    assert tapped.created and tapped.stimulus.session_id == session.pk
    assert session.history.count() == 1 and tapped.stimulus.history.count() == 1
