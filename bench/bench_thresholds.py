"""Benchmark: thresholds for a whole study, batch (numpy) against a per-session loop.

Simulates up-down sessions on the Stoelting 20-filament set (rats with random
thresholds, a few sessions cut short), then times ``batch_thresholds`` and a plain loop
of ``compute_threshold`` over the same sessions in the same run, checks that both give
the same answers, prints a markdown table and merges it into ``bench/RESULTS.md``
under "## thresholds".

    python bench/bench_thresholds.py                 # 100 000 sessions, all methods
    python bench/bench_thresholds.py --size 200 --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from analysis.thresholds import (  # noqa: E402
    METHODS,
    STOELTING_20,
    batch_thresholds,
    compute_threshold,
    series_bound,
)

SECTION = "## thresholds"
HEADER = "| metric | value | baseline | ratio | date |\n|---|---|---|---|---|"


def simulate(n_sessions: int, seed: int = 2022):
    """Flat per-stimulus arrays for ``n_sessions`` simulated up-down sessions."""
    rng = np.random.default_rng(seed)
    filaments = STOELTING_20
    sizes = np.array([float(f.size) for f in filaments])
    n = len(filaments)
    start = [f.size for f in filaments].index("4.31")
    steps = series_bound(filaments, method="up_down", start="4.31")
    true_log = rng.normal(4.7, 1.0, n_sessions)  # threshold in evaluator-size units
    idx = np.empty((n_sessions, steps), dtype=np.int64)
    withdrew = np.empty((n_sessions, steps), dtype=bool)
    current = np.full(n_sessions, start)
    for j in range(steps):
        idx[:, j] = current
        p = 1 / (1 + np.exp(-(sizes[current] - true_log) / 0.15))
        withdrew[:, j] = rng.random(n_sessions) < p
        current = np.clip(current + np.where(withdrew[:, j], -1, 1), 0, n - 1)
    sid = np.repeat(np.arange(n_sessions), steps)
    full = batch_thresholds(idx.ravel(), withdrew.ravel(), sid, filaments)
    lengths = full.n_stimuli.copy()
    cut = rng.random(n_sessions) < 0.05  # some sessions stopped early
    lengths[cut] = np.maximum(1, lengths[cut] - rng.integers(1, 4, cut.sum()))
    keep = np.arange(steps)[None, :] < lengths[:, None]
    return idx[keep], withdrew[keep], np.repeat(np.arange(n_sessions), lengths)


def per_session(idx, withdrew, sid):
    sizes = [f.size for f in STOELTING_20]
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    stops = np.r_[starts[1:], len(sid)]
    pairs = list(zip([sizes[i] for i in idx.tolist()], withdrew.tolist(), strict=True))
    return [pairs[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True)]


def best_of(repeat: int, fn):
    best = math.inf
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(n_sessions: int, methods, repeat: int, seed: int):
    idx, withdrew, sid = simulate(n_sessions, seed)
    sessions = per_session(idx, withdrew, sid)
    today = dt.date.today().isoformat()
    rows = []
    for method in methods:
        batch_s, batch = best_of(
            repeat, lambda m=method: batch_thresholds(idx, withdrew, sid, method=m)
        )
        loop_s, loop = best_of(
            1, lambda m=method: [compute_threshold(s, method=m) for s in sessions]
        )
        grams = np.array([np.nan if t.grams is None else t.grams for t in loop])
        status = np.array([t.status for t in loop])
        if not (
            np.array_equal(status, batch.status)
            and np.allclose(grams, batch.grams, rtol=1e-12, equal_nan=True)
        ):
            raise SystemExit(f"{method}: batch and per-session results differ")
        metric = f"thresholds {method}, {n_sessions:,} sessions ({len(idx):,} stimuli), s"
        ratio = loop_s / batch_s if batch_s > 0 else math.inf
        rows.append(f"| {metric} | {batch_s:.4f} | {loop_s:.4f} | {ratio:.1f}x faster | {today} |")
    return rows


def merge_results(path: Path, rows: list[str], n_sessions: int) -> None:
    body = "\n".join(
        [
            SECTION,
            "",
            f"`python bench/bench_thresholds.py --size {n_sessions}`: value = `batch_thresholds` "
            "(numpy, best of the repeats), baseline = a plain loop of `compute_threshold` "
            "over the same simulated sessions in the same run; both must agree. "
            f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}.",
            "",
            HEADER,
            *rows,
            "",
        ]
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if SECTION in text:
        head, _, rest = text.partition(SECTION)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1 :] if nxt >= 0 else ""
        text = head + body + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="number of sessions")
    parser.add_argument(
        "--method", action="append", choices=METHODS, help="repeatable; default all"
    )
    parser.add_argument("--repeat", type=int, default=3, help="batch timing repeats (best of)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be at least 1")
    rows = run(args.size, args.method or list(METHODS), max(1, args.repeat), args.seed)
    print(HEADER)
    print("\n".join(rows))
    if not args.no_write:
        merge_results(args.results, rows, args.size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
