"""Benchmark: simulated power of a sample-size plan, vectorised against a plain loop.

One point of a power curve is `analysis.planning.N_SIMS` (2,401) simulated studies, each
analysed as the study is. `analysis.planning.decide` analyses them all at once (ranks
along an axis, the statistics as array arithmetic); the baseline is the plain loop of
`decide_one`, the dashboard's own tests (`analysis.stats`: scipy and scikit-posthocs) one
simulated study at a time, timed in the same run on a share of the same datasets and
scaled to 2,401 (the loop takes minutes in full). Both must decide alike on that share.
The last row is a whole plan as the page runs it (n from 2 up, three effect lines).
Writes the section "## planning" of bench/RESULTS.md.

    python bench/bench_planning.py
    python bench/bench_planning.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from analysis import planning  # noqa: E402
from analysis.thresholds import STOELTING_20  # noqa: E402
from bench import _results  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "planning"
DATABASE = "none (in memory)"
TARGET_SPEEDUP = 20.0  # vectorised vs loop, per power point
TARGET_PLAN_S = 15.0  # a whole plan on the page
GRAMS = tuple(f.grams for f in STOELTING_20)

# The demo study's shape: three groups, target forces on the Stoelting set, 300 g cut-off.
BETWEEN = planning.Scenario(
    planning.BETWEEN, (15.0, 60.0, 60.0), sd_g=25.0, floor_g=0.008, cutoff_g=300.0,
    filaments_g=GRAMS,
)  # fmt: skip
WITHIN = planning.Scenario(
    planning.WITHIN, (18.0,) * 3 + (60.0,) + (18.0,) * 4, between_sd_g=12.0, within_sd_g=30.0,
    target=3, reference=0, pairs=((3, 0), (1, 0), (2, 0), (4, 0), (5, 0), (6, 0), (7, 0)),
    floor_g=0.008, cutoff_g=300.0, filaments_g=GRAMS,
)  # fmt: skip
CASES = (
    ("Kruskal-Wallis + Nemenyi, 3 groups × 8", BETWEEN, planning.KW_NEMENYI, 8),
    ("Kruskal-Wallis + Dunn vs control, 3 groups × 8", BETWEEN, planning.KW_DUNN_VS_CONTROL, 8),
    ("Friedman + Demsar, 8 timepoints × 8 animals", WITHIN, planning.FRIEDMAN_DEMSAR, 8),
)


def best_of(repeat: int, fn):
    best, result = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(n_sims: int, loop_share: int, repeat: int, plan_sims: int) -> list[Row]:
    rows = []
    for label, scenario, analysis, n in CASES:
        data = planning.simulate_datasets(scenario, n, n_sims, np.random.default_rng(2026))
        fast_s, fast = best_of(
            repeat, lambda d=data, s=scenario, a=analysis: planning.decide(d, s, a, 0.05)
        )
        loop_s, slow = best_of(
            1,
            lambda d=data[:loop_share], s=scenario, a=analysis: [
                planning.decide_one(one, s, a, 0.05) for one in d
            ],
        )
        if not np.array_equal(fast[:loop_share], np.array(slow)):
            raise SystemExit(f"{label}: vectorised and loop decisions differ")
        loop_s *= n_sims / loop_share
        speedup = loop_s / fast_s if fast_s > 0 else math.inf
        ratio = _results.ratio(fast_s, loop_s) + f" ({speedup:,.0f}× faster) — "
        ratio += _results.verdict(speedup >= TARGET_SPEEDUP, f"≥ {TARGET_SPEEDUP:g}× faster")
        rows.append(
            Row(
                f"power point, {label}, {n_sims:,} simulated studies, s (power {fast.mean():.3f})",
                fmt(fast_s),
                f"{fmt(loop_s)} (loop over {loop_share:,}, scaled)",
                ratio,
                DATABASE,
            )
        )
    settings = planning.PlanSettings(
        "T3", 45, "g", alpha=0.05, power=0.8, loss=0.1, seed=2026, n_sims=plan_sims
    )
    plan_s, result = best_of(1, lambda: planning.plan(BETWEEN, planning.KW_NEMENYI, settings))
    points = sum(len(c["points"]) for c in result.curves)
    rows.append(
        Row(
            f"whole plan, Kruskal-Wallis + Nemenyi, 3 effect lines ({points} points, "
            f"n = {result.n_per_group} found), s",
            fmt(plan_s),
            "—",
            _results.verdict(plan_s <= TARGET_PLAN_S, f"≤ {TARGET_PLAN_S:g} s"),
            DATABASE,
        )
    )
    return rows


def notes(n_sims: int, loop_share: int) -> list[str]:
    return [
        f"`python bench/bench_planning.py`: value = `analysis.planning.decide` over {n_sims:,} "
        "simulated studies at once (best of the repeats); baseline = `decide_one` (the "
        f"dashboard's scipy / scikit-posthocs tests) over the first {loop_share:,} of the "
        f"same studies in the same run, scaled to {n_sims:,}; both must decide alike. Data: "
        "the demo's shape, target forces rounded up to the Stoelting set, 300 g cut-off. "
        f"{_results.environment()}.",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=planning.N_SIMS)
    parser.add_argument("--loop", type=int, default=200, help="studies the loop analyses")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    plan_sims = planning.N_SIMS
    if args.quick:
        args.sims, args.loop, args.repeat, plan_sims = 50, 5, 1, 50
    args.loop = max(1, min(args.loop, args.sims))
    rows = run(args.sims, args.loop, max(1, args.repeat), plan_sims)
    _results.report(args, SECTION, rows, notes(args.sims, args.loop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
