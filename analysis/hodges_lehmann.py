"""Hodges-Lehmann shift estimates with their 95 % confidence intervals, as R's
``wilcox.test(..., conf.int = TRUE)`` computes them: the effect size printed next to
every rank-based pairwise p.

* :func:`two_sample`: ``wilcox.test(x, y, conf.int = TRUE)``, the median of all
  differences x_i - y_j ("difference in location") and Moses' interval;
* :func:`paired`: ``wilcox.test(x, y, paired = TRUE, conf.int = TRUE)``, the median of
  the Walsh averages of the differences x_i - y_i ("(pseudo)median").

Exact (order statistics of the differences, with R's ``qwilcox`` / ``qsignrank``
quantiles) when R's default is exact: fewer than 50 values per sample, no ties and, for
paired data, no zero differences. Otherwise R's normal-approximation interval: the
shifts at which the continuity-corrected, tie-corrected Wilcoxon z equals the normal
quantile, found by root finding (R: ``uniroot``, tolerance 1e-4, so R's own numbers carry
about four decimals there), and the estimate where z = 0. Zero differences are dropped
before a paired interval, as R 4.0 (the reference paper's version) does. This follows
R's stats/R/wilcox.test.R up to R 4.3; R 4.4 added exact intervals with ties.

Pure: numbers in, numbers out. It must not import Django or pandas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as sstats

TWO_SAMPLE_NAME = "Hodges-Lehmann difference"
PAIRED_NAME = "Hodges-Lehmann paired difference"


@dataclass(frozen=True)
class Shift:
    """An estimate with its interval; ``conf_level`` is the level achieved (R lowers it
    with a warning when the samples are too small for the one asked)."""

    estimate: float
    ci_low: float
    ci_high: float
    name: str
    conf_level: float
    exact: bool
    note: str = ""


def _reached(shift: Shift, conf_level: float) -> Shift:
    """No interval where the samples cannot reach ``conf_level``: R prints a narrower
    level there, but a column headed "95 % CI" must not hold it."""
    if shift.conf_level < conf_level:
        return Shift(
            shift.estimate,
            math.nan,
            math.nan,
            shift.name,
            shift.conf_level,
            shift.exact,
            shift.note,
        )
    return shift


def _step_root(f, jumps: np.ndarray) -> float:
    """Where the non-increasing step function ``f`` crosses zero, given the points
    ``jumps`` (sorted) where it can change: what R's ``uniroot`` converges to (to its
    1e-4 tolerance), found in about log2(len(jumps)) calls instead of a root finder's
    fifty. Where ``f`` is exactly zero over a stretch, the middle of that stretch."""
    mids = (jumps[:-1] + jumps[1:]) / 2
    values: dict[int, float] = {}

    def at(k: int) -> float:
        if k not in values:
            values[k] = f(mids[k])
        return values[k]

    def first(condition) -> int:
        lo, hi = 0, mids.size  # the first k with condition(at(k)), mids.size if none
        while lo < hi:
            mid = (lo + hi) // 2
            if condition(at(mid)):
                hi = mid
            else:
                lo = mid + 1
        return lo

    k = first(lambda v: v <= 0)
    if k < mids.size and at(k) == 0:
        j = first(lambda v: v < 0)
        return float((jumps[k] + jumps[j]) / 2)
    return float(jumps[min(k, jumps.size - 1)])


def _ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks of `values` (1-D) and the size of each group of tied values:
    scipy's ``rankdata(values)`` and ``np.unique(ranks, return_counts=True)[1]`` in one
    sort. The root finding evaluates the statistic hundreds of times per interval, where
    scipy's per-call overhead was most of the cost; the ranks are the same numbers
    (half-integers, exact in floating point)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1], [True])))
    counts = np.diff(starts)
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(starts[:-1] + (counts + 1) / 2, counts)
    return ranks, counts


def _nan(name: str, note: str) -> Shift:
    return Shift(math.nan, math.nan, math.nan, name, math.nan, False, note)


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


# ----------------------------------------------------------------- null distributions


@lru_cache(maxsize=256)
def _wilcox_cdf(m: int, n: int) -> tuple[float, ...]:
    """P(U <= u), u = 0..m*n, for the Mann-Whitney U of samples of m and n (R pwilcox).

    Counts by R's recursion (cwilcox): c(u; i, j) = c(u - j; i - 1, j) + c(u; i, j - 1).
    """
    row = [np.ones(1) for _ in range(n + 1)]  # i = 0: one way, U = 0, whatever j
    for i in range(1, m + 1):
        new = [np.ones(1)]  # j = 0: one way, U = 0
        for j in range(1, n + 1):
            counts = np.zeros(i * j + 1)
            left = row[j]  # c(.; i - 1, j), shifted by j
            counts[j : j + left.size] += left
            up = new[j - 1]  # c(.; i, j - 1)
            counts[: up.size] += up
            new.append(counts)
        row = new
    density = row[n] / math.comb(m + n, m)
    return tuple(np.cumsum(density).tolist())


@lru_cache(maxsize=256)
def _signrank_cdf(n: int) -> tuple[float, ...]:
    """P(V <= v), v = 0..n(n+1)/2, for the signed-rank statistic V of n (R psignrank)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[: top + 1 - rank]
    return tuple(np.cumsum(counts / 2.0**n).tolist())


