"""Benchmark: publication files in about a second (issue 17).

The demo study (`manage.py load_demo_study`, 15 rats, 3 groups, 8 timepoints) exported
through the real views as its data manager, in-process through the whole Django stack:
the publication ZIP, the workbook, the ARRIVE page, methods.txt and every CSV table.
Each file is timed three ways in the same run:

- baseline: the code path before issue 17, kept in the benchmark only: the statistics
  cache switched off (every file recomputes every statistic) and the workbook written
  by openpyxl (`bench/_old_workbook.py`);
- cold: today's code with an empty statistics cache (the first export after a write);
- warm: the same request again (the statistics a lookup).

The ZIP and the workbook are also timed, cold, on the path before their rows were
written as XML and shared between the CSV members and the sheets (XlsxWriter a cell at a
time, each table's rows made twice: `bench/_old_workbook.py`'s `CellByCell`).

Then a study of --size animals x 8 timepoints (8 groups, simulated, `bench/_world.py`):
the ZIP through the view, cold cache, with the process's peak RSS (sampled every 5 ms
from just before the request), beside the old path. Every ZIP's members (CSV files
byte for byte, the workbook's cell values) must be equal between the old and the new path.

    python bench/bench_publication.py                     # demo + 1,000 animals
    python bench/bench_publication.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _db, _results, _world  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "publication files"
DEMO = "psnl-ketamine-demo"
CSV_TABLES = (
    "stimuli", "thresholds", "summary", "stats", "auc", "prism", "dictionary", "doses",
    "weights", "observations", "audit_log", "taps_all",
)  # fmt: skip
# file: (url under /s/<slug>/, target in seconds)
FILES = {
    "publication ZIP": ("exports/package.zip", 1.5),
    "workbook (xlsx)": ("exports/workbook.xlsx", 1.0),
    "ARRIVE report": ("arrive/", 0.5),
    "methods.txt": ("exports/methods.txt", 0.5),
    **{f"{name}.csv": (f"exports/{name}.csv", 0.5) for name in CSV_TABLES},
}
LARGE_TARGET_S = 10.0
# also timed on the cell-by-cell path, and what changed since
WHAT_CHANGED = {
    "publication ZIP": "rows written as XML, made once for CSV and sheet",
    "workbook (xlsx)": "rows written as XML",
}
BEFORE = {
    "publication ZIP": "XlsxWriter cell by cell, rows made twice",
    "workbook (xlsx)": "XlsxWriter cell by cell",
}
PREVIOUS = tuple(WHAT_CHANGED)


def get(client, url: str, *, cpu: list[float] | None = None) -> tuple[float, bytes]:
    """Wall seconds and body of one GET; its CPU seconds (this process: the view, not the
    database server) appended to `cpu` when given."""
    wall, started = time.perf_counter(), time.process_time()
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    wall = time.perf_counter() - wall
    if cpu is not None:
        cpu.append(time.process_time() - started)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return wall, body


@contextlib.contextmanager
def old_path(cache_off: dict):
    """The code path before issue 17: no statistics cache, openpyxl's workbook."""
    from django.test import override_settings

    from analysis import exports
    from bench import _old_workbook

    new = exports.StudyExport.write_workbook, exports.StudyExport.write_package
    exports.StudyExport.write_workbook = _old_workbook.write_workbook
    exports.StudyExport.write_package = _old_workbook.write_package
    try:
        with override_settings(CACHES=cache_off):
            yield
    finally:
        exports.StudyExport.write_workbook, exports.StudyExport.write_package = new


@contextlib.contextmanager
def cell_by_cell_path():
    """Today's statistics, the files written as before their rows became XML: the
    workbook through XlsxWriter's cell calls, each table's rows made twice."""
    from analysis import exports
    from bench import _old_workbook

    def package(export, target):
        return _old_workbook.write_package(
            export, target, workbook=_old_workbook.write_workbook_cell_by_cell
        )

    new = exports.StudyExport.write_workbook, exports.StudyExport.write_package
    exports.StudyExport.write_workbook = _old_workbook.write_workbook_cell_by_cell
    exports.StudyExport.write_package = package
    try:
        yield
    finally:
        exports.StudyExport.write_workbook, exports.StudyExport.write_package = new


