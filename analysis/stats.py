"""Statistics for von Frey time courses, in the shape of the stats CSV export.

Input is a tidy long frame with one row per animal and timepoint::

    animal, group, timepoint, day, value

``value`` is a threshold in g or a %MPE; timepoints are ordered by ``day``. Every
function returns a tidy :class:`pandas.DataFrame` whose columns are :data:`COLUMNS`:
the stats CSV contract ``test, group, timepoint, a, b, statistic, df, p`` first, then
``p_adj, n, note, sentence`` and a few extras (``df2, epsilon, role, dropped``).

What is computed, and why it matches R (docs/statistics.md has the long version):

* within each group across timepoints: Friedman (``friedman``; a Wilcoxon signed-rank
  test, ``wilcoxon``, when only two timepoints exist, because Friedman needs three),
  then the Nemenyi-Wilcoxon-Wilcox test of PMCMRplus::frdAllPairsNemenyiTest
  (``nemenyi_friedman``) where Friedman is significant;
* repeated-measures ANOVA over time within a group (``rm_anova`` and the corrected
  ``rm_anova_gg`` / ``rm_anova_hf`` rows, ``mauchly``), with R's formulas for Mauchly's
  test (including its second-order p-value term) and the Greenhouse-Geisser and
  Huynh-Feldt (Lecoutre) epsilons; a two-way mixed ANOVA, group between and time within
  (``mixed_anova``, plus ``mixed_anova_gg`` / ``mixed_anova_hf`` for the time terms);
* between groups at each timepoint: Kruskal-Wallis (``kruskal``) then, only where it is
  significant, Nemenyi with the studentized-range (Tukey) distribution as
  PMCMRplus::kwAllPairsNemenyiTest (``nemenyi_kruskal``) or Dunn with Holm
  (``dunn_kruskal``); Mann-Whitney (``mann_whitney``) when exactly two groups have data;
* the area under each animal's time course (trapezoid over study days) compared between
  groups the same way (``auc_kruskal``, ``auc_nemenyi_kruskal``, ``auc_dunn_kruskal``,
  ``auc_mann_whitney``);
* a linear mixed model (random intercept per animal, REML as lme4, Satterthwaite df as
  lmerTest; analysis.lmm) that keeps animals with a missing timepoint (``mixed_model``).

Friedman, the ANOVAs and the AUC need every timepoint of an animal: an animal with a hole
is dropped from them, and the ``dropped`` column and the note say which.

This module must not import Django, touch the database or read study settings itself:
the significance level and the post-hoc choice arrive as arguments.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import emm, hodges_lehmann, lmm
from analysis.cells import INPUT_COLUMNS as INPUT_COLUMNS  # the input contract, re-exported
from analysis.cells import Design, fit_cells
from analysis.cells import clean as clean_frame
from analysis.cells import design as design_of


def _posthocs():
    """scikit-posthocs, imported on first use: it brings matplotlib's pyplot with it (about
    a second of start-up), which a process that never compares groups (a management
    command, an export, a gunicorn worker before its first dashboard) need not pay for."""
    import scikit_posthocs

    return scikit_posthocs


CONTRACT_COLUMNS = ["test", "group", "timepoint", "a", "b", "statistic", "df", "p"]
COLUMNS = [
    *CONTRACT_COLUMNS,
    "p_adj",
    "n",
    "note",
    "sentence",
    "df2",
    "epsilon",
    "role",
    "dropped",
    # The comparison family a pairwise row belongs to (empty for omnibus tests and the
    # mixed model) and its effect size: appended last, after the export's `outcome`.
    "family",
    "estimate",
    "ci_low",
    "ci_high",
    "estimate_name",
]
COMPARISON_COLUMNS = ["family", "estimate", "ci_low", "ci_high", "estimate_name"]
SUMMARY_COLUMNS = ["group", "timepoint", "day", "n", "mean", "sd", "sem", "median", "q1", "q3"]
POSTHOC_CHOICES = ("nemenyi", "dunn_holm")

# The comparisons a study reads its marks and sentences from (Study.comparison_family).
FAMILY_ALL_PAIRS = "all_pairs"  # every pair: Nemenyi (or Dunn) after Friedman / Kruskal
FAMILY_VS_CONTROL = "vs_control"  # each group vs control at each timepoint
FAMILY_VS_BASELINE = "vs_baseline"  # each timepoint vs baseline within each group
FAMILY_PAIRS = "pairs"  # the study's chosen timepoint pairs only
FAMILY_CHOICES = (FAMILY_ALL_PAIRS, FAMILY_VS_CONTROL, FAMILY_VS_BASELINE, FAMILY_PAIRS)
# What the family's comparisons are tested by (Study.comparison_basis).
BASIS_RANK = "rank"  # the rank post-hocs above
BASIS_MODEL = "model"  # estimated marginal means of the mixed model (analysis.emm)
BASIS_CHOICES = (BASIS_RANK, BASIS_MODEL)

# Roles mark the comparisons a PI asks for; significance_marks() reads them.
ROLE_VS_BASELINE = "vs baseline"
ROLE_VS_FIRST_TREATED = "vs first treated"
ROLE_CHOSEN_PAIR = "chosen pair"
ROLE_VS_CONTROL = "vs control"

ALL_EQUAL = "all values equal"
SINGULAR_FIT = "singular fit: between-animal variance estimated at 0 (as lme4 would warn)"


# ----------------------------------------------------------------------------- rows


def _row(test: str, **values) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(test=test, note="", sentence="", role="", dropped="", family="", estimate_name="")
    row.update(values)
    return row


def _frame(rows: Iterable[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    frame["family"] = frame["family"].fillna("")
    frame["estimate_name"] = frame["estimate_name"].fillna("")
    for column in (
        "statistic",
        "df",
        "p",
        "p_adj",
        "df2",
        "epsilon",
        "estimate",
        "ci_low",
        "ci_high",
    ):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["n"] = pd.array(frame["n"], dtype="Int64")
    return frame


def format_p(p: float | None) -> str:
    """p as a reader expects it: "p = 0.03", "p = 0.004", "p = 0.00043", "p < 0.0001"."""
    if p is None or not np.isfinite(p):
        return "p not computed"
    if p < 0.0001:
        return "p < 0.0001"
    if p < 0.001:
        return f"p = {p:.2g}"
    if p < 0.01:
        return f"p = {p:.3f}"
    # Two decimals, unless that would print a p just under or over 0.05 as "0.05".
    for digits in (2, 3, 4):
        text = f"{p:.{digits}f}"
        if float(text) != 0.05:
            break
    return f"p = {text}"


def _join_notes(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def _dropped_note(dropped: Sequence[str]) -> str:
    if not dropped:
        return ""
    return f"dropped for a missing timepoint: {', '.join(map(str, dropped))}"


# ----------------------------------------------------------------------------- input


def _wide(clean: pd.DataFrame, timepoints: Sequence[str]) -> pd.DataFrame:
    """animal x timepoint table of values (NaN where missing), rows in input order.

    The table ``clean.pivot(...).reindex(animals, timepoints)`` gives, filled in by
    position: the statistics build it for every group and test (a few thousand times per
    dashboard), where pandas' pivot cost five times as much. ``clean`` holds at most one
    value per animal and timepoint (analysis.cells.clean refuses more)."""
    animals = pd.Index(clean["animal"].drop_duplicates().tolist(), name="animal")
    columns = pd.Index(list(timepoints), name="timepoint")
    present = clean["value"].notna().to_numpy()
    rows = animals.get_indexer(clean["animal"])[present]
    cols = columns.get_indexer(clean["timepoint"])[present]
    kept = cols >= 0  # values at timepoints left out of this table
    table = np.full((len(animals), len(columns)), np.nan)
    table[rows[kept], cols[kept]] = clean["value"].to_numpy()[present][kept]
    return pd.DataFrame(table, index=animals, columns=columns)


def _complete_cases(wide: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    complete = wide.dropna(axis=0, how="any")
    dropped = [str(a) for a in wide.index if a not in complete.index]
    return complete, dropped


# ------------------------------------------------------------------ two-sample tests


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p: float
    method: str
    note: str = ""


def wilcoxon_signed_rank(x: Sequence[float], y: Sequence[float]) -> TestResult:
    """Paired two-sided Wilcoxon signed-rank test as R's ``wilcox.test(x, y, paired=TRUE)``.

    The statistic is R's V, the sum of the ranks of the positive differences x - y.
    Zero differences are dropped; with ties or zeros R (and this) uses the normal
    approximation with continuity correction, otherwise the exact distribution.
    """
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    d = d[np.isfinite(d)]
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return TestResult(math.nan, math.nan, "Wilcoxon signed-rank", ALL_EQUAL)
    ranks = stats.rankdata(np.abs(nonzero))
    v = float(ranks[nonzero > 0].sum())
    ties = np.unique(np.abs(nonzero)).size < nonzero.size
    zeros = nonzero.size < d.size
    exact = nonzero.size < 50 and not ties and not zeros
    if exact:
        result = stats.wilcoxon(nonzero, method="exact")
        note = "exact"
    else:
        result = stats.wilcoxon(nonzero, method="approx", correction=True)
        note = "normal approximation with continuity correction (ties or zero differences)"
    return TestResult(v, float(result.pvalue), "Wilcoxon signed-rank", note)


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> TestResult:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney) test as R's ``wilcox.test(x, y)``.

    The statistic is R's W (Mann-Whitney U of ``x``). Exact below 50 per sample without
    ties, otherwise the normal approximation with continuity correction, as R.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size == 0 or y.size == 0:
        return TestResult(math.nan, math.nan, "Mann-Whitney", "a sample is empty")
    pooled = np.concatenate([x, y])
    if np.unique(pooled).size == 1:
        return TestResult(math.nan, math.nan, "Mann-Whitney", ALL_EQUAL)
    ties = np.unique(pooled).size < pooled.size
    exact = x.size < 50 and y.size < 50 and not ties
    method = "exact" if exact else "asymptotic"
    result = stats.mannwhitneyu(x, y, alternative="two-sided", method=method, use_continuity=True)
    note = "exact" if exact else "normal approximation with continuity correction (ties)"
    return TestResult(float(result.statistic), float(result.pvalue), "Mann-Whitney", note)


def kruskal_wallis(samples: Sequence[Sequence[float]]) -> TestResult:
    """Kruskal-Wallis H with R's tie correction (``kruskal.test``); df = groups - 1."""
    cleaned = [np.asarray(s, dtype=float) for s in samples]
    cleaned = [s[np.isfinite(s)] for s in cleaned]
    cleaned = [s for s in cleaned if s.size]
    if len(cleaned) < 2:
        return TestResult(math.nan, math.nan, "Kruskal-Wallis", "fewer than two groups with data")
    if np.unique(np.concatenate(cleaned)).size == 1:
        return TestResult(math.nan, math.nan, "Kruskal-Wallis", ALL_EQUAL)
    result = stats.kruskal(*cleaned)
    return TestResult(float(result.statistic), float(result.pvalue), "Kruskal-Wallis")


