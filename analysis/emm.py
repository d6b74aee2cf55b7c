"""Model-based comparisons after the group x time mixed model, as R's emmeans prints them.

The model is ``lmer(value ~ group * timepoint + (1 | animal))`` (analysis.lmm, REML);
the estimated marginal means are the cell means of that model, one per group and
timepoint, and every comparison is a difference of two of them, tested with its own
Satterthwaite degrees of freedom (``emmeans(..., lmer.df = "satterthwaite")``, which
calls ``lmerTest::calcSatterth``, i.e. lmerTest's ``contest1D``). Families and the
adjustment emmeans applies by default to each (emmeans 1.10, R/summary.R):

* ``vs_control``: ``emmeans(fit, trt.vs.ctrl ~ group | timepoint)``: each group minus
  the control at each timepoint, ``adjust = "dunnettx"`` within each timepoint;
* ``vs_baseline``: ``emmeans(fit, trt.vs.ctrl ~ timepoint | group, adjust = "sidak")``:
  each timepoint minus the baseline within each group;
* ``pairs``: the chosen timepoint pairs (a - b) within each group, ``adjust = "sidak"``;
* ``all``: ``pairs(emmeans(fit, ~ group | timepoint))`` and
  ``pairs(emmeans(fit, ~ timepoint | group))``: every pair, earlier level minus later
  level as emmeans writes them, ``adjust = "tukey"`` within each timepoint (groups) and
  within each group (timepoints).

The formulas, from emmeans' R/summary.R (``.adj.p.value``, ``.adj.critval``, ``.pdunnx``,
``.qdunnx``): one test in a family is not adjusted; Sidak p = 1 - (1 - p)^k and critical
value qt((1 + 0.95^(1/k)) / 2, df); Tukey p = ptukey(sqrt(2) |t|, means, df, upper) and
critical value qtukey(0.95, means, df) / sqrt(2); "dunnettx" (emmeans' own close
approximation to Dunnett) p = 1 - [w ptukey(sqrt(2) |t|, m, df) + (1 - w) pf(t^2, 1, df)^k]
with w = (k - 1) / k and m = (1 + sqrt(1 + 8k)) / 2, its critical value found by
root-finding between the Tukey and Sidak ones (tolerance 0.0005, as uniroot there).
When some comparison of a family cannot be estimated (a group without data at a
timepoint), it is left out and, as emmeans' adaptive adjustment does, every family
counts only the comparisons that can be estimated (Tukey then uses (1 + sqrt(1 + 8k)) / 2
means for k comparisons).

The 95 % confidence intervals are adjusted with the same method, as emmeans'
``confint()`` of those contrasts does (``adjust`` names it).

This module is pure (no Django); it must not choose the family: the study does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sstats

from analysis import cells

FAMILIES = ("vs_control", "vs_baseline", "pairs", "all")
LEVEL = 0.95


@dataclass(frozen=True)
class ModelContrast:
    """One model-based comparison: ``estimate`` = EMM(a) - EMM(b).

    For comparisons between groups, ``timepoint`` is set and ``group`` is empty; for
    comparisons between timepoints, ``group`` is set and ``timepoint`` is empty."""

    group: str
    timepoint: str
    a: str
    b: str
    estimate: float
    se: float
    df: float
    statistic: float  # t
    p: float
    p_adj: float
    ci_low: float
    ci_high: float
    adjust: str  # "dunnettx", "sidak", "tukey" or "none" (one test in its family)


# ------------------------------------------------------------------ adjustments


def _ptukey_upper(q: float, means: float, df: float) -> float:
    return float(sstats.studentized_range.sf(q, means, min(df, 1e6)))


def _pdunnx(x: float, k: int, df: float) -> float:
    """emmeans:::.pdunnx: P(max |t| <= x) for k comparisons with a control, approximately."""
    w = (k - 1) / k
    means = (1 + math.sqrt(1 + 8 * k)) / 2
    tukey = 1 - _ptukey_upper(math.sqrt(2) * x, means, df)
    sidak = float(sstats.f.cdf(x * x, 1, df)) ** k
    return w * tukey + (1 - w) * sidak


def adjusted_p(t: float, df: float, *, adjust: str, tests: int, means: float = 0) -> float:
    """A two-sided p-value adjusted for a family of ``tests`` comparisons, as emmeans'
    ``.adj.p.value`` (``means`` is the Tukey family size)."""
    if not np.isfinite(t):
        return math.nan
    p = float(2 * sstats.t.sf(abs(t), df))
    if tests <= 1 or adjust == "none":
        return p
    if adjust == "sidak":
        return 1 - (1 - p) ** tests
    if adjust == "tukey":
        return _ptukey_upper(math.sqrt(2) * abs(t), means, df)
    if adjust == "dunnettx":
        return 1 - _pdunnx(abs(t), tests, df)
    raise ValueError(f"unknown adjustment: {adjust}")


def critical_value(
    df: float, *, adjust: str, tests: int, means: float = 0, level: float = LEVEL
) -> float:
    """The multiplier of the SE for a two-sided interval, as emmeans' ``.adj.critval``."""
    if tests <= 1 or adjust == "none":
        return float(sstats.t.ppf(1 - (1 - level) / 2, df))
    if adjust == "sidak":
        return float(-sstats.t.ppf((1 - level ** (1 / tests)) / 2, df))
    if adjust == "tukey":
        return _qtukey(level, means, df) / math.sqrt(2)
    if adjust == "dunnettx":
        return _qdunnx(level, tests, df)
    raise ValueError(f"unknown adjustment: {adjust}")


