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
from sessions.models import Stimulus

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