def contents(body: bytes, name: str) -> object:
    """What must be equal between the old and the new path: a ZIP's CSV and text
    members byte for byte (the README without its time of writing), a workbook's cell
    values sheet by sheet; other files as they are (ARRIVE without its CSRF token)."""
    import re

    if name == "publication ZIP":
        out = {}
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for member in archive.namelist():
                data = archive.read(member)
                if member.endswith(".xlsx"):
                    out[member] = contents(data, "workbook (xlsx)")
                else:
                    out[member] = re.sub(rb"Generated: +\S+", b"", data)
        return out
    if name == "workbook (xlsx)":
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        cells = {}
        for sheet in book.worksheets:
            rows = [list(row) for row in sheet.iter_rows(values_only=True)]
            if sheet.title == "README":
                rows = [r for r in rows if not str(r[0] or "").startswith("Generated:")]
            for row in rows:  # a blank cell reads as None, however wide the sheet says it is
                while row and row[-1] is None:
                    row.pop()
            while rows and not rows[-1]:
                rows.pop()
            cells[sheet.title] = [tuple(r) for r in rows]
        book.close()
        return cells
    if name == "ARRIVE report":
        body = re.sub(rb"\b[A-Za-z0-9]{64}\b", b"", body)
        return re.sub(rb'nonce="[^"]*"', b"", body)
    return body


def check_equal(name: str, reference: bytes, *new: bytes) -> None:
    """Stop, naming the member that differs, unless every `new` file equals `reference`."""
    expected = contents(reference, name)
    for body in new:
        got = contents(body, name)
        if got == expected:
            continue
        if isinstance(got, dict):
            wrong = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
            raise SystemExit(f"{name}: differs from the old path's in {', '.join(wrong)}")
        raise SystemExit(f"{name}: differs from the old path's")


class PeakRss:
    """The process's resident set size sampled every 5 ms while in the block."""

    def __init__(self):
        import psutil

        self.process = psutil.Process(os.getpid())
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self.start = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def _mb(n: int) -> float:
    return n / 1024 / 1024