def _qtukey(level: float, means: float, df: float) -> float:
    """The studentized range quantile, as R's ``qtukey`` (which stops at 1e-4)."""
    return _qtukey_cached(level, means, float(f"{min(df, 1e6):.9g}"))


@lru_cache(maxsize=1024)
def _qtukey_cached(level: float, means: float, df: float) -> float:
    """scipy's ``studentized_range.ppf`` searches with about fourteen slow integrals per
    call (a quarter of a second each at the demo's size, times every contrast). The
    quantile lies between the unadjusted two-sided t quantile (times sqrt 2) and the
    Bonferroni one for every pair of means, so a bracketed root search needs fewer, and a
    family's contrasts with the same df (balanced data) share one search."""
    pairs = max(means * (means - 1) / 2, 1.0)
    lo = float(sstats.t.ppf(1 - (1 - level) / 2, df)) * math.sqrt(2)
    hi = float(sstats.t.ppf(1 - (1 - level) / (2 * pairs), df)) * math.sqrt(2) * 1.01
    cdf = sstats.studentized_range.cdf
    try:
        return float(optimize.brentq(lambda q: cdf(q, means, df) - level, lo, hi, xtol=1e-7))
    except ValueError:  # no sign change: fall back on scipy's own search
        return float(sstats.studentized_range.ppf(level, means, df))


def _qdunnx(level: float, k: int, df: float) -> float:
    """emmeans:::.qdunnx: root of .pdunnx(x) = level between the Tukey and Sidak
    quantiles, to 0.0005; the Tukey one where the root cannot be bracketed."""
    means = (1 + math.sqrt(1 + 8 * k)) / 2
    x_tukey = _qtukey(level, means, df) / math.sqrt(2)
    x_sidak = math.sqrt(float(sstats.f.ppf(level ** (1 / k), 1, df)))
    if abs(x_tukey - x_sidak) < 0.0005:
        return x_tukey
    lo, hi = sorted((x_tukey, x_sidak))
    try:
        return float(optimize.brentq(lambda x: _pdunnx(x, k, df) - level, lo, hi, xtol=0.0005))
    except ValueError:
        return x_tukey


# ------------------------------------------------------------------ comparisons


