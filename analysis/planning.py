"""Sample-size planning from a pilot or finished study (ARRIVE 2.0 item 2b): pure numbers.

Data in (a long frame of thresholds as `analysis.inputs` gives the dashboard, and the
study's settings), numbers out: the variance per group and timepoint, between and within
animals (`describe_pilot`); the simulated power of the study's own analysis (Kruskal-
Wallis then Nemenyi or Dunn between groups, Friedman then Demsar within a group) on
datasets drawn from a normal model fitted to the pilot with the cut-off and the filament
set applied (`simulate_power`); the closed form where one exists (statsmodels t-test and
one-way ANOVA power, `closed_form`); and the smallest n per group reaching the wanted
power, inflated for the animals expected to be lost (`plan`).

How many simulated studies: the power's 95 % interval is p ± 1.96·sqrt(p(1 − p)/S),
widest at p = 0.5; S = ceil((1.96 / 0.02)² × 0.25) = 2,401 keeps it within ±2 points
for every power (`N_SIMS`).

The rank tests run over all simulated datasets at once (ranks along an axis, the
statistics as array arithmetic); `decide_one` does the same decision one dataset at a
time with `analysis.stats`, the functions the dashboard uses (the tests check that they
agree, and `bench/bench_planning.py` times both).

Pure: no Django import, no ORM, no database. It must not read the study itself: the
service (`front.planning`) gathers the frames and settings and stores the result.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import stats

Z95 = 1.959963984540054
# ceil((1.96 / 0.02)^2 * 0.25): the 95 % interval of a simulated power within ±2 points.
N_SIMS = math.ceil((Z95 / 0.02) ** 2 * 0.25)
MAX_N = 100  # per group: beyond this the page says the effect is too small to plan for
MIN_N = 2
UNITS = ("g", "mpe", "ratio")
UNIT_LABELS = {"g": "grams", "mpe": "%MPE", "ratio": "ratio to control"}
# The curve's lines: the stated effect and a smaller and a larger one around it.
CURVE_FACTORS = (0.75, 1.0, 1.25)

# The analyses a plan can simulate (the study's family / post-hoc / basis pick one).
KW_NEMENYI = "kruskal_nemenyi"
KW_DUNN = "kruskal_dunn"
KW_DUNN_VS_CONTROL = "kruskal_dunn_vs_control"
FRIEDMAN_DEMSAR = "friedman_demsar"
FRIEDMAN_PAIRS = "friedman_pairs"
T_TEST = "t_test"  # parametric: the check against the closed form, and the model basis
ANOVA = "anova"
ANALYSIS_LABELS = {
    KW_NEMENYI: "Kruskal-Wallis, then Nemenyi (Tukey) post-hoc tests",
    KW_DUNN: "Kruskal-Wallis, then Dunn's tests (Holm) over every pair",
    KW_DUNN_VS_CONTROL: "Kruskal-Wallis, then Dunn's tests (Holm) against control",
    FRIEDMAN_DEMSAR: "Friedman, then Demsar's tests (Holm) against baseline",
    FRIEDMAN_PAIRS: "Friedman, then Friedman-rank z tests (Holm) over the chosen pairs",
    T_TEST: "a two-sample t-test",
    ANOVA: "a one-way ANOVA",
}
BETWEEN = "between"
WITHIN = "within"
DESIGNS = {
    KW_NEMENYI: BETWEEN,
    KW_DUNN: BETWEEN,
    KW_DUNN_VS_CONTROL: BETWEEN,
    T_TEST: BETWEEN,
    ANOVA: BETWEEN,
    FRIEDMAN_DEMSAR: WITHIN,
    FRIEDMAN_PAIRS: WITHIN,
}


class PlanError(ValueError):
    """Input a plan cannot use; `field` names the form field / command option."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def analysis_for(family: str, posthoc: str, basis: str = stats.BASIS_RANK) -> str:
    """The analysis a study's settings run for the comparison a plan is about."""
    if basis == stats.BASIS_MODEL:
        return T_TEST
    if family == stats.FAMILY_VS_BASELINE:
        return FRIEDMAN_DEMSAR
    if family == stats.FAMILY_PAIRS:
        return FRIEDMAN_PAIRS
    if family == stats.FAMILY_VS_CONTROL:
        return KW_DUNN_VS_CONTROL
    return KW_NEMENYI if posthoc == "nemenyi" else KW_DUNN


