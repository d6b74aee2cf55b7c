"""analysis.lmm against lme4 and lmerTest output.

Reference numbers are R's printed output, cited next to each case; the data files and
where they come from are listed in tests/analysis/data/README.md. Where R's printout
is not available (missing values, an empty cell, a ceiling), the test checks a property
lme4 guarantees (the REML optimum, the GLS estimates, the dropped column) against a
direct dense computation from the textbook formulas, not against the per-animal
shortcuts the module uses.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import lmm

DATA = Path(__file__).parent / "data"


def sleepstudy() -> pd.DataFrame:
    return pd.read_csv(DATA / "sleepstudy.csv")


def fit_sleep(frame: pd.DataFrame) -> lmm.LmmFit:
    X = np.column_stack([np.ones(len(frame)), frame["Days"]])
    return lmm.fit_lmm(frame["Reaction"], X, frame["Subject"], ["(Intercept)", "Days"])


def potdata_fit() -> lmm.LmmFit:
    pot = pd.read_csv(DATA / "potdata.csv")
    X, names = lmm.treatment_design(
        {"CO2": pot["CO2"], "nutrients": pot["nutrients"]},
        {"CO2": ["350", "675"], "nutrients": ["1", "2", "3", "4", "5", "6"]},
    )
    return lmm.fit_lmm(pot["biomass"], X, pot["chamber"], names)


def dense_reml(y, X, subjects, theta):
    """lme4's profiled REML criterion from the dense n x n covariance (Bates et al. 2015,
    JSS 67(1), eq. 41), no per-subject shortcut: log|V0| + log|X'V0^-1X| +
    (n - p)(1 + log(2 pi r'V0^-1 r / (n - p))), V0 = I + theta^2 Z Z'."""
    y = np.asarray(y, float)
    Z = (np.asarray(subjects)[:, None] == np.unique(subjects)[None, :]).astype(float)
    V0 = np.eye(len(y)) + theta**2 * Z @ Z.T
    Vi = np.linalg.inv(V0)
    W = X.T @ Vi @ X
    beta = np.linalg.solve(W, X.T @ Vi @ y)
    r = y - X @ beta
    dof = len(y) - X.shape[1]
    crit = np.linalg.slogdet(V0)[1] + np.linalg.slogdet(W)[1]
    return crit + dof * (1 + math.log(2 * math.pi * (r @ Vi @ r) / dof)), beta, W


# ------------------------------------------------------------------ lme4 printouts


def test_sleepstudy_random_intercept_matches_lme4_summary():
    # lme4 1.1: summary(lmer(Reaction ~ Days + (1 | Subject), sleepstudy)) prints
    #   REML criterion at convergence: 1786.5
    #   Subject (Intercept) Variance 1378.2 Std.Dev. 37.12; Residual 960.5, 30.99
    #   (Intercept) 251.4051  9.7467  25.79;  Days 10.4673  0.8042  13.02
    # (the same block is reproduced verbatim in gamm4's and many course notes' output).
    # VarCorr to more digits: 1378.1785 and 960.4566 (B. Bolker, Stack Overflow,
    # "Extract random effect variances from lme4 mer model object").
    fit = fit_sleep(sleepstudy())
    assert fit.reml_criterion == pytest.approx(1786.5, abs=0.05)
    assert fit.group_variance == pytest.approx(1378.1785, abs=5e-4)
    assert fit.residual_variance == pytest.approx(960.4566, abs=5e-4)
    assert fit.coef("(Intercept)") == pytest.approx(251.4051, abs=5e-5)
    assert fit.coef("Days") == pytest.approx(10.4673, abs=5e-5)
    assert fit.se("(Intercept)") == pytest.approx(9.7467, abs=5e-5)
    assert fit.se("Days") == pytest.approx(0.8042, abs=5e-5)
    days = fit.contrast(fit.vector({"Days": 1}))
    assert days.t == pytest.approx(13.02, abs=5e-3)
    # lmerTest's summary of the same fit ("t-tests use Satterthwaite's method") adds the
    # df column: (Intercept) 22.8102, Days 161.0000 (the block is printed verbatim in
    # several public course notes, found through the GitHub code index). 161 is also the
    # classical within-subject df of this balanced design, 180 - 18 - 1.
    intercept = fit.contrast(fit.vector({"(Intercept)": 1}))
    assert intercept.df == pytest.approx(22.8102, abs=5e-5)
    assert days.df == pytest.approx(161.0, abs=5e-5)
    assert days.method == "Satterthwaite"
    assert not fit.singular and fit.dropped == []


def test_potdata_factor_by_factor_matches_lmertest_summary():
    # lmerTest 3.2-0, tests/zlmerTest_zeroDenom.R (runehaubo/lmerTestR), as run on
    # win-builder (zlmerTest_zeroDenom.Rout, R-devel 2026-01-12):
    #   summary(lmer(biomass ~ CO2*nutrients + (1|chamber), data=potdata))
    #   REML criterion at convergence: 49.2
    #   chamber (Intercept) 0.2437 0.4936; Residual 1.5797 1.2568
    #   Estimate Std. Error df t value Pr(>|t|)
    printed = {
        "(Intercept)": (12.8500, 0.9548, 11.0163, 13.458, 3.49e-08),
        "CO2675": (2.0000, 1.3503, 11.0163, 1.481, 0.166595),
        "nutrients2": (7.3500, 1.2568, 10.0000, 5.848, 0.000162),
        "nutrients3": (10.4500, 1.2568, 10.0000, 8.314, 8.39e-06),
        "nutrients4": (18.6500, 1.2568, 10.0000, 14.839, 3.88e-08),
        "nutrients5": (25.0500, 1.2568, 10.0000, 19.931, 2.22e-09),
        "nutrients6": (29.0000, 1.2568, 10.0000, 23.074, 5.28e-10),
        "CO2675:nutrients2": (-0.5000, 1.7775, 10.0000, -0.281, 0.784214),
    }
    fit = potdata_fit()
    assert fit.reml_criterion == pytest.approx(49.2, abs=0.05)
    assert fit.group_variance == pytest.approx(0.2437, abs=5e-5)
    assert fit.residual_variance == pytest.approx(1.5797, abs=5e-5)
    for name, (estimate, se, df, t, p) in printed.items():
        c = fit.contrast(fit.vector({name: 1}))
        assert c.estimate == pytest.approx(estimate, abs=5e-5), name
        assert c.se == pytest.approx(se, abs=5e-5), name
        assert c.df == pytest.approx(df, abs=5e-5), name
        assert c.t == pytest.approx(t, abs=5e-4), name
        assert c.p == pytest.approx(p, rel=5e-3), name


def test_potdata_f_tests_match_lmertest_anova():
    # Same file: an.sat <- anova(lmerout) (type III, Satterthwaite);
    # stopifnot(all.equal(an.sat[,"DenDF"], c(2, 10, 10), tolerance=1e-5)) and
    # all.equal(an.sat[,"Pr(>F)"], c(0.0224955602, 1e-11, 0.020905569), tolerance=1e-5).
    # Type III in a balanced 2 x 6 design: CO2 averaged over the nutrient levels, and
    # the five interaction columns.
    fit = potdata_fit()
    co2 = np.zeros((1, 12))
    co2[0, fit.names.index("CO2675")] = 1
    for k in range(2, 7):
        co2[0, fit.names.index(f"CO2675:nutrients{k}")] = 1 / 6
    interaction = np.array(
        [fit.vector({f"CO2675:nutrients{k}": 1}) for k in range(2, 7)], dtype=float
    )
    f_co2 = fit.ftest(co2)
    f_int = fit.ftest(interaction)
    assert (f_co2.ndf, f_int.ndf) == (1, 5)
    assert f_co2.ddf == pytest.approx(2, rel=1e-5)
    assert f_int.ddf == pytest.approx(10, rel=1e-5)
    assert f_co2.p == pytest.approx(0.0224955602, rel=1e-5)
    assert f_int.p == pytest.approx(0.020905569, rel=1e-5)


# ---------------------------------------------------- what lme4 guarantees, checked


def test_missing_values_give_lme4s_gls_and_vcov_at_the_reml_optimum():
    frame = sleepstudy()
    rng = np.random.default_rng(7)
    frame = frame.drop(index=rng.choice(frame.index, size=31, replace=False))
    fit = fit_sleep(frame)
    X = np.column_stack([np.ones(len(frame)), frame["Days"]])
    subjects = frame["Subject"].to_numpy()
    crit, beta, W = dense_reml(frame["Reaction"], X, subjects, fit.theta)
    assert fit.reml_criterion == pytest.approx(crit, abs=1e-8)
    np.testing.assert_allclose(fit.beta, beta, rtol=1e-10)
    # lme4's vcov(): sigma^2 (X'V0^-1 X)^-1, not the inverse of a joint Hessian.
    np.testing.assert_allclose(fit.vcov, fit.sigma**2 * np.linalg.inv(W), rtol=1e-9)
    # No theta on a fine grid has a lower REML criterion (lme4's optimum is global here).
    grid = np.linspace(0, 4, 401)
    assert min(dense_reml(frame["Reaction"], X, subjects, t)[0] for t in grid) >= crit - 1e-9


def test_satterthwaite_df_with_missing_values_from_finite_differences():
    # lmerTest's recipe (pkg_notes/Satterthwaite_for_LMMs): df = 2 f^2 / (f' A f') with
    # f = L' vcov(beta) L, A = 2 H^-1 of the REML deviance in (theta, sigma).
    # Here f' comes from central differences of the dense vcov, not the module's formula.
    frame = sleepstudy().iloc[::3].reset_index(drop=True)  # 60 rows, unbalanced days
    fit = fit_sleep(frame)
    X = np.column_stack([np.ones(len(frame)), frame["Days"]])
    subjects = frame["Subject"].to_numpy()
    L = np.array([1.0, 4.5])

    def f(theta, sigma):
        W = dense_reml(frame["Reaction"], X, subjects, theta)[2]
        return L @ (sigma**2 * np.linalg.inv(W)) @ L

    h = 1e-5
    grad = np.array(
        [
            (f(fit.theta + h, fit.sigma) - f(fit.theta - h, fit.sigma)) / (2 * h),
            (f(fit.theta, fit.sigma + h) - f(fit.theta, fit.sigma - h)) / (2 * h),
        ]
    )
    expected = 2 * f(fit.theta, fit.sigma) ** 2 / (grad @ fit.vcov_varpar @ grad)
    assert fit.contrast(L).df == pytest.approx(expected, rel=1e-6)


def _two_groups(values_by_cell):
    """{(group, timepoint): [values per animal]} -> y, X, subjects, names."""
    rows = []
    for (group, tp), values in values_by_cell.items():
        for i, value in enumerate(values):
            if value is not None:
                rows.append((f"{group}{i}", group, tp, float(value)))
    frame = pd.DataFrame(rows, columns=["animal", "group", "timepoint", "value"])
    X, names = lmm.treatment_design(
        {"group": frame["group"], "timepoint": frame["timepoint"]},
        {"group": ["C", "K"], "timepoint": ["T0", "T1", "T2"]},
    )
    return frame, X, names


def test_empty_group_by_timepoint_cell_is_dropped_as_lme4_does():
    # K has no value at T2: the column groupK:timepointT2 is all zero, and lme4 says
    # "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient".
    cells = {
        ("C", "T0"): [10, 12, 11, 13],
        ("C", "T1"): [11, 12, 13, 12],
        ("C", "T2"): [12, 14, 12, 15],
        ("K", "T0"): [10, 11, 12, 10],
        ("K", "T1"): [30, 35, 31, 29],
        ("K", "T2"): [None] * 4,
    }
    frame, X, names = _two_groups(cells)
    fit = lmm.fit_lmm(frame["value"], X, frame["animal"], names)
    assert fit.dropped == ["groupK:timepointT2"]
    assert "groupK:timepointT2" not in fit.names
    # Every K animal is complete on T0 and T1, every C animal on all three: the GLS
    # estimate of K at T1 vs C at T1 is then the difference of cell means.
    k_vs_c_t1 = fit.contrast(fit.vector({"groupK": 1, "groupK:timepointT1": 1}))
    assert k_vs_c_t1.estimate == pytest.approx(31.25 - 12.0, abs=1e-9)
    assert k_vs_c_t1.df > 0 and 0 <= k_vs_c_t1.p < 0.001


def test_group_without_baseline_drops_the_later_aliased_column_as_linpack_qr():
    # K has no value at T0: groupK = groupK:timepointT1 + groupK:timepointT2, and R's
    # LINPACK qr (lme4's chkRank.drop.cols) drops the later column, T2's interaction.
    # K vs C at T1 stays estimable (and is the difference of cell means, every animal
    # having every cell of its group); K vs C at T0 is not.
    cells = {
        ("C", "T0"): [10, 12, 11, 13],
        ("C", "T1"): [11, 12, 13, 12],
        ("C", "T2"): [12, 14, 12, 15],
        ("K", "T0"): [None] * 4,
        ("K", "T1"): [30, 35, 31, 29],
        ("K", "T2"): [40, 41, 38, 44],
    }
    frame, X, names = _two_groups(cells)
    fit = lmm.fit_lmm(frame["value"], X, frame["animal"], names)
    assert fit.dropped == ["groupK:timepointT2"]
    at_t1 = {"groupK": 1, "groupK:timepointT1": 1}
    assert fit.estimable(at_t1) and not fit.estimable({"groupK": 1})
    assert fit.contrast(fit.vector(at_t1)).estimate == pytest.approx(31.25 - 12.0, abs=1e-9)
    assert lmm.keep_full_rank(X) == [names.index(n) for n in fit.names]


def test_ceiling_timepoint_gives_a_difference_of_zero():
    # Every animal of both groups at the 300 g cut-off at T2 (the case that printed
    # -3.2 g with statsmodels): with complete data GLS = cell means, so 0 exactly.
    cells = {
        ("C", "T0"): [10.0, 12.1, 11.3, 13.9, 9.5],
        ("C", "T1"): [11.2, 12.9, 13.5, 12.0, 10.1],
        ("C", "T2"): [300.0] * 5,
        ("K", "T0"): [10.4, 11.8, 12.2, 10.9, 9.1],
        ("K", "T1"): [160.0, 220.5, 140.2, 300.0, 181.0],
        ("K", "T2"): [300.0] * 5,
    }
    frame, X, names = _two_groups(cells)
    fit = lmm.fit_lmm(frame["value"], X, frame["animal"], names)
    at_t2 = fit.contrast(fit.vector({"groupK": 1, "groupK:timepointT2": 1}))
    assert at_t2.estimate == pytest.approx(0.0, abs=1e-9)
    assert at_t2.p == pytest.approx(1.0, abs=1e-9)
    y = frame["value"].to_numpy()
    crit = dense_reml(y, X, frame["animal"].to_numpy(), fit.theta)[0]
    assert fit.reml_criterion == pytest.approx(crit, abs=1e-8)
    grid = np.concatenate([np.linspace(0, 3, 301), np.geomspace(3, 300, 50)])
    assert min(dense_reml(y, X, frame["animal"].to_numpy(), t)[0] for t in grid) >= crit - 1e-9


def test_boundary_fit_when_animals_do_not_differ_is_lme4s_singular_fit():
    # Values built so the animal means vary less than the residuals imply: the REML
    # optimum is at sigma_b = 0 (lme4: "boundary (singular) fit"), and then the fixed
    # effects are the OLS estimates.
    rng = np.random.default_rng(3)
    days = np.tile(np.arange(5.0), 8)
    subjects = np.repeat(np.arange(8), 5)
    noise = rng.normal(size=40)
    noise -= np.repeat(noise.reshape(8, 5).mean(axis=1), 5)  # every animal mean 0
    y = 50 + 2 * days + noise
    X = np.column_stack([np.ones(40), days])
    fit = lmm.fit_lmm(y, X, subjects, ["(Intercept)", "Days"])
    assert fit.singular and fit.theta == 0.0
    np.testing.assert_allclose(fit.beta, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert min(dense_reml(y, X, subjects, t)[0] for t in np.linspace(0, 2, 201)) >= (
        fit.reml_criterion - 1e-9
    )


def test_design_columns_are_named_and_ordered_as_model_matrix():
    # model.matrix(~ a * b) with a in (x, y, z), b in (p, q): R's column order.
    X, names = lmm.treatment_design(
        {"a": ["x", "y", "z", "y"], "b": ["p", "q", "q", "p"]},
        {"a": ["x", "y", "z"], "b": ["p", "q"]},
    )
    assert names == ["(Intercept)", "ay", "az", "bq", "ay:bq", "az:bq"]
    np.testing.assert_array_equal(X[2], [1, 0, 1, 1, 0, 1])


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="finite"):
        lmm.fit_lmm([1.0, math.nan], np.ones((2, 1)), ["a", "b"], ["(Intercept)"])
    with pytest.raises(ValueError, match="one row per value"):
        lmm.fit_lmm([1.0, 2.0], np.ones((3, 1)), ["a", "b"], ["(Intercept)"])
    with pytest.raises(ValueError, match="level not in its list"):
        lmm.treatment_design({"a": ["x", "w"]}, {"a": ["x", "y"]})
