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