# ----------------------------------------------------------------------------- the pilot


@dataclass(frozen=True)
class Cell:
    group: str
    timepoint: str
    n: int
    mean_g: float
    sd_g: float  # between animals at this timepoint


@dataclass(frozen=True)
class Spread:
    """One group's variance split over its complete animals (two-way additive model,
    animal + timepoint): `within_sd_g` the residual, `between_sd_g` the animals' own."""

    group: str
    n_animals: int
    between_sd_g: float
    within_sd_g: float


@dataclass(frozen=True)
class Pilot:
    groups: tuple[str, ...]
    timepoints: tuple[str, ...]
    baseline: str | None
    control: str | None
    cells: tuple[Cell, ...]
    spreads: tuple[Spread, ...]

    def cell(self, group: str, timepoint: str) -> Cell | None:
        return next((c for c in self.cells if c.group == group and c.timepoint == timepoint), None)

    def at(self, timepoint: str) -> list[Cell]:
        return [c for c in self.cells if c.timepoint == timepoint]

    def pooled_sd_at(self, timepoint: str, *, cutoff_g: float = math.inf) -> tuple[float, int]:
        """SD pooled over the groups at `timepoint` (weighted by n - 1), and its df.

        A group whose every animal sits at the cut-off says nothing about the spread (its
        SD of 0 is the ceiling's), so it is left out."""
        cells = [
            c
            for c in self.at(timepoint)
            if c.n >= 2 and np.isfinite(c.sd_g) and not (c.sd_g == 0 and c.mean_g >= cutoff_g)
        ]
        df = sum(c.n - 1 for c in cells)
        if df == 0:
            return math.nan, 0
        return math.sqrt(sum((c.n - 1) * c.sd_g**2 for c in cells) / df), df

    def mean_at(self, timepoint: str) -> float:
        cells = [c for c in self.at(timepoint) if c.n]
        total = sum(c.n for c in cells)
        return sum(c.n * c.mean_g for c in cells) / total if total else math.nan

    def pooled_spread(self) -> tuple[float, float]:
        """Between- and within-animal SD pooled over the groups (by animals)."""
        spreads = [s for s in self.spreads if s.n_animals >= 2 and np.isfinite(s.within_sd_g)]
        weight = sum(s.n_animals - 1 for s in spreads)
        if not weight:
            return math.nan, math.nan
        between = sum((s.n_animals - 1) * s.between_sd_g**2 for s in spreads) / weight
        within = sum((s.n_animals - 1) * s.within_sd_g**2 for s in spreads) / weight
        return math.sqrt(between), math.sqrt(within)


def describe_pilot(
    long: pd.DataFrame,
    *,
    groups: Sequence[str],
    timepoints: Sequence[str],
    baseline: str | None,
    control: str | None,
) -> Pilot:
    """The variance of `long` (animal, group, timepoint, day, value in grams) per group and
    timepoint, and each group's between- and within-animal SD."""
    cells, spreads = [], []
    present_tp = [t for t in timepoints if not long.empty and t in set(long["timepoint"])]
    present_groups = [g for g in groups if not long.empty and g in set(long["group"])]
    for group in present_groups:
        sub = long[long["group"] == group]
        for timepoint in present_tp:
            values = sub.loc[sub["timepoint"] == timepoint, "value"].astype(float).to_numpy()
            if values.size:
                sd = float(np.std(values, ddof=1)) if values.size >= 2 else math.nan
                cells.append(Cell(group, timepoint, int(values.size), float(values.mean()), sd))
        wide = sub.pivot_table(index="animal", columns="timepoint", values="value")
        wide = wide.reindex(columns=[t for t in present_tp if t in wide.columns]).dropna()
        spreads.append(Spread(group, len(wide), *_two_way_sd(wide.to_numpy(dtype=float))))
    return Pilot(
        tuple(present_groups), tuple(present_tp), baseline, control, tuple(cells), tuple(spreads)
    )


