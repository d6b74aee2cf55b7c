"""`manage.py backup`: a consistent SQLite copy that restores to the same data; and, on the
way, the migration path itself: the test database is made from the models (pytest-django's
--nomigrations in pyproject.toml), so the fresh SQLite file this test migrates the way
`make migrate` does is where the data migrations are checked. CI also runs `migrate` on
PostgreSQL and `makemigrations --check` (.ci/run)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from analysis.thresholds import STOELTING_20

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
    env["DATABASE_URL"] = f"sqlite:///{db}"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _count(db: Path) -> str:
    code = (
        "from sessions.models import Stimulus; from animals.models import DoseAdministration;"
        "print(Stimulus.objects.count(),"
        " DoseAdministration.objects.filter(status='missed').count())"
    )
    result = _manage("shell", "-c", code, db=db)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # shell may first list its auto-imports


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


def test_sqlite_backup_restores_to_the_same_data(tmp_path):
    live = tmp_path / "live.sqlite3"
    migrated = _manage("migrate", "--noinput", db=live)
    assert migrated.returncode == 0, migrated.stderr
    _check_migrated(live)
    assert _manage("load_demo_study", db=live).returncode == 0
    before = _count(live)
    backup = tmp_path / "copy.sqlite3"
    result = _manage("backup", "--out", str(backup), db=live)
    assert result.returncode == 0, result.stderr
    assert f"to {backup}" in result.stdout and "To restore" in result.stdout
    # Restore as documented: copy the backup over the database file.
    restored = tmp_path / "restored.sqlite3"
    restored.write_bytes(backup.read_bytes())
    assert _count(restored) == before
    assert before.split()[1] == "1"  # the demo's one missed dose came back too
    again = _manage("backup", "--out", str(backup), db=live)
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
