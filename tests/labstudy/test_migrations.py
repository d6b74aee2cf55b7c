"""The migration path itself, once per run: the test database is made from the models
(pytest-django's --nomigrations in pyproject.toml), so this migrates a fresh SQLite file
the way `make migrate` does and reads what the data migrations left in it. CI also runs
`migrate` on PostgreSQL and `makemigrations --check` (.ci/run)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from analysis.thresholds import STOELTING_20

ROOT = Path(__file__).resolve().parents[2]


def test_migrate_builds_a_fresh_database_with_the_stoelting_set(tmp_path):
    db = tmp_path / "fresh.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
    env["DATABASE_URL"] = f"sqlite:///{db}"
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
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
