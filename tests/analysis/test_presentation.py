"""analysis.presentation and the results pages' filters: how p-values, statistics,
adjustments, estimates and values at the cut-off are printed for people (issue 13).
Pure: no database."""

import math

import pandas as pd
import pytest
from django.template import Context, Template

from analysis import charts, presentation, stats

# ----------------------------------------------------------------------------- p-values


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (3.3e-39, "< 0.0001"),  # the demo's K10 T3 vs T0 mixed-model p
        (0.0000999, "< 0.0001"),
        (0.0001, "0.0001"),
        (0.00041, "0.00041"),
        (0.0273, "0.0273"),  # Kruskal-Wallis H = 7.2, df 2: exp(-3.6)
        (0.05, "0.05"),
        (1.0, "1"),
        (None, "–"),
        (float("nan"), "–"),
        (float("inf"), "–"),
        ("", "–"),
        ("not a number", "–"),
    ],
)
def test_p_text(p, text):
    assert presentation.p_text(p) == text


def test_the_pval_filter_prints_the_floor_and_escapes_nothing_into_markup():
    rendered = Template("{% load results %}{{ a|pval }} | {{ b|pval }} | {{ c|pval }}").render(
        Context({"a": 2.5e-9, "b": 0.00043, "c": None})
    )
    # autoescaped "<" in the page source, one "< 0.0001" on screen
    assert rendered == "&lt; 0.0001 | 0.00043 | –"


def test_sentences_use_the_same_floor():
    assert stats.format_p(2.5e-9) == "p < 0.0001"
    assert stats.format_p(0.00043) == "p = 0.00043"
    assert stats.format_p(0.0044) == "p = 0.004"


# ----------------------------------------------------------------------------- statistic


@pytest.mark.parametrize(
    ("test", "symbol"),
    [
        ("friedman", "χ²"),  # R: "Friedman chi-squared"
        ("kruskal", "H"),  # R: "Kruskal-Wallis chi-squared", H in most papers
        ("auc_kruskal", "H"),
        ("nemenyi_friedman", "q"),  # PMCMRplus prints q
        ("nemenyi_kruskal", "q"),
        ("dunn_kruskal", "z"),
        ("wilcoxon", "V"),  # R's wilcox.test(paired = TRUE)
        ("mann_whitney", "W"),
        ("rm_anova_gg", "F"),
        ("mixed_anova", "F"),
        ("mauchly", "W"),
    ],
)
def test_each_test_names_its_statistic(test, symbol):
    assert presentation.statistic_symbol({"test": test}) == symbol


def test_a_models_rows_name_their_statistic_from_their_degrees_of_freedom():
    # lmerTest: t with Satterthwaite df for a contrast, F with two df for a term; without
    # df the row is an asymptotic Wald test (z, or chi-squared for a term).
    contrast = {"test": "mixed_model", "a": "T1", "b": "T0"}
    assert presentation.statistic_symbol({**contrast, "df": 12.4}) == "t"
    assert presentation.statistic_symbol({**contrast, "df": None}) == "z"
    assert presentation.statistic_symbol({**contrast, "df": float("nan")}) == "z"
    term = {"test": "mixed_model", "a": "time", "b": None}
    assert presentation.statistic_symbol({**term, "df": 7, "df2": 28.0}) == "F"
    assert presentation.statistic_symbol({**term, "df": 7, "df2": None}) == "χ²"


@pytest.mark.parametrize(
    ("test", "symbol"),
    [
        ("dunn_many_one_kruskal", "z"),  # PMCMRplus kwManyOneDunnTest prints z
        ("demsar_friedman", "z"),  # frdManyOneDemsarTest: z
        ("nemenyi_many_one_friedman", "q"),
        ("emm_dunnett", "t"),  # emmeans contrasts print t.ratio
        ("emm_sidak", "t"),
        ("something_new", ""),
    ],
)
def test_tests_added_later_are_named_by_their_family(test, symbol):
    assert presentation.statistic_symbol({"test": test}) == symbol


# ----------------------------------------------------------------------------- adjustment


def test_adjustment_is_named_only_where_a_family_is_adjusted():
    assert presentation.adjustment({"test": "dunn_kruskal", "p": 0.01, "p_adj": 0.03}) == "Holm"
    assert presentation.adjustment({"test": "nemenyi_kruskal", "p": 0.2, "p_adj": 0.2}) == (
        "single-step"
    )
    # one test: p_adj is p, nothing adjusted
    assert presentation.adjustment({"test": "kruskal", "p": 0.02, "p_adj": 0.02}) == ""
    assert presentation.adjustment({"test": "mixed_model", "p": 0.3, "p_adj": 0.3}) == ""
    # a family this module does not know by name still says it was adjusted
    assert presentation.adjustment({"test": "new_many_one", "p": 0.01, "p_adj": 0.04}) == (
        "adjusted"
    )
    assert presentation.adjustment({"test": "new_many_one", "p": None, "p_adj": 0.04}) == ""