def _two_way_sd(matrix: np.ndarray) -> tuple[float, float]:
    """(between-animal SD, within-animal SD) of an animals x timepoints matrix by the
    expected mean squares of the additive model (random animal, fixed timepoint)."""
    a, t = matrix.shape if matrix.ndim == 2 else (0, 0)
    if a < 2 or t < 2:
        return math.nan, math.nan
    grand = matrix.mean()
    animal = matrix.mean(axis=1, keepdims=True)
    time = matrix.mean(axis=0, keepdims=True)
    resid = matrix - animal - time + grand
    ms_resid = float((resid**2).sum()) / ((a - 1) * (t - 1))
    ms_animal = t * float(((animal - grand) ** 2).sum()) / (a - 1)
    between = max(0.0, (ms_animal - ms_resid) / t)
    return math.sqrt(between), math.sqrt(ms_resid)


# ----------------------------------------------------------------------------- scenario


@dataclass(frozen=True)
class Scenario:
    """What a simulated study looks like: arm means (grams), spread, and the measurement.

    Between groups: arm 0 is control, arm 1 the treated group whose difference from
    control is the question, arms 2.. the study's other treated groups (with the same
    effect). Within a group: arms are timepoints, `reference` the baseline, `target` the
    planned timepoint. Values are drawn normal, held within [floor_g, cutoff_g] and, when
    `filaments_g` is given, rounded up to the filament that first reaches them (the
    target-force method records filament forces, so the simulated data has its ties).
    """

    design: str
    means_g: tuple[float, ...]
    sd_g: float = math.nan  # between design: animals at one timepoint
    between_sd_g: float = math.nan  # within design
    within_sd_g: float = math.nan
    target: int = 1
    reference: int = 0
    pairs: tuple[tuple[int, int], ...] = ()  # within design: the comparisons, target first
    floor_g: float = -math.inf
    cutoff_g: float = math.inf
    filaments_g: tuple[float, ...] | None = None

    @property
    def k(self) -> int:
        return len(self.means_g)

    @property
    def delta_g(self) -> float:
        return self.means_g[self.target] - self.means_g[self.reference]

    def with_delta(self, delta_g: float) -> Scenario:
        means = list(self.means_g)
        base = means[self.reference]
        if self.design == BETWEEN:
            means = [base] + [base + delta_g] * (len(means) - 1)
        else:
            means[self.target] = base + delta_g
        return _replace(self, means_g=tuple(means))


def _replace(scenario: Scenario, **changes) -> Scenario:
    from dataclasses import replace

    return replace(scenario, **changes)


def effect_in_grams(
    effect: float, unit: str, *, reference_mean_g: float, baseline_mean_g: float, cutoff_g: float
) -> float:
    """The stated effect as a difference in grams from the reference mean.

    g: the difference itself. mpe: that share of the way from the baseline to the
    cut-off, (cutoff - baseline) x effect / 100 (a 50 %MPE difference is half the room
    left above the baseline: "50 % reversal"). ratio: the treated mean as a multiple of
    the reference (control, or baseline within a group), (ratio - 1) x reference.
    """
    if unit not in UNITS:
        raise PlanError("unit", f"unit must be one of {', '.join(UNITS)}, not {unit!r}.")
    if not math.isfinite(effect) or effect == 0:
        raise PlanError("effect", "The effect must be a number other than 0.")
    if unit == "g":
        return effect
    if unit == "mpe":
        if not math.isfinite(baseline_mean_g) or baseline_mean_g >= cutoff_g:
            raise PlanError(
                "unit", "%MPE needs a baseline below the cut-off; state the effect in g."
            )
        return (cutoff_g - baseline_mean_g) * effect / 100.0
    if effect <= 0 or effect == 1:
        raise PlanError("effect", "A ratio to control must be above 0 and not 1 (e.g. 1.5).")
    return (effect - 1.0) * reference_mean_g


