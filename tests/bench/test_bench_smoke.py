"""Smoke test: every benchmark script runs on a tiny size, exits 0 and prints its rows.

Benchmarks are not timed tests: nothing here judges a figure. The scripts run one after
the other (`--quick`, as `python bench/run_all.py --quick` runs them) in ONE Python
process, which spares four starts of Django, pandas and SciPy; the children a script
starts itself (gunicorn, the export's streaming processes) are still processes of their
own. They share one copy of a migrated database (a PostgreSQL template in CI's PostgreSQL
pass, a copy of the test run's `migrated_sqlite` file otherwise; their studies have
different slugs), and each writes its table to a temporary results file of its own, never
to bench/RESULTS.md. bench_thresholds.py, which needs no Django, runs first, so the first
Django script still finds Django not set up and must set it up itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.worlds import ROOT, manage, manage_env

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
    "bench_stats_cache.py": ("statistics cache", "| dashboard, second visit (cache hit)", False),
    "bench_publication.py": ("publication files", "| publication ZIP, 16 animals", False),
    "bench_planning.py": ("planning", "| power point, Kruskal-Wallis + Nemenyi", False),
}
IN_MEMORY = {"bench_thresholds.py", "bench_mixed.py", "bench_planning.py"}  # no database needed
# Runs each (script, argv) of the plan in argv[1] as `python script *argv` would, in this
# one process, and writes {script: {returncode, stdout, stderr}} to the file argv[2].
RUNNER = """
import contextlib, io, json, runpy, sys, traceback
plan, done_file, done = json.loads(sys.argv[1]), sys.argv[2], {}
for script, argv in plan:
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = [script, *argv]
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
            if stop.code is not None and not isinstance(stop.code, int):
                print(stop.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    done[script.rsplit("/", 1)[-1]] = {
        "returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()
    }
with open(done_file, "w") as f:
    json.dump(done, f)
"""


def _postgres_server() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return None


def _admin(server: str):
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True)


@pytest.fixture(scope="module")
def bench_database(request, tmp_path_factory):
    """A migrated database of the scripts' own: a copy of the run's migrated SQLite file,
    or a PostgreSQL database migrated here and dropped afterwards."""
    server = _postgres_server()
    if server is None:
        path = tmp_path_factory.mktemp("bench-db") / "bench.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    name = f"labstudy_benchsmoke_{uuid.uuid4().hex[:12]}"
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrated = manage("migrate", "--noinput", "-v0", database_url=f"{server}/{name}")
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        yield f"{server}/{name}"
    finally:
        with _admin(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory, request) -> dict:
    """Every script that can run here, run once per test run (the xdist workers share the
    run, under a lock, as they share `migrated_sqlite`); its results file; RESULTS.md
    untouched?"""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "bench-runs"
    folder.mkdir(exist_ok=True)
    done_file = folder / "runs.json"
    with open(folder / "runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done_file.exists():
            _run_all(request.getfixturevalue("bench_database"), folder, done_file)
    return json.loads(done_file.read_text())


def _run_all(database_url: str, folder, done_file) -> None:
    plan, results = [], {}
    for script, (_, _, needs_postgres) in SCRIPTS.items():
        if needs_postgres and _postgres_server() is None:
            continue
        results[script] = folder / f"{script}.md"
        results[script].write_text("# Benchmarks\n\n## other\n\nkept\n")
        args = ["--quick", "--results", str(results[script])]
        if script not in IN_MEMORY:
            args += ["--database-url", database_url]
        plan.append((str(ROOT / "bench" / script), args))
    before = RESULTS.read_bytes() if RESULTS.exists() else None
    runs_file = folder / "runs-raw.json"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(plan), str(runs_file)],
        cwd=folder,
        env=manage_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0 and runs_file.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    after = RESULTS.read_bytes() if RESULTS.exists() else None
    done_file.write_text(
        json.dumps(
            {
                "runs": json.loads(runs_file.read_text()),
                "results": {k: str(v) for k, v in results.items()},
                "kept": before == after,
            }
        )
    )


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_benchmark_runs_tiny_and_prints_its_rows(script, quick_runs):
    section, row, needs_postgres = SCRIPTS[script]
    if needs_postgres and _postgres_server() is None:
        pytest.skip(
            f"{script} needs PostgreSQL (concurrent writers with row locks); it runs in "
            "CI's DATABASE_URL=postgres://... pass"
        )
    done = quick_runs["runs"][script]
    assert done["returncode"] == 0, done["stdout"][-3000:] + done["stderr"][-3000:]
    assert HEADER in done["stdout"]
    assert any(line.startswith(row) for line in done["stdout"].splitlines()), done["stdout"]
    text = Path(quick_runs["results"][script]).read_text()
    assert f"## {section}\n" in text and "## other\n\nkept" in text
    assert quick_runs["kept"]  # bench/RESULTS.md as it was