def _quantile(cdf: Sequence[float], p: float) -> int:
    """The smallest q with P(X <= q) >= p, as R's qwilcox / qsignrank (which subtract
    10 machine epsilons from p first)."""
    p = p - 10 * np.finfo(float).eps
    return int(np.searchsorted(np.asarray(cdf), p, side="left"))


# ----------------------------------------------------------------------- two samples


def two_sample(x: Sequence[float], y: Sequence[float], conf_level: float = 0.95) -> Shift:
    """Shift of x relative to y (x - y), R's ``wilcox.test(x, y, conf.int = TRUE)``."""
    return _reached(_two_sample(x, y, conf_level), conf_level)


def _two_sample(x: Sequence[float], y: Sequence[float], conf_level: float) -> Shift:
    x, y = _finite(x), _finite(y)
    if x.size == 0 or y.size == 0:
        return _nan(TWO_SAMPLE_NAME, "a sample is empty")
    pooled = np.concatenate([x, y])
    if np.unique(pooled).size == 1:
        return _nan(TWO_SAMPLE_NAME, "all values equal")
    alpha = 1 - conf_level
    ties = np.unique(pooled).size < pooled.size
    if x.size < 50 and y.size < 50 and not ties:
        diffs = np.sort(np.subtract.outer(x, y).ravel())
        m, n = x.size, y.size
        cdf = _wilcox_cdf(m, n)
        qu = _quantile(cdf, alpha / 2)
        if qu == 0:
            qu = 1
        ql = m * n - qu
        achieved = 2 * cdf[qu - 1]
        level = conf_level if achieved - alpha <= alpha / 2 else 1 - achieved
        note = "" if level == conf_level else f"{conf_level:.0%} not reachable: {level:.1%}"
        return Shift(
            float(np.median(diffs)),
            float(diffs[qu - 1]),
            float(diffs[ql]),
            TWO_SAMPLE_NAME,
            level,
            True,
            note,
        )
    return _two_sample_asymptotic(x, y, conf_level)


def _two_sample_asymptotic(x: np.ndarray, y: np.ndarray, conf_level: float) -> Shift:
    m, n = x.size, y.size
    alpha = 1 - conf_level

    def z(d: float, correct: bool) -> float:
        ranks, counts = _ranks(np.concatenate([x - d, y]))
        dz = ranks[:m].sum() - m * (m + 1) / 2 - m * n / 2
        variance = (m * n / 12) * (
            (m + n + 1) - np.sum(counts**3 - counts) / ((m + n) * (m + n - 1))
        )
        if not variance > 0:
            return math.nan  # every value tied at this shift: R stops with an error
        sigma = math.sqrt(variance)
        correction = math.copysign(0.5, dz) if correct and dz != 0 else 0.0
        return (dz - correction) / sigma

    low, high = float(x.min() - y.max()), float(x.max() - y.min())
    jumps = np.unique(np.subtract.outer(x, y).ravel())  # the statistic steps only here
    if not (np.isfinite(z(low, True)) and np.isfinite(z(high, True))):
        return _nan(TWO_SAMPLE_NAME, "too few values for an interval")

    def root(zq: float, correct: bool = True) -> float:
        f_low, f_high = z(low, correct) - zq, z(high, correct) - zq
        if f_low <= 0:
            return low
        if f_high >= 0:
            return high
        return _step_root(lambda d: z(d, correct) - zq, jumps)

    upper_q = float(sstats.norm.ppf(1 - alpha / 2))
    return Shift(
        root(0.0, correct=False),
        root(upper_q),
        root(-upper_q),
        TWO_SAMPLE_NAME,
        conf_level,
        False,
        "normal approximation (ties or 50 or more values)",
    )


