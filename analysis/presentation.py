"""How results are printed for people: p-values, the statistic each test reports, the
adjustment of a family of comparisons, estimates with their unit, and the values held at
the cut-off (censoring).

Pure: numbers and stats rows in, text out; no Django, no ORM. The pages (dashboard,
figure, mixed model, ARRIVE) print through here; the CSV files keep the raw numbers and
must not use these texts in place of a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

DASH = "–"
# Below this a p-value prints as "< 0.0001" (GraphPad Prism's and most journals' floor):
# the digits beyond it say nothing a reader can use.
P_FLOOR = 1e-4

# The statistic each test's row carries, as R prints it (`friedman.test`: Friedman
# chi-squared; `kruskal.test`: Kruskal-Wallis chi-squared, written H; PMCMRplus Nemenyi
# tests: q; Dunn: z; `wilcox.test`: V paired, W unpaired; ANOVA tables: F; Mauchly: W).
STATISTIC_SYMBOLS = {
    "friedman": "χ²",
    "wilcoxon": "V",
    "mann_whitney": "W",
    "auc_mann_whitney": "W",
    "kruskal": "H",
    "auc_kruskal": "H",
    "nemenyi_friedman": "q",
    "nemenyi_kruskal": "q",
    "auc_nemenyi_kruskal": "q",
    "dunn_kruskal": "z",
    "auc_dunn_kruskal": "z",
    "rm_anova": "F",
    "rm_anova_gg": "F",
    "rm_anova_hf": "F",
    "mixed_anova": "F",
    "mixed_anova_gg": "F",
    "mixed_anova_hf": "F",
    "mauchly": "W",
    "siegel_friedman": "z",  # not the Friedman chi-squared its name contains
}
# Tests whose rows are families of comparisons, and how their p is adjusted (PMCMRplus
# prints "P value adjustment method: single-step" for the Nemenyi tests, "holm" for Dunn).
ADJUSTMENTS = {
    "nemenyi_friedman": "single-step",
    "nemenyi_kruskal": "single-step",
    "auc_nemenyi_kruskal": "single-step",
    "dunn_kruskal": "Holm",
    "auc_dunn_kruskal": "Holm",
    "dunn_vs_control": "Holm",
    "auc_dunn_vs_control": "Holm",
    "demsar_friedman": "Holm",
    "siegel_friedman": "Holm",
}


def _number(value) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def p_text(value) -> str:
    """A p-value for a table cell: three significant digits, "< 0.0001" below 0.0001,
    "–" when there is none."""
    p = _number(value)
    if p is None:
        return DASH
    if p < P_FLOOR:
        return "< 0.0001"
    return f"{p:.3g}"


def statistic_symbol(row: Mapping) -> str:
    """The statistic a stats row reports (χ², H, q, z, t, F, V, W), read from its test
    and, for a model's rows, from the degrees of freedom it gives: a comparison with df is
    a t test, one without a Wald z; an omnibus term with two df an F, with one a Wald χ²."""
    test = str(row.get("test") or "")
    if test in STATISTIC_SYMBOLS:
        return STATISTIC_SYMBOLS[test]
    pairwise = bool(row.get("b"))
    has_df, has_df2 = _number(row.get("df")) is not None, _number(row.get("df2")) is not None
    if test.startswith("mixed_model"):
        if pairwise:
            return "t" if has_df else "z"
        return "F" if has_df2 else "χ²"
    for part, symbol in (
        ("emm", "t"),  # emmeans contrasts: t.ratio with the model's df
        ("dunnett", "t"),
        ("sidak", "t"),
        ("dunn", "z"),
        ("demsar", "z"),
        ("nemenyi", "q"),
        ("kruskal", "H"),
        ("friedman", "χ²"),
        ("anova", "F"),
        ("mann_whitney", "W"),
        ("wilcoxon", "V"),
    ):
        if part in test:
            return symbol
    return ""


def adjustment(row: Mapping) -> str:
    """How the row's adjusted p was adjusted ("Holm", "single-step"), "adjusted" for a
    family this module does not know by name, or "" when the p is not adjusted."""
    test = str(row.get("test") or "")
    if test in ADJUSTMENTS:
        return ADJUSTMENTS[test]
    p, p_adj = _number(row.get("p")), _number(row.get("p_adj"))
    if p is not None and p_adj is not None and not math.isclose(p, p_adj, rel_tol=1e-12):
        return "adjusted"
    return ""


def estimate_text(row: Mapping, unit: str) -> str:
    """A row's estimate with its unit and 95 % CI ("12.3 g (95% CI 4.1 to 20.5)"), when
    the row has one (`estimate`, `ci_low`, `ci_high`, named by `estimate_name`)."""
    estimate = _number(row.get("estimate"))
    if estimate is None:
        return ""
    name = str(row.get("estimate_name") or "")
    # A rank effect size (Cliff's delta) has no unit; a difference of means or medians does.
    unitless = "delta" in name.lower() or "cliff" in name.lower()
    suffix = "" if unitless or not unit else (f" {unit}" if unit != "%" else " %MPE")
    text = f"{estimate:.3g}{suffix}"
    low, high = _number(row.get("ci_low")), _number(row.get("ci_high"))
    if low is not None and high is not None:
        text += f" (95% CI {low:.3g} to {high:.3g})"
    return f"{name}: {text}" if name else text


def censored_sentence(
    *,
    group: str,
    timepoint: str,
    n: int,
    n_at_cutoff: int,
    cutoff_g: float,
    n_at_lowest: int = 0,
    lowest_g: float | None = None,
) -> str:
    """In words: how many animals of a group sat at the cut-off (or withdrew at the lowest
    filament) at a timepoint, and that the group's mean and CI are bounded by it. Empty
    when none did."""
    parts = []
    if n_at_cutoff:
        whole = " (all of them: the mean is the cut-off itself and the CI has no width)"
        parts.append(
            f"{n_at_cutoff} of {n} {group} animals at {timepoint} reached the "
            f"{cutoff_g:g} g cut-off; their mean and CI are bounded by it"
            + (whole if n_at_cutoff == n else "")
        )
    if n_at_lowest:
        force = f" ({lowest_g:g} g)" if lowest_g is not None else ""
        parts.append(
            f"{n_at_lowest} of {n} {group} animals at {timepoint} withdrew at the lowest "
            f"filament{force}; their mean and CI are bounded below by it"
        )
    return "; ".join(parts) + "." if parts else ""
