"""The planning engine (analysis.planning) against outside references.

Closed forms: statsmodels 0.15 `TTestIndPower` / `FTestAnovaPower` and Cohen J (1992) "A
power primer", Psychol Bull 112(1):155-159, Table 2 (n per group for power .80 at
alpha .05 two-tailed: two-sample t, d = 0.8 -> 26, d = 0.5 -> 64; one-way ANOVA with
3 groups, f = 0.40 -> 21, f = 0.25 -> 52). The rank tests are checked against the
dashboard's own tests (analysis.stats, themselves checked against R/PMCMRplus), one
simulated study at a time.
"""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import FTestAnovaPower, TTestIndPower

from analysis import planning as P

STOELTING_G = (0.008, 0.02, 0.04, 0.07, 0.16, 0.4, 0.6, 1.0, 1.4, 2.0, 4.0, 6.0, 8.0, 10.0,
               15.0, 26.0, 60.0, 100.0, 180.0, 300.0)  # fmt: skip


def test_number_of_simulations_keeps_the_interval_within_two_points():
    assert P.N_SIMS == 2401
    low, high = P.power_interval(0.5, P.N_SIMS)
    assert high - 0.5 <= 0.02 and 0.5 - low <= 0.02


@pytest.mark.parametrize(("d", "cohen_n"), [(0.8, 26), (0.5, 64)])
def test_simulated_t_test_power_agrees_with_statsmodels_and_cohen(d, cohen_n):
    # Cohen 1992 Table 2, "1. Mean dif": d = .80 -> 26, d = .50 -> 64 per group.
    closed = TTestIndPower()
    assert math.ceil(closed.solve_power(effect_size=d, alpha=0.05, power=0.8)) == cohen_n
    scenario = P.Scenario(P.BETWEEN, (0.0, d), sd_g=1.0)
    expected = closed.power(effect_size=d, nobs1=cohen_n, alpha=0.05)
    _agrees(
        lambda seed: P.simulate_power(scenario, P.T_TEST, cohen_n, alpha=0.05, seed=seed), expected
    )


def _agrees(simulate, expected: float) -> None:
    """A 95 % interval misses the truth one time in twenty: of three seeds, at least two
    intervals hold the closed form and none is off by more than 3 standard errors."""
    results = [simulate(seed) for seed in (1, 2, 3)]
    inside = [r.low <= expected <= r.high for r in results]
    assert sum(inside) >= 2, (expected, results)
    for r in results:
        assert r.high - r.low <= 0.04
        assert abs(r.power - expected) <= 3 * (r.high - r.low) / (2 * 1.96)


def test_simulated_anova_power_agrees_with_statsmodels_and_cohen():
    # Cohen 1992 Table 2, "7. ANOVA", 3 groups, large f = .40 -> 21 per group.
    means = (-0.4 * math.sqrt(1.5), 0.0, 0.4 * math.sqrt(1.5))
    assert float(np.std(means)) == pytest.approx(0.40)
    closed = FTestAnovaPower()
    # Cohen prints 21; the exact noncentral F gives 21.1 per group.
    n_total = closed.solve_power(effect_size=0.4, alpha=0.05, power=0.8, k_groups=3)
    assert n_total / 3 == pytest.approx(21, abs=0.5)
    scenario = P.Scenario(P.BETWEEN, means, sd_g=1.0)
    expected = closed.power(effect_size=0.4, nobs=63, alpha=0.05, k_groups=3)
    _agrees(lambda seed: P.simulate_power(scenario, P.ANOVA, 21, alpha=0.05, seed=seed), expected)


def test_plan_finds_cohens_n_for_a_t_test_within_the_simulation_noise():
    scenario = P.Scenario(P.BETWEEN, (0.0, 0.8), sd_g=1.0)
    settings = P.PlanSettings("T3", 0.8, "g", alpha=0.05, power=0.8, loss=0.0, seed=11)
    result = P.plan(scenario, P.T_TEST, settings)
    # ±2 points of power around 0.80 is about ±2 animals at d = 0.8 (power slope ~1.3 %/n).
    assert abs(result.n_per_group - 26) <= 2
    assert result.closed_forms[0].n == 26


