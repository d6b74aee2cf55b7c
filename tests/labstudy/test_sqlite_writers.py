"""SQLite's one writer: a long read (a dry run, an export) must not lock out sign-ins, and
two writers queue instead of one failing with "database is locked".

The test database is SQLite in memory (or PostgreSQL), where WAL does not apply, so these
tests open two connections of their own on a file database with the settings' SQLite
options (settings.LABSTUDY_SQLITE_OPTIONS), as two server processes would. The dry-run
test runs on whichever database the suite uses.
"""

import threading
import time

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.utils import ConnectionHandler
from django.test.utils import CaptureQueriesContext

from labstudy.models import Study
from sessions.importing import import_study_csv
from sessions.services import stoelting_set


@pytest.fixture(autouse=True)
def own_connections_allowed(request, django_db_blocker):
    """pytest-django guards the test database; these tests open their own files."""
    if "django_db" in request.keywords:
        yield
        return
    with django_db_blocker.unblock():
        yield


def two_connections(path, **options):
    """Two Django connections ('a', 'b') on the SQLite file `path`."""
    config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": options}
    handler = ConnectionHandler({"default": dict(config), "a": dict(config), "b": dict(config)})
    first = handler["a"]
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS logins (who TEXT)")
        cursor.execute("INSERT INTO logins VALUES ('setup')")
    return handler


def write(wrapper, sql: str) -> None:
    """One write in a transaction begun as atomic() begins it on this connection
    (BEGIN IMMEDIATE with the app's options)."""
    wrapper.ensure_connection()
    wrapper._start_transaction_under_autocommit()
    with wrapper.cursor() as cursor:
        cursor.execute(sql)
        cursor.execute("COMMIT")


def app_options(timeout: float) -> dict:
    return {**settings.LABSTUDY_SQLITE_OPTIONS, "timeout": timeout}


def test_the_app_opens_sqlite_in_wal_mode_with_immediate_transactions(tmp_path):
    handler = two_connections(tmp_path / "db.sqlite3", **app_options(1))
    with handler["b"].cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert handler["b"].transaction_mode == "IMMEDIATE"
    handler.close_all()
    default = settings.DATABASES["default"]
    if default["ENGINE"] == "django.db.backends.sqlite3":  # the app's own database
        assert default["OPTIONS"]["init_command"] == "PRAGMA journal_mode=WAL"
        assert default["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        assert default["OPTIONS"]["timeout"] >= 5


def _sign_in_while_a_long_read_is_open(handler) -> None:
    """Connection a holds a read transaction open (a dry run checking a big file);
    connection b records a sign-in and commits."""
    reader = handler["a"]
    reader.ensure_connection()
    raw = reader.connection
    raw.execute("BEGIN DEFERRED")
    assert raw.execute("SELECT count(*) FROM logins").fetchone()[0] >= 1
    try:
        write(handler["b"], "INSERT INTO logins VALUES ('tess')")
    finally:
        raw.execute("ROLLBACK")


def test_a_sign_in_commits_while_a_long_read_is_open(tmp_path):
    handler = two_connections(tmp_path / "db.sqlite3", **app_options(1))
    started = time.monotonic()
    _sign_in_while_a_long_read_is_open(handler)
    assert time.monotonic() - started < 0.9  # did not wait for the reader
    with handler["a"].cursor() as cursor:
        cursor.execute("SELECT who FROM logins ORDER BY rowid")
        assert [r[0] for r in cursor.fetchall()] == ["setup", "tess"]
    handler.close_all()


def test_without_wal_the_same_sign_in_fails_as_it_did_in_the_incident(tmp_path):
    """The control: SQLite's default rollback journal, as before the change."""
    handler = two_connections(tmp_path / "db.sqlite3", timeout=0.3)
    with pytest.raises(OperationalError, match="database is locked"):
        _sign_in_while_a_long_read_is_open(handler)
    handler.close_all()


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path):
    path = tmp_path / "db.sqlite3"
    handler = two_connections(path, **app_options(10))
    outcome = {}

    def second_writer():
        own = ConnectionHandler(
            {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
                         "OPTIONS": app_options(10)}}
        )  # fmt: skip
        try:
            write(own["default"], "INSERT INTO logins VALUES ('ivy')")
            outcome["ok"] = time.monotonic()
        except Exception as error:  # noqa: BLE001 - the test reports whatever happened
            outcome["error"] = error
        finally:
            own.close_all()

    first = handler["a"]
    first.ensure_connection()
    first._start_transaction_under_autocommit()
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO logins VALUES ('tap')")
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.5)  # the second writer is waiting for the lock now
        assert "ok" not in outcome and "error" not in outcome
        released = time.monotonic()
        cursor.execute("COMMIT")
    thread.join(15)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["ok"] >= released
    with handler["b"].cursor() as cursor:
        cursor.execute("SELECT who FROM logins ORDER BY rowid")
        assert [r[0] for r in cursor.fetchall()] == ["setup", "tap", "ivy"]
    handler.close_all()


