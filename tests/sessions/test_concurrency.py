"""Two tablets tapping the same session at once lose and duplicate nothing (PostgreSQL).

SQLite serialises writers with a file lock, so the race this guards against only exists
on a server database; CI's PostgreSQL pass runs it.
"""

import threading
import uuid

import pytest
from django.db import connection, connections

from animals.models import Animal
from sessions import services
from sessions.models import Stimulus, TestSession

TAPS_PER_TABLET = 12


@pytest.mark.django_db(transaction=True)
def test_concurrent_tablets_on_one_session(study):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in CI's DATABASE_URL=postgres://... pass")
    animal = Animal.objects.create(study=study, code="R01")
    session = services.start_session(
        animal=animal, timepoint=study.timepoints.get(label="T0"), paw="right", user=None
    )
    taps = {
        name: [uuid.uuid4() for _ in range(TAPS_PER_TABLET)] for name in ("tablet-a", "tablet-b")
    }
    barrier = threading.Barrier(2)
    errors = []

    def tablet(name: str, other: str) -> None:
        try:
            barrier.wait()
            for mine, theirs in zip(taps[name], taps[other], strict=True):
                services.record_stimulus(
                    session=session,
                    filament_size="4.31",
                    withdrew=False,
                    client_uuid=mine,
                    user=None,
                )
                # A replayed queue re-sends the other tablet's tap: stored once only.
                services.record_stimulus(
                    session=session,
                    filament_size="4.31",
                    withdrew=False,
                    client_uuid=theirs,
                    user=None,
                )
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's name
            errors.append(f"{name}: {exc!r}")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=tablet, args=("tablet-a", "tablet-b")),
        threading.Thread(target=tablet, args=("tablet-b", "tablet-a")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    stored = list(Stimulus.objects.filter(session=session).values_list("order", "client_uuid"))
    assert sorted(o for o, _ in stored) == list(range(1, 2 * TAPS_PER_TABLET + 1))
    assert {u for _, u in stored} == set(taps["tablet-a"]) | set(taps["tablet-b"])


@pytest.mark.django_db(transaction=True)
def test_the_first_tap_sent_twice_at_once_starts_one_session(study):
    """A tablet re-sending the first tap of a series while the original is in flight:
    both requests find no session and create one; one wins, the other uses it."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in CI's DATABASE_URL=postgres://... pass")
    animal = Animal.objects.create(study=study, code="R01")
    timepoint = study.timepoints.get(label="T0")
    tap = uuid.uuid4()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send() -> None:
        try:
            barrier.wait()
            session = services.start_session(
                animal=animal, timepoint=timepoint, paw="right", user=None
            )
            results.append(
                services.record_stimulus(
                    session=session, filament_size="4.31", withdrew=False, client_uuid=tap,
                    user=None,
                )
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(r.created for r in results) == [False, True]
    assert {r.stimulus.session_id for r in results} == {results[0].stimulus.session_id}
    assert Stimulus.objects.filter(client_uuid=tap).count() == 1


TABLETS = 12
ANIMALS_PER_TABLET = 3


@pytest.mark.django_db(transaction=True)
def test_nothing_is_stored_after_a_sign_off_while_tablets_tap(study, people):
    """Twelve tablets tap (first taps start sessions, a complete series is undone and
    tapped again) while the investigator signs the timepoint off: every stimulus and
    every change to one is older than `locked_at`, and every tap after it is refused
    with "signed off". Without the timepoint row lock, taps land after sign-off."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in CI's DATABASE_URL=postgres://... pass")
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from labstudy.services import sign_off_timepoint
    from sessions import selectors
    from tests.conftest import PASSWORD

    timepoint = study.timepoints.get(label="T0")
    animals = {
        n: [
            Animal.objects.create(study=study, code=f"R{n:02d}{k}")
            for k in range(ANIMALS_PER_TABLET)
        ]
        for n in range(TABLETS)
    }
    tapper = people["technician"]
    started = threading.Barrier(TABLETS + 1)
    stored_before = threading.Semaphore(0)
    refusals: dict[int, list[str]] = {n: [] for n in range(TABLETS)}
    errors: list[str] = []

    def one_tap(animal) -> None:
        with transaction.atomic():  # as the tap view: a refused first tap leaves nothing
            session = selectors.live_session(study, animal.pk, timepoint.pk, "right")
            if session is None:
                session = services.start_session(
                    animal=animal, timepoint=timepoint, paw="right", user=tapper
                )
            try:
                services.record_stimulus(
                    session=TestSession(pk=session.pk),
                    filament_size="4.31",
                    withdrew=False,
                    client_uuid=uuid.uuid4(),
                    user=tapper,
                    study=study,
                    slot=(animal.pk, timepoint.pk, "right"),
                )
            except services.TapConflict as conflict:
                if conflict.code != "complete":
                    raise
                services.undo_tap(session=TestSession(pk=session.pk), user=tapper, study=study)

    def tablet(n: int) -> None:
        try:
            started.wait()
            for turn in range(400):
                animal = animals[n][turn % ANIMALS_PER_TABLET]
                try:
                    one_tap(animal)
                except ValidationError as refused:
                    refusals[n].append(" ".join(refused.messages))
                    if len(refusals[n]) == 3:  # refused, and stays refused
                        return
                else:
                    stored_before.release()
            errors.append(f"tablet {n}: never refused")
        except Exception as exc:  # noqa: BLE001 - reported below with the tablet
            errors.append(f"tablet {n}: {exc!r}")
        finally:
            connections.close_all()

    def investigator() -> None:
        try:
            started.wait()
            for _ in range(3 * TABLETS):  # sign off in the middle of the tapping
                stored_before.acquire(timeout=30)
            sign_off_timepoint(
                timepoint=study.timepoints.get(pk=timepoint.pk),
                user=people["investigator"],
                password=PASSWORD,
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"sign-off: {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(TABLETS)]
    threads.append(threading.Thread(target=investigator))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    timepoint.refresh_from_db()
    assert timepoint.locked_at is not None
    stimuli = Stimulus.objects.filter(session__timepoint=timepoint)
    assert stimuli.count() >= 3 * TABLETS  # the tablets really were tapping
    assert list(stimuli.filter(recorded_at__gt=timepoint.locked_at)) == []
    sessions = TestSession.objects.filter(timepoint=timepoint)
    assert list(sessions.filter(created_at__gt=timepoint.locked_at)) == []
    # No change of any kind (a tap, an undo) to these records after the sign-off.
    later = Stimulus.history.filter(
        session_id__in=sessions.values("pk"), history_date__gt=timepoint.locked_at
    )
    assert list(later.values_list("id", "history_type", "history_date")) == []
    assert list(sessions.filter(updated_at__gt=timepoint.locked_at)) == []
    for n, messages in refusals.items():
        assert len(messages) == 3, (n, messages)
        assert all("T0 has been signed off" in m for m in messages), (n, messages)
