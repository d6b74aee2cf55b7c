"""Smoke test: every benchmark script runs on a tiny size, exits 0 and prints its rows.

Benchmarks are not timed tests: nothing here judges a figure. Each script gets its own
copy of one migrated database (made once per test session: a PostgreSQL template in
CI's PostgreSQL pass, a SQLite file otherwise) and writes its table to a temporary
results file, never to bench/RESULTS.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADER = "| metric | value | baseline | ratio | database | date |"
# script: (section, the start of a row it must print, needs PostgreSQL)
SCRIPTS = {
    "bench_thresholds.py": ("thresholds", "| thresholds up_down, 200 sessions", False),
    "bench_dashboard.py": ("dashboard", "| dashboard render, wall s", False),
    "bench_tap.py": ("tap", "| tap p95, ms", False),
    "bench_tablets.py": ("tablets", "| tap p95 under load, ms", True),
    "bench_export.py": ("export", "| stimuli CSV through the export view, rows/s", False),
    "bench_import.py": ("import", "| import_study, ", False),
    "bench_mixed.py": ("mixed", "| mixed model fit, group × time, 40 animals", False),
    "bench_first_visit.py": (
        "first visit",
        "| dashboard, first visit to every chart drawn, runserver",
        False,
    ),
}
IN_MEMORY = {"bench_thresholds.py", "bench_mixed.py"}  # no database needed
CHROMIUM = os.environ.get("LABSTUDY_CHROMIUM", "/usr/bin/chromium")
NEEDS_CHROMIUM = {"bench_first_visit.py"}


def _postgres_server() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return None


def _admin(server: str):
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def _migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=_env(DATABASE_URL=url),
        check=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """("postgres", server, template name) or ("sqlite", path): migrated once."""
    server = _postgres_server()
    if server is None:
        path = tmp_path_factory.mktemp("bench-db") / "template.sqlite3"
        _migrate(f"sqlite:///{path}")
        yield ("sqlite", path)
        return
    name = f"labstudy_benchsmoke_{os.getpid()}"
    with _admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _migrate(f"{server}/{name}")
        yield ("postgres", server, name)
    finally:
        with _admin(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_copy(migrated_database, tmp_path):
    """A private copy of the migrated database for one script."""
    if migrated_database[0] == "sqlite":
        path = tmp_path / "bench.sqlite3"
        shutil.copyfile(migrated_database[1], path)
        yield f"sqlite:///{path}"
        return
    _, server, template = migrated_database
    name = f"labstudy_benchsmoke_{uuid.uuid4().hex[:12]}"
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield f"{server}/{name}"
    finally:
        with _admin(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_benchmark_runs_tiny_and_prints_its_rows(script, request, tmp_path):
    section, row, needs_postgres = SCRIPTS[script]
    if script in NEEDS_CHROMIUM and not Path(CHROMIUM).is_file():
        pytest.skip(f"{script} needs Chromium at {CHROMIUM}: apt-get install -y chromium")
    args = [sys.executable, str(ROOT / "bench" / script), "--quick"]
    env = _env()
    if script not in IN_MEMORY:
        if needs_postgres and _postgres_server() is None:
            pytest.skip(
                f"{script} needs PostgreSQL (concurrent writers with row locks); it runs in "
                "CI's DATABASE_URL=postgres://... pass"
            )
        args += ["--database-url", request.getfixturevalue("database_copy")]
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmarks\n\n## other\n\nkept\n")
    before = RESULTS.read_bytes() if RESULTS.exists() else None
    done = subprocess.run(
        [*args, "--results", str(results)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert HEADER in done.stdout
    assert any(line.startswith(row) for line in done.stdout.splitlines()), done.stdout
    text = results.read_text()
    assert f"## {section}\n" in text and "## other\n\nkept" in text
    assert (RESULTS.read_bytes() if RESULTS.exists() else None) == before
