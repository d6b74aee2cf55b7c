"""analysis.stats on whole studies: the CSV shape, the comparisons a PI asks for,
missing data, degenerate data, the settings, and that the module stays Django-free."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import stats

DAYS = [7, 14, 21, 28, 35, 42, 49, 56]
TIMEPOINTS = [f"T{i}" for i in range(8)]


def reference_like_study(missing=()):
    """15 rats shaped like the reference study: control stays low, K10 goes to the
    300 g cut-off during dosing (T1-T4) and after readministration (T7)."""
    rng = np.random.default_rng(20220311)
    rows = []
    for group, dosed_value in (("control", None), ("K5", 60.0), ("K10", 300.0)):
        for i in range(5):
            animal = f"{group}-{i + 1}"
            for tp, day in zip(TIMEPOINTS, DAYS, strict=True):
                if (animal, tp) in missing:
                    continue
                value = float(rng.choice([15.0, 26.0]))
                if dosed_value is not None and tp in ("T1", "T2", "T3", "T4", "T7"):
                    value = dosed_value if group == "K10" else float(rng.choice([26.0, 60.0]))
                rows.append((animal, group, tp, day, value))
    return pd.DataFrame(rows, columns=stats.INPUT_COLUMNS)


@pytest.fixture(scope="module")
def results():
    return stats.study_statistics(
        reference_like_study(),
        baseline="T0",
        control_group="control",
        pairs=[("T7", "T4")],
    )


def test_output_has_the_stats_csv_contract_first(results):
    assert list(results.columns[:8]) == stats.CONTRACT_COLUMNS
    assert list(results.columns) == stats.COLUMNS
    assert {"friedman", "nemenyi_friedman", "rm_anova", "kruskal", "nemenyi_kruskal"} <= set(
        results["test"]
    )
    assert {"mauchly", "rm_anova_gg", "rm_anova_hf", "mixed_anova", "mixed_model"} <= set(
        results["test"]
    )
    assert "auc_kruskal" in set(results["test"])
    assert results["sentence"].str.len().gt(0).all()


def test_within_group_rows_set_group_and_between_group_rows_set_timepoint(results):
    within = results[results["test"].isin(["friedman", "nemenyi_friedman", "rm_anova"])]
    assert within["group"].notna().all() and within["timepoint"].isna().all()
    between = results[results["test"].isin(["kruskal", "nemenyi_kruskal"])]
    assert between["timepoint"].notna().all() and between["group"].isna().all()


def test_picked_comparisons_are_marked(results):
    k10 = results[(results["test"] == "nemenyi_friedman") & (results["group"] == "K10")]
    vs_t0 = k10[k10["role"].str.contains(stats.ROLE_VS_BASELINE)]
    assert sorted(vs_t0["a"]) == TIMEPOINTS[1:]
    assert set(vs_t0["b"]) == {"T0"}
    # first treated defaults to the timepoint after baseline
    vs_t1 = k10[k10["role"].str.contains(stats.ROLE_VS_FIRST_TREATED)]
    assert set(vs_t1["b"]) == {"T1"} and len(vs_t1) == 6
    chosen = k10[k10["role"].str.contains(stats.ROLE_CHOSEN_PAIR)]
    assert list(zip(chosen["a"], chosen["b"], strict=True)) == [("T7", "T4")]


def test_between_group_sentence_reads_like_the_design(results):
    row = results[
        (results["test"] == "nemenyi_kruskal")
        & (results["timepoint"] == "T3")
        & (results["a"] == "K10")
        & (results["b"] == "control")
    ].iloc[0]
    assert row["role"] == stats.ROLE_VS_CONTROL
    assert row["sentence"].startswith("K10 vs control at T3: p = ")
    assert row["sentence"].endswith(", Nemenyi after Kruskal-Wallis.")
    assert row["p_adj"] == row["p"]  # Nemenyi p is already single-step adjusted
    assert "not corrected for ties" in row["note"]  # many animals at the same filament


def test_significance_marks(results):
    marks = stats.significance_marks(results)
    assert list(marks.columns) == stats.MARK_COLUMNS
    k10_t3 = marks[(marks["group"] == "K10") & (marks["timepoint"] == "T3")].iloc[0]
    assert k10_t3["vs_control"]
    assert k10_t3["vs_control_p"] < 0.05
    # T0 is the baseline, where nobody was dosed yet: no between-group difference.
    assert not marks[(marks["timepoint"] == "T0")]["vs_control"].any()
    assert "control" not in set(marks.loc[marks["vs_control_p"].notna(), "group"])


def test_alpha_gates_the_post_hoc():
    frame = reference_like_study()
    strict = stats.between_group_tests(frame, control_group="control", alpha=1e-12)
    assert "nemenyi_kruskal" not in set(strict["test"])
    assert strict["note"].str.contains("not run").all()


def test_dunn_holm_option():
    rows = stats.between_group_tests(
        reference_like_study(), control_group="control", posthoc="dunn_holm"
    )
    dunn = rows[rows["test"] == "dunn_kruskal"]
    assert len(dunn) > 0 and "nemenyi_kruskal" not in set(rows["test"])
    assert (dunn["p_adj"] >= dunn["p"]).all()
    assert dunn["sentence"].str.endswith("Dunn (Holm) after Kruskal-Wallis.").all()


def test_settings_are_checked():
    frame = reference_like_study()
    with pytest.raises(ValueError, match="posthoc"):
        stats.study_statistics(frame, baseline="T0", control_group="control", posthoc="tukey")
    with pytest.raises(ValueError, match="baseline"):
        stats.study_statistics(frame, baseline="T9", control_group="control")
    with pytest.raises(ValueError, match="control group"):
        stats.study_statistics(frame, baseline="T0", control_group="vehicle")
    with pytest.raises(ValueError, match="column"):
        stats.study_statistics(frame.drop(columns="day"), baseline="T0", control_group="control")


# ------------------------------------------------------------------- missing data


def test_animal_missing_a_timepoint_is_dropped_and_named():
    frame = reference_like_study(missing={("K5-2", "T5")})
    results = stats.study_statistics(frame, baseline="T0", control_group="control")
    k5 = results[results["group"] == "K5"]
    for test in ("friedman", "rm_anova", "mauchly"):
        row = k5[k5["test"] == test].iloc[0]
        assert row["dropped"] == "K5-2"
        assert "dropped for a missing timepoint: K5-2" in row["note"]
        assert row["n"] == 4
    mixed_anova = results[results["test"] == "mixed_anova"]
    assert (mixed_anova["dropped"] == "K5-2").all() and (mixed_anova["n"] == 14).all()
    auc = results[results["test"] == "auc_kruskal"].iloc[0]
    assert auc["dropped"] == "K5-2" and auc["n"] == 14
    # The mixed model keeps the animal.
    model = k5[(k5["test"] == "mixed_model") & (k5["a"] == "time")].iloc[0]
    assert model["n"] == 5
    assert "kept animals with missing timepoints: K5-2" in model["note"]
    # Between groups at T5, K5 simply has four animals.
    t5 = results[(results["test"] == "kruskal") & (results["timepoint"] == "T5")].iloc[0]
    assert t5["n"] == 14


def test_mixed_model_rows_within_and_between():
    results = stats.mixed_model(reference_like_study(), baseline="T0", control_group="control")
    within = results[results["group"] == "K10"]
    assert set(within["a"]) == {"time", *TIMEPOINTS[1:]}
    assert within.loc[within["a"] == "T3", "role"].iloc[0] == stats.ROLE_VS_BASELINE
    between = results[results["group"].isna()]
    assert "group:time" in set(between["a"])
    k10_t3 = between[(between["a"] == "K10") & (between["timepoint"] == "T3")].iloc[0]
    assert k10_t3["b"] == "control" and k10_t3["p"] < 0.001
    assert "difference = 2" in k10_t3["note"]  # about 300 - 20 g


# ------------------------------------------------------------------ degenerate data


def test_all_values_at_cutoff_do_not_crash():
    frame = reference_like_study()
    frame["value"] = 300.0
    results = stats.study_statistics(frame, baseline="T0", control_group="control")
    friedman = results[results["test"] == "friedman"]
    assert friedman["p"].isna().all()
    assert friedman["note"].str.contains("all values equal").all()
    kruskal = results[results["test"] == "kruskal"]
    assert kruskal["p"].isna().all()
    assert kruskal["note"].str.contains("all values equal").all()
    assert results[results["test"] == "rm_anova"]["p"].isna().all()
    assert results[results["test"] == "mixed_model"]["note"].str.contains("all values").all()
    assert not stats.significance_marks(results)[["vs_baseline", "vs_control"]].any().any()


def test_group_with_one_animal():
    frame = reference_like_study()
    frame = frame[~frame["animal"].isin(["K5-2", "K5-3", "K5-4", "K5-5"])]
    results = stats.study_statistics(frame, baseline="T0", control_group="control")
    k5 = results[results["group"] == "K5"].set_index("test")
    assert np.isnan(k5.loc["friedman", "p"])
    assert "at least 2 animals" in k5.loc["friedman", "note"]
    assert "too few animals" in k5.loc["rm_anova", "note"]
    # Between groups K5's single animal still counts.
    assert (results.loc[results["test"] == "kruskal", "n"] == 11).all()


def test_timepoint_with_no_data():
    frame = reference_like_study()
    frame.loc[frame["timepoint"] == "T6", "value"] = np.nan
    results = stats.study_statistics(frame, baseline="T0", control_group="control")
    friedman = results[results["test"] == "friedman"]
    assert friedman["note"].str.contains("no data at T6: left out").all()
    assert (friedman["df"] == 6).all()
    t6 = results[(results["timepoint"] == "T6")]
    assert list(t6["test"]) == ["kruskal"]
    assert "fewer than two groups with data" in t6["note"].iloc[0]
    assert not results["dropped"].str.len().gt(0).any()  # nobody dropped for T6
    summary = stats.group_summary(frame)
    assert (summary.loc[summary["timepoint"] == "T6", "n"] == 0).all()


def test_two_groups_only_use_mann_whitney():
    frame = reference_like_study()
    frame = frame[frame["group"] != "K5"]
    results = stats.between_group_tests(frame, control_group="control")
    assert set(results["test"]) == {"mann_whitney"}
    assert set(results["b"]) == {"control"}


# ------------------------------------------------------------------------- summary


def test_group_summary_by_hand():
    # values 1, 2, 4, 8: mean 3.75, SD sqrt(((-2.75)^2 + (-1.75)^2 + 0.25^2 + 4.25^2)/3)
    # = sqrt(28.75 / 3) = 3.0957, SEM = SD / 2; R type-7 quartiles: 1.75 and 5.
    frame = pd.DataFrame(
        [(f"a{i}", "g", "T0", 7, v) for i, v in enumerate([1, 2, 4, 8])],
        columns=stats.INPUT_COLUMNS,
    )
    row = stats.group_summary(frame).iloc[0]
    assert list(stats.group_summary(frame).columns) == stats.SUMMARY_COLUMNS
    assert row["n"] == 4 and row["day"] == 7
    assert row["mean"] == pytest.approx(3.75)
    assert row["sd"] == pytest.approx((28.75 / 3) ** 0.5)
    assert row["sem"] == pytest.approx((28.75 / 3) ** 0.5 / 2)
    assert (row["median"], row["q1"], row["q3"]) == (3.0, 1.75, 5.0)


def test_p_formatting():
    assert stats.format_p(0.0312) == "p = 0.03"
    assert stats.format_p(0.0044) == "p = 0.004"
    # Below 0.0001 the digits stop (as Prism prints "<0.0001"); between 0.0001 and 0.001
    # two significant digits, so 0.00043 is not hidden behind "p < 0.001".
    assert stats.format_p(0.00001) == "p < 0.0001"
    assert stats.format_p(0.0000999) == "p < 0.0001"
    assert stats.format_p(0.0001) == "p = 0.0001"
    assert stats.format_p(0.00043) == "p = 0.00043"
    assert stats.format_p(float("nan")) == "p not computed"


# ----------------------------------------------------------------------- purity


def test_stats_imports_without_django_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    code = (
        "import sys, analysis.stats as s; "
        "assert 'django' not in sys.modules, 'django imported'; "
        "print(s.COLUMNS[0])"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "test"