# ----------------------------------------------------------------------------- estimates


def test_estimates_carry_their_unit_and_interval():
    row = {"estimate": 12.345, "ci_low": 4.1, "ci_high": 20.55, "estimate_name": "difference"}
    assert presentation.estimate_text(row, "g") == "difference: 12.3 g (95% CI 4.1 to 20.6)"
    assert presentation.estimate_text(row, "%") == "difference: 12.3 %MPE (95% CI 4.1 to 20.6)"
    cliff = {"estimate": 0.64, "ci_low": None, "ci_high": None, "estimate_name": "Cliff's delta"}
    assert presentation.estimate_text(cliff, "g") == "Cliff's delta: 0.64"
    assert presentation.estimate_text({"estimate": None}, "g") == ""
    assert presentation.estimate_text({}, "g") == ""


# ----------------------------------------------------------------------------- cut-off


def test_censored_sentences():
    whole = presentation.censored_sentence(
        group="K10", timepoint="T3", n=5, n_at_cutoff=5, cutoff_g=300.0
    )
    assert whole == (
        "5 of 5 K10 animals at T3 reached the 300 g cut-off; their mean and CI are bounded by "
        "it (all of them: the mean is the cut-off itself and the CI has no width)."
    )
    part = presentation.censored_sentence(
        group="K5", timepoint="T4", n=5, n_at_cutoff=1, cutoff_g=300.0, n_at_lowest=0
    )
    assert part == (
        "1 of 5 K5 animals at T4 reached the 300 g cut-off; their mean and CI are bounded by it."
    )
    low = presentation.censored_sentence(
        group="C", timepoint="T1", n=4, n_at_cutoff=0, cutoff_g=60.0, n_at_lowest=2, lowest_g=0.008
    )
    assert low == (
        "2 of 4 C animals at T1 withdrew at the lowest filament (0.008 g); their mean and CI "
        "are bounded below by it."
    )
    assert (
        presentation.censored_sentence(group="C", timepoint="T1", n=4, n_at_cutoff=0, cutoff_g=1)
        == ""
    )


def test_the_chart_rings_means_with_animals_at_the_cutoff():
    rows = [
        ("k1", "K10", "T0", 7, 15.0),
        ("k2", "K10", "T0", 7, 26.0),
        ("k1", "K10", "T1", 14, 300.0),
        ("k2", "K10", "T1", 14, 300.0),
        ("k1", "K10", "T2", 21, 300.0),
        ("k2", "K10", "T2", 21, 100.0),
    ]
    long = pd.DataFrame(rows, columns=stats.INPUT_COLUMNS)
    summary = stats.group_summary(long).assign(n_at_cutoff=[0, 2, 1], n_at_lowest=[0, 0, 0])
    figure = charts.time_course(
        summary=summary,
        animals=long,
        marks=pd.DataFrame(columns=stats.MARK_COLUMNS),
        groups=[charts.GroupStyle("K10", "Ketamine 10 mg/kg", "#d7301f")],
        phases=[],
        timepoints=[("T0", 7), ("T1", 14), ("T2", 21)],
        key=charts.MarkKey(alpha=0.05, baseline="T0", first_treated="T1", control="K10"),
        y_title="Paw withdrawal threshold (g)",
        unit="g",
        cutoff=300.0,
        cutoff_text="300 g cut-off",
        title="Withdrawal threshold by target force",
    )
    (ring,) = [t for t in figure["data"] if t["meta"] == "cutoff"]
    assert ring["x"] == [14.0, 21.0] and ring["y"] == [300.0, 200.0]
    assert ring["text"] == ["2/2", "1/2"]
    assert ring["customdata"] == [
        "<b>K10</b> T1: all 2 at the 300 g cut-off: the mean is the cut-off, no spread (bounded)",
        "<b>K10</b> T2: 1 of 2 at the 300 g cut-off: mean and SEM bounded by it",
    ]
    (mean,) = [t for t in figure["data"] if t["meta"] == "mean"]
    assert "cut-off" not in mean["text"][0]
    assert mean["text"][2].endswith("1 of 2 at the 300 g cut-off: mean and SEM bounded by it")
    assert figure["layout"]["title"]["text"] == "Withdrawal threshold by target force"
    import plotly.graph_objects as go

    go.Figure(data=figure["data"], layout=figure["layout"])  # plotly's schema accepts it
    assert math.isclose(figure["layout"]["shapes"][-1]["y0"], 300.0)
