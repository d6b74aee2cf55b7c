"""Benchmark: the tap (record a stimulus, get the next-filament panel) through a live
gunicorn server on PostgreSQL, against a bare authenticated page in the same run.

Builds a study on a fresh PostgreSQL database (plus a 1,000-animal study of finished
sessions so the tables have a facility's worth of rows), starts gunicorn with the
project's gunicorn.conf.py and production settings, signs in as a technician through the
login form, then sends 2,000 taps following the stepping rule, each followed by a GET
of /bench-baseline/ (a constant template behind the same middleware, routed only by
the benchmark settings, bench/settings.py) on the same keep-alive connection. Target: tap
p95 <= 2x the baseline's p95. Queries per tap are counted in-process
(CaptureQueriesContext) on the same request and in the tap's own transaction (target <= 5),
and the queries are EXPLAINed.

    python bench/bench_tap.py                 # 2,000 taps
    python bench/bench_tap.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _db, _explain, _results, _server, _taps, _world  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "tap"
RATIO_TARGET = 2.0
SERVICE_QUERIES = 5
TRANSACTION_CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|BEGIN|COMMIT)", re.I)


def run_http(server, world, n_taps: int, warmup: int, seed: int) -> dict:
    rng = random.Random(seed)
    browser = _server.Browser(server.port)
    browser.login(world.technician.username, _world.PASSWORD)
    # The first animal is left for counting queries in-process afterwards.
    keys = [(a, t.pk) for a, _ in world.animals[1:] for t in world.timepoints]
    pending = _taps.series_for(world, keys, rng)
    taps, baselines, commits, problems = [], [], [], []
    first = []  # per counted tap: True for a series' first (it starts the session)
    results: dict[str, int] = {}
    commit = durable_commit_probe()
    series = pending.pop(0)
    wall0 = time.perf_counter()
    for i in range(warmup + n_taps):
        tap = series.make_tap(rng)
        while tap is None:
            series = pending.pop(0)
            tap = series.make_tap(rng)
        starts = not tap.fields["session"]
        seconds, status, result, panel = _taps.send(browser, series, tap)
        if status != 200 or result != "created":
            problems.append(f"tap {i}: HTTP {status} {result}")
        elif problem := series.accept(tap, panel):
            problems.append(f"tap {i}: {problem}")
        t0 = time.perf_counter()
        status, _, _ = browser.request("GET", "/bench-baseline/")
        baseline_s = time.perf_counter() - t0
        if status != 200:
            problems.append(f"baseline {i}: HTTP {status}")
        commit_s = commit()
        if i >= warmup:
            taps.append(seconds)
            first.append(starts)
            baselines.append(baseline_s)
            commits.append(commit_s)
            results[result] = results.get(result, 0) + 1
    browser.close()
    server_ms = server.request_ms()
    return {
        "server_tap_ms": server_ms["tap"][warmup:],
        "server_baseline_ms": server_ms["baseline"][warmup:],
        "taps": taps,
        "first": first,
        "baselines": baselines,
        "commits": commits,
        "problems": problems,
        "wall_s": time.perf_counter() - wall0,
        "reconnects": browser.reconnects,
        "worker_rss": [_server.rss_mb(pid) for pid in server.worker_pids()],
    }


def durable_commit_probe():
    """A function timing one durable write alone: a one-row INSERT and its COMMIT on this
    process's own connection to the benchmark database (no Django request, no HTTP), made
    between the taps so that it meets the same load. A tap cannot be faster than the
    database making its row durable (on PostgreSQL the WAL flushed to disk)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (n integer)")

    def commit() -> float:
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_commit_probe (n) VALUES (1)")
        return time.perf_counter() - t0

    return commit