def friedman(matrix: np.ndarray) -> TestResult:
    """Friedman chi-squared with R's tie correction; rows are animals, columns timepoints."""
    matrix = np.asarray(matrix, dtype=float)
    n, k = matrix.shape
    if k < 3:
        raise ValueError("Friedman needs at least three timepoints; use wilcoxon_signed_rank")
    if n < 2:
        return TestResult(math.nan, math.nan, "Friedman", f"needs at least 2 animals (n = {n})")
    if np.all(matrix == matrix[:, :1]):
        # Every animal has the same value at every timepoint (e.g. all at cut-off): the
        # tie-corrected statistic is 0/0 and scipy returns nan with a warning.
        return TestResult(math.nan, math.nan, "Friedman", ALL_EQUAL)
    result = stats.friedmanchisquare(*matrix.T)
    return TestResult(float(result.statistic), float(result.pvalue), "Friedman")


# ------------------------------------------------------------------------ post-hocs


@dataclass(frozen=True)
class PairResult:
    a: str
    b: str
    statistic: float
    p: float
    p_adj: float


def nemenyi_friedman_pairs(matrix: pd.DataFrame) -> list[PairResult]:
    """All pairs of columns, PMCMRplus::frdAllPairsNemenyiTest.

    statistic = |mean rank i - mean rank j| / sqrt(k(k+1) / 6n) * sqrt(2) (the studentized
    range q that PMCMRplus prints); p = P(Q > q) for k means and infinite df. The p is
    already single-step adjusted for all k(k-1)/2 pairs, so p_adj = p.
    """
    values = matrix.to_numpy(dtype=float)
    n, k = values.shape
    p = _posthocs().posthoc_nemenyi_friedman(values)
    mean_ranks = stats.rankdata(values, axis=1).mean(axis=0)
    scale = math.sqrt(k * (k + 1) / (6.0 * n))
    names = [str(c) for c in matrix.columns]
    out = []
    for i in range(k):
        for j in range(i + 1, k):
            q = abs(mean_ranks[i] - mean_ranks[j]) / scale * math.sqrt(2.0)
            pij = float(p.iloc[i, j])
            out.append(PairResult(names[j], names[i], q, pij, pij))
    return out


def nemenyi_kruskal_pairs(samples: dict[str, Sequence[float]]) -> tuple[list[PairResult], str]:
    """All pairs, PMCMRplus::kwAllPairsNemenyiTest with its default ``dist = "Tukey"``.

    scikit-posthocs defaults to the chi-square variant; the Tukey one is asked for here.
    Like PMCMRplus, the Tukey p-values are not corrected for ties (the note says so).
    """
    long = pd.DataFrame(
        [(str(g), float(v)) for g, vs in samples.items() for v in vs if np.isfinite(v)],
        columns=["g", "v"],
    )
    names = list(samples)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = _posthocs().posthoc_nemenyi(long, val_col="v", group_col="g", dist="tukey", sort=False)
    ties_note = ""
    if any("ties" in str(w.message).lower() for w in caught):
        ties_note = "ties present: Tukey p-values not corrected for ties (as PMCMRplus)"
    ranks = long["v"].rank()
    n_total = len(long)
    mean_rank = ranks.groupby(long["g"]).mean()
    size = long.groupby("g")["v"].size()
    out = []
    for i, gi in enumerate(names):
        for gj in names[i + 1 :]:
            se = math.sqrt(n_total * (n_total + 1) / 12.0 * (1 / size[gi] + 1 / size[gj]))
            q = abs(mean_rank[gi] - mean_rank[gj]) / se * math.sqrt(2.0)
            pij = float(p.loc[gi, gj])
            out.append(PairResult(gj, gi, q, pij, pij))
    return out, ties_note


def dunn_pairs(samples: dict[str, Sequence[float]], *, p_adjust: str = "holm") -> list[PairResult]:
    """All pairs, Dunn's z test with Glantz's tie correction (PMCMRplus kwAllPairsDunnTest,
    dunn.test), two-sided; p is unadjusted, p_adj uses ``p_adjust`` across all pairs."""
    long = pd.DataFrame(
        [(str(g), float(v)) for g, vs in samples.items() for v in vs if np.isfinite(v)],
        columns=["g", "v"],
    )
    names = list(samples)
    raw = _posthocs().posthoc_dunn(long, val_col="v", group_col="g", sort=False)
    pairs = [(gi, gj) for i, gi in enumerate(names) for gj in names[i + 1 :]]
    # adjusted across all pairs here, as scikit-posthocs' p_adjust does (its upper
    # triangle), without statsmodels' collector run (see adjust_p)
    adjusted = dict(zip(pairs, adjust_p([raw.loc[a, b] for a, b in pairs], p_adjust), strict=True))
    ranks = long["v"].rank()
    n_total = len(long)
    counts = ranks.value_counts().to_numpy()
    tie_term = float(np.sum(counts**3 - counts)) / (12.0 * (n_total - 1))
    mean_rank = ranks.groupby(long["g"]).mean()
    size = long.groupby("g")["v"].size()
    out = []
    for i, gi in enumerate(names):
        for gj in names[i + 1 :]:
            var = (n_total * (n_total + 1) / 12.0 - tie_term) * (1 / size[gi] + 1 / size[gj])
            z = abs(mean_rank[gi] - mean_rank[gj]) / math.sqrt(var)
            out.append(PairResult(gj, gi, z, float(raw.loc[gi, gj]), adjusted[gi, gj]))
    return out