@pytest.mark.parametrize("analysis", [P.KW_NEMENYI, P.KW_DUNN, P.KW_DUNN_VS_CONTROL])
def test_vectorised_rank_tests_decide_as_the_dashboards_tests(analysis):
    # Target-force data: rounded up to the filament set and held at 300 g, so with ties.
    scenario = P.Scenario(
        P.BETWEEN, (15.0, 60.0, 40.0), sd_g=40.0, floor_g=0.008, cutoff_g=300.0,
        filaments_g=STOELTING_G,
    )  # fmt: skip
    data = P.simulate_datasets(scenario, 6, 60, np.random.default_rng(3))
    assert len(np.unique(data)) < data.size / 10  # heavily tied, like real target forces
    fast = P.decide(data, scenario, analysis, 0.05)
    slow = np.array([P.decide_one(d, scenario, analysis, 0.05) for d in data])
    assert 0.1 < fast.mean() < 0.9
    np.testing.assert_array_equal(fast, slow)


def test_two_groups_use_mann_whitney_as_the_dashboard():
    scenario = P.Scenario(P.BETWEEN, (10.0, 14.0), sd_g=3.0)
    data = P.simulate_datasets(scenario, 7, 200, np.random.default_rng(4))
    fast = P.decide(data, scenario, P.KW_NEMENYI, 0.05)
    slow = np.array([P.decide_one(d, scenario, P.KW_NEMENYI, 0.05) for d in data])
    np.testing.assert_array_equal(fast, slow)


def test_vectorised_friedman_demsar_decides_as_the_dashboards_tests():
    scenario = P.Scenario(
        P.WITHIN, (15.0, 15.0, 60.0, 15.0), between_sd_g=10.0, within_sd_g=20.0, target=2,
        reference=0, pairs=((2, 0), (1, 0), (3, 0)), floor_g=0.008, cutoff_g=300.0,
        filaments_g=STOELTING_G,
    )  # fmt: skip
    data = P.simulate_datasets(scenario, 8, 40, np.random.default_rng(5))
    fast = P.decide(data, scenario, P.FRIEDMAN_DEMSAR, 0.05)
    slow = np.array([P.decide_one(d, scenario, P.FRIEDMAN_DEMSAR, 0.05) for d in data])
    assert 0.1 < fast.mean() < 0.95
    np.testing.assert_array_equal(fast, slow)


def test_same_seed_same_answer_other_seed_other_draws():
    scenario = P.Scenario(P.BETWEEN, (15.0, 40.0, 40.0), sd_g=25.0, cutoff_g=300.0)
    settings = P.PlanSettings("T3", 25, "g", alpha=0.05, power=0.8, loss=0.1, seed=42)
    first = P.plan(scenario, P.KW_NEMENYI, settings)
    again = P.plan(scenario, P.KW_NEMENYI, settings)
    assert first.as_dict() == again.as_dict()
    other = P.simulate_power(scenario, P.KW_NEMENYI, 8, alpha=0.05, seed=43)
    same = P.simulate_power(scenario, P.KW_NEMENYI, 8, alpha=0.05, seed=42)
    assert other.power != same.power
    assert first.n_with_losses == math.ceil(first.n_per_group / 0.9)


