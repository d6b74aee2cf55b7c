"""The comparison families (all pairs, vs control, vs baseline, chosen pairs) and the
Hodges-Lehmann effect sizes, against R's printed numbers.

Every reference quotes its data, the R call and where the printed numbers come from. No
expected value here comes from running our own code.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from analysis import hodges_lehmann, stats

# ------------------------------------------------- Dunn vs control (kwManyOneDunnTest)

# The UCLA "exer" data (seaborn-data exercise.csv): pulse of 30 people at 1, 15 and 30
# min, 10 each resting, walking, running.
EXERCISE_PULSE = [
    [85, 85, 88], [90, 92, 93], [97, 97, 94], [80, 82, 83], [91, 92, 91],
    [83, 83, 84], [87, 88, 90], [92, 94, 95], [97, 99, 96], [100, 97, 100],
    [86, 86, 84], [93, 103, 104], [90, 92, 93], [95, 96, 100], [89, 96, 95],
    [84, 86, 89], [103, 109, 90], [92, 96, 101], [97, 98, 100], [102, 104, 103],
    [93, 98, 110], [98, 104, 112], [98, 105, 99], [87, 132, 120], [94, 110, 116],
    [95, 126, 143], [100, 126, 140], [103, 124, 140], [94, 135, 130], [99, 111, 150],
]  # fmt: skip


def _exercise():
    kinds = ["rest"] * 10 + ["walking"] * 10 + ["running"] * 10
    samples = {"rest": [], "walking": [], "running": []}
    for kind, pulses in zip(kinds, EXERCISE_PULSE, strict=True):
        samples[kind].extend(pulses)
    return samples


def test_dunn_vs_control_matches_r_on_the_exercise_data():
    # R (PMCMRplus 1.9 / dunn.test, all pairs, p.adjust = "holm") printed, in
    # maximtrp/scikit-posthocs tests/test_posthocs.py test_posthoc_dunn:
    # rest-running 9.570998e-09, rest-walking 4.390066e-02, running-walking 1.873208e-04.
    # Holm over three: the smallest is 3 p, the middle max(that, 2 p), the largest p, so
    # the unadjusted p are rest-running 9.570998e-09 / 3 and rest-walking 0.04390066.
    # kwManyOneDunnTest(pulse ~ kind, p.adjust.method = "holm") with control "rest" uses
    # the same z (cran/PMCMRplus R/kwManyOneDunnTest.R) and Holm over the two
    # comparisons with control: running 2 * 9.570998e-09 / 3, walking 0.04390066.
    rows = {r.a: r for r in stats.dunn_many_one(_exercise(), control="rest")}
    assert set(rows) == {"walking", "running"}
    assert rows["running"].b == rows["walking"].b == "rest"
    assert rows["running"].p == pytest.approx(9.570998e-09 / 3, rel=1e-6)
    assert rows["running"].p_adj == pytest.approx(2 * 9.570998e-09 / 3, rel=1e-6)
    assert rows["walking"].p == pytest.approx(0.04390066, rel=1e-6)
    assert rows["walking"].p_adj == pytest.approx(0.04390066, rel=1e-6)
    # R prints z signed, treatment minus control: both groups rank above rest.
    assert rows["running"].statistic > rows["walking"].statistic > 0


def test_dunn_vs_control_refuses_a_control_without_values():
    with pytest.raises(ValueError, match="control group 'none' has no values"):
        stats.dunn_many_one(_exercise(), control="none")


# ------------------------------------- Demsar vs baseline (frdManyOneDemsarTest) and pairs

# maximtrp/scikit-posthocs tests/test_posthocs.py, test_posthoc_demsar: 6 blocks x 3
# groups, "PMCMRplus::frdManyOneDemsarTest reference" with control = the first column
# and no adjustment: p = 0.06060197, 0.56370286.
NEW_BLOCK = np.array(
    [[31, 27, 24], [31, 28, 31], [45, 29, 46], [21, 18, 48], [42, 36, 46], [32, 17, 40]]
)


def test_demsar_vs_baseline_matches_r():
    frame = pd.DataFrame(NEW_BLOCK, columns=["T0", "T1", "T2"])
    rows = {r.a: r for r in stats.demsar_many_one(frame, reference="T0")}
    assert rows["T1"].p == pytest.approx(0.06060197, abs=1e-8)
    assert rows["T2"].p == pytest.approx(0.56370286, abs=1e-8)
    # frdManyOneDemsarTest's default p.adjust.method is "holm" (the first of
    # p.adjust.methods): 2 x the smaller, then the larger if it is larger.
    assert rows["T1"].p_adj == pytest.approx(2 * 0.06060197, abs=2e-8)
    assert rows["T2"].p_adj == pytest.approx(0.56370286, abs=1e-8)
    assert {r.b for r in rows.values()} == {"T0"}
    assert rows["T1"].statistic < 0 < rows["T2"].statistic  # T1 ranks below baseline


# maximtrp/scikit-posthocs tests/test_posthocs.py, test_posthoc_siegel_friedman: df_bn
# (3 blocks x 7 groups) and R's unadjusted frdAllPairsSiegelTest p-values, which that
# test multiplies by 21 for Bonferroni. Column 0 against the others:
DF_BN = np.array([[4, 3, 4, 4, 5, 6, 3], [1, 2, 3, 5, 6, 7, 7], [1, 2, 6, 4, 1, 5, 1]])
SIEGEL_P_VS_0 = [0.92471904, 0.18587673, 0.25683926, 0.25683926, 0.01816302, 0.57075039]
SIEGEL_P_6_VS_5 = 0.07260094


def test_demsar_and_chosen_pairs_use_rs_friedman_rank_z():
    names = [f"T{j}" for j in range(7)]
    frame = pd.DataFrame(DF_BN, columns=names)
    vs_baseline = stats.demsar_many_one(frame, reference="T0")
    assert [r.a for r in vs_baseline] == names[1:]
    for row, r_p in zip(vs_baseline, SIEGEL_P_VS_0, strict=True):
        assert row.p == pytest.approx(r_p, abs=1e-8)
    # Holm over six (R p.adjust): the smallest, T5, is 6 x 0.01816302.
    assert vs_baseline[4].p_adj == pytest.approx(6 * 0.01816302, abs=1e-7)
    # Chosen pairs alone: Holm over the two chosen, not over all 21 pairs.
    chosen = stats.friedman_rank_pairs(frame, [("T5", "T0"), ("T6", "T5")])
    assert [(r.a, r.b) for r in chosen] == [("T5", "T0"), ("T6", "T5")]
    assert chosen[0].p == pytest.approx(0.01816302, abs=1e-8)
    assert chosen[1].p == pytest.approx(SIEGEL_P_6_VS_5, abs=1e-8)
    assert chosen[0].p_adj == pytest.approx(2 * 0.01816302, abs=2e-8)
    assert chosen[1].p_adj == pytest.approx(SIEGEL_P_6_VS_5, abs=1e-8)


def test_holm_is_rs_p_adjust():
    # ?p.adjust worked by hand: p = (0.01, 0.04, 0.03) -> holm (0.03, 0.06, 0.06).
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    adjusted = stats.holm([0.01, math.nan, 0.03])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1])
    # r-source src/library/stats/R/p.adjust.R, worked by hand: holm is
    # pmin(1, cummax((n + 1 - i) * p[o]))[ro]: 5 x 0.01, 4 x 0.02, 3 x 0.03, then the
    # running maximum 0.09 for 2 x 0.04 and 1 x 0.05; ties keep their order; never above 1
    p = [0.05, 0.01, 0.04, 0.03, 0.02]
    assert stats.holm(p) == pytest.approx([0.09, 0.05, 0.09, 0.09, 0.08])
    assert stats.holm([0.02, 0.02, 0.5]) == pytest.approx([0.06, 0.06, 0.5])
    assert stats.holm([0.4, 0.6]) == pytest.approx([0.8, 0.8])
    assert stats.holm([0.6, 0.7]) == [1.0, 1.0]  # 2 x 0.6 capped at 1
    assert stats.adjust_p(p, "bonferroni") == pytest.approx([0.25, 0.05, 0.2, 0.15, 0.1])
    assert stats.adjust_p([0.3, math.nan, 0.3], "bonferroni")[2] == pytest.approx(0.6)
    assert stats.adjust_p(p, "none") == p and stats.holm([0.7]) == [0.7]
    with pytest.raises(ValueError, match="hochberg"):
        stats.adjust_p(p, "hochberg")


# ------------------------------------------------------------- Hodges-Lehmann + CI


def test_paired_hodges_lehmann_exact_interval_membrane_example():
    # One sample (y = 0), no ties: the permeability constants of Hollander & Wolfe's
    # membrane example as worked in Iowa State's Stat 403 notes (membrane.html): the
    # estimate is the median (28th) of the 55 Walsh averages, 1.385, and the 95 % interval
    # runs from the 9th to the 47th Walsh average, 1.13 to 1.67. R's
    # wilcox.test(x, conf.int = TRUE) takes the same order statistics:
    # qsignrank(0.025, 10) = 9, 55 - 9 + 1 = 47 (stats/R/wilcox.test.R).
    x = [0.90, 1.13, 1.89, 1.14, 1.45, 1.38, 1.91, 1.64, 0.83, 1.46]
    shift = hodges_lehmann.paired(x, [0.0] * len(x))
    assert shift.exact
    assert shift.estimate == pytest.approx(1.385)
    assert (shift.ci_low, shift.ci_high) == (pytest.approx(1.13), pytest.approx(1.67))
    assert shift.name == "Hodges-Lehmann paired difference"


def test_two_sample_hodges_lehmann_with_ties_hollander_wolfe_chicken():
    # PSIAIMS CAMIS (R/nparestimate, "Hollander-Wolfe-Chicken Example"):
    # wilcox.test(x, y, exact = TRUE, conf.int = TRUE) warns that ties prevent the exact
    # interval and prints "difference in location 0.5600562" (uniroot, tol 1e-4). The
    # same data in SAS PROC NPAR1WAY HL (CAMIS SAS/nparestimate) give the asymptotic
    # (Moses) limits -0.3700 and 1.1830, the inversion R's interval makes.
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.050, 1.060, 1.290, 1.060, 3.140, 1.290]
    shift = hodges_lehmann.two_sample(x, y)
    assert not shift.exact
    assert shift.estimate == pytest.approx(0.5600562, abs=1e-4)
    assert shift.ci_low == pytest.approx(-0.37, abs=5e-5)
    assert shift.ci_high == pytest.approx(1.183, abs=5e-5)
    assert shift.name == "Hodges-Lehmann difference"


def test_two_sample_exact_interval_takes_rs_order_statistics():
    # Hollander & Wolfe (1973) p. 69f permeability data from ?wilcox.test (no ties):
    # R's exact interval is (diffs[qu], diffs[mn - qu + 1]) with qu = qwilcox(0.025, 10, 5)
    # = 9 (for samples of 10 and 5, P(U <= 8) = 0.0200 < 0.025 <= P(U <= 9) = 0.0276 in
    # scipy.stats.mannwhitneyu's exact null distribution, checked below) and the
    # estimate the median of the 50 differences.
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    diffs = sorted(a - b for a in x for b in y)
    shift = hodges_lehmann.two_sample(x, y)
    assert shift.exact
    assert shift.estimate == pytest.approx(np.median(diffs))
    assert shift.ci_low == pytest.approx(diffs[8])
    assert shift.ci_high == pytest.approx(diffs[41])
    # Ranks 0..14: ten for x whose Mann-Whitney U (rank sum - 45) is 8, then 9.
    for u, x_ranks in (
        (8, [0, 1, 2, 3, 4, 5, 6, 7, 11, 14]),
        (9, [0, 1, 2, 3, 4, 5, 6, 7, 12, 14]),
    ):
        y_ranks = [r for r in range(15) if r not in x_ranks]
        assert sum(x_ranks) - 45 == u
        p = scipy_stats.mannwhitneyu(x_ranks, y_ranks, alternative="less", method="exact")
        assert (p.pvalue < 0.025) == (u == 8)


def test_effect_sizes_refuse_gracefully():
    assert math.isnan(hodges_lehmann.two_sample([5, 5], [5, 5]).estimate)
    assert math.isnan(hodges_lehmann.paired([300, 300], [300, 300]).estimate)
    assert math.isnan(hodges_lehmann.two_sample([], [1]).estimate)
    # One animal per group: an estimate, but no 95 % interval (R would print 0 %).
    one = hodges_lehmann.two_sample([1.0], [2.0])
    assert one.estimate == -1 and math.isnan(one.ci_low) and "not reachable" in one.note


# -------------------------------------------------------------- families in a study

DAYS = [7, 14, 21, 28]
TIMEPOINTS = ["T0", "T1", "T2", "T3"]


def _study():
    """Control flat near 15 g; K5 climbs to 60-100 g; K10 to the 300 g cut-off."""
    values = {
        "control": [[15, 14, 15, 16], [13, 15, 14, 15], [15, 15, 16, 14], [14, 13, 15, 15],
                    [16, 15, 14, 13]],
        "K5": [[15, 60, 84, 90], [14, 70, 95, 100], [13, 66, 108, 96], [16, 62, 90, 88],
               [15, 75, 100, 104]],
        "K10": [[14, 300, 300, 300], [15, 290, 300, 300], [16, 300, 300, 300],
                [13, 280, 300, 300], [15, 300, 300, 300]],
    }  # fmt: skip
    rows = []
    for group, animals in values.items():
        for i, series in enumerate(animals):
            for tp, day, value in zip(TIMEPOINTS, DAYS, series, strict=True):
                rows.append((f"{group}-{i}", group, tp, day, float(value)))
    return pd.DataFrame(rows, columns=stats.INPUT_COLUMNS)


def _run(family, pairs=()):
    return stats.study_statistics(
        _study(),
        baseline="T0",
        control_group="control",
        pairs=pairs,
        family=family,
        mixed_model=False,
    )


def test_all_pairs_rows_carry_their_family_and_an_effect_size():
    rows = _run("all_pairs")
    assert list(rows.columns[-5:]) == ["family", "estimate", "ci_low", "ci_high", "estimate_name"]
    posthoc = rows[rows["test"].isin(["nemenyi_friedman", "nemenyi_kruskal"])]
    assert len(posthoc) and (posthoc["family"] == "all_pairs").all()
    omnibus = rows[rows["test"].isin(["friedman", "kruskal", "rm_anova"])]
    assert (omnibus["family"] == "").all() and omnibus["estimate"].isna().all()
    k10_t3 = posthoc[(posthoc["timepoint"] == "T3") & (posthoc["a"] == "K10")]
    k10_t3 = k10_t3[k10_t3["b"] == "control"].iloc[0]
    # Every K10 rat at 300 g, control 13-16 g: the median difference is 300 - 15 = 285,
    # every difference lies in 284..287, and ties make the interval asymptotic.
    assert k10_t3["estimate"] == pytest.approx(285.0)
    assert 284 <= k10_t3["ci_low"] <= k10_t3["estimate"] <= k10_t3["ci_high"] <= 287
    assert k10_t3["estimate_name"] == "Hodges-Lehmann difference"


def test_vs_control_family_runs_dunn_against_control_only():
    rows = _run("vs_control")
    dunn = rows[rows["test"] == "dunn_vs_control"]
    assert set(dunn["b"]) == {"control"} and set(dunn["a"]) == {"K5", "K10"}
    assert (dunn["family"] == "vs_control").all()
    assert dunn["sentence"].str.endswith("Dunn (Holm) vs control after Kruskal-Wallis.").all()
    assert not rows["test"].isin(["nemenyi_friedman", "nemenyi_kruskal", "demsar_friedman"]).any()
    friedman_notes = rows.loc[rows["test"] == "friedman", "note"]
    assert friedman_notes.str.contains("no within-group comparisons").all()
    marks = stats.significance_marks(rows)
    at_t3 = marks[marks["timepoint"] == "T3"].set_index("group")
    # By hand at T3: control 16, 15, 14, 15, 13 ranks 1-5 (two tied at 15), K5 6-10, K10
    # 11-15 (five tied at 300 g), N = 15. Tie term C = ((5^3 - 5) + (2^3 - 2)) / (12 * 14)
    # = 0.75; var = (15 * 16 / 12 - C) (1/5 + 1/5) = 7.7, sd 2.7749; z(K5) = (8 - 3) /
    # 2.7749 = 1.8019, p = 0.07157; z(K10) = 10 / 2.7749 = 3.6037, p = 0.000314. Holm over
    # two: K10 0.000627, K5 0.07157. So at n = 5 the rank test marks K10 against control
    # and not K5, however far apart K5's values are.
    assert at_t3.loc["K10", "vs_control_p"] == pytest.approx(0.000627, abs=2e-6)
    assert at_t3.loc["K5", "vs_control_p"] == pytest.approx(0.07157, abs=2e-5)
    assert at_t3.loc["K10", "vs_control"] and not at_t3.loc["K5", "vs_control"]
    assert marks["vs_baseline_p"].isna().all() and marks["vs_pair_p"].isna().all()


def test_vs_baseline_family_runs_demsar_within_each_group():
    rows = _run("vs_baseline")
    demsar = rows[rows["test"] == "demsar_friedman"]
    assert set(demsar["b"]) == {"T0"} and set(demsar["a"]) == {"T1", "T2", "T3"}
    assert (demsar["family"] == "vs_baseline").all()
    assert (demsar["estimate_name"] == "Hodges-Lehmann paired difference").all()
    kruskal_notes = rows.loc[rows["test"] == "kruskal", "note"]
    assert kruskal_notes.str.contains("no between-group comparisons").all()
    marks = stats.significance_marks(rows)
    assert marks["vs_control_p"].isna().all()
    k10_t3 = marks[(marks["group"] == "K10") & (marks["timepoint"] == "T3")].iloc[0]
    # K10: every rat lowest at T0 and tied top at T2, T3: mean ranks 1, 2.3, 3.3, 3.3 ...
    assert k10_t3["vs_baseline"]


def test_pairs_family_tests_only_the_chosen_pairs():
    rows = _run("pairs", pairs=[("T3", "T1")])
    chosen = rows[rows["test"] == "siegel_friedman"]
    assert set(zip(chosen["a"], chosen["b"], strict=True)) == {("T3", "T1")}
    assert (chosen["role"] == "chosen pair").all()  # not also "vs first treated" (T1)
    assert set(chosen["group"]) == {"K5", "K10"}  # control's Friedman is not significant
    marks = stats.significance_marks(rows)
    assert marks["vs_control_p"].isna().all() and marks["vs_baseline_p"].isna().all()
    assert marks["vs_first_treated_p"].isna().all()
    assert set(marks.loc[marks["vs_pair_p"].notna(), "pair"]) == {"T3 vs T1"}
    assert not rows["test"].isin(["nemenyi_friedman", "demsar_friedman", "dunn_vs_control"]).any()


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="family must be one of"):
        _run("everything")


def test_model_contrasts_become_rows_the_marks_read():
    # The shape of analysis.emm.emm_comparisons' ModelContrast (helper h3): its numbers
    # are passed through untouched, so these are placeholders for the mapping only.
    from types import SimpleNamespace

    def contrast(**kw):
        base = {"group": None, "timepoint": None, "se": 2.0, "df": 36.4, "statistic": 3.1}
        return SimpleNamespace(**{**base, "p": 0.004, **kw})

    rows = stats.model_contrast_rows(
        [
            contrast(timepoint="T3", a="K5", b="control", estimate=80.0, p_adj=0.011,
                     ci_low=60.0, ci_high=100.0, adjust="dunnett"),
            contrast(timepoint="T3", a="K10", b="control", estimate=285.0, p_adj=0.2,
                     ci_low=-10.0, ci_high=580.0, adjust="dunnett"),
        ],
        family="vs_control",
        baseline="T0",
        control_group="control",
    )  # fmt: skip
    assert list(rows.columns) == stats.COLUMNS
    k5 = rows.iloc[0]
    assert (k5["test"], k5["timepoint"], k5["a"], k5["b"]) == ("emm", "T3", "K5", "control")
    assert (k5["df"], k5["p_adj"], k5["estimate"], k5["ci_high"]) == (36.4, 0.011, 80.0, 100.0)
    assert k5["estimate_name"] == "difference of estimated marginal means"
    assert k5["sentence"] == (
        "K5 vs control at T3: p = 0.01, estimated marginal means after the mixed model (Dunnett)."
    )
    marks = stats.significance_marks(rows).set_index("group")
    assert marks.loc["K5", "vs_control"] and not marks.loc["K10", "vs_control"]
    within = stats.model_contrast_rows(
        [contrast(group="K5", a="T3", b="T0", estimate=75.0, p_adj=0.02, ci_low=50.0,
                  ci_high=100.0, adjust="sidak")],
        family="vs_baseline",
        baseline="T0",
        control_group="control",
    )  # fmt: skip
    marks = stats.significance_marks(within)
    assert marks.iloc[0]["vs_baseline"] and "Šidák" in within.iloc[0]["sentence"]


def test_model_basis_marks_come_from_the_estimated_marginal_means():
    rows = stats.study_statistics(
        _study(),
        baseline="T0",
        control_group="control",
        family="vs_baseline",
        basis="model",
        mixed_model=False,
    )
    emm_rows = rows[rows["test"] == "emm"]
    # One contrast per group and later timepoint, each later timepoint minus T0.
    assert len(emm_rows) == 9 and set(emm_rows["b"]) == {"T0"}
    assert (emm_rows["family"] == "vs_baseline").all()
    assert (emm_rows["estimate_name"] == "difference of estimated marginal means").all()
    # The rank post-hocs stay in the table, but mark nothing.
    demsar = rows[rows["test"] == "demsar_friedman"]
    assert len(demsar) and (demsar["family"] == "").all()
    # K5 at T1: every rat rose by 45-57 g (mean 52 g): the model's difference is the
    # difference of the cell means, 52.0 g, and the mark is the model's.
    k5_t1 = emm_rows[(emm_rows["group"] == "K5") & (emm_rows["a"] == "T1")].iloc[0]
    assert k5_t1["estimate"] == pytest.approx((60 + 70 + 66 + 62 + 75 - 73) / 5)
    assert k5_t1["ci_low"] < k5_t1["estimate"] < k5_t1["ci_high"]
    marks = stats.significance_marks(rows).set_index(["group", "timepoint"])
    assert marks.loc[("K5", "T1"), "vs_baseline"]
    assert marks["vs_control_p"].isna().all()
    with pytest.raises(ValueError, match="basis must be one of"):
        stats.study_statistics(_study(), baseline="T0", control_group="control", basis="x")
