"""analysis.emm against emmeans' and lmerTest's printed output.

The multiplicity adjustments are checked on the t ratios and df emmeans printed (the
adjustment depends only on them, the family and the method); the model-based
comparisons end to end on lmerTest's potdata fit, whose summary was printed by R.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from analysis import emm

DATA = Path(__file__).parent / "data"


# ----------------------------------------------------------------- adjustments


@pytest.mark.parametrize(
    ("t", "df", "means", "expected"),
    [
        # emmeans vignette "comparisons" (inst/doc/comparisons.html, cran/emmeans):
        # pairs(emmeans(lm(log(conc) ~ source + factor(percent), pigs), "source")):
        # soy - skim t.ratio -2.442, df 23, p.value 0.0570 (tukey, family of 3).
        (-2.442, 23, 3, 0.0570),
        # vignette "interactions": emmeans(noise.lm, pairwise ~ size | type), Octel:
        # S - M t.ratio 0.378, df 24, p.value 0.9245.
        (0.378, 24, 3, 0.9245),
        # vignette "confidence-intervals": pairs(emmeans(lm(breaks ~ wool * tension,
        # warpbreaks), ~ tension | wool)): 3.986 -> 0.0007, 1.831 -> 0.1704,
        # 1.939 -> 0.1389, -0.108 -> 0.9936 (df 48).
        (3.986, 48, 3, 0.0007),
        (1.831, 48, 3, 0.1704),
        (1.939, 48, 3, 0.1389),
        (-0.108, 48, 3, 0.9936),
    ],
)
def test_tukey_matches_emmeans(t, df, means, expected):
    p = emm.adjusted_p(t, df, adjust="tukey", tests=3, means=means)
    assert p == pytest.approx(expected, abs=1.5e-4)


@pytest.mark.parametrize(
    ("t", "expected"),
    # emmeans vignette "messy-data" (inst/doc/messy-data.html): FoodStamps - NoAid by
    # race, df 92, "P value adjustment: sidak method for 3 tests".
    [(3.237, 0.0050), (-0.382, 0.9739), (3.666, 0.0012)],
)
def test_sidak_matches_emmeans(t, expected):
    assert emm.adjusted_p(t, 92, adjust="sidak", tests=3) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("t", "expected"),
    # emmeans man/emmc-functions.Rd example (cran/emmeans), as printed on its reference
    # page: contrast(emmeans(lm(breaks ~ wool*tension, warpbreaks), ~ tension | wool),
    # "trt.vs.ctrl", ref = "M"), df 48, "P value adjustment: dunnettx method for 2 tests".
    [(3.986, 0.0005), (0.108, 0.9863), (-0.108, 0.9863), (-1.939, 0.1077)],
)
def test_dunnettx_matches_emmeans(t, expected):
    p = emm.adjusted_p(t, 48, adjust="dunnettx", tests=2)
    assert p == pytest.approx(expected, abs=1e-4)


def test_dunnettx_interval_matches_emmeans_confint():
    # confint of emmeans(lm(weight ~ group, PlantGrowth), trt.vs.ctrl ~ group): trt1 - ctrl
    # -0.371, SE 0.2787816, df 27, lower.CL -1.0252967, upper.CL 0.2832967,
    # "Conf-level adjustment: dunnettx method for 2 estimates" (printed by an R package's
    # example of emmeans output; the half-width is 0.6542967 = 2.3470 x SE).
    cv = emm.critical_value(27, adjust="dunnettx", tests=2)
    # .qdunnx stops its root search at a tolerance of 0.0005.
    assert cv * 0.2787816 == pytest.approx(0.6542967, abs=0.0005 * 0.2787816)


def test_one_test_in_a_family_is_not_adjusted():
    # .adj.p.value: "Force no adjustment when just one test".
    raw = 2 * scipy_stats.t.sf(2.1, 10)
    for method in ("sidak", "tukey", "dunnettx"):
        assert emm.adjusted_p(2.1, 10, adjust=method, tests=1, means=2) == pytest.approx(raw)


# ------------------------------------------------------------------ comparisons


def potdata_frame() -> pd.DataFrame:
    """lmerTest's potdata read as a study: chambers as animals, CO2 as the group
    (control 350 ppm), nutrient level as the timepoint (baseline N1)."""
    pot = pd.read_csv(DATA / "potdata.csv")
    return pd.DataFrame(
        {
            "animal": "chamber " + pot["chamber"].astype(str),
            "group": pot["CO2"].astype(str),
            "timepoint": "N" + pot["nutrients"].astype(str),
            "day": pot["nutrients"].astype(float),
            "value": pot["biomass"],
        }
    )


def test_vs_control_matches_lmertest_on_potdata():
    # lmerTest 3.2-0 (tests/zlmerTest_zeroDenom.R, win-builder output):
    # summary(lmer(biomass ~ CO2*nutrients + (1|chamber), potdata)): CO2675 2.0000 SE
    # 1.3503 df 11.0163 t 1.481 p 0.166595. With CO2 the first factor and N1 the
    # reference, that is emmeans' 675 - 350 at N1; one test per timepoint: no adjustment.
    rows = emm.emm_comparisons(
        potdata_frame(), family="vs_control", control_group="350", baseline="N1"
    )
    assert len(rows) == 6 and {r.timepoint for r in rows} == {f"N{k}" for k in range(1, 7)}
    n1 = next(r for r in rows if r.timepoint == "N1")
    assert (n1.group, n1.a, n1.b, n1.adjust) == ("", "675", "350", "none")
    assert n1.estimate == pytest.approx(2.0, abs=5e-5)
    assert n1.se == pytest.approx(1.3503, abs=5e-5)
    assert n1.df == pytest.approx(11.0163, abs=5e-5)
    assert n1.statistic == pytest.approx(1.481, abs=5e-4)
    assert n1.p == pytest.approx(0.166595, abs=5e-7) and n1.p_adj == n1.p
    half = scipy_stats.t.ppf(0.975, 11.0163) * 1.3503
    assert (n1.ci_low, n1.ci_high) == (
        pytest.approx(2.0 - half, abs=1e-3),
        pytest.approx(2.0 + half, abs=1e-3),
    )


def test_vs_baseline_is_sidak_over_the_timepoints_of_a_group():
    # Same printout: nutrients2 7.3500 SE 1.2568 df 10.0000 t 5.848 p 0.000162 is
    # N2 - N1 within the control (350). Five timepoints vs N1 in that group: Sidak with
    # 5 tests, 1 - (1 - p)^5.
    rows = emm.emm_comparisons(
        potdata_frame(), family="vs_baseline", control_group="350", baseline="N1"
    )
    in_350 = [r for r in rows if r.group == "350"]
    assert [r.a for r in in_350] == ["N2", "N3", "N4", "N5", "N6"]
    n2 = in_350[0]
    assert (n2.b, n2.timepoint, n2.adjust) == ("N1", "", "sidak")
    assert n2.estimate == pytest.approx(7.35, abs=5e-5)
    assert n2.se == pytest.approx(1.2568, abs=5e-5)
    assert n2.df == pytest.approx(10.0, abs=5e-5)
    assert n2.p == pytest.approx(0.000162, abs=5e-7)
    assert n2.p_adj == pytest.approx(1 - (1 - n2.p) ** 5, rel=1e-12)
    assert n2.p_adj == pytest.approx(1 - (1 - 0.000162) ** 5, rel=5e-3)
    cv = -scipy_stats.t.ppf((1 - 0.95 ** (1 / 5)) / 2, n2.df)
    assert n2.ci_low == pytest.approx(n2.estimate - cv * n2.se, rel=1e-12)


def _study(cells):
    """{(group, timepoint): [values per animal, None for missing]} -> tidy frame."""
    days = {"T0": 0.0, "T1": 7.0, "T2": 14.0}
    rows = []
    for (group, tp), values in cells.items():
        for i, value in enumerate(values):
            rows.append((f"{group}-{i}", group, tp, days[tp], value))
    return pd.DataFrame(rows, columns=["animal", "group", "timepoint", "day", "value"])


CELLS = {
    ("ctrl", "T0"): [10.0, 12.1, 11.3, 13.9, 9.5],
    ("ctrl", "T1"): [11.2, 12.9, 13.5, 12.0, 10.1],
    ("ctrl", "T2"): [300.0] * 5,
    ("K5", "T0"): [10.4, 11.8, 12.2, 10.9, 9.1],
    ("K5", "T1"): [60.0, 82.5, 70.2, 91.0, 65.0],
    ("K5", "T2"): [300.0] * 5,
    ("K10", "T0"): [11.0, 10.2, 12.8, 9.9, 10.7],
    ("K10", "T1"): [160.0, 220.5, 140.2, 300.0, 181.0],
    ("K10", "T2"): [None] * 5,  # no K10 data at T2
}


def test_empty_cell_is_left_out_and_the_family_shrinks_as_emmeans_adapts():
    rows = emm.emm_comparisons(
        _study(CELLS), family="vs_control", control_group="ctrl", baseline="T0"
    )
    by_tp = {tp: [r for r in rows if r.timepoint == tp] for tp in ("T0", "T1", "T2")}
    assert [r.a for r in by_tp["T1"]] == ["K5", "K10"]
    assert all(r.adjust == "dunnettx" for r in by_tp["T1"])
    # At T2 only K5 vs ctrl can be estimated: one test, so its p is not adjusted.
    assert [r.a for r in by_tp["T2"]] == ["K5"]
    k5_t2 = by_tp["T2"][0]
    # Every animal at the 300 g cut-off at T2 in both groups: the difference is 0.
    assert k5_t2.estimate == pytest.approx(0.0, abs=1e-9)
    assert k5_t2.p_adj == pytest.approx(1.0, abs=1e-9)
    k10_t1 = by_tp["T1"][1]
    assert k10_t1.p_adj == pytest.approx(
        emm.adjusted_p(k10_t1.statistic, k10_t1.df, adjust="dunnettx", tests=2), rel=1e-12
    )
    assert k10_t1.p_adj >= k10_t1.p and k10_t1.ci_low > 0


def test_all_pairs_use_tukey_within_each_timepoint_and_each_group():
    rows = emm.emm_comparisons(_study(CELLS), family="all", control_group="ctrl", baseline="T0")
    at_t1 = [r for r in rows if r.timepoint == "T1"]
    assert [(r.a, r.b) for r in at_t1] == [("ctrl", "K5"), ("ctrl", "K10"), ("K5", "K10")]
    # emmeans writes pairs as earlier level minus later level.
    assert at_t1[0].estimate < 0
    # An empty cell somewhere: emmeans' adaptive rule sizes each Tukey family from its
    # estimable pairs, (1 + sqrt(1 + 8 k)) / 2 means for k pairs (3 pairs -> 3 means).
    first = at_t1[0]
    assert first.adjust == "tukey"
    assert first.p_adj == pytest.approx(
        emm.adjusted_p(first.statistic, first.df, adjust="tukey", tests=3, means=3.0)
    )
    k10 = [r for r in rows if r.group == "K10"]
    assert [(r.a, r.b) for r in k10] == [("T0", "T1")] and k10[0].adjust == "none"


def test_chosen_pairs_are_sidak_within_each_group():
    rows = emm.emm_comparisons(
        _study(CELLS),
        family="pairs",
        control_group="ctrl",
        baseline="T0",
        pairs=[("T2", "T1"), ("T1", "T0")],
    )
    ctrl = [r for r in rows if r.group == "ctrl"]
    assert [(r.a, r.b, r.adjust) for r in ctrl] == [("T2", "T1", "sidak"), ("T1", "T0", "sidak")]
    assert ctrl[0].estimate == pytest.approx(300.0 - np.mean(CELLS[("ctrl", "T1")]), abs=1e-9)
    assert ctrl[1].p_adj == pytest.approx(1 - (1 - ctrl[1].p) ** 2, rel=1e-12)


def test_hostile_labels_give_the_numbers_of_plain_ones():
    plain = _study(CELLS)
    names = {"ctrl": "ctrl\\ 'x'", "K5": 'K5" OR 1=1', "K10": "C(K10)"}
    tps = {"T0": "T0\\", "T1": "T1 + 1", "T2": "Q('T2')"}
    hostile = plain.assign(group=plain["group"].map(names), timepoint=plain["timepoint"].map(tps))
    a = emm.emm_comparisons(plain, family="vs_baseline", control_group="ctrl", baseline="T0")
    b = emm.emm_comparisons(
        hostile, family="vs_baseline", control_group=names["ctrl"], baseline="T0\\"
    )
    assert [(r.group, r.a) for r in b] == [(names[r.group], tps[r.a]) for r in a]
    np.testing.assert_allclose([r.p_adj for r in b], [r.p_adj for r in a], rtol=1e-10)


def test_bad_requests_get_a_message():
    frame = _study(CELLS)
    with pytest.raises(ValueError, match="family must be one of"):
        emm.emm_comparisons(frame, family="everything", control_group="ctrl", baseline="T0")
    with pytest.raises(ValueError, match="control group"):
        emm.emm_comparisons(frame, family="vs_control", control_group="nope", baseline="T0")
    with pytest.raises(ValueError, match="baseline"):
        emm.emm_comparisons(frame, family="vs_control", control_group="ctrl", baseline="T9")
    with pytest.raises(ValueError, match="timepoint without data"):
        emm.emm_comparisons(
            frame, family="pairs", control_group="ctrl", baseline="T0", pairs=[("T1", "T7")]
        )
    assert math.isnan(emm.adjusted_p(math.nan, 5, adjust="sidak", tests=3))


@pytest.mark.parametrize(
    ("means", "df", "q"),
    [
        # Upper 5 % points of the studentized range, R's qtukey(0.95, means, df), as printed
        # in the standard table (Harter 1960; e.g. Zar, Biostatistical Analysis, Table B.5):
        # q(0.05; 3, 10) = 3.877, q(0.05; 4, 20) = 3.958, q(0.05; 5, 60) = 3.977.
        (3, 10, 3.877),
        (4, 20, 3.958),
        (5, 60, 3.977),
    ],
)
def test_tukey_interval_multiplier_is_the_studentized_range_quantile(means, df, q):
    # emmeans' .adj.critval for "tukey" is qtukey(level, means, df) / sqrt(2).
    cv = emm.critical_value(df, adjust="tukey", tests=means * (means - 1) // 2, means=means)
    assert cv * math.sqrt(2) == pytest.approx(q, abs=6e-4)
