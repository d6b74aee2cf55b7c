"""Benchmark: 1M stimulus rows streamed as CSV through the export view, memory and speed.

Builds a study of about 1,000,000 stimuli (bulk COPY), then measures, each in a fresh
process so its memory is its own: the real export path (GET /s/<study>/exports/
stimuli.csv through Django's full request path as an investigator; the view's
StreamingHttpResponse iterates `StudyExport.csv_chunks`, which reads with a server-side
cursor) with its bytes written to /dev/null; the baseline, the same query's rows through
a plain csv.writer over a values_list iterator; and PostgreSQL's COPY (...) TO STDOUT of
the same query, the floor. Peak RSS growth is sampled every 5 ms; a separate run of the
export under tracemalloc gives the Python heap's peak. Targets: growth <= 100 MB and at
least 100,000 rows/s.

    python bench/bench_export.py                     # 1,000,000 rows
    python bench/bench_export.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _db, _explain, _results, _world  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "export"
SLUG = "bench-export"
ROWS_PER_S_TARGET = 100_000
GROWTH_TARGET_MB = 100.0
STIMULI_PER_ANIMAL = 8 * 7.4  # 8 timepoints, about 7.4 stimuli a session (see _world)


def stimuli_queryset(study):
    """The stimuli export's query, as `StudyExport._rows_stimuli` builds it."""
    from sessions.models import Stimulus, TestSession

    return (
        Stimulus.objects.filter(session__animal__study=study, voided=False)
        .exclude(session__status=TestSession.Status.VOIDED)
        .order_by("session__timepoint__day", "session__animal__code", "session__paw", "order")
        .values_list(
            "session__animal__code", "session__animal__group__code", "session__timepoint__label",
            "session__timepoint__day", "session__paw", "order", "filament__size",
            "filament__grams", "withdrew", "recorded_at", "session__tester__username",
            "session__animal__cage", "session__animal__sex", "session_id",
        )
    )  # fmt: skip


class PeakRss:
    """Samples this process's resident memory every few milliseconds."""

    def __init__(self, interval_s: float = 0.005):
        self.interval_s = interval_s
        self.peak = self.start = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakRss:
        self.peak = self.start = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(mode: str, slug: str) -> dict:
    """One measurement in this (fresh) process; the result as a dict."""
    import tracemalloc

    from django.test import Client

    import analysis.exports  # noqa: F401  (imported before the clock and the memory start)
    from labstudy.models import Study

    study = Study.objects.get(slug=slug)
    investigator = _world.users()[1]
    client = Client()
    client.force_login(investigator)
    client.get(f"/s/{slug}/exports/")  # warm: URLconf, middleware, templates
    traced = mode == "view-tracemalloc"
    if traced:
        tracemalloc.start()
    n_rows = n_bytes = 0
    with open(os.devnull, "wb") as sink, PeakRss() as memory:
        wall, cpu = time.perf_counter(), time.process_time()
        if mode.startswith("view"):
            response = client.get(f"/s/{slug}/exports/stimuli.csv")
            if response.status_code != 200:
                raise SystemExit(f"export: HTTP {response.status_code}")
            for chunk in response.streaming_content:
                sink.write(chunk)
                n_bytes += len(chunk)
                n_rows += chunk.count(b"\n")
            n_rows -= 1  # the header
        elif mode == "baseline":
            text = open(os.devnull, "w", newline="")  # noqa: SIM115
            counter = _Counting(text)
            writer = csv.writer(counter, lineterminator="\n")
            writer.writerow(analysis.exports.STIMULI_COLUMNS)
            for row in stimuli_queryset(study).iterator(chunk_size=5000):
                writer.writerow(row)
                n_rows += 1
            n_bytes = counter.n
            text.close()
        elif mode == "copy":
            from django.db import connection

            sql = _explain.queryset_sql(stimuli_queryset(study))
            copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
            with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
                for block in copy:
                    sink.write(block)
                    n_bytes += len(block)
                    n_rows += bytes(block).count(b"\n")
        else:
            raise SystemExit(f"unknown mode {mode}")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    return {
        "mode": mode,
        "rows": n_rows,
        "bytes": n_bytes,
        "seconds": wall,
        "cpu": cpu,
        "rss_start_mb": memory.start,
        "rss_growth_mb": memory.peak - memory.start,
        "heap_peak_mb": heap_peak,
    }


class _Counting:
    def __init__(self, out):
        self.out, self.n = out, 0

    def write(self, text: str) -> int:
        self.n += len(text)
        return self.out.write(text)


