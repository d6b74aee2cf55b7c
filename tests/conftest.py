"""The world the tests build in code: one study from the reference template and the
people around it (technician, investigator, data manager, outsider)."""

import os

# One BLAS thread per test process, set before anything imports numpy: two xdist workers
# on two cores, each with OpenBLAS's own thread per core spinning, made a mixed-model
# test take 36 s instead of 9 s under load (and the machine is shared).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402
import tempfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from hypothesis import settings as hypothesis_settings

from front.demo import DemoSummary, load_demo_study
from labstudy.models import Study
from tests.worlds import (
    MD5_HASHER,
    PASSWORD,
    PEOPLE,
    DemoSnapshot,
    make_bench_study,
    manage,
    take_reference_snapshot,
    take_small_snapshot,
)

# Under CI the property and fuzz tests draw the same examples every run, so a landing is
# judged on the code, not on the luck of the draw; on a developer's machine they explore
# new examples each run (and Hypothesis remembers any failure it finds). Neither has a
# per-example deadline: speed is measured by the benchmarks (bench/), and on a loaded
# 2-core machine a 200 ms deadline failed a correct threshold example (303 ms).
hypothesis_settings.register_profile("labstudy", deadline=None)
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "labstudy")


# make test's second pass (`pytest --migrations -m migrations -o python_files=...`)
# collects only these files, so a migration test anywhere else would run in neither pass.
MIGRATION_TEST_FILES = "test_*_migration.py"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("migrations") and not fnmatch(
            item.path.name, MIGRATION_TEST_FILES
        ):
            raise pytest.UsageError(
                f"{item.nodeid} is marked `migrations` but its file is not named "
                f"{MIGRATION_TEST_FILES}: make test's second pass would not collect it"
            )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database is made from the models (--nomigrations), so add what the data
    migration sessions/0002_stoelting_20 gives every real database: the Stoelting set (a
    dry-run import, for one, must find it there rather than write it)."""
    from sessions.services import stoelting_set

    with django_db_blocker.unblock():
        stoelting_set()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A fresh SQLite file that `manage.py migrate --noinput` made, as `make migrate` does:
    one per test run, shared by the xdist workers (the first to ask migrates, under a lock,
    the others wait for it). Copy it; never write to it. tests/labstudy/test_backup.py
    checks what the migrations put there; the benchmark smoke test runs the scripts on
    copies of it."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = shared / "migrated.sqlite3"
    with open(shared / "migrated.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            building = shared / f"migrating-{os.getpid()}.sqlite3"
            done = manage("migrate", "--noinput", database_url=f"sqlite:///{building}")
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            building.rename(path)
    return path


@pytest.fixture
def sqlite_copy(migrated_sqlite, tmp_path) -> Path:
    """A private copy of the migrated SQLite file for one test."""
    path = tmp_path / "copy-of-migrated.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return path


@pytest.fixture
def make_user(db):
    def make(username: str, **extra):
        return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def people(make_user):
    return {role: make_user(name) for role, name in PEOPLE.items()}


@pytest.fixture(scope="session")
def reference_snapshot(django_db_setup, django_db_blocker):
    """The reference study's rows, made once per test worker (tests.worlds)."""
    with django_db_blocker.unblock():
        return take_reference_snapshot()


@pytest.fixture
def study(people, reference_snapshot):
    """The reference design (3 groups, phases A/B/C, T0-T7), blinded, day 0 on 1 Sep 2026
    (tests.worlds.build_reference_study; written here from its snapshot)."""
    reference_snapshot.install()
    return Study.objects.get(slug="psnl")


@pytest.fixture
def bench(study):
    """The reference study running with today = study day 28 (T3, in the dosed phase A;
    the study's first day is day -7), blinded, four animals in cages C2, C10, C1, C2 each
    weighed a week ago (tests.worlds.make_bench_study)."""
    return make_bench_study(study)


@pytest.fixture(scope="session")
def small_snapshot(django_db_setup, django_db_blocker):
    """The small study's rows, made once per test worker (tests.worlds.take_small_snapshot)."""
    with django_db_blocker.unblock():
        return take_small_snapshot()


@pytest.fixture
def small_study(people, small_snapshot):
    """The small hand-made study of tests/analysis/test_exports.py (two groups of two,
    T0-T2, every threshold worked out on paper), recorded through the bench services
    (once per worker; written here from its snapshot)."""
    small_snapshot.install()
    return Study.objects.get(slug="small")


@pytest.fixture(scope="session")
def demo_snapshot(django_db_setup, django_db_blocker) -> DemoSnapshot:
    """The demo study's rows, made once per test worker (see tests.worlds.DemoSnapshot)."""
    with django_db_blocker.unblock():
        return DemoSnapshot.take()


@pytest.fixture
def demo_study(db, demo_snapshot) -> DemoSummary:
    """The demo study and its accounts, as `load_demo_study()` leaves them (a browser
    test that asks for transactional_db gets it there too)."""
    demo_snapshot.install()
    return load_demo_study()


@pytest.fixture
def client_for(client, people):
    """A test client logged in as one of `people`."""

    def login(who: str):
        client.force_login(people[who])
        return client

    return login


@pytest.fixture(autouse=True)
def test_settings(settings):
    # PBKDF2's deliberate slowness protects real accounts, not test fixtures.
    settings.PASSWORD_HASHERS = [MD5_HASHER]
    # Login throttling needs the request, which Client.login() does not pass;
    # tests/labstudy/test_security.py switches it back on to test it.
    settings.AXES_ENABLED = False
    # No `make lan` certificate or addresses from the developer's own folder or shell;
    # tests/lan makes its own.
    settings.LABSTUDY_LAN_DIR = Path(tempfile.gettempdir()) / "labstudy-tests-no-lan"
    settings.LABSTUDY_LAN_URLS = []
    # The statistics cache in memory, empty for every test: no number computed by an
    # earlier test (or an earlier run, in the file cache) is served to this one.
    settings.CACHES = {
        **settings.CACHES,
        "statistics": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    from django.core.cache import caches

    caches["statistics"].clear()
