"""analysis.stats against published R output.

Every case quotes its data and the numbers R printed, with the source. Tolerances follow
the printed precision. No expected value here comes from running our own code.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from analysis import stats

# --------------------------------------------------------------------------- Friedman

# R's ?friedman.test example: Hollander & Wolfe (1973), p. 140ff, "RoundingTimes": times to
# round first base with three methods (round out, narrow angle, wide angle), 22 players.
ROUNDING_TIMES = np.array(
    [
        [5.40, 5.50, 5.55],
        [5.85, 5.70, 5.75],
        [5.20, 5.60, 5.50],
        [5.55, 5.50, 5.40],
        [5.90, 5.85, 5.70],
        [5.45, 5.55, 5.60],
        [5.40, 5.40, 5.35],
        [5.45, 5.50, 5.35],
        [5.25, 5.15, 5.00],
        [5.85, 5.80, 5.70],
        [5.25, 5.20, 5.10],
        [5.65, 5.55, 5.45],
        [5.60, 5.35, 5.45],
        [5.05, 5.00, 4.95],
        [5.50, 5.50, 5.40],
        [5.45, 5.55, 5.50],
        [5.55, 5.55, 5.35],
        [5.45, 5.50, 5.55],
        [5.50, 5.45, 5.25],
        [5.65, 5.60, 5.40],
        [5.70, 5.65, 5.55],
        [6.30, 6.30, 6.25],
    ]
)

# Field, Discovering Statistics Using R (2012), ch. 13, "Bushtucker": 8 celebrities x 4
# foods (stick insect, kangaroo testicle, fish eye, witchetty grub), time to retch (s).
# R results as asserted in jasp-stats/jaspAnova tests/testthat/test-anovarepeatedmeasures.R
# ("Field - Chapter 8 results match"), computed there by R (afex/car, stats).
BUSHTUCKER = np.array(
    [
        [8, 7, 1, 6],
        [9, 5, 2, 5],
        [6, 2, 3, 8],
        [5, 3, 1, 9],
        [8, 4, 5, 8],
        [7, 5, 6, 7],
        [10, 2, 7, 2],
        [12, 6, 8, 1],
    ],
    dtype=float,
)


def test_friedman_rounding_times_r_example():
    # ?friedman.test: "Friedman chi-squared = 11.143, df = 2, p-value = 0.003805"
    result = stats.friedman(ROUNDING_TIMES)
    assert result.statistic == pytest.approx(11.143, abs=5e-4)
    assert result.p == pytest.approx(0.003805, abs=5e-7)


def test_friedman_hays_via_study_frame():
    # Hays (1974) pp. 785-786, 11 matched groups x 4 treatments; R output published in the
    # JASP verification project (jasp-stats/jasp-verification-project, friedman-test.html):
    # "Friedman chi-squared = 11.945, df = 3, p-value = 0.007572".
    treatments = {
        "T1": [1, 2, 10, 12, 1, 10, 4, 10, 10, 14, 3],
        "T2": [4, 3, 0, 11, 3, 3, 12, 4, 4, 4, 2],
        "T3": [8, 13, 11, 13, 10, 11, 10, 5, 9, 7, 4],
        "T4": [0, 1, 3, 10, 0, 9, 11, 3, 3, 2, 13],
    }
    frame = _long({"g": treatments})
    rows = stats.within_group_tests(frame, baseline="T1", alpha=0.05)
    row = rows[rows["test"] == "friedman"].iloc[0]
    assert row["statistic"] == pytest.approx(11.945, abs=5e-4)
    assert row["df"] == 3
    assert row["p"] == pytest.approx(0.007572, abs=5e-7)
    assert row["n"] == 11


def test_friedman_bushtucker():
    # jaspAnova test (R): Friedman chi2 11.5263157894737, df 3, p 0.00919516147593829
    result = stats.friedman(BUSHTUCKER)
    assert result.statistic == pytest.approx(11.5263157894737, rel=1e-9)
    assert result.p == pytest.approx(0.00919516147593829, rel=1e-9)


# ------------------------------------------------------------- Nemenyi after Friedman


def test_nemenyi_friedman_matches_demsar_critical_difference():
    # PMCMRplus's definition against a published table (R's own p-values on other data are
    # checked in test_nemenyi_friedman_matches_r_on_scikit_posthocs_df_bn). PMCMRplus:
    # q = |Rbar_i - Rbar_j| / sqrt(k(k+1)/(6n)) * sqrt(2), p = ptukey(q, k, Inf, upper).
    # Demsar (2006), J Mach Learn Res 7:1-30, Table 5(a): the Nemenyi critical difference
    # is CD = q_alpha sqrt(k(k+1)/(6N)) with q_0.05 = 2.343 for k = 3, so a pair is
    # significant at 0.05 exactly when |Rbar_i - Rbar_j| > CD, i.e. when q > 2.343 * sqrt 2.
    wide = pd.DataFrame(ROUNDING_TIMES, columns=["round out", "narrow", "wide"])
    pairs = stats.nemenyi_friedman_pairs(wide)
    n, k = ROUNDING_TIMES.shape
    mean_ranks = dict(
        zip(wide.columns, scipy_stats.rankdata(ROUNDING_TIMES, axis=1).mean(0), strict=True)
    )
    cd = 2.343 * math.sqrt(k * (k + 1) / (6 * n))
    assert len(pairs) == 3
    for pair in pairs:
        diff = abs(mean_ranks[pair.a] - mean_ranks[pair.b])
        assert pair.statistic == pytest.approx(diff / math.sqrt(k * (k + 1) / (6 * n)) * 2**0.5)
        assert (pair.p < 0.05) == (diff > cd)
        assert pair.p_adj == pair.p
    # At the tabulated critical value itself p is 0.05 (to the table's 4 digits).
    assert scipy_stats.studentized_range.sf(2.343 * 2**0.5, 3, np.inf) == pytest.approx(
        0.05, abs=2e-4
    )
    # Rows are named after the columns, later one first.
    assert {(p.a, p.b) for p in pairs} == {
        ("narrow", "round out"),
        ("wide", "round out"),
        ("wide", "narrow"),
    }


# maximtrp/scikit-posthocs tests/test_posthocs.py: ``df_bn`` (3 blocks x 7 groups) and the
# reference p-values of its test_posthoc_nemenyi_friedman (lower triangle, 7 decimals). The
# test file does not name their origin; they are taken to be R PMCMR/PMCMRplus output
# (frdAllPairsNemenyiTest), the package scikit-posthocs names as its reference. Our p comes
# from scikit-posthocs itself, so for p this checks which pair gets which number; the q we
# compute ourselves is checked through R's p (p = ptukey(q, k, Inf, lower.tail = FALSE)).
DF_BN = np.array(
    [
        [4, 3, 4, 4, 5, 6, 3],
        [1, 2, 3, 5, 6, 7, 7],
        [1, 2, 6, 4, 1, 5, 1],
    ]
)
DF_BN_NEMENYI_P = [  # row i lists the pairs (i, 0), (i, 1), ... (i, i - 1)
    [],
    [0.9999999],
    [0.8414506, 0.8833015],
    [0.9177741, 0.9449086, 0.9999962],
    [0.9177741, 0.9449086, 0.9999962, 1.0000000],
    [0.2147827, 0.2597539, 0.9449086, 0.8833015, 0.8833015],
    [0.9976902, 0.9991770, 0.9888953, 0.9976902, 0.9976902, 0.5511935],
]


def test_nemenyi_friedman_matches_r_on_scikit_posthocs_df_bn():
    # Rows are blocks (animals), columns the seven groups (timepoints); every one of the
    # 21 pairs must carry R's p, printed to 7 decimals.
    names = [f"t{j}" for j in range(7)]
    pairs = stats.nemenyi_friedman_pairs(pd.DataFrame(DF_BN, columns=names))
    assert len(pairs) == 21
    by_pair = {frozenset((p.a, p.b)): p for p in pairs}
    for i, row in enumerate(DF_BN_NEMENYI_P):
        for j, r_p in enumerate(row):
            pair = by_pair[frozenset((names[i], names[j]))]
            assert (pair.a, pair.b) == (names[i], names[j])  # later column first
            assert pair.p == pytest.approx(r_p, abs=5e-8)
            assert pair.p_adj == pair.p
            # PMCMRplus: p = ptukey(q, k, Inf, lower.tail = FALSE), so the q we print must
            # be the one that gives R's p.
            assert scipy_stats.studentized_range.sf(pair.statistic, 7, np.inf) == pytest.approx(
                r_p, abs=5e-8
            )


# ---------------------------------------------------------------- Wilcoxon signed-rank


def test_wilcoxon_signed_rank_hays_with_ties():
    # Hays (1974) pp. 780-781; R output in the JASP verification project
    # (wilcoxon-test.html): wilcox.test(Control, Treatment, paired = TRUE)
    # "Wilcoxon signed rank test with continuity correction ... V = 15, p-value = 0.221"
    treatment = [83, 80, 81, 74, 79, 78, 72, 84, 85, 88]
    control = [75, 78, 66, 77, 80, 68, 75, 90, 81, 83]
    result = stats.wilcoxon_signed_rank(control, treatment)
    assert result.statistic == 15
    assert result.p == pytest.approx(0.221, abs=5e-4)
    assert "continuity correction" in result.note


def test_two_timepoints_use_wilcoxon_not_friedman():
    # Same Hays data as a two-timepoint study: scipy's Friedman refuses two conditions,
    # so the group gets a Wilcoxon row (V = 15, p = 0.221 as above) and says so.
    frame = _long(
        {
            "g": {
                "T0": [83, 80, 81, 74, 79, 78, 72, 84, 85, 88],
                "T1": [75, 78, 66, 77, 80, 68, 75, 90, 81, 83],
            }
        }
    )
    rows = stats.within_group_tests(frame, baseline="T0")
    assert list(rows["test"]) == ["wilcoxon"]
    row = rows.iloc[0]
    assert (row["a"], row["b"]) == ("T1", "T0")
    assert row["statistic"] == 15
    assert row["p"] == pytest.approx(0.221, abs=5e-4)
    assert "instead of Friedman" in row["note"]
    assert row["role"] == stats.ROLE_VS_BASELINE


# --------------------------------------------------------------------- Kruskal-Wallis

# R's ?kruskal.test: Hollander & Wolfe (1973), p. 116, mucociliary efficiency.
MUCOCILIARY = {
    "normal": [2.9, 3.0, 2.5, 2.6, 3.2],
    "obstructive airway disease": [3.8, 2.7, 4.0, 2.4],
    "asbestosis": [2.8, 3.4, 3.7, 2.2, 2.0],
}

# R's InsectSprays (Beall 1942): insect counts after six sprays, 12 plots each.
INSECT_SPRAYS = {
    "A": [10, 7, 20, 14, 14, 12, 10, 23, 17, 20, 14, 13],
    "B": [11, 17, 21, 11, 16, 14, 17, 17, 19, 21, 7, 13],
    "C": [0, 1, 7, 2, 3, 1, 2, 1, 3, 0, 1, 4],
    "D": [3, 5, 12, 6, 4, 3, 5, 5, 5, 5, 2, 4],
    "E": [3, 5, 3, 5, 3, 6, 1, 1, 3, 2, 6, 4],
    "F": [11, 9, 15, 22, 15, 16, 13, 10, 26, 26, 24, 13],
}


def test_kruskal_hollander_wolfe_r_example():
    # ?kruskal.test: "Kruskal-Wallis chi-squared = 0.77143, df = 2, p-value = 0.68"
    result = stats.kruskal_wallis(list(MUCOCILIARY.values()))
    assert result.statistic == pytest.approx(0.77143, abs=5e-6)
    assert result.p == pytest.approx(0.68, abs=5e-3)


def test_kruskal_hays_with_ties_via_between_groups():
    # Hays (1974) pp. 782-784, three treatments x 12 children; R output in the JASP
    # verification project (kruskal-wallis-anova.html):
    # "Kruskal-Wallis chi-squared = 13.844, df = 2, p-value = 0.0009857"
    groups = {
        "I": [6, 11, 12, 20, 24, 21, 18, 15, 14, 10, 8, 14],
        "II": [31, 7, 9, 11, 16, 19, 17, 11, 22, 23, 27, 26],
        "III": [13, 32, 31, 30, 28, 29, 25, 26, 26, 27, 26, 19],
    }
    frame = _long({g: {"T0": v} for g, v in groups.items()})
    rows = stats.between_group_tests(frame, control_group="I")
    row = rows[rows["test"] == "kruskal"].iloc[0]
    assert row["statistic"] == pytest.approx(13.844, abs=5e-4)
    assert row["df"] == 2
    assert row["p"] == pytest.approx(0.0009857, abs=5e-8)
    assert row["timepoint"] == "T0"
    assert row["n"] == 36


def test_kruskal_insect_sprays_pmcmr_vignette():
    # Pohlert, PMCMR vignette (cran/PMCMR vignettes/PMCMR.Rnw): kruskal.test(count ~ spray,
    # data = InsectSprays) is "highly significant (chi2(5) = 54.69, p < 0.01)".
    result = stats.kruskal_wallis(list(INSECT_SPRAYS.values()))
    assert result.statistic == pytest.approx(54.69, abs=5e-3)
    assert result.p < 0.01


# ------------------------------------------- Nemenyi (Tukey) and Dunn after Kruskal

# seaborn-data exercise.csv = the UCLA "exer" data: pulse of 30 people (id 1-10 rest,
# 11-20 walking, 21-30 running) at 1, 15 and 30 min. The R (PMCMR) p-values below are
# the reference values in scikit-posthocs tests/test_posthocs.py (test_posthoc_nemenyi_tukey,
# test_posthoc_dunn), obtained there from R.
EXERCISE_PULSE = [
    [85, 85, 88], [90, 92, 93], [97, 97, 94], [80, 82, 83], [91, 92, 91],
    [83, 83, 84], [87, 88, 90], [92, 94, 95], [97, 99, 96], [100, 97, 100],
    [86, 86, 84], [93, 103, 104], [90, 92, 93], [95, 96, 100], [89, 96, 95],
    [84, 86, 89], [103, 109, 90], [92, 96, 101], [97, 98, 100], [102, 104, 103],
    [93, 98, 110], [98, 104, 112], [98, 105, 99], [87, 132, 120], [94, 110, 116],
    [95, 126, 143], [100, 126, 140], [103, 124, 140], [94, 135, 130], [99, 111, 150],
]  # fmt: skip
EXERCISE_KIND = ["rest"] * 10 + ["walking"] * 10 + ["running"] * 10


def _exercise_samples():
    samples = {"rest": [], "walking": [], "running": []}
    for kind, pulses in zip(EXERCISE_KIND, EXERCISE_PULSE, strict=True):
        samples[kind].extend(pulses)
    return samples


def _pair_p(pairs, a, b, attribute="p_adj"):
    pair = next(p for p in pairs if {p.a, p.b} == {a, b})
    return getattr(pair, attribute)


def test_nemenyi_kruskal_tukey_matches_pmcmr():
    # R: posthoc.kruskal.nemenyi.test(pulse ~ kind, dist = "Tukey")
    # rest-running 9.793203e-09, rest-walking 1.088785e-01, running-walking 2.789016e-04
    pairs, ties_note = stats.nemenyi_kruskal_pairs(_exercise_samples())
    assert _pair_p(pairs, "rest", "running") == pytest.approx(9.793203e-09, rel=1e-5)
    assert _pair_p(pairs, "rest", "walking") == pytest.approx(0.1088785, rel=1e-6)
    assert _pair_p(pairs, "running", "walking") == pytest.approx(0.0002789016, rel=1e-6)
    # Pulses repeat, and like PMCMRplus the Tukey p-values are not tie-corrected.
    assert "not corrected for ties" in ties_note


def test_nemenyi_kruskal_q_statistics_give_rs_p_values():
    # No printed kwAllPairsNemenyiTest summary (with its q column) and its data could be
    # found, so q is checked through the R p-values above: PMCMRplus computes
    # p = ptukey(q, k = 3, Inf, lower.tail = FALSE), a one-to-one map, so only R's q gives
    # R's p. (Our p comes from scikit-posthocs; q is computed by our own code.)
    pairs, _ = stats.nemenyi_kruskal_pairs(_exercise_samples())
    for a, b, r_p in (
        ("rest", "running", 9.793203e-09),
        ("rest", "walking", 0.1088785),
        ("running", "walking", 0.0002789016),
    ):
        q = _pair_p(pairs, a, b, attribute="statistic")
        assert scipy_stats.studentized_range.sf(q, 3, np.inf) == pytest.approx(r_p, rel=1e-5)


def test_nemenyi_kruskal_is_not_scikit_posthocs_chi_square_default():
    # The chi-square variant (scikit-posthocs' default) gives R's dist = "Chisquare"
    # numbers (same test suite: rest-running 2.431833e-08), which must not be used.
    pairs, _ = stats.nemenyi_kruskal_pairs(_exercise_samples())
    assert _pair_p(pairs, "rest", "running") != pytest.approx(2.431833e-08, rel=1e-3)


def test_dunn_holm_matches_r():
    # R (dunn.test / PMCMR, p.adjust = "holm"): rest-running 9.570998e-09,
    # rest-walking 4.390066e-02, running-walking 1.873208e-04
    pairs = stats.dunn_pairs(_exercise_samples(), p_adjust="holm")
    assert _pair_p(pairs, "rest", "running") == pytest.approx(9.570998e-09, rel=1e-6)
    assert _pair_p(pairs, "rest", "walking") == pytest.approx(0.04390066, rel=1e-6)
    assert _pair_p(pairs, "running", "walking") == pytest.approx(0.0001873208, rel=1e-6)


def test_dunn_zar_ponds_bonferroni_and_holm():
    # Zar (2010) pH of four ponds (one value missing in pond 3). Bonferroni-adjusted
    # two-sided Dunn p-values published by UniStat and asserted against R by FSA
    # (fishR-Core-Team/FSA tests/testthat/EXS_dunnTest.R, test_dunnTest_VALIDATE.R):
    # 2-1 0.1956, 3-1 0.0191, 3-2 1, 4-1 0.0166, 4-2 1, 4-3 1.
    ponds = {
        "1": [7.68, 7.69, 7.70, 7.70, 7.72, 7.73, 7.73, 7.76],
        "2": [7.71, 7.73, 7.74, 7.74, 7.78, 7.78, 7.80, 7.81],
        "3": [7.74, 7.75, 7.77, 7.78, 7.80, 7.81, 7.84],
        "4": [7.71, 7.71, 7.74, 7.79, 7.81, 7.85, 7.87, 7.91],
    }
    bonferroni = stats.dunn_pairs(ponds, p_adjust="bonferroni")
    published = {("2", "1"): 0.1956, ("3", "1"): 0.0191, ("3", "2"): 1, ("4", "1"): 0.0166,
                 ("4", "2"): 1, ("4", "3"): 1}  # fmt: skip
    for (a, b), p in published.items():
        assert round(_pair_p(bonferroni, a, b), 4) == p
    # Holm from the same unadjusted p (Bonferroni / 6), by hand: the two smallest,
    # 0.0166/6 and 0.0191/6, both become 6 * 0.0166/6 = 0.0166 (step-down maximum);
    # the third, 0.1956/6, becomes 4 * 0.1956/6 = 0.1304.
    holm = stats.dunn_pairs(ponds, p_adjust="holm")
    assert _pair_p(holm, "4", "1") == pytest.approx(0.0166, abs=5e-5)
    assert _pair_p(holm, "3", "1") == pytest.approx(0.0166, abs=5e-5)
    assert _pair_p(holm, "2", "1") == pytest.approx(0.1304, abs=5e-5)


# ----------------------------------------------------------------------- Mann-Whitney


def test_mann_whitney_hays_exact():
    # Hays (1974) pp. 778-780; R output in the JASP verification project
    # (mann-whitney-test.html): wilcox.test(Score ~ Group)
    # "Wilcoxon rank sum exact test ... W = 5, p-value = 0.2857"
    result = stats.mann_whitney([8, 3, 4, 6], [1, 7, 9, 10, 12])
    assert result.statistic == 5
    assert result.p == pytest.approx(0.2857, abs=5e-5)


def test_two_groups_get_mann_whitney_with_control_as_reference():
    frame = _long({"B": {"T0": [1, 7, 9, 10, 12]}, "A": {"T0": [8, 3, 4, 6]}})
    rows = stats.between_group_tests(frame, control_group="B")
    assert list(rows["test"]) == ["mann_whitney"]
    row = rows.iloc[0]
    assert (row["a"], row["b"]) == ("A", "B")
    assert row["statistic"] == 5  # R's W for the first sample, A
    assert row["p"] == pytest.approx(0.2857, abs=5e-5)
    assert row["role"] == stats.ROLE_VS_CONTROL
    assert row["sentence"] == "A vs B at T0: p = 0.29, Mann-Whitney."


# ------------------------------------------------------------ repeated-measures ANOVA


def test_rm_anova_bushtucker_with_sphericity_corrections():
    # jaspAnova test "Field - Chapter 8 results match" (R): Mauchly W 0.136248029372535,
    # chi2 11.4059814340564, df 5, p 0.0468458123067897; GG epsilon 0.532845552798473,
    # HF epsilon 0.66576361409737; F 3.79380603096984 on 3 and 21 df, p 0.0255702968630395;
    # GG: df 1.59853665839542 / 11.1897566087679, p 0.0625841206869634;
    # HF: df 1.99729084229211 / 13.9810358960448, p 0.0483306135519432.
    # (Field's book prints the same: F(3, 21) = 3.79, p = .026; GG .533, HF .666.)
    frame = _long({"celebs": {f"T{j}": BUSHTUCKER[:, j] for j in range(4)}})
    rows = stats.rm_anova(frame).set_index("test")
    main = rows.loc["rm_anova"]
    assert main["a"] == "time"
    assert main["statistic"] == pytest.approx(3.79380603096984, rel=1e-9)
    assert (main["df"], main["df2"]) == (3, 21)
    assert main["p"] == pytest.approx(0.0255702968630395, rel=1e-9)
    mauchly = rows.loc["mauchly"]
    assert mauchly["statistic"] == pytest.approx(0.136248029372535, rel=1e-9)
    assert mauchly["df"] == 5
    assert mauchly["p"] == pytest.approx(0.0468458123067897, rel=1e-9)
    assert "chi2 = 11.4060" in mauchly["note"]
    gg = rows.loc["rm_anova_gg"]
    assert gg["epsilon"] == pytest.approx(0.532845552798473, rel=1e-9)
    assert gg["df"] == pytest.approx(1.59853665839542, rel=1e-9)
    assert gg["df2"] == pytest.approx(11.1897566087679, rel=1e-9)
    assert gg["p"] == pytest.approx(0.0625841206869634, rel=1e-9)
    hf = rows.loc["rm_anova_hf"]
    assert hf["epsilon"] == pytest.approx(0.66576361409737, rel=1e-9)
    assert hf["df"] == pytest.approx(1.99729084229211, rel=1e-9)
    assert hf["df2"] == pytest.approx(13.9810358960448, rel=1e-9)
    assert hf["p"] == pytest.approx(0.0483306135519432, rel=1e-9)


def test_huynh_feldt_with_two_complete_animals_is_not_computed():
    # Two complete animals, three timepoints: one error df, so the Lecoutre HF epsilon
    # ((n + 1) p GG - 2) / (p (n - p GG)) has n - p GG = 1 - 2 x 0.5 = 0 (R's
    # stats:::sphericity prints Inf or a negative number). No corrected p may be printed
    # (min(1, NaN) used to give the uncorrected p labelled as corrected), no negative df.
    frame = _long({"K5": {"T0": [10, 12, 11], "T1": [30, 35, 33], "T2": [20, 28, 25]}})
    frame = frame[~((frame["animal"] == "K5-2") & (frame["timepoint"] == "T1"))]
    rows = stats.rm_anova(frame).set_index("test")
    assert rows.loc["rm_anova", "n"] == 2 and np.isfinite(rows.loc["rm_anova", "p"])
    hf = rows.loc["rm_anova_hf"]
    assert math.isnan(hf["epsilon"]) and math.isnan(hf["p"])
    assert math.isnan(hf["df"]) and math.isnan(hf["df2"])
    assert "not computed" in hf["note"] and "not computed" in hf["sentence"]
    assert "p = " not in hf["sentence"]
    # GG stays defined: with two animals the SSD has rank 1 and GG = 1 / (k - 1).
    gg = rows.loc["rm_anova_gg"]
    assert gg["epsilon"] == pytest.approx(0.5, rel=1e-9) and gg["df"] > 0
    everything = stats.study_statistics(frame, baseline="T0", control_group="K5")
    assert not (everything[["df", "df2"]] < 0).any().any()


def test_mauchly_reacttime_r_example():
    # R's example(SSD) reacttime data (Baron & Li; 10 subjects x 6 conditions) and
    # mauchly.test(mlmfit, X = ~1): W = 0.03108446, p = 0.04765187 (values asserted in the
    # tidystats package's test of mauchly.test). R adds a second-order term to the
    # chi-squared p (0.0382 without it, as SPSS reports), which is reproduced here.
    reacttime = np.array(
        [
            [420, 420, 480, 480, 600, 780],
            [420, 480, 480, 360, 480, 600],
            [480, 480, 540, 660, 780, 780],
            [420, 540, 540, 480, 780, 900],
            [540, 660, 540, 480, 660, 720],
            [360, 420, 360, 360, 480, 540],
            [480, 480, 600, 540, 720, 840],
            [480, 600, 660, 540, 720, 900],
            [540, 600, 540, 480, 720, 780],
            [480, 420, 540, 540, 660, 780],
        ]
    )
    result = stats.within_anova(reacttime)
    assert result.mauchly_w == pytest.approx(0.03108446, rel=1e-6)
    assert result.mauchly_p == pytest.approx(0.04765187, rel=1e-6)


def test_rm_anova_two_levels_kerlinger():
    # Kerlinger (1969) pp. 242-248, ten matched pairs, film + discussion vs film only;
    # R output (aov with Error) in the JASP verification project: F = 22.50 on 1 and 9 df.
    a1 = [8, 9, 5, 4, 2, 10, 3, 12, 6, 11]
    a2 = [6, 8, 3, 2, 1, 7, 1, 7, 6, 9]
    frame = _long({"pairs": {"T0": a1, "T1": a2}})
    rows = stats.rm_anova(frame).set_index("test")
    assert rows.loc["rm_anova", "statistic"] == pytest.approx(22.50, abs=5e-3)
    assert (rows.loc["rm_anova", "df"], rows.loc["rm_anova", "df2"]) == (1, 9)
    assert rows.loc["rm_anova_gg", "epsilon"] == pytest.approx(1.0)
    assert "sphericity holds by definition" in rows.loc["mauchly", "note"]


# --------------------------------------------------------------------- mixed ANOVA


def test_mixed_anova_ucla_demo1():
    # UCLA IDRE "Repeated Measures Analysis with R", demo1.csv (printed in full, e.g. on
    # commres.net r/repeated_measures_anova): 8 subjects, group 1 (ids 1-4) and 2 (5-8),
    # 3 times. summary(aov(pulse ~ group * time + Error(id))):
    # group F = 3721 on 1 and 6 df, p = 1.305e-09; time F = 1 on 2 and 12 df, p = 0.3966;
    # group:time F = 1, p = 0.3966.
    pulse = {
        "1": {"1": [10, 10, 10], "2": [10, 10, 10], "3": [10, 10, 10], "4": [10, 10, 10]},
        "2": {"5": [15, 15, 15], "6": [15, 15, 15], "7": [16, 15, 15], "8": [15, 15, 15]},
    }
    rows = []
    for group, animals in pulse.items():
        for animal, values in animals.items():
            for t, value in enumerate(values, start=1):
                rows.append((animal, group, f"t{t}", t, value))
    frame = pd.DataFrame(rows, columns=stats.INPUT_COLUMNS)
    result = stats.mixed_anova(frame, control_group="1")
    main = result[result["test"] == "mixed_anova"].set_index("a")
    assert main.loc["group", "statistic"] == pytest.approx(3721, rel=1e-4)
    assert (main.loc["group", "df"], main.loc["group", "df2"]) == (1, 6)
    assert main.loc["group", "p"] == pytest.approx(1.305e-09, rel=5e-4)
    assert main.loc["time", "statistic"] == pytest.approx(1.0, rel=1e-9)
    assert (main.loc["time", "df"], main.loc["time", "df2"]) == (2, 12)
    assert main.loc["time", "p"] == pytest.approx(0.3966, abs=5e-5)
    assert main.loc["group:time", "statistic"] == pytest.approx(1.0, rel=1e-9)
    assert main.loc["group:time", "p"] == pytest.approx(0.3966, abs=5e-5)
    assert set(result["test"]) >= {"mixed_anova_gg", "mixed_anova_hf", "mauchly"}


def test_mixed_anova_two_by_two_sourcebook():
    # C. Wendorf, Sourcebook, "R annotated output: mixed" (cwendorf.github.io): 8 subjects,
    # Factor Level1 = S1-S4, Level2 = S5-S8; Time1/Time2 scores as printed there.
    # summary(aov(Outcome ~ Factor * Time + Error(Subject/Time))):
    # Factor F = 2.885, p = 0.14; Time F = 7.5, p = 0.0338; Factor:Time F = 2.7, p = 0.1515
    time1 = [0, 0, 3, 5, 4, 7, 4, 9]
    time2 = [4, 7, 4, 9, 9, 6, 4, 9]
    rows = []
    for i, (x, y) in enumerate(zip(time1, time2, strict=True)):
        group = "Level1" if i < 4 else "Level2"
        rows += [(f"S{i + 1}", group, "Time1", 1, x), (f"S{i + 1}", group, "Time2", 2, y)]
    frame = pd.DataFrame(rows, columns=stats.INPUT_COLUMNS)
    main = stats.mixed_anova(frame).query("test == 'mixed_anova'").set_index("a")
    assert main.loc["group", "statistic"] == pytest.approx(2.885, abs=5e-4)
    assert main.loc["group", "p"] == pytest.approx(0.14, abs=5e-3)
    assert main.loc["time", "statistic"] == pytest.approx(7.5, abs=5e-2)
    assert main.loc["time", "p"] == pytest.approx(0.0338, abs=5e-5)
    assert main.loc["group:time", "statistic"] == pytest.approx(2.7, abs=5e-2)
    assert main.loc["group:time", "p"] == pytest.approx(0.1515, abs=5e-5)


# ---------------------------------------------------------------------- mixed model


def test_mixed_model_rows_match_lmertest_on_potdata():
    # lmerTest 3.2-0, tests/zlmerTest_zeroDenom.R (runehaubo/lmerTestR), win-builder
    # output: summary(lmer(biomass ~ CO2*nutrients + (1|chamber), data=potdata)) prints
    # CO2675  2.0000  1.3503  df 11.0163  t 1.481  p 0.166595, and anova(lmerout) gives the
    # CO2:nutrients interaction DenDF 10, Pr(>F) 0.020905569. Read as a study: chambers are
    # "animals", CO2 the group (control 350), nutrient level the timepoint (baseline 1).
    pot = pd.read_csv(Path(__file__).parent / "data" / "potdata.csv")
    frame = pd.DataFrame(
        {
            "animal": "chamber " + pot["chamber"].astype(str),
            "group": pot["CO2"].astype(str),
            "timepoint": "N" + pot["nutrients"].astype(str),
            "day": pot["nutrients"].astype(float),
            "value": pot["biomass"],
        }
    )
    rows = stats.mixed_model(frame, baseline="N1", control_group="350")
    between = rows[rows["group"].isna()]
    at_n1 = between[(between["timepoint"] == "N1") & (between["a"] == "675")].iloc[0]
    assert at_n1["b"] == "350" and at_n1["role"] == stats.ROLE_VS_CONTROL
    assert at_n1["statistic"] == pytest.approx(1.481, abs=5e-4)
    assert at_n1["df"] == pytest.approx(11.0163, abs=5e-5)
    assert at_n1["p"] == pytest.approx(0.166595, abs=5e-7)
    assert "difference = 2 (SE 1.35)" in at_n1["note"]
    interaction = between[between["a"] == "group:time"].iloc[0]
    assert (interaction["df"], interaction["df2"]) == (5, pytest.approx(10, rel=1e-5))
    assert interaction["p"] == pytest.approx(0.020905569, rel=1e-5)
    assert "t(11.0) = 1.48" in at_n1["sentence"]


def test_mixed_model_with_an_empty_cell_and_a_ceiling_fits_and_says_so():
    # K5 has no value at T2 (lme4: "dropping 1 column"), and every animal of both groups
    # sits at the 300 g cut-off at T3: the model fits, names the dropped cell, reports no
    # K5 vs control at T2, and the difference at the ceiling is 0 with p = 1.
    frame = _long(
        {
            "control": {
                "T0": [10.0, 12.1, 11.3, 13.9, 9.5],
                "T1": [11.2, 12.9, 13.5, 12.0, 10.1],
                "T2": [12.0, 11.5, 14.1, 13.0, 10.8],
                "T3": [300.0] * 5,
            },
            "K5": {
                "T0": [10.4, 11.8, 12.2, 10.9, 9.1],
                "T1": [60.0, 82.5, 70.2, 91.0, 65.0],
                "T3": [300.0] * 5,
            },
        },
        days={"T0": 0, "T1": 7, "T2": 14, "T3": 21},
    )
    rows = stats.mixed_model(frame, baseline="T0", control_group="control")
    between = rows[rows["group"].isna()]
    assert not between["sentence"].str.contains("could not be fitted").any()
    interaction = between[between["a"] == "group:time"].iloc[0]
    assert "no data for K5 at T2: that term was dropped (as lme4 does)" in interaction["note"]
    assert interaction["df"] == 2  # two estimable interaction terms (T1, T3), not three
    assert set(between.loc[between["a"] == "K5", "timepoint"]) == {"T0", "T1", "T3"}
    at_t3 = between[(between["a"] == "K5") & (between["timepoint"] == "T3")].iloc[0]
    assert at_t3["statistic"] == pytest.approx(0.0, abs=1e-9)
    assert at_t3["p"] == pytest.approx(1.0, abs=1e-9)
    assert at_t3["df"] > 0


# ----------------------------------------------------------------------------- AUC


def test_auc_trapezoid_by_hand():
    # Days 7, 14, 28 and values 10, 20, 40: 7 * (10 + 20) / 2 + 14 * (20 + 40) / 2 = 525.
    frame = _long({"g": {"T0": [10], "T1": [20], "T2": [40]}}, days={"T0": 7, "T1": 14, "T2": 28})
    aucs = stats.auc_per_animal(frame)
    assert aucs["auc"].tolist() == [525.0]
    assert aucs["complete"].tolist() == [True]


def test_auc_groups_compared_with_kruskal_on_the_aucs():
    # A check of the wiring: with two timepoints one day apart and equal values at both,
    # each animal's AUC is its value, so the AUC test must reproduce the R Kruskal-Wallis
    # result for those values (Hollander & Wolfe, 0.77143, p = 0.68).
    groups = {name: {"T0": v, "T1": v} for name, v in MUCOCILIARY.items()}
    frame = _long(groups, days={"T0": 0, "T1": 1})
    rows = stats.auc_tests(frame, control_group="normal")
    row = rows[rows["test"] == "auc_kruskal"].iloc[0]
    assert row["statistic"] == pytest.approx(0.77143, abs=5e-6)
    assert row["p"] == pytest.approx(0.68, abs=5e-3)
    assert "not run" in row["note"]  # not significant, so no post-hoc
    assert (rows["test"] == "auc_nemenyi_kruskal").sum() == 0


# --------------------------------------------------------------------------- helpers


def _long(groups, days=None):
    """{group: {timepoint: [values per animal]}} -> the tidy input frame."""
    rows = []
    for group, by_tp in groups.items():
        for t_index, (tp, values) in enumerate(by_tp.items()):
            day = days[tp] if days else 7 * (t_index + 1)
            for i, value in enumerate(values):
                rows.append((f"{group}-{i}", group, tp, day, float(value)))
    return pd.DataFrame(rows, columns=stats.INPUT_COLUMNS)