def scenario_for(
    pilot: Pilot,
    *,
    analysis: str,
    timepoint: str,
    effect: float,
    unit: str,
    cutoff_g: float,
    filaments_g: Sequence[float] | None,
    round_to_filaments: bool,
    n_groups: int | None = None,
    pair_count: int = 1,
) -> Scenario:
    """The scenario a plan simulates, from the pilot's numbers at `timepoint`."""
    if analysis not in DESIGNS:
        raise PlanError("analysis", f"unknown analysis {analysis!r}")
    if not pilot.cells:
        raise PlanError("study", "This study has no thresholds yet: there is nothing to plan from.")
    if timepoint not in pilot.timepoints:
        known = ", ".join(pilot.timepoints)
        raise PlanError("timepoint", f"No thresholds at “{timepoint}”: choose one of {known}.")
    floor = min(filaments_g) if filaments_g else -math.inf
    grams = (
        tuple(sorted(float(g) for g in filaments_g)) if round_to_filaments and filaments_g else None
    )
    baseline_mean = pilot.mean_at(pilot.baseline) if pilot.baseline else math.nan
    if DESIGNS[analysis] == BETWEEN:
        sd, df = pilot.pooled_sd_at(timepoint, cutoff_g=cutoff_g)
        if not df or not sd > 0:
            raise PlanError(
                "timepoint",
                f"At {timepoint} no group has two animals with different values: "
                "there is no variance to plan from.",
            )
        control = pilot.cell(pilot.control, timepoint) if pilot.control else None
        reference = control.mean_g if control else pilot.mean_at(timepoint)
        delta = effect_in_grams(
            effect, unit, reference_mean_g=reference, baseline_mean_g=baseline_mean,
            cutoff_g=cutoff_g,
        )  # fmt: skip
        k = max(2, n_groups or len(pilot.groups))
        if analysis == T_TEST:
            k = 2
        means = (reference,) + (reference + delta,) * (k - 1)
        _check_mean(reference + delta, floor, cutoff_g)
        return Scenario(
            BETWEEN, means, sd_g=sd, floor_g=floor, cutoff_g=cutoff_g, filaments_g=grams
        )
    if pilot.baseline is None or timepoint == pilot.baseline:
        raise PlanError(
            "timepoint", "Choose a timepoint after the baseline for a within-group plan."
        )
    between, within = pilot.pooled_spread()
    if not within > 0:
        raise PlanError(
            "timepoint",
            "No group has two animals measured at every timepoint: the within-animal "
            "variance cannot be estimated.",
        )
    k = len(pilot.timepoints)
    if k < 3:
        raise PlanError("timepoint", "Friedman needs at least three timepoints with thresholds.")
    delta = effect_in_grams(
        effect, unit, reference_mean_g=baseline_mean, baseline_mean_g=baseline_mean,
        cutoff_g=cutoff_g,
    )  # fmt: skip
    _check_mean(baseline_mean + delta, floor, cutoff_g)
    ref = pilot.timepoints.index(pilot.baseline)
    target = pilot.timepoints.index(timepoint)
    means = [baseline_mean] * k
    means[target] = baseline_mean + delta
    if analysis == FRIEDMAN_DEMSAR:
        pairs = [(target, ref)] + [(j, ref) for j in range(k) if j not in (ref, target)]
    else:
        others = [(j, ref) for j in range(k) if j not in (ref, target)]
        pairs = [(target, ref)] + others[: max(0, pair_count - 1)]
    return Scenario(
        WITHIN, tuple(means), between_sd_g=between, within_sd_g=within, target=target,
        reference=ref, pairs=tuple(pairs), floor_g=floor, cutoff_g=cutoff_g, filaments_g=grams,
    )  # fmt: skip


def _check_mean(mean_g: float, floor_g: float, cutoff_g: float) -> None:
    if mean_g >= cutoff_g:
        raise PlanError(
            "effect",
            f"That effect puts the treated mean at {mean_g:.1f} g, at or above the "
            f"{cutoff_g:g} g cut-off: no study can measure it. State a smaller effect.",
        )
    if mean_g <= max(floor_g, 0.0):
        raise PlanError(
            "effect",
            f"That effect puts the treated mean at {mean_g:.2f} g, below the lowest "
            "filament. State a smaller effect.",
        )


# ----------------------------------------------------------------------------- simulation


def simulate_datasets(scenario: Scenario, n: int, n_sims: int, rng: np.random.Generator):
    """`n_sims` simulated studies with `n` animals per arm (between: shape (S, k, n);
    within: (S, n, k), animals by timepoints), measured as the study measures."""
    means = np.asarray(scenario.means_g, dtype=float)
    if scenario.design == BETWEEN:
        values = means[None, :, None] + scenario.sd_g * rng.standard_normal((n_sims, scenario.k, n))
    else:
        animal = scenario.between_sd_g * rng.standard_normal((n_sims, n, 1))
        noise = scenario.within_sd_g * rng.standard_normal((n_sims, n, scenario.k))
        values = means[None, None, :] + animal + noise
    return measure(values, scenario)