def measure(args, folder: str) -> list[Row]:
    """Every row of the section, measured on a database of its own."""
    with _db.database(args.database_url, "publication") as url:
        _db.setup_django(url)
        from django.contrib.auth import get_user_model
        from django.core.cache import caches
        from django.core.management import call_command
        from django.test import Client, override_settings

        on = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "statistics": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": folder,
            },
        }
        off = {**on, "statistics": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        with contextlib.redirect_stdout(io.StringIO()):
            call_command("load_demo_study")
        manager = get_user_model().objects.get(username="datamanager")
        client = Client()
        client.force_login(manager)
        # The smoke test's tiny run: one CSV of the demo and no warm-up (the small study's
        # ZIP below still compares every member with the old path's).
        files = {"stats.csv": FILES["stats.csv"]} if args.quick else FILES
        for _, (path, _target) in {} if args.quick else files.items():  # warm-up
            with old_path(off):
                get(client, f"/s/{DEMO}/{path}")
        rows, previous_rows = [], []
        for name, (path, target) in files.items():
            url_ = f"/s/{DEMO}/{path}"
            base, cold, warm, cpu_base, cpu_cold, previous = [], [], [], [], [], []
            for _ in range(args.repeat):  # alternating, so the machine's load hits both
                with old_path(off):
                    wall, reference = get(client, url_, cpu=cpu_base)
                    base.append(wall)
                with override_settings(CACHES=on):
                    if name in PREVIOUS:
                        caches["statistics"].clear()
                        with cell_by_cell_path():
                            wall, before = get(client, url_)
                        previous.append(wall)
                    caches["statistics"].clear()
                    wall, fresh = get(client, url_, cpu=cpu_cold)
                    cold.append(wall)
                    wall, served = get(client, url_)
                    warm.append(wall)
            check_equal(name, reference, fresh, served, *([before] if previous else []))
            if previous:
                c, p = statistics.median(cold), statistics.median(previous)
                previous_rows.append(
                    Row(
                        f"{name}, demo (15 rats), cold cache, s, median of {args.repeat}: "
                        + WHAT_CHANGED[name],
                        fmt(c),
                        f"{fmt(p)} ({BEFORE[name]})",
                        _results.ratio(c, p),
                        _db.label(),
                    )
                )
            b, c, w = (statistics.median(v) for v in (base, cold, warm))
            rows.append(
                Row(
                    f"{name}, demo (15 rats), first export after a change (cold cache), "
                    f"s, median of {args.repeat} (target ≤ {target:g} s)",
                    fmt(c),
                    f"{fmt(b)} (before issue 17)",
                    f"{_results.ratio(c, b)} — ≤ {target:g} s: {'pass' if c <= target else 'MISS'}"
                    f"; again (warm) {fmt(w)} s; CPU {fmt(statistics.median(cpu_cold))} s "
                    f"(before: {fmt(statistics.median(cpu_base))} s)",
                    _db.label(),
                )
            )
            print(rows[-1].markdown(), flush=True)

        world = _world.make_study("bench-publication-large", n_animals=args.size, n_groups=8)
        _world.add_sessions(world, seed=17)
        from labstudy.models import Membership, Role

        Membership.objects.get_or_create(
            study=world.study, user=manager, defaults={"role": Role.DATA_MANAGER}
        )
        url_ = f"/s/{world.study.slug}/exports/package.zip"
        old_cpu, new_cpu, previous_cpu = [], [], []
        with old_path(off), PeakRss() as old_rss:
            old_wall, reference = get(client, url_, cpu=old_cpu)
        with override_settings(CACHES=on):
            caches["statistics"].clear()
            with cell_by_cell_path(), PeakRss() as previous_rss:
                previous_wall, before = get(client, url_, cpu=previous_cpu)
            caches["statistics"].clear()
            with PeakRss() as new_rss:
                new_wall, fresh = get(client, url_, cpu=new_cpu)
        check_equal("publication ZIP", reference, fresh, before)
        shape = (
            f"{args.size:,} animals × {len(world.timepoints)} timepoints, 8 groups, "
            f"{world.n_stimuli:,} stimuli"
        )
        ok = new_wall <= LARGE_TARGET_S
        rows.append(
            Row(
                f"publication ZIP, {shape}, cold cache, s (target ≤ {LARGE_TARGET_S:g} s)",
                fmt(new_wall),
                f"{fmt(old_wall)} (before issue 17)",
                f"{_results.ratio(new_wall, old_wall)} — ≤ {LARGE_TARGET_S:g} s: "
                f"{'pass' if ok else 'MISS'}; CPU {fmt(new_cpu[0])} s "
                f"(before: {fmt(old_cpu[0])} s); ZIP {fmt(len(fresh) / 1e6)} MB",
                _db.label(),
            )
        )
        rows.append(
            Row(
                f"publication ZIP, {shape}: peak RSS during the request, MB "
                "(growth over the process before it)",
                f"{fmt(_mb(new_rss.peak))} (+{fmt(_mb(new_rss.peak - new_rss.start))})",
                f"{fmt(_mb(old_rss.peak))} (+{fmt(_mb(old_rss.peak - old_rss.start))})",
                _results.ratio(new_rss.peak - new_rss.start, old_rss.peak - old_rss.start),
                _db.label(),
            )
        )
        previous_rows.append(
            Row(
                f"publication ZIP, {shape}, cold cache, s: rows written as XML, made once "
                "for CSV and sheet",
                fmt(new_wall),
                f"{fmt(previous_wall)} (XlsxWriter cell by cell, rows made twice)",
                f"{_results.ratio(new_wall, previous_wall)}; CPU {fmt(new_cpu[0])} s "
                f"(before: {fmt(previous_cpu[0])} s); peak RSS {fmt(_mb(new_rss.peak))} MB "
                f"(+{fmt(_mb(new_rss.peak - new_rss.start))}), before "
                f"{fmt(_mb(previous_rss.peak))} MB "
                f"(+{fmt(_mb(previous_rss.peak - previous_rss.start))})",
                _db.label(),
            )
        )
        for row in [*rows[-2:], *previous_rows]:
            print(row.markdown(), flush=True)
    return rows + previous_rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="animals in the large study")
    parser.add_argument("--repeat", type=int, default=3, help="timed GETs of each kind")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    _db.add_database_options(parser)
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeat = min(args.size, 16), 1

    folder = tempfile.mkdtemp(prefix="labstudy-bench-publication-")
    try:
        rows = measure(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the file cache of this run
    notes = [
        f"`python bench/bench_publication.py --size {args.size}`: GET as the demo's data "
        "manager, in-process through the whole Django stack, the body read to its end. "
        "Value = today's code with the statistics cache (the default file cache, in a "
        "temporary folder) emptied before the request: the first export after any write; "
        "'again (warm)' = the same request straight after, the statistics a lookup. "
        "Baseline = the path before issue 17, kept in the benchmark only: statistics cache "
        "off and the workbook written by openpyxl (`bench/_old_workbook.py`), alternating "
        "with the new path in the same run. Every file of the new path was compared with "
        "the old one's: CSV and text members byte for byte, the workbook's cell values "
        "sheet by sheet; they are equal. The large study's ZIP is measured once each way "
        "(peak RSS sampled every 5 ms; the process already holds the demo's work, so "
        "read the growth). The rows 'rows written as XML, made once for CSV and sheet' "
        "compare today's ZIP and workbook (cold cache) with the path before that change, "
        "measured in the same run: the workbook through XlsxWriter's cell calls and each "
        "table's rows made twice (`bench/_old_workbook.py`), the statistics cache on for "
        f"both; their files are checked equal too. {_results.environment()}.",
    ]
    _results.report(args, SECTION, rows, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