def measure(mode: str, url: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--database-url", url],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise SystemExit(f"{mode}: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", "--size", dest="rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each path")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    _db.add_database_options(parser)
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    if args.child:
        _db.setup_django(args.database_url, migrate=False)
        print(json.dumps(child(args.child, SLUG)))
        return 0
    if args.quick:
        args.rows, args.repeat = min(args.rows, 300), 1

    with _db.database(args.database_url, "export") as url:
        _db.setup_django(url)
        t0 = time.perf_counter()
        world = _world.make_study(SLUG, n_animals=math.ceil(args.rows / STIMULI_PER_ANIMAL))
        _world.add_sessions(world, seed=5)
        print(f"built {world.n_stimuli:,} stimuli in {time.perf_counter() - t0:.0f} s", flush=True)
        postgres = _db.is_postgres()
        plan = None
        if postgres:
            from django.db import connections

            plan = _explain.explain(
                _explain.queryset_sql(stimuli_queryset(world.study)), "stimuli export query"
            )
            connections.close_all()  # the children use the database alone
        modes = ["view", "baseline"] + (["copy"] if postgres else [])
        runs: dict[str, list[dict]] = {m: [] for m in modes}
        for _ in range(args.repeat):
            for mode in modes:  # interleaved, so drift hits every path alike
                runs[mode].append(measure(mode, url))
        traced = measure("view-tracemalloc", url)
        database = _db.label()

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    n_rows = runs["view"][0]["rows"]
    for mode in modes:
        if any(r["rows"] != n_rows for r in runs[mode]):
            raise SystemExit(f"{mode} wrote {runs[mode][0]['rows']} rows, the view {n_rows}")
    rate = {m: n_rows / median(m, "seconds") for m in modes}
    growth = {m: max(r["rss_growth_mb"] for r in runs[m]) for m in modes}
    rows = [
        Row(
            f"stimuli CSV through the export view, rows/s ({n_rows:,} rows, median of "
            f"{args.repeat}; target ≥ {ROWS_PER_S_TARGET:,})",
            f"{rate['view']:,.0f}",
            f"{rate['baseline']:,.0f} (csv.writer over values_list)",
            _results.ratio(rate["view"], rate["baseline"])
            + " — "
            + _results.verdict(rate["view"] >= ROWS_PER_S_TARGET, f"≥ {ROWS_PER_S_TARGET:,}/s"),
            database,
        ),
        Row(
            f"peak RSS growth while streaming, MB (target ≤ {GROWTH_TARGET_MB:g})",
            fmt(growth["view"]),
            fmt(growth["baseline"]),
            _results.ratio(growth["view"], growth["baseline"])
            + " — "
            + _results.verdict(growth["view"] <= GROWTH_TARGET_MB, f"≤ {GROWTH_TARGET_MB:g} MB"),
            database,
        ),
        Row(
            "Python heap peak while streaming (tracemalloc), MB",
            fmt(traced["heap_peak_mb"]),
            "—",
            "—",
            database,
        ),
        Row(
            "export wall s / CPU s of the streaming process",
            f"{fmt(median('view', 'seconds'))} / {fmt(median('view', 'cpu'))}",
            f"{fmt(median('baseline', 'seconds'))} / {fmt(median('baseline', 'cpu'))}",
            _results.ratio(median("view", "seconds"), median("baseline", "seconds")),
            database,
        ),
    ]
    if "copy" in rate:
        rows.append(
            Row(
                "the same query as COPY … TO STDOUT (the database's floor), rows/s",
                f"{rate['copy']:,.0f}",
                f"{rate['baseline']:,.0f}",
                _results.ratio(rate["copy"], rate["baseline"]),
                database,
            )
        )
    notes = [
        f"`python bench/bench_export.py --rows {args.rows}`: each path runs in a fresh "
        "process (its RSS sampled every 5 ms from just before the request); value = GET "
        "/s/<study>/exports/stimuli.csv in-process through the whole Django stack, "
        "iterating the StreamingHttpResponse into /dev/null (`StudyExport.csv_chunks`: on "
        "PostgreSQL a COPY of the export query with every cell formatted in SQL as "
        "`csv_cell` does, in 64 kB chunks; on other databases a server-side cursor and "
        "`csv_cell` per cell); baseline = the same query through csv.writer over "
        "`values_list(...).iterator()`, the way a plain Django export would do it. "
        f"File size {runs['view'][0]['bytes'] / 2**20:.0f} MB; the streaming process "
        f"starts at {runs['view'][0]['rss_start_mb']:.0f} MB RSS. {_results.environment()}.",
    ]
    if plan is not None:
        notes += [
            "",
            f"Plan of the export query ({plan.execution_ms:.0f} ms to produce every row): "
            "the rows are sorted by day, animal, paw and order across four tables, so "
            "PostgreSQL sorts the whole result before the first row (no index can give "
            "that order across joins; the sort spills to disk, not to the app's memory); "
            "the app still receives it in chunks.",
            "",
            *_explain.details_block("EXPLAIN (ANALYZE, BUFFERS), stimuli export", [plan]),
        ]
    _results.report(args, SECTION, rows, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