def measure(values: np.ndarray, scenario: Scenario) -> np.ndarray:
    """True thresholds as the study records them: held between the lowest filament and the
    cut-off, and rounded up to the filament set when the method reports filament forces."""
    values = np.clip(values, scenario.floor_g, scenario.cutoff_g)
    if scenario.filaments_g:
        grams = np.asarray(scenario.filaments_g)
        index = np.minimum(np.searchsorted(grams, values, side="left"), grams.size - 1)
        values = np.minimum(grams[index], scenario.cutoff_g)
    return values


def _ranks(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks along `axis` and, per slice, sum(t^3 - t) over its tie groups.

    With min and max ranks, an element in a tie group of size t has max - min + 1 = t, and
    sum over elements of (t^2 - 1) is sum over groups of (t^3 - t)."""
    low = sps.rankdata(values, method="min", axis=axis)
    high = sps.rankdata(values, method="max", axis=axis)
    t = high - low + 1.0
    return (low + high) / 2.0, (t * t - 1.0).sum(axis=axis)


def _holm_target(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p of column 0 of `p` (S, m), row by row."""
    m = p.shape[1]
    order = np.argsort(p, axis=1, kind="stable")
    ordered = np.take_along_axis(p, order, axis=1)
    adjusted = np.minimum(1.0, np.maximum.accumulate(ordered * (m - np.arange(m)), axis=1))
    where = np.argmax(order == 0, axis=1)
    return adjusted[np.arange(p.shape[0]), where]


def decide(data: np.ndarray, scenario: Scenario, analysis: str, alpha: float) -> np.ndarray:
    """For each simulated study, whether the analysis finds the target comparison
    (treated vs control, or the planned timepoint vs baseline) significant at `alpha`,
    gated by its omnibus test as `analysis.stats` gates it."""
    if analysis == T_TEST:
        x, y = data[:, 1, :], data[:, 0, :]
        return sps.ttest_ind(x, y, axis=1).pvalue < alpha
    if analysis == ANOVA:
        return sps.f_oneway(*np.moveaxis(data, 1, 0), axis=1).pvalue < alpha
    if DESIGNS[analysis] == WITHIN:
        return _decide_within(data, scenario, analysis, alpha)
    sims, k, n = data.shape
    if k == 2:
        return _mann_whitney_p(data[:, 1, :], data[:, 0, :]) < alpha
    total = k * n
    ranks, ties = _ranks(data.reshape(sims, total), axis=1)
    mean_ranks = ranks.reshape(sims, k, n).mean(axis=2)
    correction = 1.0 - ties / (total**3 - total)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = 12.0 / (total * (total + 1)) * n * (mean_ranks**2).sum(axis=1) - 3 * (total + 1)
        h = h / correction
    significant = np.nan_to_num(sps.chi2.sf(h, k - 1), nan=1.0) < alpha
    if analysis == KW_NEMENYI:
        # scikit-posthocs posthoc_nemenyi(dist="tukey") / PMCMRplus kwAllPairsNemenyiTest:
        # q = |Rbar_i - Rbar_j| / sqrt(N(N+1)/12 (1/n_i + 1/n_j)) x sqrt(2), no tie term.
        q = np.abs(mean_ranks[:, 1] - mean_ranks[:, 0]) / math.sqrt(
            total * (total + 1) / 12 * 2 / n
        )
        critical = _tukey_critical(alpha, k)
        return significant & (q * math.sqrt(2.0) > critical)
    # Dunn: z = (Rbar_i - Rbar_j) / sqrt((N(N+1)/12 - sum(t^3-t)/(12(N-1))) (2/n)).
    scale = np.sqrt((total * (total + 1) / 12.0 - ties / (12.0 * (total - 1))) * 2.0 / n)
    if analysis == KW_DUNN_VS_CONTROL:
        pairs = [(1, 0)] + [(j, 0) for j in range(2, k)]
    else:
        pairs = [(1, 0)] + [(i, j) for i in range(k) for j in range(i) if (i, j) != (1, 0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.stack([(mean_ranks[:, a] - mean_ranks[:, b]) / scale for a, b in pairs], axis=1)
    p = np.nan_to_num(2 * sps.norm.sf(np.abs(z)), nan=1.0)
    return significant & (_holm_target(p) < alpha)


@functools.lru_cache(maxsize=64)
def _tukey_critical(alpha: float, k: int) -> float:
    """The studentized range's upper `alpha` point for k groups, infinite df (slow to
    compute, the same for every point of a plan)."""
    return float(sps.studentized_range.ppf(1 - alpha, k, np.inf))


def _mann_whitney_p(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Two-sided p of R's wilcox.test per row (as `stats.mann_whitney`): exact below 50
    per sample without ties, else normal with continuity correction."""
    both = np.concatenate([x, y], axis=1)
    _, ties = _ranks(both, axis=1)
    p = np.ones(x.shape[0])
    tied = ties > 0
    exact = ~tied & (x.shape[1] < 50) & (y.shape[1] < 50)
    if exact.any():
        p[exact] = sps.mannwhitneyu(x[exact], y[exact], axis=1, method="exact").pvalue
    rest = ~exact
    if rest.any():
        p[rest] = sps.mannwhitneyu(
            x[rest], y[rest], axis=1, method="asymptotic", use_continuity=True
        ).pvalue
    return np.nan_to_num(p, nan=1.0)


def _decide_within(data: np.ndarray, scenario: Scenario, analysis: str, alpha: float):
    sims, n, k = data.shape
    ranks, ties = _ranks(data, axis=2)
    rank_sums = ranks.sum(axis=1)  # (S, k)
    correction = 1.0 - ties.sum(axis=1) / (n * k * (k * k - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = (12.0 / (n * k * (k + 1)) * (rank_sums**2).sum(axis=1) - 3 * n * (k + 1)) / correction
    significant = np.nan_to_num(sps.chi2.sf(chi, k - 1), nan=1.0) < alpha
    mean_ranks = rank_sums / n
    scale = math.sqrt(k * (k + 1) / (6.0 * n))
    z = np.stack([(mean_ranks[:, a] - mean_ranks[:, b]) / scale for a, b in scenario.pairs], axis=1)
    p = 2 * sps.norm.sf(np.abs(z))
    return significant & (_holm_target(p) < alpha)


def decide_one(data: np.ndarray, scenario: Scenario, analysis: str, alpha: float) -> bool:
    """`decide` for one simulated study, with `analysis.stats`' own tests (the dashboard's
    route): the plain loop the vectorised `decide` is checked and timed against."""
    if DESIGNS[analysis] == WITHIN:
        matrix = pd.DataFrame(data, columns=[str(j) for j in range(data.shape[1])])
        omnibus = stats.friedman(matrix.to_numpy())
        if not (np.isfinite(omnibus.p) and omnibus.p < alpha):
            return False
        labels = [(str(a), str(b)) for a, b in scenario.pairs]
        rows = stats.friedman_rank_pairs(matrix, labels)
        return rows[0].p_adj < alpha
    samples = {str(j): data[j] for j in range(data.shape[0])}
    if len(samples) == 2:
        return bool(stats.mann_whitney(samples["1"], samples["0"]).p < alpha)
    omnibus = stats.kruskal_wallis(list(samples.values()))
    if not (np.isfinite(omnibus.p) and omnibus.p < alpha):
        return False
    if analysis == KW_NEMENYI:
        pairs, _ = stats.nemenyi_kruskal_pairs(samples)
    elif analysis == KW_DUNN_VS_CONTROL:
        pairs = stats.dunn_many_one(samples, control="0")
    else:
        pairs = stats.dunn_pairs(samples, p_adjust="holm")
    hit = next(p for p in pairs if {p.a, p.b} == {"0", "1"})
    return bool(hit.p_adj < alpha)


@dataclass(frozen=True)
class Power:
    n: int
    power: float
    low: float
    high: float


def power_interval(power: float, n_sims: int) -> tuple[float, float]:
    half = Z95 * math.sqrt(max(power * (1 - power), 0.0) / n_sims)
    return max(0.0, power - half), min(1.0, power + half)


def simulate_power(
    scenario: Scenario,
    analysis: str,
    n: int,
    *,
    alpha: float,
    seed: int,
    line: int = 0,
    n_sims: int = N_SIMS,
) -> Power:
    """Share of `n_sims` simulated studies with `n` per arm in which the analysis finds
    the target comparison. The generator is seeded by (seed, line, n): the same seed gives
    the same curve whatever order the points are computed in."""
    rng = np.random.default_rng([seed, line, n])
    data = simulate_datasets(scenario, n, n_sims, rng)
    power = float(decide(data, scenario, analysis, alpha).mean())
    return Power(n, power, *power_interval(power, n_sims))


# ----------------------------------------------------------------------------- closed forms


@dataclass(frozen=True)
class ClosedForm:
    name: str
    effect_size: float  # Cohen's d or f
    n: int | None  # per group for the wanted power
    power_at_n: float  # at the plan's n per group


def closed_form(scenario: Scenario, *, alpha: float, power: float, n: int) -> list[ClosedForm]:
    """statsmodels' power for the parametric analogues, on the model's normal data without
    the cut-off or filament rounding: a check beside the simulation, not the answer."""
    from statsmodels.stats.power import FTestAnovaPower, TTestIndPower, TTestPower

    def solve(fn, power_at_two: float) -> int | None:
        # statsmodels' root finder fails below 2 per group: a large effect needs the least.
        if power_at_two >= power:
            return MIN_N
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                value = float(fn())
            except (ValueError, RuntimeError, ArithmeticError):
                return None
        return math.ceil(value) if math.isfinite(value) and value < 10_000 else None

    def sure(value: float, effect_size: float) -> float:
        # statsmodels' noncentral t returns NaN for huge effects (d of 10 and more),
        # where the power is 1 to many decimals.
        value = float(value)
        return 1.0 if math.isnan(value) and effect_size >= 3 else value

    out = []
    if scenario.design == BETWEEN:
        d = abs(scenario.delta_g) / scenario.sd_g
        t = TTestIndPower()
        out.append(
            ClosedForm(
                "two-sample t-test (treated vs control)",
                d,
                solve(
                    lambda: t.solve_power(effect_size=d, alpha=alpha, power=power),
                    sure(t.power(effect_size=d, nobs1=MIN_N, alpha=alpha), d),
                ),
                sure(t.power(effect_size=d, nobs1=n, alpha=alpha), d),
            )
        )
        if scenario.k > 2:
            means = np.asarray(scenario.means_g)
            f = float(np.std(means) / scenario.sd_g)
            a = FTestAnovaPower()
            k = scenario.k
            n_total = solve(
                lambda: a.solve_power(effect_size=f, alpha=alpha, power=power, k_groups=k),
                a.power(effect_size=f, nobs=MIN_N * k, alpha=alpha, k_groups=k),
            )
            out.append(
                ClosedForm(
                    f"one-way ANOVA ({k} groups)",
                    f,
                    max(MIN_N, math.ceil(n_total / k)) if n_total else None,
                    float(a.power(effect_size=f, nobs=n * k, alpha=alpha, k_groups=k)),
                )
            )
    else:
        d = abs(scenario.delta_g) / (math.sqrt(2.0) * scenario.within_sd_g)
        t = TTestPower()
        out.append(
            ClosedForm(
                "paired t-test (timepoint vs baseline)",
                d,
                solve(
                    lambda: t.solve_power(effect_size=d, alpha=alpha, power=power),
                    sure(t.power(effect_size=d, nobs=MIN_N, alpha=alpha), d),
                ),
                sure(t.power(effect_size=d, nobs=n, alpha=alpha), d),
            )
        )
    return out


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PlanSettings:
    timepoint: str
    effect: float
    unit: str
    alpha: float
    power: float
    loss: float
    seed: int
    n_sims: int = N_SIMS

    def check(self) -> None:
        if not (math.isfinite(self.alpha) and 0 < self.alpha < 0.5):
            raise PlanError("alpha", "Alpha must be above 0 and below 0.5 (e.g. 0.05).")
        if not (math.isfinite(self.power) and 0.5 <= self.power < 1):
            raise PlanError("power", "Power must be at least 0.5 and below 1 (e.g. 0.8).")
        if not (math.isfinite(self.loss) and 0 <= self.loss < 0.9):
            raise PlanError(
                "loss", "The expected loss must be at least 0 and below 0.9 (e.g. 0.1)."
            )
        if not 0 <= self.seed < 2**63:
            raise PlanError("seed", "The seed must be a whole number from 0.")
        if self.unit not in UNITS:
            raise PlanError("unit", f"unit must be one of {', '.join(UNITS)}.")
        if not math.isfinite(self.effect) or self.effect == 0:
            raise PlanError("effect", "The effect must be a number other than 0.")


@dataclass
class PlanResult:
    analysis: str
    design: str
    delta_g: float
    n_per_group: int | None  # analysed; None when MAX_N is not enough
    n_with_losses: int | None
    power_at_n: Power | None
    curves: list[dict] = field(default_factory=list)  # {label, factor, delta_g, points}
    closed_forms: list[ClosedForm] = field(default_factory=list)
    n_sims: int = N_SIMS

    def as_dict(self) -> dict:
        return {
            "analysis": self.analysis,
            "design": self.design,
            "delta_g": self.delta_g,
            "n_per_group": self.n_per_group,
            "n_with_losses": self.n_with_losses,
            "power_at_n": None if self.power_at_n is None else vars(self.power_at_n),
            "curves": [{**c, "points": [vars(p) for p in c["points"]]} for c in self.curves],
            "closed_forms": [vars(c) for c in self.closed_forms],
            "n_sims": self.n_sims,
        }


def with_losses(n: int, loss: float) -> int:
    """n animals to allocate so that n are expected to be analysed when `loss` are lost."""
    return math.ceil(n / (1.0 - loss) - 1e-9)


def plan(
    scenario: Scenario,
    analysis: str,
    settings: PlanSettings,
    *,
    effect_label: Callable[[float], str] = lambda factor: f"{factor:g}×",
    progress: Callable[[int, int], None] | None = None,
) -> PlanResult:
    """The smallest n per group whose simulated power reaches `settings.power` (n from 2
    upward, each n its own seeded simulation), the curve of the stated effect and of a
    smaller and a larger one, and the closed forms beside them."""
    settings.check()
    found: Power | None = None
    points: list[Power] = []
    done = 0
    estimate = 30 * len(CURVE_FACTORS)
    for n in range(MIN_N, MAX_N + 1):
        point = simulate_power(
            scenario, analysis, n, alpha=settings.alpha, seed=settings.seed, line=1,
            n_sims=settings.n_sims,
        )  # fmt: skip
        points.append(point)
        done += 1
        if progress:
            progress(done, max(estimate, done + 1))
        if point.power >= settings.power:
            found = point
            break
    top = min(MAX_N, max(12, (found.n if found else MAX_N) * 3 // 2))
    grid = _grid(top)
    total = done + len(grid) * (len(CURVE_FACTORS) - 1) + sum(1 for n in grid if n > points[-1].n)
    curves = []
    for line, factor in enumerate(CURVE_FACTORS):
        scaled = scenario.with_delta(scenario.delta_g * factor)
        if factor == 1.0:
            line_points = [p for p in points if p.n in grid or p is found]
            known = {p.n for p in points}
        else:
            line_points, known = [], set()
        for n in grid:
            if n in known:
                continue
            try:
                _check_mean(scaled.means_g[scaled.target], scenario.floor_g, scenario.cutoff_g)
            except PlanError:
                break
            line_points.append(
                simulate_power(
                    scaled,
                    analysis,
                    n,
                    alpha=settings.alpha,
                    seed=settings.seed,
                    line=1 if factor == 1.0 else line + 10,
                    n_sims=settings.n_sims,
                )  # fmt: skip
            )
            done += 1
            if progress:
                progress(done, total)
        line_points.sort(key=lambda p: p.n)
        curves.append(
            {
                "label": effect_label(factor),
                "factor": factor,
                "delta_g": scaled.delta_g,
                "points": line_points,
            }
        )
    n_plan = found.n if found else None
    return PlanResult(
        analysis=analysis,
        design=scenario.design,
        delta_g=scenario.delta_g,
        n_per_group=n_plan,
        n_with_losses=with_losses(n_plan, settings.loss) if n_plan else None,
        power_at_n=found,
        curves=curves,
        closed_forms=closed_form(
            scenario, alpha=settings.alpha, power=settings.power, n=n_plan or MAX_N
        ),
        n_sims=settings.n_sims,
    )


def _grid(top: int) -> list[int]:
    """The n the curve is drawn at: every n to 20, then every 2nd, then every 5th."""
    grid = list(range(MIN_N, min(top, 20) + 1))
    grid += list(range(22, min(top, 40) + 1, 2))
    grid += list(range(45, top + 1, 5))
    return grid
