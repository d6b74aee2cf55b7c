"""Benchmark: thresholds for a whole study, batch (numpy) against a per-session loop.

Simulates up-down sessions on the Stoelting 20-filament set (rats with random
thresholds, a few sessions cut short), ascending series (each filament once from the
lowest until the first withdrawal) and percent-response blocks (six filaments, 3.61-4.56,
five applications each, 3 of 5 needed), then times ``batch_thresholds`` and a plain loop
of ``compute_threshold`` over the same sessions in the same run, checks that both give
the same answers, prints a markdown table and merges it into ``bench/RESULTS.md``
under "## thresholds".

    python bench/bench_thresholds.py                 # 100 000 sessions, all methods
    python bench/bench_thresholds.py --size 200 --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
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
    BLOCK_FAMILY,
    METHODS,
    STOELTING_20,
    batch_thresholds,
    compute_threshold,
    series_bound,
)
from bench import _results  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "thresholds"
TARGET_S = 1.0
DATABASE = "none (in memory)"


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


# The settings of the ascending and percent-response rows (a study's method settings).
BLOCK_PARAMS = {
    "ascending": {"applications": 1, "withdrawals": 1, "subset": None},
    "percent_response": {
        "applications": 5,
        "withdrawals": 3,
        "subset": ["3.61", "3.84", "4.08", "4.17", "4.31", "4.56"],
    },
}


def simulate_blocks(n_sessions: int, method: str, seed: int = 2022):
    """Flat arrays of ``n_sessions`` ascending or percent-response series, as guided:
    each filament in use N times from the lowest (ascending cut where it ends)."""
    rng = np.random.default_rng(seed)
    params = BLOCK_PARAMS[method]
    sizes = [f.size for f in STOELTING_20]
    subset = params["subset"] or sizes
    positions = np.array([sizes.index(s) for s in subset])
    evaluator = np.array([float(f.size) for f in STOELTING_20])
    per = np.repeat(positions, params["applications"])
    steps = len(per)
    true_log = rng.normal(4.3, 0.6, n_sessions)
    idx = np.broadcast_to(per, (n_sessions, steps))
    p = 1 / (1 + np.exp(-(evaluator[idx] - true_log[:, None]) / 0.15))
    withdrew = rng.random((n_sessions, steps)) < p
    sid = np.repeat(np.arange(n_sessions), steps)
    full = batch_thresholds(idx.ravel(), withdrew.ravel(), sid, method=method, **params)
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


def run(n_sessions: int, methods, repeat: int, seed: int) -> list[Row]:
    up_down = simulate(n_sessions, seed)
    rows = []
    for method in methods:
        if method in BLOCK_FAMILY:
            idx, withdrew, sid = simulate_blocks(n_sessions, method, seed)
            params = BLOCK_PARAMS[method]
        else:
            (idx, withdrew, sid), params = up_down, {}
        sessions = per_session(idx, withdrew, sid)
        batch_s, batch = best_of(
            repeat,
            lambda m=method, a=(idx, withdrew, sid), p=params: batch_thresholds(*a, method=m, **p),
        )
        loop_s, loop = best_of(
            1,
            lambda m=method, p=params, ss=sessions: [
                compute_threshold(s, method=m, **p) for s in ss
            ],
        )
        grams = np.array([np.nan if t.grams is None else t.grams for t in loop])
        status = np.array([t.status for t in loop])
        if not (
            np.array_equal(status, batch.status)
            and np.allclose(grams, batch.grams, rtol=1e-12, equal_nan=True)
        ):
            raise SystemExit(f"{method}: batch and per-session results differ")
        metric = (
            f"thresholds {method}, {n_sessions:,} sessions ({len(idx):,} stimuli), s "
            f"(target ≤ {TARGET_S:g} s)"
        )
        ratio = _results.ratio(batch_s, loop_s) + (
            f" ({loop_s / batch_s:.1f}× faster)" if batch_s > 0 else ""
        )
        ratio += " — " + _results.verdict(batch_s <= TARGET_S, f"≤ {TARGET_S:g} s")
        rows.append(Row(metric, fmt(batch_s), fmt(loop_s), ratio, DATABASE))
    return rows


def notes(n_sessions: int) -> list[str]:
    return [
        f"`python bench/bench_thresholds.py --size {n_sessions}`: value = `batch_thresholds` "
        "(numpy, best of the repeats), baseline = a plain loop of `compute_threshold` "
        "over the same simulated sessions in the same run; both must agree. Ascending: "
        "each filament of the set once from the lowest until the first withdrawal; percent "
        "response: six filaments (0.4-4 g) five times each, 3 of 5 needed. "
        f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}.",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="number of sessions")
    parser.add_argument(
        "--method", action="append", choices=METHODS, help="repeatable; default all"
    )
    parser.add_argument("--repeat", type=int, default=3, help="batch timing repeats (best of)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeat = min(args.size, 200), 1
    if args.size < 1:
        parser.error("--size must be at least 1")
    rows = run(args.size, args.method or list(METHODS), max(1, args.repeat), args.seed)
    _results.report(args, SECTION, rows, notes(args.size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