def adjust_p(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """R's ``p.adjust(p, method)`` for "holm", "bonferroni" and "none"; NaN stays NaN and
    is not counted (R drops NA before counting n). As R's source (r-source
    src/library/stats/R/p.adjust.R): holm = pmin(1, cummax((n + 1 - i) * p[o]))[ro] with o
    the order of p; bonferroni = pmin(1, n * p).

    Our own few lines rather than statsmodels' ``multipletests``: its Holm branch runs a
    full ``gc.collect()`` on every call (statsmodels 0.15 stats/multitest.py), which in a
    server or test process with a large heap took ~0.1 s per adjustment, over 90 % of a
    Friedman + rank-z comparison (py-spy/cProfile, 2026-12)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    finite = np.isfinite(p)
    q = p[finite]
    n = q.size
    if method == "none" or n <= 1:
        out[finite] = q
    elif method == "bonferroni":
        out[finite] = np.minimum(1.0, n * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        stepped = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * q[order]))
        adjusted = np.empty(n)
        adjusted[order] = stepped
        out[finite] = adjusted
    else:
        raise ValueError(f"adjust_p: unknown method {method!r} (holm, bonferroni or none)")
    return out.tolist()


def holm(p_values: Sequence[float]) -> list[float]:
    """R's ``p.adjust(p, method = "holm")``; NaN stays NaN and is not counted."""
    return adjust_p(p_values, "holm")


def dunn_many_one(samples: dict[str, Sequence[float]], *, control: str) -> list[PairResult]:
    """Each group against ``control``: PMCMRplus::kwManyOneDunnTest(x, g,
    p.adjust.method = "holm") (cran/PMCMRplus R/kwManyOneDunnTest.R).

    z = (Rbar_j - Rbar_control) / sqrt((N(N+1)/12 - C) (1/n_j + 1/n_control)), C the tie
    term sum(t^3 - t) / (12 (N - 1)) over the pooled ranks; two-sided normal p; Holm over
    the k - 1 comparisons. ``statistic`` keeps R's sign (positive: the group ranks higher
    than control). Rows: a = group, b = control.
    """
    long = pd.DataFrame(
        [(str(g), float(v)) for g, vs in samples.items() for v in vs if np.isfinite(v)],
        columns=["g", "v"],
    )
    if control not in set(long["g"]):
        raise ValueError(f"control group {control!r} has no values")
    ranks = long["v"].rank()
    n_total = len(long)
    counts = ranks.value_counts().to_numpy()
    ties = float(np.sum(counts**3 - counts)) / (12.0 * (n_total - 1))
    mean_rank = ranks.groupby(long["g"]).mean()
    size = long.groupby("g")["v"].size()
    others = [str(g) for g in samples if str(g) != control and str(g) in size.index]
    z = []
    for g in others:
        var = (n_total * (n_total + 1) / 12.0 - ties) * (1 / size[g] + 1 / size[control])
        z.append((mean_rank[g] - mean_rank[control]) / math.sqrt(var) if var > 0 else math.nan)
    p = [float(2 * stats.norm.sf(abs(v))) if np.isfinite(v) else math.nan for v in z]
    p_adj = holm(p)
    return [
        PairResult(g, control, float(zi), pi, pa)
        for g, zi, pi, pa in zip(others, z, p, p_adj, strict=True)
    ]


def _friedman_rank_z(matrix: pd.DataFrame) -> tuple[pd.Series, float]:
    """Mean within-animal ranks per column and the z scale sqrt(k(k+1) / (6n))."""
    values = matrix.to_numpy(dtype=float)
    n, k = values.shape
    mean_ranks = pd.Series(stats.rankdata(values, axis=1).mean(axis=0), index=matrix.columns)
    return mean_ranks, math.sqrt(k * (k + 1) / (6.0 * n))


def demsar_many_one(matrix: pd.DataFrame, *, reference: str) -> list[PairResult]:
    """Each column (timepoint) against ``reference`` (the baseline), animals as blocks:
    PMCMRplus::frdManyOneDemsarTest(y, p.adjust.method = "holm") (cran/PMCMRplus
    R/frdManyOneDemsarTest.R; Holm is its default).

    z = (Rbar_j - Rbar_reference) / sqrt(k(k+1) / (6n)) over within-animal ranks; two-sided
    normal p; Holm over the k - 1 comparisons. Rows: a = timepoint, b = reference.
    """
    mean_ranks, scale = _friedman_rank_z(matrix)
    others = [c for c in matrix.columns if c != reference]
    z = [(mean_ranks[c] - mean_ranks[reference]) / scale for c in others]
    p = [float(2 * stats.norm.sf(abs(v))) for v in z]
    p_adj = holm(p)
    return [
        PairResult(str(c), str(reference), float(zi), pi, pa)
        for c, zi, pi, pa in zip(others, z, p, p_adj, strict=True)
    ]


def friedman_rank_pairs(matrix: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> list[PairResult]:
    """Only the chosen (later, earlier) pairs of columns, with the Friedman-rank z of
    PMCMRplus::frdAllPairsSiegelTest (the statistic Demsar's test uses against one
    column) and Holm over the chosen pairs alone, not over every pair."""
    mean_ranks, scale = _friedman_rank_z(matrix)
    chosen = [(a, b) for a, b in pairs if a in mean_ranks.index and b in mean_ranks.index]
    z = [(mean_ranks[a] - mean_ranks[b]) / scale for a, b in chosen]
    p = [float(2 * stats.norm.sf(abs(v))) for v in z]
    p_adj = holm(p)
    return [
        PairResult(str(a), str(b), float(zi), pi, pa)
        for (a, b), zi, pi, pa in zip(chosen, z, p, p_adj, strict=True)
    ]


# -------------------------------------------------------------------- ANOVA (by hand)


@dataclass
class WithinAnova:
    """Univariate repeated-measures ANOVA of one within factor, optionally with one
    between factor (split-plot). Names follow R's ``aov(y ~ g * t + Error(id/t))``."""

    n: int
    k: int
    groups: int
    terms: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    # term -> (F, df1, df2, p); terms: "group" (if groups > 1), "time", "group:time"
    mauchly_w: float = math.nan
    mauchly_chi2: float = math.nan
    mauchly_df: float = math.nan
    mauchly_p: float = math.nan
    gg_epsilon: float = math.nan
    hf_epsilon: float = math.nan
    note: str = ""

    def corrected(self, term: str, epsilon: float) -> tuple[float, float, float, float]:
        f, df1, df2, _ = self.terms[term]
        # An undefined epsilon (NaN) must not fall through min(1, nan) == 1 to the
        # uncorrected p, and a non-positive one must not make a negative df.
        if not np.isfinite(f) or not np.isfinite(epsilon) or epsilon <= 0:
            return f, math.nan, math.nan, math.nan
        eps = min(1.0, epsilon)
        return f, df1 * eps, df2 * eps, float(stats.f.sf(f, df1 * eps, df2 * eps))


def _orthonormal_contrasts(k: int) -> np.ndarray:
    """k x (k-1) matrix whose columns are orthonormal and orthogonal to the constant."""
    basis = np.hstack([np.ones((k, 1)), np.eye(k)[:, : k - 1]])
    q, _ = np.linalg.qr(basis)
    return q[:, 1:]


def _sphericity(ssd: np.ndarray, df_error: int, k: int) -> dict[str, float]:
    """Mauchly's test and GG/HF epsilons from the within-subject SSD matrix.

    Follows R's ``stats:::mauchly.test.SSD`` and ``stats:::sphericity`` exactly,
    including the second-order term of the p-value (Anderson 1958) and its ``3 * p``
    with p = number of levels; HF is the Lecoutre (1991) form R and car use.
    """
    pp = k - 1
    contrasts = _orthonormal_contrasts(k)
    u = contrasts.T @ ssd @ contrasts  # proportional to the contrast covariance
    trace = float(np.trace(u))
    out = dict.fromkeys(["w", "chi2", "df", "p", "gg", "hf"], math.nan)
    if trace <= 0 or not np.isfinite(trace):
        return out
    eigen = np.linalg.eigvalsh(u)
    gg = trace**2 / (pp * float(np.sum(eigen**2)))
    n = df_error
    # Huynh-Feldt (Lecoutre) is undefined when n <= pp * GG, e.g. two complete animals
    # (n = 1 error df): R then prints a negative or infinite epsilon; we report none.
    denominator = pp * (n - pp * gg)
    hf = ((n + 1) * pp * gg - 2) / denominator if denominator > 1e-9 * max(1, n) else math.nan
    if not np.isfinite(hf) or hf <= 0:
        hf = math.nan
    out.update(gg=gg, hf=hf)
    if pp < 2:
        out.update(w=1.0, df=0.0)
        return out
    det = float(np.linalg.det(u))
    if n < pp or det <= 0:
        return out
    log_w = math.log(det) - pp * math.log(trace / pp)
    rho = 1 - (2 * pp**2 + pp + 2) / (6 * pp * n)
    w2 = (pp + 2) * (pp - 1) * (pp - 2) * (2 * pp**3 + 6 * pp**2 + 3 * k + 2)
    w2 /= 288 * (n * pp * rho) ** 2
    z = -n * rho * log_w
    f = pp * (pp + 1) / 2 - 1
    pr1 = stats.chi2.sf(z, f)
    pr2 = stats.chi2.sf(z, f + 4)
    out.update(w=math.exp(log_w), chi2=z, df=f, p=float(pr1 + w2 * (pr2 - pr1)))
    return out


def _f_test(ss: float, df1: float, ss_err: float, df2: float) -> tuple[float, float, float, float]:
    if df1 <= 0 or df2 <= 0:
        return math.nan, df1, df2, math.nan
    ms_err = ss_err / df2
    ms = ss / df1
    if ms_err <= 1e-12 * max(1.0, abs(ms)):
        if ms <= 0:
            return math.nan, df1, df2, math.nan
        return math.inf, df1, df2, 0.0
    f = ms / ms_err
    return f, df1, df2, float(stats.f.sf(f, df1, df2))


def within_anova(matrix: np.ndarray, groups: Sequence[str] | None = None) -> WithinAnova:
    """Repeated-measures ANOVA on a complete animals x timepoints matrix.

    Without ``groups``: one-way RM-ANOVA (``aov(y ~ t + Error(id/t))``). With ``groups``:
    the split-plot ANOVA (``aov(y ~ g * t + Error(id/t))``, sequential sums of squares,
    which equal type II here because every animal has every timepoint). Sphericity
    (Mauchly, GG, HF) uses the pooled within-group SSD with N - g degrees of freedom, as
    R's ``anova.mlm`` on ``lm(Y ~ g)`` and car::Anova do.
    """
    y = np.asarray(matrix, dtype=float)
    n, k = y.shape
    labels = np.asarray(["all"] * n if groups is None else [str(g) for g in groups])
    names = list(dict.fromkeys(labels))
    g = len(names)
    result = WithinAnova(n=n, k=k, groups=g)
    grand = y.mean()
    subject_means = y.mean(axis=1)
    time_means = y.mean(axis=0)
    ss_total = float(((y - grand) ** 2).sum())
    ss_subjects = k * float(((subject_means - grand) ** 2).sum())
    ss_time = n * float(((time_means - grand) ** 2).sum())
    ss_group = 0.0
    ss_cells = 0.0
    ssd = np.zeros((k, k))
    for name in names:
        block = y[labels == name]
        ng = block.shape[0]
        ss_group += k * ng * (block.mean() - grand) ** 2
        ss_cells += ng * float(((block.mean(axis=0) - grand) ** 2).sum())
        centred = block - block.mean(axis=0)
        ssd += centred.T @ centred
    ss_interaction = ss_cells - ss_group - ss_time if g > 1 else 0.0
    ss_subject_error = ss_subjects - ss_group
    ss_error = ss_total - ss_subjects - ss_time - ss_interaction
    df_subject_error = n - g
    df_error = (n - g) * (k - 1)
    if ss_total <= 1e-12 * max(1.0, grand**2):
        result.note = ALL_EQUAL
    if g > 1:
        result.terms["group"] = _f_test(ss_group, g - 1, ss_subject_error, df_subject_error)
    result.terms["time"] = _f_test(ss_time, k - 1, ss_error, df_error)
    if g > 1:
        result.terms["group:time"] = _f_test(ss_interaction, (g - 1) * (k - 1), ss_error, df_error)
    if df_subject_error >= 1:
        sph = _sphericity(ssd, df_subject_error, k)
        result.mauchly_w, result.mauchly_chi2 = sph["w"], sph["chi2"]
        result.mauchly_df, result.mauchly_p = sph["df"], sph["p"]
        result.gg_epsilon, result.hf_epsilon = sph["gg"], sph["hf"]
    return result


# ------------------------------------------------------------------ within a group


def _order_pair(a: str, b: str, timepoints: Sequence[str]) -> tuple[str, str]:
    """Later timepoint first, so rows read "T3 vs T0"."""
    return (a, b) if timepoints.index(a) > timepoints.index(b) else (b, a)


def _roles_within(
    a: str, b: str, *, baseline: str, first_treated: str | None, pairs: Sequence[tuple]
) -> str:
    roles = []
    if baseline in (a, b):
        roles.append(ROLE_VS_BASELINE)
    if first_treated is not None and first_treated in (a, b) and baseline not in (a, b):
        roles.append(ROLE_VS_FIRST_TREATED)
    if any({a, b} == {str(x), str(y)} for x, y in pairs):
        roles.append(ROLE_CHOSEN_PAIR)
    return ", ".join(roles)


def within_group_tests(
    frame: pd.DataFrame,
    *,
    baseline: str,
    first_treated: str | None = None,
    pairs: Sequence[tuple[str, str]] = (),
    alpha: float = 0.05,
    family: str = FAMILY_ALL_PAIRS,
) -> pd.DataFrame:
    """Friedman (or Wilcoxon for two timepoints) then, where Friedman is significant, the
    comparisons of ``family`` per group: Nemenyi for every pair (``all_pairs``),
    Demsar's many-to-one test against ``baseline`` (``vs_baseline``), the Friedman-rank z
    of the chosen ``pairs`` alone (``pairs``), none for ``vs_control``.

    Animals missing a timepoint are dropped (``dropped``). Timepoints with no data at
    all in a group are left out of that group's test, and the note says so.
    """
    _check_family(family)
    clean = clean_frame(frame)
    design = design_of(clean)
    by_group = dict(list(clean.groupby("group", sort=False)))  # one pass, not one per group
    rows = []
    for group in design.groups:
        sub = by_group[group]
        rows.extend(
            _within_one_group(
                sub,
                group=group,
                design=design,
                baseline=baseline,
                first_treated=first_treated,
                pairs=pairs,
                alpha=alpha,
                family=family,
            )
        )
    return _frame(rows)


def _check_family(family: str) -> None:
    if family not in FAMILY_CHOICES:
        raise ValueError(f"family must be one of {FAMILY_CHOICES}, not {family!r}")


def _effect(shift: hodges_lehmann.Shift) -> dict:
    """The effect-size columns of one pairwise row."""
    return {
        "estimate": shift.estimate,
        "ci_low": shift.ci_low,
        "ci_high": shift.ci_high,
        "estimate_name": shift.name,
    }


def _within_family(a: str, b: str, *, family: str, baseline: str, pairs) -> str:
    """`family` when the within-group comparison a vs b belongs to it, else ""."""
    if family == FAMILY_ALL_PAIRS:
        return family
    if family == FAMILY_VS_BASELINE and baseline in (a, b):
        return family
    if family == FAMILY_PAIRS and any({a, b} == {str(x), str(y)} for x, y in pairs):
        return family
    return ""


def _usable_timepoints(sub: pd.DataFrame, design: Design) -> tuple[list[str], str]:
    present = set(sub.loc[sub["value"].notna(), "timepoint"].tolist())
    usable = [tp for tp in design.timepoints if tp in present]
    missing = [tp for tp in design.timepoints if tp not in present]
    note = f"no data at {', '.join(missing)}: left out" if missing else ""
    return usable, note


# The one mark a many-to-one or chosen-pair row makes (all-pairs rows may make several).
FAMILY_ROLE = {FAMILY_VS_BASELINE: ROLE_VS_BASELINE, FAMILY_PAIRS: ROLE_CHOSEN_PAIR}

# family -> (test, how a sentence names it, how a "not run" note names it)
WITHIN_POSTHOC = {
    FAMILY_ALL_PAIRS: ("nemenyi_friedman", "Nemenyi after Friedman", "Nemenyi"),
    FAMILY_VS_BASELINE: (
        "demsar_friedman",
        "Demsar (Holm) vs baseline after Friedman",
        "Demsar vs baseline",
    ),
    FAMILY_PAIRS: (
        "siegel_friedman",
        "Friedman-rank z (Holm) for the chosen pairs",
        "Chosen-pair comparisons",
    ),
}


def _within_one_group(
    sub: pd.DataFrame,
    *,
    group: str,
    design: Design,
    baseline: str,
    first_treated: str | None,
    pairs: Sequence[tuple],
    alpha: float,
    family: str = FAMILY_ALL_PAIRS,
) -> list[dict]:
    timepoints, gap_note = _usable_timepoints(sub, design)
    complete, dropped = _complete_cases(_wide(sub, timepoints))
    n = len(complete)
    dropped_text = ", ".join(dropped)
    base_note = _join_notes(gap_note, _dropped_note(dropped))
    if len(timepoints) < 2:
        note = _join_notes(base_note, "fewer than two timepoints with data")
        return [
            _row(
                "friedman",
                group=group,
                n=n,
                note=note,
                dropped=dropped_text,
                sentence=f"{group}: Friedman not computed ({note}).",
            )
        ]
    if len(timepoints) == 2:
        later, earlier = timepoints[1], timepoints[0]
        if n < 1:
            result = TestResult(math.nan, math.nan, "Wilcoxon signed-rank", "no complete pairs")
        else:
            result = wilcoxon_signed_rank(complete[later], complete[earlier])
        note = _join_notes(
            "two timepoints only: Wilcoxon signed-rank instead of Friedman",
            result.note,
            base_note,
        )
        role = _roles_within(
            later, earlier, baseline=baseline, first_treated=first_treated, pairs=pairs
        )
        return [
            _row(
                "wilcoxon",
                group=group,
                a=later,
                b=earlier,
                statistic=result.statistic,
                p=result.p,
                p_adj=result.p,
                n=n,
                note=note,
                role=role,
                dropped=dropped_text,
                sentence=f"{group}, {later} vs {earlier}: {format_p(result.p)}, "
                "Wilcoxon signed-rank (two timepoints, so no Friedman).",
                family=_within_family(
                    later, earlier, family=family, baseline=baseline, pairs=pairs
                ),
                **_effect(hodges_lehmann.paired(complete[later], complete[earlier])),
            )
        ]
    omnibus = friedman(complete.to_numpy())
    significant = np.isfinite(omnibus.p) and omnibus.p < alpha
    test, title, post_name = WITHIN_POSTHOC.get(family, ("", "", ""))
    gate_note = ""
    if not test:
        gate_note = "no within-group comparisons in the 'vs control' family"
    elif not significant and np.isfinite(omnibus.p):
        gate_note = f"{post_name} not run (p >= alpha)"
    rows = [
        _row(
            "friedman",
            group=group,
            statistic=omnibus.statistic,
            df=len(timepoints) - 1,
            p=omnibus.p,
            p_adj=omnibus.p,
            n=n,
            note=_join_notes(omnibus.note, gate_note, base_note),
            dropped=dropped_text,
            sentence=f"{group} across {len(timepoints)} timepoints: {format_p(omnibus.p)}, "
            f"Friedman (n = {n}).",
        )
    ]
    if not significant or not test:
        return rows
    if family == FAMILY_ALL_PAIRS:
        found = nemenyi_friedman_pairs(complete)
    elif family == FAMILY_VS_BASELINE:
        found = demsar_many_one(complete, reference=baseline) if baseline in timepoints else []
    else:
        found = friedman_rank_pairs(complete, [(str(a), str(b)) for a, b in pairs])
    for pair in found:
        a, b = _order_pair(pair.a, pair.b, timepoints)
        statistic = pair.statistic
        if family != FAMILY_ALL_PAIRS and (a, b) != (pair.a, pair.b):
            if family == FAMILY_VS_BASELINE:
                a, b = pair.a, pair.b  # always "Tx vs baseline", as PMCMRplus prints
            else:
                statistic = -statistic  # signed z follows the printed order
        rows.append(
            _row(
                test,
                group=group,
                a=a,
                b=b,
                statistic=statistic,
                p=pair.p,
                p_adj=pair.p_adj,
                n=n,
                note=base_note,
                role=FAMILY_ROLE.get(family)
                or _roles_within(a, b, baseline=baseline, first_treated=first_treated, pairs=pairs),
                dropped=dropped_text,
                sentence=f"{group}, {a} vs {b}: {format_p(pair.p_adj)}, {title}.",
                family=family,
                **_effect(hodges_lehmann.paired(complete[a], complete[b])),
            )
        )
    return rows


def rm_anova(frame: pd.DataFrame) -> pd.DataFrame:
    """Repeated-measures ANOVA over time within each group.

    Rows per group: ``rm_anova`` (F, df = df1, df2, p assuming sphericity),
    ``mauchly`` (statistic = W, df, p; chi-squared in the note), ``rm_anova_gg`` and
    ``rm_anova_hf`` (same F, df multiplied by epsilon, corrected p; ``epsilon`` column
    holds the estimate, HF uncapped as R prints it but capped at 1 for the p-value).
    """
    clean = clean_frame(frame)
    design = design_of(clean)
    by_group = dict(list(clean.groupby("group", sort=False)))
    rows = []
    for group in design.groups:
        sub = by_group[group]
        timepoints, gap_note = _usable_timepoints(sub, design)
        complete, dropped = _complete_cases(_wide(sub, timepoints))
        rows.extend(
            _anova_rows(
                complete,
                None,
                dropped,
                gap_note,
                prefix="rm_anova",
                group=group,
                label=group,
            )
        )
    return _frame(rows)


def mixed_anova(frame: pd.DataFrame, *, control_group: str | None = None) -> pd.DataFrame:
    """Two-way mixed ANOVA: group between, time within (``aov(y ~ g*t + Error(id/t))``).

    Rows ``mixed_anova`` with a = "group", "time", "group:time"; ``mauchly`` for the
    pooled within-group covariance; ``mixed_anova_gg`` / ``mixed_anova_hf`` for the
    within terms. Animals missing any timepoint are dropped.
    """
    clean = clean_frame(frame)
    design = design_of(clean, control_group)
    timepoints, gap_note = _usable_timepoints(clean, design)
    wide = _wide(clean, timepoints)
    complete, dropped = _complete_cases(wide)
    group_of = clean.drop_duplicates("animal").set_index("animal")["group"]
    labels = [group_of[a] for a in complete.index]
    return _frame(
        _anova_rows(complete, labels, dropped, gap_note, prefix="mixed_anova", group=None)
    )


def _anova_rows(
    complete: pd.DataFrame,
    labels: Sequence[str] | None,
    dropped: Sequence[str],
    gap_note: str,
    *,
    prefix: str,
    group: str | None,
    label: str = "all groups",
) -> list[dict]:
    n, k = complete.shape
    dropped_text = ", ".join(dropped)
    base_note = _join_notes(gap_note, _dropped_note(dropped))
    name = "repeated-measures ANOVA" if prefix == "rm_anova" else "mixed ANOVA"
    distinct_groups = len(set(labels)) if labels is not None else 1
    if k < 2 or n - distinct_groups < 1:
        why = "fewer than two timepoints" if k < 2 else "too few animals with every timepoint"
        return [
            _row(
                prefix,
                group=group,
                a="time",
                n=n,
                note=_join_notes(why, base_note),
                dropped=dropped_text,
                sentence=f"{label}: {name} not computed ({why}).",
            )
        ]
    result = within_anova(complete.to_numpy(), labels)
    rows = []
    for term, (f, df1, df2, p) in result.terms.items():
        undefined = "" if np.isfinite(f) or result.note else "F undefined: no variation to test"
        note = _join_notes(result.note, undefined, base_note)
        rows.append(
            _row(
                prefix,
                group=group,
                a=term,
                statistic=f,
                df=df1,
                df2=df2,
                p=p,
                p_adj=p,
                n=n,
                note=note,
                dropped=dropped_text,
                sentence=f"{label}, {term}: F({_fmt_df(df1)}, {_fmt_df(df2)}) = {_fmt(f)}, "
                f"{format_p(p)}, {name}.",
            )
        )
    if k == 2:
        sph_note = "two timepoints: sphericity holds by definition"
    elif not np.isfinite(result.mauchly_p):
        sph_note = "Mauchly's test needs more animals than timepoints (and varying values)"
    else:
        sph_note = f"chi2 = {result.mauchly_chi2:.4f}"
    rows.append(
        _row(
            "mauchly",
            group=group,
            a="time",
            statistic=result.mauchly_w,
            df=result.mauchly_df,
            p=result.mauchly_p,
            p_adj=result.mauchly_p,
            n=n,
            note=_join_notes(sph_note, base_note),
            dropped=dropped_text,
            sentence=f"{label}: Mauchly's test of sphericity W = {_fmt(result.mauchly_w)}, "
            f"{format_p(result.mauchly_p)}.",
        )
    )
    for suffix, epsilon, title in (
        ("gg", result.gg_epsilon, "Greenhouse-Geisser"),
        ("hf", result.hf_epsilon, "Huynh-Feldt"),
    ):
        for term in ("time", "group:time"):
            if term not in result.terms:
                continue
            f, df1, df2, p = result.corrected(term, epsilon)
            if not np.isfinite(epsilon):
                cap = f"{title} epsilon undefined (too few complete animals): not computed"
            elif epsilon > 1:
                cap = "epsilon > 1, capped at 1 for the correction"
            else:
                cap = ""
            sentence = (
                f"{label}, {term}: {format_p(p)}, {name} with {title} "
                f"correction (epsilon = {_fmt(epsilon)})."
                if np.isfinite(epsilon)
                else f"{label}, {term}: {title} correction not computed (epsilon undefined)."
            )
            rows.append(
                _row(
                    f"{prefix}_{suffix}",
                    group=group,
                    a=term,
                    statistic=f,
                    df=df1,
                    df2=df2,
                    p=p,
                    p_adj=p,
                    epsilon=epsilon,
                    n=n,
                    note=_join_notes(cap, base_note),
                    dropped=dropped_text,
                    sentence=sentence,
                )
            )
    return rows


def _fmt(x: float | None) -> str:
    if x is None or not np.isfinite(x):
        return "NA"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _fmt_df(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


# ------------------------------------------------------------------ between groups


def between_group_tests(
    frame: pd.DataFrame,
    *,
    control_group: str,
    alpha: float = 0.05,
    posthoc: str = "nemenyi",
    family: str = FAMILY_ALL_PAIRS,
) -> pd.DataFrame:
    """At each timepoint: Kruskal-Wallis then, where it is significant, the comparisons
    of ``family``: Nemenyi (Tukey) or Dunn-Holm for every pair (``all_pairs``), Dunn
    against control with Holm (``vs_control``, PMCMRplus kwManyOneDunnTest), none for the
    within-group families; Mann-Whitney when exactly two groups have data there."""
    _check_posthoc(posthoc)
    _check_family(family)
    clean = clean_frame(frame)
    design = design_of(clean, control_group)
    present = clean.dropna(subset=["value"])
    # One grouping pass; filtering the frame per timepoint and group dominated large studies.
    cells = {
        key: values.to_numpy()
        for key, values in present.groupby(["timepoint", "group"], sort=False)["value"]
    }
    rows = []
    for tp in design.timepoints:
        samples = {g: cells[(tp, g)] for g in design.groups if (tp, g) in cells}
        rows.extend(
            _compare_groups(
                samples,
                prefix="",
                timepoint=tp,
                where=f"at {tp}",
                control_group=control_group,
                alpha=alpha,
                posthoc=posthoc,
                all_groups=design.groups,
                family=family,
            )
        )
    return _frame(rows)


def _check_posthoc(posthoc: str) -> None:
    if posthoc not in POSTHOC_CHOICES:
        raise ValueError(f"posthoc must be one of {POSTHOC_CHOICES}, not {posthoc!r}")


def _compare_groups(
    samples: dict[str, np.ndarray],
    *,
    prefix: str,
    timepoint: str | None,
    where: str,
    control_group: str,
    alpha: float,
    posthoc: str,
    all_groups: Sequence[str],
    extra_note: str = "",
    dropped: str = "",
    family: str = FAMILY_ALL_PAIRS,
) -> list[dict]:
    n = int(sum(len(v) for v in samples.values()))
    absent = [g for g in all_groups if g not in samples]
    absent_note = f"no data for {', '.join(absent)}" if absent else ""
    note_common = _join_notes(absent_note, extra_note)
    label = "AUC " if prefix else ""
    if len(samples) < 2:
        return [
            _row(
                f"{prefix}kruskal",
                timepoint=timepoint,
                n=n,
                note=_join_notes("fewer than two groups with data", note_common),
                dropped=dropped,
                sentence=f"{label}{where}: no between-group test (fewer than two groups "
                "with data).",
            )
        ]
    if len(samples) == 2:
        names = list(samples)
        # "vs control" reads best with the control second.
        if control_group in names:
            names.remove(control_group)
            names.append(control_group)
        a, b = names
        result = mann_whitney(samples[a], samples[b])
        role = ROLE_VS_CONTROL if control_group in (a, b) else ""
        in_family = family == FAMILY_ALL_PAIRS or (family == FAMILY_VS_CONTROL and role)
        return [
            _row(
                f"{prefix}mann_whitney",
                timepoint=timepoint,
                a=a,
                b=b,
                statistic=result.statistic,
                p=result.p,
                p_adj=result.p,
                n=n,
                note=_join_notes(result.note, note_common),
                role=role,
                dropped=dropped,
                sentence=f"{label}{a} vs {b} {where}: {format_p(result.p)}, Mann-Whitney.",
                family=family if in_family else "",
                **_effect(hodges_lehmann.two_sample(samples[a], samples[b])),
            )
        ]
    omnibus = kruskal_wallis(list(samples.values()))
    significant = np.isfinite(omnibus.p) and omnibus.p < alpha
    post_name = "Nemenyi" if posthoc == "nemenyi" else "Dunn (Holm)"
    if family == FAMILY_VS_CONTROL:
        post_name = "Dunn (Holm) vs control"
    gate = "" if significant or not np.isfinite(omnibus.p) else f"{post_name} not run (p >= alpha)"
    if family in (FAMILY_VS_BASELINE, FAMILY_PAIRS):
        gate = f"no between-group comparisons in the '{family.replace('_', ' ')}' family"
    elif family == FAMILY_VS_CONTROL and control_group not in samples:
        gate = "no comparisons vs control: the control group has no values here"
    rows = [
        _row(
            f"{prefix}kruskal",
            timepoint=timepoint,
            statistic=omnibus.statistic,
            df=len(samples) - 1,
            p=omnibus.p,
            p_adj=omnibus.p,
            n=n,
            note=_join_notes(omnibus.note, gate, note_common),
            dropped=dropped,
            sentence=f"{label}groups {where}: {format_p(omnibus.p)}, Kruskal-Wallis.",
        )
    ]
    if not significant or family in (FAMILY_VS_BASELINE, FAMILY_PAIRS):
        return rows
    if family == FAMILY_VS_CONTROL:
        if control_group not in samples:
            return rows
        pairs, ties_note = dunn_many_one(samples, control=control_group), ""
        test, title = f"{prefix}dunn_vs_control", "Dunn (Holm) vs control after Kruskal-Wallis"
    elif posthoc == "nemenyi":
        pairs, ties_note = nemenyi_kruskal_pairs(samples)
        test, title = f"{prefix}nemenyi_kruskal", "Nemenyi after Kruskal-Wallis"
    else:
        pairs, ties_note = dunn_pairs(samples, p_adjust="holm"), ""
        test, title = f"{prefix}dunn_kruskal", "Dunn (Holm) after Kruskal-Wallis"
    order = list(samples)
    for pair in pairs:
        a, b = pair.a, pair.b
        statistic = pair.statistic
        if b != control_group and (a == control_group or order.index(a) < order.index(b)):
            a, b = b, a
            if family == FAMILY_VS_CONTROL:
                statistic = -statistic
        rows.append(
            _row(
                test,
                timepoint=timepoint,
                a=a,
                b=b,
                statistic=statistic,
                p=pair.p,
                p_adj=pair.p_adj,
                n=int(len(samples[a]) + len(samples[b])),
                note=_join_notes(ties_note, note_common),
                role=ROLE_VS_CONTROL if b == control_group else "",
                dropped=dropped,
                sentence=f"{label}{a} vs {b} {where}: {format_p(pair.p_adj)}, {title}.",
                family=family,
                **_effect(hodges_lehmann.two_sample(samples[a], samples[b])),
            )
        )
    return rows


# ---------------------------------------------------------------------------- AUC


def auc_per_animal(frame: pd.DataFrame) -> pd.DataFrame:
    """Area under each animal's time course, trapezoid rule over study days (value x day).

    Only animals with a value at every timepoint that has data in the study get an AUC:
    a shorter span would not be comparable. Columns: animal, group, auc, complete.
    """
    clean = clean_frame(frame)
    design = design_of(clean)
    timepoints, _ = _usable_timepoints(clean, design)
    wide = _wide(clean, timepoints)
    days = np.array([design.days[tp] for tp in timepoints])
    group_of = clean.drop_duplicates("animal").set_index("animal")["group"]
    y = wide.to_numpy(dtype=float)
    complete = np.isfinite(y).all(axis=1) & (y.shape[1] >= 2)
    auc = np.full(len(wide), math.nan)
    if complete.any():  # all animals at once: a loop over 1,000 rows took most of the time
        auc[complete] = np.trapezoid(y[complete], days, axis=1)
    return pd.DataFrame(
        {
            "animal": wide.index.tolist(),
            "group": group_of.reindex(wide.index).tolist(),
            "auc": auc,
            "complete": complete,
        },
        columns=["animal", "group", "auc", "complete"],
    )


def auc_tests(
    frame: pd.DataFrame,
    *,
    control_group: str,
    alpha: float = 0.05,
    posthoc: str = "nemenyi",
    family: str = FAMILY_ALL_PAIRS,
) -> pd.DataFrame:
    """AUCs compared between groups: ``auc_kruskal`` + the post-hoc of ``family`` (as
    :func:`between_group_tests`), or ``auc_mann_whitney``."""
    _check_posthoc(posthoc)
    _check_family(family)
    clean = clean_frame(frame)
    design = design_of(clean, control_group)
    aucs = auc_per_animal(clean)
    dropped = aucs.loc[~aucs["complete"], "animal"].astype(str).tolist()
    usable = aucs[aucs["complete"]]
    samples = {
        g: usable.loc[usable["group"] == g, "auc"].to_numpy()
        for g in design.groups
        if (usable["group"] == g).any()
    }
    return _frame(
        _compare_groups(
            samples,
            prefix="auc_",
            timepoint=None,
            where="over the whole time course",
            control_group=control_group,
            alpha=alpha,
            posthoc=posthoc,
            all_groups=design.groups,
            extra_note=_dropped_note(dropped),
            dropped=", ".join(dropped),
            family=family,
        )
    )


# -------------------------------------------------------------------- mixed models

MIXED_METHOD = "linear mixed model (REML, random intercept per animal; Satterthwaite df)"


def _fit_note(fit: lmm.LmmFit, labels: dict[str, str]) -> str:
    notes = []
    if fit.singular:
        notes.append(SINGULAR_FIT)
    if fit.dropped:
        readable = [_column_label(name, labels) for name in fit.dropped]
        notes.append(f"no data for {', '.join(readable)}: that term was dropped (as lme4 does)")
    notes.append(fit.hessian_note)
    return _join_notes(*notes)


def _column_label(name: str, labels: dict[str, str]) -> str:
    """'group<g>:timepoint<t>' -> 'K5 at T3' in the people's labels."""
    parts = []
    for part in name.split(":"):
        code = part.removeprefix("group").removeprefix("timepoint")
        parts.append(labels.get(code, code))
    return " at ".join(parts)


def _df_text(df: float) -> str:
    return "z" if not np.isfinite(df) else f"t({df:.1f})"


def mixed_model(
    frame: pd.DataFrame,
    *,
    baseline: str,
    control_group: str | None = None,
) -> pd.DataFrame:
    """Linear mixed models that keep animals with missing timepoints, fitted as
    ``lme4::lmer`` (REML) and tested as lmerTest (Satterthwaite df): see analysis.lmm.

    Per group: ``value ~ timepoint + (1 | animal)`` (treatment contrasts against
    ``baseline``); rows ``mixed_model`` with group set: a = "time" (F test of all
    timepoint terms: statistic = F, df = numerator df, df2 = Satterthwaite denominator
    df) and one row per timepoint vs baseline (statistic = t, df = Satterthwaite df, note =
    estimate and SE).

    Across groups (when ``control_group`` is given and there are two or more groups):
    ``value ~ group * timepoint + (1 | animal)``; rows with group empty: a = "group:time"
    (F test of the interaction terms) and, per timepoint, each group vs control (t test of
    the difference at that timepoint). A group x timepoint cell without data is dropped
    from the model as lme4 does, and comparisons that need it are not reported.

    Where Satterthwaite's df cannot be computed the row says "Wald z" in its note and its
    df is empty.
    """
    clean = clean_frame(frame).dropna(subset=["value"])
    design = design_of(clean, control_group)
    rows = []
    for group in design.groups:
        sub = clean[clean["group"] == group]
        rows.extend(_mixed_within(sub, group=group, design=design, baseline=baseline))
    if control_group is not None and len(design.groups) > 1:
        rows.extend(_mixed_between(clean, design=design, baseline=baseline, control=control_group))
    return _frame(rows)


def _not_fitted(group: str | None, a: str, n: int, why: str, what: str) -> dict:
    return _row(
        "mixed_model",
        group=group,
        a=a,
        n=n,
        note=why,
        sentence=f"{what}: mixed model not fitted ({why}).",
    )


def _mixed_within(sub: pd.DataFrame, *, group: str, design: Design, baseline: str) -> list[dict]:
    timepoints = [tp for tp in design.timepoints if (sub["timepoint"] == tp).any()]
    n = sub["animal"].nunique()
    if baseline not in timepoints or len(timepoints) < 2 or n < 2:
        why = "needs the baseline, another timepoint and two animals"
        return [_not_fitted(group, "time", n, why, group)]
    if sub["value"].nunique() == 1:
        return [_not_fitted(group, "time", n, ALL_EQUAL, group)]
    try:
        fit, _, tp_code = fit_cells(sub, timepoints=timepoints, baseline=baseline)
    except (ValueError, np.linalg.LinAlgError) as error:
        return [
            _row(
                "mixed_model",
                group=group,
                a="time",
                n=n,
                note=str(error),
                sentence=f"{group}: mixed model could not be fitted.",
            )
        ]
    kept = sub.groupby("animal")["timepoint"].nunique()
    incomplete = kept[kept < len(timepoints)].index.astype(str).tolist()
    keep_note = (
        f"kept animals with missing timepoints: {', '.join(incomplete)}" if incomplete else ""
    )
    labels = {code: label for label, code in tp_code.items()}
    note = _join_notes(_fit_note(fit, labels), keep_note)
    terms = {tp: f"timepoint{tp_code[tp]}" for tp in timepoints if tp != baseline}
    terms = {tp: t for tp, t in terms.items() if t in fit.names}
    omnibus = fit.ftest(np.array([fit.vector({t: 1.0}) for t in terms.values()]))
    rows = [
        _row(
            "mixed_model",
            group=group,
            a="time",
            statistic=omnibus.f,
            df=omnibus.ndf,
            df2=omnibus.ddf,
            p=omnibus.p,
            p_adj=omnibus.p,
            n=n,
            note=_join_notes(f"F test, {omnibus.method} df", note),
            sentence=f"{group} across timepoints: F({_fmt_df(omnibus.ndf)}, "
            f"{_fmt_df(round(omnibus.ddf, 2))}) = {_fmt(omnibus.f)}, {format_p(omnibus.p)}, "
            f"{MIXED_METHOD}.",
        )
    ]
    for tp, term in terms.items():
        c = fit.contrast(fit.vector({term: 1.0}))
        rows.append(
            _row(
                "mixed_model",
                group=group,
                a=tp,
                b=baseline,
                statistic=c.t,
                df=c.df if np.isfinite(c.df) else None,
                p=c.p,
                p_adj=c.p,
                n=n,
                note=_join_notes(f"estimate = {c.estimate:.4g} (SE {c.se:.4g}), {c.method}", note),
                role=ROLE_VS_BASELINE,
                sentence=f"{group}, {tp} vs {baseline}: {_df_text(c.df)} = {_fmt(c.t)}, "
                f"{format_p(c.p)}, linear mixed model.",
            )
        )
    return rows


def _mixed_between(
    clean: pd.DataFrame, *, design: Design, baseline: str, control: str
) -> list[dict]:
    n = clean["animal"].nunique()
    if clean["value"].nunique() == 1 or control not in design.groups:
        why = ALL_EQUAL if clean["value"].nunique() == 1 else "no control group data"
        return [_not_fitted(None, "group:time", n, why, "group x time")]
    if baseline not in design.timepoints:
        return [_not_fitted(None, "group:time", n, "no baseline data", "group x time")]
    try:
        fit, group_code, tp_code = fit_cells(
            clean,
            timepoints=design.timepoints,
            baseline=baseline,
            groups=design.groups,
            control=control,
        )
    except (ValueError, np.linalg.LinAlgError) as error:
        return [
            _row(
                "mixed_model",
                a="group:time",
                n=n,
                note=str(error),
                sentence="group x time mixed model could not be fitted.",
            )
        ]
    labels = {code: label for label, code in {**group_code, **tp_code}.items()}
    note = _fit_note(fit, labels)
    interaction = [name for name in fit.names if ":" in name]
    rows = []
    if interaction:
        omnibus = fit.ftest(np.array([fit.vector({t: 1.0}) for t in interaction]))
        rows.append(
            _row(
                "mixed_model",
                a="group:time",
                statistic=omnibus.f,
                df=omnibus.ndf,
                df2=omnibus.ddf,
                p=omnibus.p,
                p_adj=omnibus.p,
                n=n,
                note=_join_notes(f"F test, {omnibus.method} df", note),
                sentence=f"group x time interaction: F({_fmt_df(omnibus.ndf)}, "
                f"{_fmt_df(round(omnibus.ddf, 2))}) = {_fmt(omnibus.f)}, "
                f"{format_p(omnibus.p)}, {MIXED_METHOD}.",
            )
        )
    for tp in design.timepoints:
        for group in design.groups:
            if group == control:
                continue
            weights = {f"group{group_code[group]}": 1.0}
            if tp != baseline:
                weights[f"group{group_code[group]}:timepoint{tp_code[tp]}"] = 1.0
            if not fit.estimable(weights):
                continue  # a cell without data: nothing to compare
            c = fit.contrast(fit.vector(weights))
            rows.append(
                _row(
                    "mixed_model",
                    timepoint=tp,
                    a=group,
                    b=control,
                    statistic=c.t,
                    df=c.df if np.isfinite(c.df) else None,
                    p=c.p,
                    p_adj=c.p,
                    n=n,
                    note=_join_notes(
                        f"difference = {c.estimate:.4g} (SE {c.se:.4g}), {c.method}", note
                    ),
                    role=ROLE_VS_CONTROL,
                    sentence=f"{group} vs {control} at {tp}: {_df_text(c.df)} = {_fmt(c.t)}, "
                    f"{format_p(c.p)}, linear mixed model.",
                )
            )
    return rows


# ----------------------------------------------------------------------- summaries


def group_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per group and timepoint: n, mean, SD (n - 1), SEM, median and quartiles.

    Quartiles use pandas' default linear interpolation, which is R's ``quantile`` type 7.
    A timepoint without data in a group gives n = 0 and NaN statistics.
    """
    clean = clean_frame(frame)
    design = design_of(clean)
    present = clean[clean["value"].notna()]
    # One pass over the frame, then numpy per cell (same formulas as pandas' mean, std,
    # median and linear quantile): filtering the frame per cell dominated large studies.
    cells = {
        key: values.to_numpy(dtype=float)
        for key, values in present.groupby(["group", "timepoint"], sort=False)["value"]
    }
    empty = np.array([], dtype=float)
    rows = []
    for group in design.groups:
        for tp in design.timepoints:
            v = cells.get((group, tp), empty)
            n = int(v.size)
            sd = float(np.std(v, ddof=1)) if n > 1 else math.nan
            rows.append(
                {
                    "group": group,
                    "timepoint": tp,
                    "day": design.days[tp],
                    "n": n,
                    "mean": float(v.mean()) if n else math.nan,
                    "sd": sd,
                    "sem": sd / math.sqrt(n) if n > 1 else math.nan,
                    "median": float(np.median(v)) if n else math.nan,
                    "q1": float(np.quantile(v, 0.25)) if n else math.nan,
                    "q3": float(np.quantile(v, 0.75)) if n else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


# `study_statistics` has a `mixed_model` switch, which hides the function inside it.
_mixed_model = mixed_model


def study_statistics(
    frame: pd.DataFrame,
    *,
    baseline: str,
    control_group: str,
    alpha: float = 0.05,
    posthoc: str = "nemenyi",
    pairs: Sequence[tuple[str, str]] = (),
    first_treated: str | None = None,
    mixed_model: bool = True,
    family: str = FAMILY_ALL_PAIRS,
    basis: str = BASIS_RANK,
) -> pd.DataFrame:
    """Everything above in one frame in the stats CSV shape (:data:`COLUMNS`).

    ``baseline`` is the reference timepoint (T0), ``first_treated`` defaults to the
    timepoint after it, ``pairs`` are extra within-group comparisons such as
    ``[("T7", "T4")]``; ``posthoc`` is "nemenyi" or "dunn_holm" for between-group
    comparisons; ``alpha`` gates every post-hoc. ``family`` (:data:`FAMILY_CHOICES`) is
    the comparison family the post-hocs test, the marks and the sentences read: every
    pair (the default), each group vs control, each timepoint vs baseline, or the chosen
    pairs only. With ``basis="model"`` the family's comparisons are also tested as
    differences of the mixed model's estimated marginal means (``emm`` rows, from
    analysis.emm), and only those carry the family (so only they make marks); the rank
    post-hocs stay in the table for reference. ``mixed_model=False`` leaves out the
    linear mixed model (:func:`mixed_model`), the one slow fit, for a page that offers it
    on request.
    """
    _check_posthoc(posthoc)
    _check_family(family)
    if basis not in BASIS_CHOICES:
        raise ValueError(f"basis must be one of {BASIS_CHOICES}, not {basis!r}")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    clean = clean_frame(frame)
    design = design_of(clean, control_group)
    if baseline not in design.timepoints:
        raise ValueError(f"baseline {baseline!r} is not a timepoint of this frame")
    if control_group not in design.groups:
        raise ValueError(f"control group {control_group!r} is not a group of this frame")
    for a, b in pairs:
        for tp in (a, b):
            if str(tp) not in design.timepoints:
                raise ValueError(f"pair timepoint {tp!r} is not a timepoint of this frame")
    if first_treated is None:
        later = design.timepoints[design.timepoints.index(baseline) + 1 :]
        first_treated = later[0] if later else None
    parts = [
        within_group_tests(
            clean,
            baseline=baseline,
            first_treated=first_treated,
            pairs=pairs,
            alpha=alpha,
            family=family,
        ),
        rm_anova(clean),
        mixed_anova(clean, control_group=control_group),
        between_group_tests(
            clean, control_group=control_group, alpha=alpha, posthoc=posthoc, family=family
        ),
        auc_tests(clean, control_group=control_group, alpha=alpha, posthoc=posthoc, family=family),
    ]
    if mixed_model:
        parts.append(_mixed_model(clean, baseline=baseline, control_group=control_group))
    if basis == BASIS_MODEL:
        for part in parts:
            part["family"] = ""  # the model's comparisons make the marks, not the ranks'
        parts.append(
            _model_comparisons(
                clean,
                family=family,
                baseline=baseline,
                control_group=control_group,
                first_treated=first_treated,
                pairs=pairs,
            )
        )
    parts = [part for part in parts if not part.empty]
    return _frame(pd.concat(parts, ignore_index=True).to_dict("records"))


def _model_comparisons(
    clean: pd.DataFrame,
    *,
    family: str,
    baseline: str,
    control_group: str,
    first_treated: str | None,
    pairs: Sequence[tuple[str, str]],
) -> pd.DataFrame:
    """The family's comparisons from analysis.emm, as ``emm`` rows; one row with the
    reason where the model cannot give them."""
    try:
        contrasts = emm.emm_comparisons(
            clean,
            family=EMM_FAMILY[family],
            control_group=control_group,
            baseline=baseline,
            pairs=[(str(a), str(b)) for a, b in pairs],
        )
    except ValueError as error:
        return _frame(
            [
                _row(
                    "emm",
                    note=str(error),
                    sentence=f"Estimated marginal means not computed ({error}).",
                )
            ]
        )
    return model_contrast_rows(
        contrasts,
        family=family,
        baseline=baseline,
        control_group=control_group,
        first_treated=first_treated,
        pairs=pairs,
        timepoints=design_of(clean).timepoints,
    )


# h3's analysis.emm names the all-pairs family "all".
EMM_FAMILY = {
    FAMILY_ALL_PAIRS: "all",
    FAMILY_VS_CONTROL: "vs_control",
    FAMILY_VS_BASELINE: "vs_baseline",
    FAMILY_PAIRS: "pairs",
}
EMM_ESTIMATE_NAME = "difference of estimated marginal means"


def model_contrast_rows(
    contrasts: Iterable,
    *,
    family: str,
    baseline: str,
    control_group: str,
    first_treated: str | None = None,
    pairs: Sequence[tuple[str, str]] = (),
    timepoints: Sequence[str] = (),
) -> pd.DataFrame:
    """Model-based comparisons (``analysis.emm.emm_comparisons`` after the mixed model:
    objects with group, timepoint, a, b, estimate, se, df, statistic, p, p_adj, ci_low,
    ci_high, adjust) as stats rows (test ``emm``) of ``family``, with the roles the
    chart marks read, so :func:`significance_marks` draws them like the rank tests.

    A contrast with a timepoint compares groups there (a vs b, b the control for
    ``vs_control``); one with a group compares timepoints within it. As in the rank
    rows, the control is always b and the later of two ``timepoints`` always a (emmeans
    writes every-pair contrasts the other way round): such a contrast is turned round,
    its estimate, t and interval negated.
    """
    _check_family(family)
    order = {str(tp): i for i, tp in enumerate(timepoints)}
    rows = []
    for c in contrasts:
        a, b = str(c.a), str(c.b)
        between = c.timepoint is not None and str(c.timepoint) != ""
        flip = (between and a == control_group) or (
            not between and order.get(a, 0) < order.get(b, 0)
        )
        sign = -1.0 if flip else 1.0
        if flip:
            a, b = b, a
        low, high = sorted((sign * c.ci_low, sign * c.ci_high))
        if between:
            role = ROLE_VS_CONTROL if b == control_group else ""
            where = f"{a} vs {b} at {c.timepoint}"
        else:
            role = FAMILY_ROLE.get(family) or _roles_within(
                a, b, baseline=baseline, first_treated=first_treated, pairs=pairs
            )
            where = f"{c.group}, {a} vs {b}"
        adjust = {
            "dunnett": "Dunnett",
            "dunnettx": "Dunnett (emmeans' dunnettx)",
            "sidak": "Šidák",
            "tukey": "Tukey",
            "none": "no",
        }.get(str(c.adjust), str(c.adjust))
        rows.append(
            _row(
                "emm",
                group=None if between else str(c.group),
                timepoint=str(c.timepoint) if between else None,
                a=a,
                b=b,
                statistic=sign * c.statistic,
                df=c.df,
                p=c.p,
                p_adj=c.p_adj,
                note=f"t with Satterthwaite df; {adjust} adjustment; SE {c.se:.4g}",
                role=role,
                sentence=f"{where}: {format_p(c.p_adj)}, estimated marginal means "
                f"after the mixed model ({adjust}).",
                family=family,
                estimate=sign * c.estimate,
                ci_low=low,
                ci_high=high,
                estimate_name=EMM_ESTIMATE_NAME,
            )
        )
    return _frame(rows)


MARK_COLUMNS = [
    "group",
    "timepoint",
    "vs_baseline_p",
    "vs_baseline",
    "vs_first_treated_p",
    "vs_first_treated",
    "vs_control_p",
    "vs_control",
    "vs_pair_p",
    "vs_pair",
    "pair",
]


def significance_marks(
    results: pd.DataFrame,
    *,
    alpha: float = 0.05,
    within_tests: Sequence[str] = (
        "nemenyi_friedman",
        "wilcoxon",
        "demsar_friedman",
        "siegel_friedman",
        "emm",
    ),
    between_tests: Sequence[str] = (
        "nemenyi_kruskal",
        "dunn_kruskal",
        "mann_whitney",
        "dunn_vs_control",
        "emm",
    ),
) -> pd.DataFrame:
    """Per group and timepoint, the p-values that chart annotations need.

    Reads the ``role`` rows of :func:`study_statistics` output. Columns
    (:data:`MARK_COLUMNS`): ``vs_baseline_p`` / ``vs_first_treated_p`` from the
    within-group post-hoc of that group (timepoint = the later one), ``vs_pair_p`` and
    ``pair`` ("T7 vs T4") likewise for the study's chosen pairs, ``vs_control_p``
    from the between-group post-hoc at that timepoint (NaN for the control itself and
    wherever the omnibus test was not significant, so no post-hoc ran), and a boolean
    next to each: p_adj < ``alpha``. The mixed model rows are not used, so the marks
    follow the paper's nonparametric analysis. Only rows of the study's comparison
    family (a non-empty ``family``) make marks, so a Wilcoxon row between two timepoints
    marks nothing when the family is "each group vs control".
    """
    if "family" in results.columns:
        results = results[results["family"].fillna("").astype(str) != ""]
    rows: dict[tuple[str, str], dict] = {}

    def slot(group: str, tp: str) -> dict:
        return rows.setdefault(
            (group, tp),
            {
                "group": group,
                "timepoint": tp,
                "vs_baseline_p": math.nan,
                "vs_first_treated_p": math.nan,
                "vs_control_p": math.nan,
                "vs_pair_p": math.nan,
                "pair": "",
            },
        )

    within = results[results["test"].isin(within_tests) & results["group"].notna()]
    for r in within.itertuples():
        roles = str(r.role or "")
        if ROLE_VS_BASELINE in roles:
            slot(r.group, r.a)["vs_baseline_p"] = r.p_adj
        if ROLE_VS_FIRST_TREATED in roles:
            slot(r.group, r.a)["vs_first_treated_p"] = r.p_adj
        if ROLE_CHOSEN_PAIR in roles:
            cell = slot(r.group, r.a)
            # Two chosen pairs ending at the same timepoint: the mark shows the smaller p.
            if not cell["vs_pair_p"] <= r.p_adj:
                cell["vs_pair_p"], cell["pair"] = r.p_adj, f"{r.a} vs {r.b}"
    between = results[results["test"].isin(between_tests) & results["timepoint"].notna()]
    for r in between.itertuples():
        if ROLE_VS_CONTROL in str(r.role or ""):
            slot(r.a, r.timepoint)["vs_control_p"] = r.p_adj
    marks = pd.DataFrame(list(rows.values()))
    if marks.empty:
        return pd.DataFrame(columns=MARK_COLUMNS)
    for name in ("vs_baseline", "vs_first_treated", "vs_control", "vs_pair"):
        marks[name] = marks[f"{name}_p"].lt(alpha)
    return marks[MARK_COLUMNS]