# ------------------------------------------------------------------------------ paired


def paired(x: Sequence[float], y: Sequence[float], conf_level: float = 0.95) -> Shift:
    """Shift x - y of paired values (NaN pairs dropped), R's
    ``wilcox.test(x, y, paired = TRUE, conf.int = TRUE)``."""
    return _reached(_paired(x, y, conf_level), conf_level)


def _paired(x: Sequence[float], y: Sequence[float], conf_level: float) -> Shift:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    d = x - y
    d = d[np.isfinite(d)]
    if d.size == 0:
        return _nan(PAIRED_NAME, "no complete pairs")
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return _nan(PAIRED_NAME, "all values equal")
    alpha = 1 - conf_level
    zeros = nonzero.size < d.size
    ties = np.unique(np.abs(nonzero)).size < nonzero.size
    if nonzero.size < 50 and not ties and not zeros:
        n = nonzero.size
        i, j = np.triu_indices(n)
        walsh = np.sort((nonzero[i] + nonzero[j]) / 2)
        cdf = _signrank_cdf(n)
        qu = _quantile(cdf, alpha / 2)
        if qu == 0:
            qu = 1
        ql = n * (n + 1) // 2 - qu
        achieved = 2 * cdf[qu - 1]
        level = conf_level if achieved - alpha <= alpha / 2 else 1 - achieved
        note = "" if level == conf_level else f"{conf_level:.0%} not reachable: {level:.1%}"
        return Shift(
            float(np.median(walsh)),
            float(walsh[qu - 1]),
            float(walsh[ql]),
            PAIRED_NAME,
            level,
            True,
            note,
        )
    return _paired_asymptotic(nonzero, conf_level, zeros)


def _paired_asymptotic(d: np.ndarray, conf_level: float, zeros: bool) -> Shift:
    alpha = 1 - conf_level

    def z(mu: float, correct: bool) -> float:
        shifted = d - mu
        shifted = shifted[shifted != 0]
        k = shifted.size
        if k == 0:
            return 0.0
        ranks, counts = _ranks(np.abs(shifted))
        dz = ranks[shifted > 0].sum() - k * (k + 1) / 4
        sigma = math.sqrt(k * (k + 1) * (2 * k + 1) / 24 - np.sum(counts**3 - counts) / 48)
        if sigma == 0:
            return math.nan
        correction = math.copysign(0.5, dz) if correct and dz != 0 else 0.0
        return (dz - correction) / sigma

    low, high = float(d.min()), float(d.max())
    i, j = np.triu_indices(d.size)
    jumps = np.unique((d[i] + d[j]) / 2)  # Walsh averages: where the statistic steps
    if not (np.isfinite(z(low, True)) and np.isfinite(z(high, True))):
        return _nan(PAIRED_NAME, "all differences tied: no interval")
    # R widens alpha until the interval can be bracketed within the data (tiny samples).
    while alpha < 1:
        upper_q = float(sstats.norm.ppf(1 - alpha / 2))
        if z(low, True) - upper_q < 0 or z(high, True) + upper_q > 0:
            alpha *= 2
        else:
            break
    level = conf_level
    notes = ["normal approximation (ties or zero differences)"]
    if zeros:
        notes.append("zero differences dropped")
    if alpha >= 1 or 1 - conf_level < alpha * 0.75:
        level = 1 - min(1.0, alpha)
        notes.append(f"{conf_level:.0%} not reachable: {level:.1%}")

    def root(zq: float, correct: bool = True) -> float:
        return _step_root(lambda mu: z(mu, correct) - zq, jumps)

    if alpha < 1:
        upper_q = float(sstats.norm.ppf(1 - alpha / 2))
        ci = (root(upper_q), root(-upper_q))
    else:
        ci = (float(np.median(d)), float(np.median(d)))
    f_low, f_high = z(low, False), z(high, False)
    if f_low == 0 or f_high == 0 or f_low * f_high > 0:
        estimate = float(np.median(d))
    else:
        estimate = root(0.0, correct=False)
    return Shift(estimate, ci[0], ci[1], PAIRED_NAME, level, False, "; ".join(notes))