STIMULI = (
    "animal,group,timepoint,day,paw,order,filament_size,response\n"
    + "".join(
        f"R{a:02d},{g},T0,7,right,{o},{size},{resp}\n"
        for a, g in ((1, "control"), (2, "K5"), (3, "K10"))
        for o, (size, resp) in enumerate((("4.31", 0), ("4.56", 0), ("4.74", 1)), start=1)
    )
).encode()


@pytest.mark.django_db
@pytest.mark.parametrize("existing", [False, True])
def test_a_dry_run_reads_only_and_opens_no_transaction(people, existing):
    # A real database has the Stoelting set from its data migration; a transactional test
    # that ran before this one on the same worker may have flushed the test database's copy.
    stoelting_set()
    if existing:
        import_study_csv(data=STIMULI.replace(b"T0,7", b"T1,14"), source_name="a.csv", slug="x")
    before = Study.objects.count()
    with CaptureQueriesContext(connection) as queries:
        result = import_study_csv(data=STIMULI, source_name="s.csv", slug="x", dry_run=True)
    assert result.ok, result.errors
    assert result.stimuli == 9 and not result.written
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"]
        .lstrip()
        .upper()
        .startswith(("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "BEGIN"))
    ]
    assert writes == []
    assert Study.objects.count() == before


@pytest.mark.django_db
def test_the_real_import_still_writes_in_one_transaction_after_checking(people):
    with CaptureQueriesContext(connection) as queries:
        result = import_study_csv(data=STIMULI, source_name="s.csv", slug="x")
    assert result.written, result.errors
    sql = [q["sql"].lstrip().upper() for q in queries.captured_queries]
    first_write = next(i for i, q in enumerate(sql) if q.startswith("INSERT"))
    savepoint = next(i for i, q in enumerate(sql) if q.startswith("SAVEPOINT"))
    assert savepoint < first_write  # every write inside the import's transaction
    # and the file was checked (the rows parsed, the study looked up) before it opened
    assert any("VF_SESSIONS_FILAMENT" in q for q in sql[:savepoint])


@pytest.mark.django_db
def test_imported_rows_take_fresh_ids_and_the_app_carries_on_after_them(people):
    """The import reserves ids itself (a sequence on PostgreSQL, above the highest id and
    sqlite_sequence on SQLite): rows and history agree, and the next row the app writes
    gets the next id, not one of the imported ones."""
    from sessions.models import Stimulus, TestSession

    first = import_study_csv(data=STIMULI, source_name="s.csv", slug="x")
    assert first.written, first.errors
    second = import_study_csv(data=STIMULI, source_name="t.csv", slug="y")
    assert second.written, second.errors
    ids = sorted(Stimulus.objects.values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 18
    assert sorted(Stimulus.history.values_list("id", flat=True)) == ids
    session = TestSession.objects.order_by("pk").first()
    extra = TestSession.objects.create(
        animal=session.animal, timepoint=session.timepoint, paw="left"
    )
    assert extra.pk > max(TestSession.objects.exclude(pk=extra.pk).values_list("pk", flat=True))
    stored = Stimulus.objects.select_related("filament").order_by("pk").first()
    assert stored.client_uuid is not None and stored.recorded_at is not None
    assert stored.history.first().history_change_reason == "imported from s.csv"
