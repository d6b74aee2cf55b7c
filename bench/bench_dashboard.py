"""Benchmark: the study dashboard for 1,000 animals x 8 timepoints x ~7 stimuli, 8 groups.

Renders /s/<study>/dashboard/ (thresholds from the stimuli, summaries, every statistic,
both charts' data) in-process through Django's full request path, as an investigator,
and compares it with the same page for a study the size of the reference study (15
animals, 3 groups) measured in the same run, renders alternating. Target: <= 2 s. The
number of queries must be the same for both. On PostgreSQL the page's queries are
EXPLAINed for the large study, and the plans go into RESULTS.md.

    python bench/bench_dashboard.py                      # 1,000 animals, fresh PostgreSQL
    python bench/bench_dashboard.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _db, _explain, _results, _world  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "dashboard"
TARGET_S = 2.0


def render(client, url: str) -> tuple[float, float, int, str]:
    """(wall s, CPU s, queries, html) of one GET."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return wall, cpu, len(captured), response.content.decode()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="animals in the large study")
    parser.add_argument("--baseline-size", type=int, default=15, help="animals in the baseline")
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="timed renders of each page")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    _db.add_database_options(parser)
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    if args.quick:
        # three groups: the statistics of eight take most of a smoke test's time
        args.size, args.groups, args.repeat = min(args.size, 9), min(args.groups, 3), 1
        args.baseline_size = min(args.baseline_size, 6)

    with _db.database(args.database_url, "dashboard") as url:
        _db.setup_django(url)
        from django.test import Client

        t0 = time.perf_counter()
        large = _world.make_study("bench-dash-large", n_animals=args.size, n_groups=args.groups)
        _world.add_sessions(large, seed=1)
        small = _world.make_study("bench-dash-small", n_animals=args.baseline_size, n_groups=3)
        _world.add_sessions(small, seed=2)
        print(
            f"built: {args.size} + {args.baseline_size} animals, "
            f"{large.n_stimuli + small.n_stimuli:,} stimuli in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        client = Client()
        client.force_login(large.investigator)
        urls = {name: f"/s/bench-dash-{name}/dashboard/" for name in ("large", "small")}
        queries, html = {}, {}
        for name, page in urls.items():  # warm-up: imports, templates, first queries
            _, _, queries[name], html[name] = render(client, page)
        if 'data-test="kruskal"' not in html["large"]:
            raise SystemExit("the large dashboard shows no Kruskal-Wallis results")
        wall = {"large": [], "small": []}
        cpu = {"large": [], "small": []}
        for _ in range(args.repeat):
            for name, page in urls.items():
                w, c, n, _ = render(client, page)
                wall[name].append(w)
                cpu[name].append(c)
                if n != queries[name]:
                    raise SystemExit(f"{name}: {n} queries, then {queries[name]}")
        med = {k: statistics.median(v) for k, v in wall.items()}
        med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        plans: dict[str, list] = {"large": [], "small": []}
        if _db.is_postgres():
            for name, page in urls.items():
                with _explain.capture() as captured:
                    client.get(page)
                plans[name] = [_explain.explain(sql) for sql in _explain.selects(captured)]
        whole = _explain.seq_scan_report(plans["small"]) if plans["small"] else []
        database = _db.label()

    shape = (
        f"{args.size:,} animals × 8 timepoints, {args.groups} groups, {large.n_stimuli:,} stimuli"
    )
    base = f"{args.baseline_size} animals, 3 groups"
    rows = [
        Row(
            f"dashboard render, wall s, median of {args.repeat} ({shape}; target ≤ {TARGET_S:g} s)",
            fmt(med["large"]),
            f"{fmt(med['small'])} ({base})",
            _results.ratio(med["large"], med["small"])
            + f" — {_results.verdict(med['large'] <= TARGET_S, f'≤ {TARGET_S:g} s')}",
            database,
        ),
        Row(
            "dashboard render, CPU s of this process, median",
            fmt(med_cpu["large"]),
            fmt(med_cpu["small"]),
            _results.ratio(med_cpu["large"], med_cpu["small"]),
            database,
        ),
        Row(
            "dashboard queries per render",
            str(queries["large"]),
            str(queries["small"]),
            _results.ratio(
                queries["large"],
                queries["small"],
                target="same count",
                ok=queries["large"] == queries["small"],
            ),
            database,
        ),
    ]
    notes = [
        f"`python bench/bench_dashboard.py --size {args.size}`: GET /s/<study>/dashboard/ "
        "in-process through the whole Django stack (middleware, access check, thresholds "
        "from the stimuli, summaries, every statistic, both charts' data, template) as an "
        f"investigator; baseline = the same page for a {base} study (the reference "
        "study's size), renders alternating in the same run. Wall time includes the "
        "database; CPU time is this process only (less sensitive to the other jobs on "
        f"the machine). Response size {len(html['large']) / 1e6:.1f} MB (large), "
        f"{len(html['small']) / 1e3:.0f} kB (baseline). {_results.environment()}.",
    ]
    if med["large"] > TARGET_S:
        notes += [
            "",
            f"**Target missed** by {med['large'] - TARGET_S:.2f} s. This process's CPU time "
            f"for the page was {med_cpu['large']:.2f} s; the rest of the wall time is the "
            "database and waiting for a core on the shared machine (load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when written).",
        ]
    if plans["large"]:
        large_plans, small_plans = plans["large"], plans["small"]
        slowest = max(large_plans, key=lambda p: p.execution_ms)
        rows.append(
            Row(
                f"whole-table reads of large tables, {base} study's page (EXPLAIN ANALYZE)",
                str(len(whole)),
                "0",
                _results.verdict(not whole, "none"),
                database,
            )
        )
        notes += [
            "",
            f"Query plans. Large study: {len(large_plans)} SELECTs, "
            f"{sum(p.execution_ms for p in large_plans):.0f} ms of execution in total "
            f"(slowest: {slowest.label}, {slowest.execution_ms:.0f} ms); it holds most of "
            "the database's rows, so PostgreSQL reads those tables whole with hash or merge "
            "joins, which is right at that share. Baseline study: "
            f"{sum(p.execution_ms for p in small_plans):.1f} ms in total, "
            + (
                "every read of the stimuli, sessions and animals through an index "
                "(animal by study, session by animal, stimulus by session and order)."
                if not whole
                else "whole-table reads: " + "; ".join(whole) + "."
            ),
            "",
            *_explain.details_block("EXPLAIN (ANALYZE, BUFFERS), large study", large_plans),
            "",
            *_explain.details_block("EXPLAIN (ANALYZE, BUFFERS), baseline study", small_plans),
        ]
    _results.report(args, SECTION, rows, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
