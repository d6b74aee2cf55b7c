"""`manage.py backup`: a consistent SQLite copy that restores to the same data; and, on the
way, the migration path itself: the test database is made from the models (pytest-django's
--nomigrations in pyproject.toml), so the fresh SQLite file `manage.py migrate` makes for
this test (the fixture `migrated_sqlite`, as `make migrate` does) is where the data
migrations are checked. CI also runs `migrate` on PostgreSQL and `makemigrations --check`
(.ci/run)."""

import sqlite3
from pathlib import Path

import pytest
from django.db import connection

from analysis.thresholds import STOELTING_20
from animals.models import DoseAdministration
from sessions.models import Stimulus
from tests.worlds import ROOT, manage


def _count(db: Path) -> tuple[int, int]:
    """Stimuli, and doses recorded as missed, in the SQLite file `db`."""
    with sqlite3.connect(db) as conn:
        (stimuli,) = conn.execute(f"SELECT COUNT(*) FROM {Stimulus._meta.db_table}").fetchone()
        (missed,) = conn.execute(
            f"SELECT COUNT(*) FROM {DoseAdministration._meta.db_table} WHERE status = 'missed'"
        ).fetchone()
    return stimuli, missed


def _check_migrated(db: Path) -> None:
    """Every migration file was applied and the data migration made the Stoelting set."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT f.size, f.grams FROM vf_sessions_filament f"
            " JOIN vf_sessions_filamentset s ON s.id = f.filament_set_id"
            " WHERE s.slug = 'stoelting-20' ORDER BY f.\"order\""
        ).fetchall()
        applied = set(conn.execute("SELECT app, name FROM django_migrations").fetchall())
    assert rows == [(f.size, f.grams) for f in STOELTING_20]
    for folder, label in (
        ("labstudy", "labstudy"),
        ("animals", "animals"),
        ("sessions", "vf_sessions"),
    ):
        on_disk = {(label, p.stem) for p in (ROOT / folder / "migrations").glob("0*.py")}
        assert on_disk and on_disk <= applied


def test_sqlite_backup_restores_to_the_same_data(sqlite_copy, tmp_path):
    """`sqlite_copy` is a copy of the file `manage.py migrate --noinput` made (the fixture
    `migrated_sqlite`, one migrate per test run, shared with the benchmark smoke test)."""
    live = sqlite_copy
    url = f"sqlite:///{live}"
    _check_migrated(live)
    loaded = manage("load_demo_study", database_url=url)
    assert loaded.returncode == 0, loaded.stderr
    before = _count(live)
    assert before[0] > 1000 and before[1] == 1  # the demo's stimuli and its one missed dose
    backup = tmp_path / "copy.sqlite3"
    result = manage("backup", "--out", str(backup), database_url=url)
    assert result.returncode == 0, result.stderr
    assert f"to {backup}" in result.stdout and "To restore" in result.stdout
    # Restore as documented: copy the backup over the database file.
    restored = tmp_path / "restored.sqlite3"
    restored.write_bytes(backup.read_bytes())
    assert _count(restored) == before
    again = manage("backup", "--out", str(backup), database_url=url)
    assert again.returncode != 0 and "already exists" in again.stderr


@pytest.mark.django_db
def test_postgres_backup_explains_pg_dump():
    if connection.vendor != "postgresql":
        pytest.skip("runs in CI's PostgreSQL pass (DATABASE_URL=postgres://...)")
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("backup", stdout=out)
    text = out.getvalue()
    assert "pg_dump -h" in text and "-Fc" in text and "pg_restore" in text