def test_simulated_values_are_held_at_the_cutoff_and_rounded_to_filaments():
    scenario = P.Scenario(
        P.BETWEEN, (200.0, 260.0), sd_g=60.0, floor_g=0.008, cutoff_g=300.0,
        filaments_g=STOELTING_G,
    )  # fmt: skip
    data = P.simulate_datasets(scenario, 10, 2000, np.random.default_rng(8))
    assert set(np.unique(data)) <= set(STOELTING_G)
    # P(normal(260, 60) > 180) = 0.909: those read 300 g (the 6.65 filament is next).
    at_cutoff = (data[:, 1, :] == 300.0).mean()
    assert at_cutoff == pytest.approx(0.909, abs=0.01)
    # Ties at the cut-off cost the rank test power against the same shift unmeasured.
    free = P.Scenario(P.BETWEEN, (200.0, 260.0), sd_g=60.0)
    a = P.simulate_power(free, P.KW_NEMENYI, 10, alpha=0.05, seed=1)
    b = P.simulate_power(scenario, P.KW_NEMENYI, 10, alpha=0.05, seed=1)
    assert b.power < a.power - 0.05


def _long(rows):
    return pd.DataFrame(rows, columns=["animal", "group", "timepoint", "day", "value"])


def test_pilot_variance_between_and_within_animals():
    # Animals a1..a3 with offsets 0, 2, 4 and a timepoint effect: T1 = T0 + 1, residual 0
    # except a3 at T1 (+1): hand-computed two-way mean squares.
    rows = []
    for i, animal in enumerate(["a1", "a2", "a3"]):
        rows.append((animal, "C", "T0", 0, 10.0 + 2 * i))
        rows.append((animal, "C", "T1", 7, 11.0 + 2 * i + (1.0 if animal == "a3" else 0.0)))
    pilot = P.describe_pilot(
        _long(rows), groups=["C"], timepoints=["T0", "T1"], baseline="T0", control="C"
    )
    cell = pilot.cell("C", "T1")
    assert cell.n == 3 and cell.mean_g == pytest.approx(13 + 1 / 3)
    assert cell.sd_g == pytest.approx(np.std([11, 13, 16], ddof=1))
    # Residuals of the additive model: a1, a2 +-1/6, a3 -+1/3; SS = 4/36 + 2/9 = 1/3 on
    # (3 - 1)(2 - 1) = 2 df, so MS_resid = 1/6.
    spread = pilot.spreads[0]
    assert spread.within_sd_g == pytest.approx(math.sqrt(1 / 6))
    # Animal means 10.5, 12.5, 15: MS_animal = 2 x their variance; between = (MS_animal -
    # MS_resid) / 2 timepoints.
    ms_animal = 2 * np.var([10.5, 12.5, 15.0], ddof=1)
    assert spread.between_sd_g == pytest.approx(math.sqrt((ms_animal - 1 / 6) / 2))


def test_effect_units():
    assert P.effect_in_grams(10, "g", reference_mean_g=20, baseline_mean_g=15, cutoff_g=300) == 10
    # 50 %MPE: half the way from the baseline (20 g) to the 300 g cut-off.
    assert (
        P.effect_in_grams(50, "mpe", reference_mean_g=30, baseline_mean_g=20, cutoff_g=300) == 140
    )
    assert (
        P.effect_in_grams(1.5, "ratio", reference_mean_g=30, baseline_mean_g=20, cutoff_g=300) == 15
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"effect": 0}, "effect"),
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": 0.0}, "alpha"),
        ({"power": 1.0}, "power"),
        ({"power": 1.2}, "power"),
        ({"loss": 0.95}, "loss"),
        ({"unit": "kg"}, "unit"),
        ({"alpha": float("nan")}, "alpha"),
    ],
)
def test_bad_settings_name_their_field(changes, field):
    values = {"timepoint": "T3", "effect": 10, "unit": "g", "alpha": 0.05, "power": 0.8,
              "loss": 0.1, "seed": 1, **changes}  # fmt: skip
    with pytest.raises(P.PlanError) as error:
        P.PlanSettings(**values).check()
    assert error.value.field == field