def emm_comparisons(
    frame: pd.DataFrame,
    *,
    family: str,
    control_group: str,
    baseline: str,
    pairs: Sequence[tuple[str, str]] = (),
) -> list[ModelContrast]:
    """The comparisons of ``family`` (see the module docstring) from the mixed model.

    ``frame`` is the tidy long frame of analysis.cells (animal, group, timepoint, day,
    value); missing values are left out and their animals kept. Raises ValueError with
    a message for an unknown family, a control group or baseline without data, or a
    model that cannot be fitted.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, not {family!r}")
    clean = cells.clean(frame).dropna(subset=["value"])
    design = cells.design(clean, control_group)
    if control_group not in design.groups:
        raise ValueError(f"no data for the control group {control_group!r}")
    if baseline not in design.timepoints:
        raise ValueError(f"no data at the baseline {baseline!r}")
    groups, timepoints = design.groups, design.timepoints
    if len(groups) > 1:
        fit, group_code, tp_code = cells.fit_cells(
            clean, timepoints=timepoints, baseline=baseline, groups=groups, control=control_group
        )
    else:
        fit, group_code, tp_code = cells.fit_cells(clean, timepoints=timepoints, baseline=baseline)

    def cell(group: str, tp: str) -> dict[str, float]:
        weights = {"(Intercept)": 1.0}
        g = group_code.get(group)
        t = tp_code[tp]
        if g is not None and group != control_group:
            weights[f"group{g}"] = 1.0
        if tp != baseline:
            weights[f"timepoint{t}"] = 1.0
            if g is not None and group != control_group:
                weights[f"group{g}:timepoint{t}"] = 1.0
        return weights

    def difference(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        out = dict(a)
        for name, weight in b.items():
            out[name] = out.get(name, 0.0) - weight
        return {name: w for name, w in out.items() if w != 0}

    # Each family: (label of the "by" level, [(group, timepoint, a, b, weights)], adjust)
    families: list[tuple[list[tuple[str, str, str, str, dict]], str]] = []
    if family == "vs_control":
        for tp in timepoints:
            rows = [
                ("", tp, g, control_group, difference(cell(g, tp), cell(control_group, tp)))
                for g in groups
                if g != control_group
            ]
            families.append((rows, "dunnettx"))
    elif family == "vs_baseline":
        for g in groups:
            rows = [
                (g, "", tp, baseline, difference(cell(g, tp), cell(g, baseline)))
                for tp in timepoints
                if tp != baseline
            ]
            families.append((rows, "sidak"))
    elif family == "pairs":
        for a, b in pairs:
            for label in (a, b):
                if label not in timepoints:
                    raise ValueError(f"chosen pair names a timepoint without data: {label!r}")
        for g in groups:
            rows = [(g, "", a, b, difference(cell(g, a), cell(g, b))) for a, b in pairs]
            families.append((rows, "sidak"))
    else:
        for tp in timepoints:
            rows = [
                ("", tp, a, b, difference(cell(a, tp), cell(b, tp)))
                for i, a in enumerate(groups)
                for b in groups[i + 1 :]
            ]
            families.append((rows, "tukey"))
        for g in groups:
            rows = [
                (g, "", a, b, difference(cell(g, a), cell(g, b)))
                for i, a in enumerate(timepoints)
                for b in timepoints[i + 1 :]
            ]
            families.append((rows, "tukey"))

    # emmeans' adaptive rule: if any comparison anywhere cannot be estimated, each
    # family counts its estimable ones and Tukey's family size follows from that count.
    estimable = [[fit.estimable(row[4]) for row in rows] for rows, _ in families]
    adaptive = not all(all(flags) for flags in estimable)
    out: list[ModelContrast] = []
    for (rows, adjust), flags in zip(families, estimable, strict=True):
        kept = [row for row, ok in zip(rows, flags, strict=True) if ok]
        tests = len(kept) if adaptive else len(rows)
        if family == "all":
            levels = len(groups) if rows and rows[0][1] else len(timepoints)
            means = (1 + math.sqrt(1 + 8 * tests)) / 2 if adaptive else levels
        else:
            means = 0
        method = adjust if len(rows) > 1 and tests > 1 else "none"
        for group, tp, a, b, weights in kept:
            c = fit.contrast(fit.vector(weights))
            p_adj = adjusted_p(c.t, c.df, adjust=method, tests=tests, means=means)
            cv = critical_value(c.df, adjust=method, tests=tests, means=means)
            out.append(
                ModelContrast(
                    group=group,
                    timepoint=tp,
                    a=a,
                    b=b,
                    estimate=c.estimate,
                    se=c.se,
                    df=c.df,
                    statistic=c.t,
                    p=c.p,
                    p_adj=p_adj,
                    ci_low=c.estimate - cv * c.se,
                    ci_high=c.estimate + cv * c.se,
                    adjust=method,
                )
            )
    return out