def count_queries(world) -> dict:
    """Queries of a whole series of taps, in-process: per request and per tap service."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sessions import services
    from sessions.models import TestSession

    client = Client()
    client.force_login(world.technician)
    rng = random.Random(7)
    animal_pk = world.animals[0][0]
    first, second = world.timepoints[0], world.timepoints[1]
    request_counts, sample_sql = [], []
    series = _taps.series_for(world, [(animal_pk, first.pk)], rng)[0]
    while (tap := series.make_tap(rng)) is not None:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(series.url, tap.fields, headers=_taps.HTMX)
        if response.status_code != 200:
            raise SystemExit(f"in-process tap: HTTP {response.status_code}")
        series.accept(tap, response.content)
        sql = [q["sql"] for q in captured if not TRANSACTION_CONTROL.match(q["sql"])]
        request_counts.append(len(sql))
        if len(series.stimuli) == 2:
            sample_sql = sql  # a mid-series tap: the common case
    with CaptureQueriesContext(connection) as captured:
        client.get("/bench-baseline/")
    baseline = len(captured)
    animal = world.study.animals.get(pk=animal_pk)
    session = services.start_session(animal=animal, timepoint=second, paw="right", user=None)
    services.filament_table(world.study.filament_set_id)
    service_counts, stimuli, last = [], [], None
    while (size := _next(world, stimuli)) is not None:
        withdrew = rng.random() < 0.5
        with CaptureQueriesContext(connection) as captured:
            result = services.record_stimulus(
                session=TestSession(pk=session.pk),
                filament_size=size,
                withdrew=withdrew,
                client_uuid=uuid.uuid4(),
                user=world.technician,
                expected_last=last,
                study=world.study,
            )
        service_counts.append(sum(1 for q in captured if not TRANSACTION_CONTROL.match(q["sql"])))
        stimuli.append((size, withdrew))
        last = result.stimulus.client_uuid
    return {
        "request": request_counts,
        "baseline": baseline,
        "service": service_counts,
        "sample_sql": sample_sql,
        "session_url": series.url[: -len("tap/")],
        "today_url": f"/s/{world.study.slug}/bench/?date={first.date}",
        "client": client,
    }


def breakdown(world, client) -> dict[str, float]:
    """Median ms of the parts of an in-process tap request (no HTTP), and of the baseline."""
    import functools

    from django.db import connection

    import labstudy.middleware
    import sessions.views

    parts: dict[str, list[float]] = {}
    current: dict[str, float] = {}

    def timed(module, name: str, label: str):
        original = getattr(module, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                current[label] = current.get(label, 0.0) + time.perf_counter() - t0

        setattr(module, name, wrapper)
        return module, name, original

    patched = [
        timed(labstudy.middleware, "study_access", "study access"),
        timed(sessions.views, "tap_slot", "the tap's transaction"),
        timed(sessions.views.selectors, "panel", "panel"),
        timed(sessions.views, "render", "template"),
    ]
    # Waiting for the database, across the parts above: every statement's round trip
    # (Django's execute wrapper) and the COMMIT that makes the tap durable.
    database: dict[str, float] = {}

    def statement(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            database["statements"] = database.get("statements", 0.0) + time.perf_counter() - t0

    commit_original = connection.commit

    def commit():
        t0 = time.perf_counter()
        try:
            return commit_original()
        finally:
            database["commit"] = database.get("commit", 0.0) + time.perf_counter() - t0

    connection.commit = commit
    rng = random.Random(11)
    cpu: list[float] = []
    waits: dict[str, list[float]] = {}
    keys = [(world.animals[0][0], t.pk) for t in world.timepoints[2:]]
    try:
        for series in _taps.series_for(world, keys, rng):
            while (tap := series.make_tap(rng)) is not None:
                current.clear()
                database.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                with connection.execute_wrapper(statement):
                    response = client.post(series.url, tap.fields, headers=_taps.HTMX)
                total = time.perf_counter() - t0
                cpu.append(time.process_time() - c0)
                if response.status_code != 200:
                    raise SystemExit(f"in-process tap: HTTP {response.status_code}")
                series.accept(tap, response.content)
                parts.setdefault("whole request", []).append(total)
                for label, seconds in current.items():
                    parts.setdefault(label, []).append(seconds)
                rest = total - sum(current.values())
                parts.setdefault("the rest (sign-in session, user, middleware, form)", []).append(
                    rest
                )
                for label in ("statements", "commit"):
                    waits.setdefault(label, []).append(database.get(label, 0.0))
    finally:
        for module, name, original in patched:
            setattr(module, name, original)
        del connection.commit  # the class's method again
    baseline, baseline_cpu = [], []
    for _ in range(50):
        database.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(statement):
            client.get("/bench-baseline/")
        baseline.append(time.perf_counter() - t0)
        baseline_cpu.append(time.process_time() - c0)
        waits.setdefault("baseline statements", []).append(database.get("statements", 0.0))
    out = {label: statistics.median(v) * 1000 for label, v in parts.items()}
    out["baseline page"] = statistics.median(baseline) * 1000
    out["CPU: tap"] = statistics.median(cpu) * 1000
    out["CPU: baseline page"] = statistics.median(baseline_cpu) * 1000
    out["DB: statements"] = statistics.median(waits["statements"]) * 1000
    out["DB: commit"] = statistics.median(waits["commit"]) * 1000
    out["DB: baseline page"] = statistics.median(waits["baseline statements"]) * 1000
    return out


def _next(world, stimuli):
    from analysis import thresholds

    study = world.study
    return thresholds.next_filament(
        stimuli, method=study.threshold_method, start=study.start_filament
    )


def explain_bench(counted: dict) -> list:
    """EXPLAIN the SELECTs of a tap request, the session screen and the day list."""
    plans = [
        _explain.explain(sql, "tap: " + _explain.describe(sql))
        for sql in counted["sample_sql"]
        if sql.lstrip().upper().startswith("SELECT")
    ]
    client = counted["client"]
    for name, url in (
        ("session screen", counted["session_url"]),
        ("day list", counted["today_url"]),
    ):
        with _explain.capture() as captured:
            response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        plans += [
            _explain.explain(sql, f"{name}: " + _explain.describe(sql))
            for sql in _explain.selects(captured)
        ]
    return plans


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", "--size", dest="taps", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=50, help="taps not counted, first")
    parser.add_argument(
        "--background", type=int, default=1000, help="animals of finished sessions elsewhere"
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the config's)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    _db.add_database_options(parser)
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.taps, args.warmup, args.background = min(args.taps, 30), 5, 0
        args.workers = args.workers or 1

    with _db.database(args.database_url, "tap") as url:
        _db.setup_django(url)
        t0 = time.perf_counter()
        if args.background:
            background = _world.make_study("bench-tap-facility", n_animals=args.background)
            _world.add_sessions(background, seed=3)
        n_animals = math.ceil((args.taps + args.warmup) / 5 / 8) + 2
        # The technician taps series on every timepoint, all in the past: a blinded technician
        # may open only today's (issue 18), so the study is open to the technician; the
        # tap's path is otherwise the same.
        world = _world.make_study("bench-tap", n_animals=n_animals, blinded=False)
        print(f"built in {time.perf_counter() - t0:.1f} s; starting gunicorn", flush=True)
        with _server.Server(url, workers=args.workers) as server:
            run = run_http(server, world, args.taps, args.warmup, args.seed)
        if run["problems"]:
            print("\n".join(run["problems"][:20]), file=sys.stderr)
            raise SystemExit(f"{len(run['problems'])} taps went wrong")
        counted = count_queries(world)
        parts = breakdown(world, counted["client"])
        cpu_tap, cpu_baseline = parts.pop("CPU: tap"), parts.pop("CPU: baseline page")
        db_statements, db_commit = parts.pop("DB: statements"), parts.pop("DB: commit")
        db_baseline = parts.pop("DB: baseline page")
        plans = explain_bench(counted) if _db.is_postgres() else []
        whole = _explain.seq_scan_report(plans) if plans else []
        database = _db.label()

    taps, baselines = run["taps"], run["baselines"]
    p50, b50 = _taps.percentile(taps, 50), _taps.percentile(baselines, 50)
    p95, b95 = _taps.percentile(taps, 95), _taps.percentile(baselines, 95)
    p99, b99 = _taps.percentile(taps, 99), _taps.percentile(baselines, 99)
    starts = [t for t, f in zip(taps, run["first"], strict=True) if f]
    later = [t for t, f in zip(taps, run["first"], strict=True) if not f]
    c50, c95 = _taps.percentile(run["commits"], 50), _taps.percentile(run["commits"], 95)
    service_max = max(counted["service"])
    request_max = max(counted["request"])
    ms = 1000.0
    rows = [
        Row(
            f"tap p95, ms ({len(taps):,} taps; target ≤ {RATIO_TARGET:g}× baseline p95)",
            fmt(p95 * ms),
            fmt(b95 * ms),
            _results.ratio(p95, b95, target=f"≤ {RATIO_TARGET:g}×", ok=p95 <= RATIO_TARGET * b95),
            database,
        ),
        Row("tap p50, ms", fmt(p50 * ms), fmt(b50 * ms), _results.ratio(p50, b50), database),
        Row(
            "tap p95 inside gunicorn (access log: request read to response written), ms",
            fmt(_taps.percentile(run["server_tap_ms"], 95)),
            fmt(_taps.percentile(run["server_baseline_ms"], 95)),
            _results.ratio(
                _taps.percentile(run["server_tap_ms"], 95),
                _taps.percentile(run["server_baseline_ms"], 95),
            ),
            database,
        ),
        Row("tap p99, ms", fmt(p99 * ms), fmt(b99 * ms), _results.ratio(p99, b99), database),
        Row(
            f"taps that start a series (and its session; {len(starts):,} of "
            "the taps), p50 (p95), ms",
            f"{fmt(_taps.percentile(starts, 50) * ms)} ({fmt(_taps.percentile(starts, 95) * ms)})",
            f"{fmt(b50 * ms)} ({fmt(b95 * ms)})",
            f"p95 {_results.ratio(_taps.percentile(starts, 95), b95)}",
            database,
        ),
        Row(
            "the other taps (into the session the tablet names), p50 (p95), ms",
            f"{fmt(_taps.percentile(later, 50) * ms)} ({fmt(_taps.percentile(later, 95) * ms)})",
            f"{fmt(b50 * ms)} ({fmt(b95 * ms)})",
            f"p95 {_results.ratio(_taps.percentile(later, 95), b95)}",
            database,
        ),
        Row(
            "a durable write alone (one-row INSERT + COMMIT, no request, between the taps), "
            "p50 (p95), ms",
            f"{fmt(c50 * ms)} ({fmt(c95 * ms)})",
            f"{fmt(b50 * ms)} ({fmt(b95 * ms)}) baseline page",
            f"p95 {_results.ratio(c95, b95)}",
            database,
        ),
        Row(
            "tap CPU per request in-process (test client, no HTTP), ms, median",
            fmt(cpu_tap),
            f"{fmt(cpu_baseline)} baseline page",
            _results.ratio(cpu_tap, cpu_baseline),
            database,
        ),
        Row(
            "queries per tap, the tap's transaction (record_stimulus, max over a series)",
            str(service_max),
            "—",
            _results.verdict(service_max <= SERVICE_QUERIES, f"≤ {SERVICE_QUERIES}"),
            database,
        ),
        Row(
            "queries per tap request, whole (sign-in session, user, study access, tap, panel)",
            f"{request_max} (mean {statistics.mean(counted['request']):.1f})",
            f"{counted['baseline']} (baseline page)",
            _results.ratio(request_max, counted["baseline"]),
            database,
        ),
    ]
    if plans:
        rows.append(
            Row(
                "whole-table reads of large tables in the tap and bench-screen plans",
                str(len(whole)),
                "0",
                _results.verdict(not whole, "none"),
                database,
            )
        )
    rss = run["worker_rss"]
    notes = [
        f"`python bench/bench_tap.py --taps {args.taps}`: gunicorn with gunicorn.conf.py "
        f"({len(rss)} workers) and the production settings behind a simulated HTTPS proxy, "
        "signed in through the login form (CSRF token, session cookie) with http.client on "
        f"one keep-alive connection; {args.warmup} warm-up taps, then {len(taps):,} taps "
        "stepped by `next_filament` (the panel's suggested filament checked after each), "
        "each followed by a GET of /bench-baseline/ (the constant template behind the "
        "same middleware, routed only by the benchmark settings, bench/settings.py). "
        "Percentiles are nearest-rank over the counted requests. "
        f"Run took {run['wall_s']:.0f} s; worker memory {min(rss, default=0):.0f}–"
        f"{max(rss, default=0):.0f} MB RSS; {run['reconnects']} reconnects. "
        + (
            f"The database also holds a {args.background:,}-animal study of finished sessions. "
            if args.background
            else ""
        )
        + f"{_results.environment()}.",
    ]
    notes += [
        "",
        "Where a tap's time goes, in-process (Django's test client, no HTTP; median ms): "
        + ", ".join(f"{label} {ms:.1f}" for label, ms in parts.items())
        + f". Of the whole request, {db_statements:.1f} ms is spent waiting for PostgreSQL "
        f"to answer statements and {db_commit:.1f} ms for the COMMIT that makes the tap "
        f"durable ({db_baseline:.1f} ms of statements for the baseline page); the rest is "
        f"Python ({cpu_tap:.1f} ms CPU against the baseline's {cpu_baseline:.1f}). "
        "The tap writes (a locked read of the session, its stimuli, the insert and its "
        "history row, in one transaction) and re-renders the panel; the baseline page "
        "reads the sign-in session and the user only.",
    ]
    if p95 > RATIO_TARGET * b95:
        base_ms, whole_ms = parts["baseline page"], parts["whole request"]
        waiting_ms = db_statements - db_baseline + db_commit
        floor_ms = base_ms + waiting_ms
        more = statistics.mean(counted["request"]) - counted["baseline"]
        notes += [
            "",
            f"**Target missed**: the tap's p95 is {p95 / b95:.1f}× the baseline's "
            f"({p95 * ms:.0f} against {b95 * ms:.0f} ms), {p95 / b95 / RATIO_TARGET:.1f}× "
            f"over the {RATIO_TARGET:g}× allowed. {RATIO_TARGET:g}× the baseline leaves a tap "
            "one baseline page of work on top of the baseline's own, and a tap must make its "
            "row durable before it answers: that alone (the durable-write row) takes "
            f"{c50 * ms:.1f} ms at the median and {c95 * ms:.1f} ms at p95 here, "
            f"{c50 / b50:.1f}× and {c95 / b95:.1f}× the whole baseline page. "
            "The floor, in-process (median ms): the baseline page's own work "
            f"{base_ms:.1f} (sign-in session, user, middleware: a tap does it too), plus "
            f"waiting for PostgreSQL beyond the baseline's {waiting_ms:.1f} (the COMMIT "
            f"{db_commit:.1f}; {more:.1f} statements more, "
            f"{db_statements - db_baseline:.1f}: the study with the member's role, the "
            "locked session, its stimuli with the share-locked timepoint, the insert, its "
            f"history row), is {floor_ms:.1f} ms, {floor_ms / base_ms:.1f}× the baseline "
            "page, before any Python of the tap's own; the tap's Python adds "
            f"{whole_ms - floor_ms:.1f} ms (the ORM building its statements and model "
            "instances, simple_history's record, the form, the panel's threshold and "
            "template). Reaching 2× would need an asynchronous commit (a crash could lose "
            "taps the tablet was told were stored), or dropping the history row or the "
            "session lock (the audit trail; tests/sessions/test_concurrency.py). "
            "Cut for issue 17: study access in one query; a tap into a known session is "
            "one transaction without savepoints; the locked session read reuses the "
            "request's study; the panel's numbers drawn unlocalized and its pickers once "
            "per process; a series' first tap starts its session without a savepoint or a "
            "second look for a live one. In absolute terms a tap's p95 is "
            f"{p95 * ms:.0f} ms on this shared machine.",
        ]
    if plans:
        notes += [
            "",
            f"Plans: {len(plans)} SELECTs of a mid-series tap, the session screen and the "
            f"day list, {sum(p.execution_ms for p in plans):.1f} ms in total; "
            + (
                "every one reads through an index (session by primary key, locked; "
                "stimuli by session or client UUID as a BitmapOr of the session index "
                "and the client UUID's unique index; the live session by the partial "
                "unique index)."
                if not whole
                else "whole-table reads: " + "; ".join(whole) + "."
            ),
            "",
            *_explain.details_block("EXPLAIN (ANALYZE, BUFFERS), tap and bench screens", plans),
        ]
    _results.report(args, SECTION, rows, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