def test_scenario_refuses_a_study_without_data_and_effects_past_the_cutoff():
    empty = P.describe_pilot(_long([]), groups=["C"], timepoints=["T0"], baseline="T0", control="C")
    with pytest.raises(P.PlanError) as error:
        P.scenario_for(empty, analysis=P.KW_NEMENYI, timepoint="T0", effect=5, unit="g",
                       cutoff_g=300, filaments_g=None, round_to_filaments=False)  # fmt: skip
    assert error.value.field == "study"
    rows = [(f"a{i}", g, "T0", 0, 20.0 + i) for i in range(4) for g in ("C", "K")]
    rows = [(f"{g}{a}", g, t, d, v) for a, g, t, d, v in rows]
    pilot = P.describe_pilot(
        _long(rows), groups=["C", "K"], timepoints=["T0"], baseline="T0", control="C"
    )
    with pytest.raises(P.PlanError) as error:
        P.scenario_for(pilot, analysis=P.KW_NEMENYI, timepoint="T0", effect=400, unit="g",
                       cutoff_g=300, filaments_g=None, round_to_filaments=False)  # fmt: skip
    assert error.value.field == "effect" and "cut-off" in error.value.message
    with pytest.raises(P.PlanError) as error:
        P.scenario_for(pilot, analysis=P.KW_NEMENYI, timepoint="T9", effect=4, unit="g",
                       cutoff_g=300, filaments_g=None, round_to_filaments=False)  # fmt: skip
    assert error.value.field == "timepoint"


def test_a_group_all_at_the_cutoff_does_not_shrink_the_pooled_sd():
    rows = [(f"C{i}", "C", "T1", 7, v) for i, v in enumerate([10.0, 15.0, 26.0])]
    rows += [(f"K{i}", "K", "T1", 7, 300.0) for i in range(3)]
    pilot = P.describe_pilot(
        _long(rows), groups=["C", "K"], timepoints=["T1"], baseline="T1", control="C"
    )
    sd, df = pilot.pooled_sd_at("T1", cutoff_g=300.0)
    assert df == 2 and sd == pytest.approx(np.std([10, 15, 26], ddof=1))
    assert pilot.pooled_sd_at("T1")[1] == 4  # without the cut-off both groups count


def test_chosen_pairs_rank_z_decides_as_the_dashboards_tests():
    scenario = P.Scenario(
        P.WITHIN, (15.0, 15.0, 45.0, 15.0), between_sd_g=10.0, within_sd_g=20.0, target=2,
        reference=0, pairs=((2, 0), (3, 1)), floor_g=0.008, cutoff_g=300.0,
        filaments_g=STOELTING_G,
    )  # fmt: skip
    data = P.simulate_datasets(scenario, 8, 40, np.random.default_rng(9))
    fast = P.decide(data, scenario, P.FRIEDMAN_PAIRS, 0.05)
    slow = np.array([P.decide_one(d, scenario, P.FRIEDMAN_PAIRS, 0.05) for d in data])
    assert 0.05 < fast.mean() < 0.95
    np.testing.assert_array_equal(fast, slow)


def test_power_curve_is_a_valid_plotly_figure_with_one_line_per_effect():
    import plotly.graph_objects as go

    from analysis import charts

    scenario = P.Scenario(P.BETWEEN, (15.0, 40.0, 40.0), sd_g=25.0, cutoff_g=300.0)
    settings = P.PlanSettings("T3", 25, "g", alpha=0.05, power=0.8, loss=0.1, seed=3, n_sims=200)
    result = P.plan(scenario, P.KW_NEMENYI, settings).as_dict()
    figure = charts.power_curve(
        result, target_power=0.8, n_plan=result["n_per_group"], filename="p"
    )
    go.Figure(data=figure["data"], layout=figure["layout"])
    assert len(figure["data"]) == 3
    main = figure["data"][1]
    assert main["name"].startswith("1×")
    # Power in percent against n, the wanted power drawn at 80 %.
    assert main["y"][-1] > 80 and main["x"] == sorted(main["x"])
    assert figure["layout"]["shapes"][0]["y0"] == 80
