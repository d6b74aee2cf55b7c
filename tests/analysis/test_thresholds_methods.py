"""Ascending method of limits, percent response, and the top-filament cut-off (issue 15).

Sources
- Deuis JR, Dvorakova LS, Vetter I (2017) Methods used to evaluate pain behaviors in
  rodents. Front Mol Neurosci 10:284, section "von Frey": the ascending stimulus
  method (filaments applied in ascending order of force until a withdrawal; the
  threshold is the force of that filament) and the percent response method (each
  filament applied a set number of times, e.g. 5 or 10; the result is the percentage
  of withdrawals per filament, and a threshold may be taken as the lowest force
  reaching a chosen frequency, e.g. 50 %).
- Chaplan SR et al. (1994) J Neurosci Methods 53:55-63: the eight-filament set 3.61-5.18
  used below, and the up-down series it runs.
The full text of Deuis 2017 was not opened here: the series and expected thresholds
below are worked out by hand from the rules as stated, in the comments beside them.
"""

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.thresholds import (
    BLOCK_FAMILY,
    STOELTING_20,
    Filament,
    ascending_threshold,
    batch_thresholds,
    compute_threshold,
    effective_cutoff_g,
    filament_indices,
    first_response_threshold,
    next_filament,
    percent_response_threshold,
    series_bound,
    up_down_threshold,
)

# Chaplan's eight handles on the Stoelting scale: 0.4, 0.6, 1, 2, 4, 6, 8, 15 g.
CHAPLAN_8 = ("3.61", "3.84", "4.08", "4.31", "4.56", "4.74", "4.93", "5.18")

# A small set that stops below the 300 g cut-off (0.38-13.1 g, the example).
SMALL_SET = (
    Filament("3.58", 0.38),
    Filament("3.78", 0.6),
    Filament("4.00", 1.0),
    Filament("4.16", 1.45),
    Filament("4.31", 2.0),
    Filament("4.56", 4.0),
    Filament("4.93", 8.0),
    Filament("5.12", 13.1),
)


def blocks(*runs):
    """Stimuli from (size, "XOO") runs: each run is one filament applied len(run) times."""
    return [(size, ch == "X") for size, pattern in runs for ch in pattern]


# ---------------------------------------------------------------------------
# Ascending method of limits


def test_ascending_first_withdrawal_gives_that_filaments_force():
    # N = 1, one withdrawal needed: 1.65 .. 4.17 no response (9 stimuli), 4.31 withdraws.
    # Threshold = 4.31's force, 2.0 g, after 10 stimuli; the 11th (4.56) is ignored.
    sizes = [f.size for f in STOELTING_20]
    stimuli = [(s, False) for s in sizes[:9]] + [("4.31", True), ("4.56", True)]
    result = ascending_threshold(stimuli)
    assert (result.grams, result.status) == (2.0, "ok")
    assert result.n_stimuli == 10 and result.n_ignored == 1
    assert result.pattern == "OOOOOOOOOX"
    assert result.last_filament == "4.31"


def test_ascending_two_of_three_per_filament():
    # N = 3, two withdrawals needed, Chaplan's eight from 3.61 (0.4 g):
    # 3.61: O O   -> 0 of 2, one left cannot make 2: leave after 2 applications
    # 3.84: X O O -> 1 of 3: fails
    # 4.08: O X X -> 2 of 3: threshold = 1.0 g, 8 stimuli in all.
    stimuli = blocks(("3.61", "OO"), ("3.84", "XOO"), ("4.08", "OXX"))
    result = ascending_threshold(stimuli, applications=3, withdrawals=2, subset=CHAPLAN_8)
    assert (result.grams, result.status, result.n_stimuli) == (1.0, "ok", 8)
    # The guidance asks for exactly these filaments, then stops.
    asked = []
    for i in range(len(stimuli) + 1):
        asked.append(
            next_filament(
                stimuli[:i], method="ascending", applications=3, withdrawals=2, subset=CHAPLAN_8
            )
        )
    assert asked == ["3.61", "3.61", "3.84", "3.84", "3.84", "4.08", "4.08", "4.08", None]


def test_ascending_guidance_steps_upward_from_the_lowest_filament_in_use():
    # N = 1: every "no withdrawal" moves one filament up the chosen eight.
    series = []
    for expected in CHAPLAN_8[:5]:
        size = next_filament(series, method="ascending", subset=CHAPLAN_8)
        assert size == expected
        series.append((size, False))
    assert series_bound(method="ascending", subset=CHAPLAN_8, applications=3) == 24


def test_ascending_no_withdrawal_up_to_the_top_reports_the_top_filament():
    # Nothing up to 5.18 (15 g), the top of the eight in use: reported as 15 g, not
    # 300 g, because a 15 g top filament cannot tell 15 g from 300 g.
    result = ascending_threshold([(s, False) for s in CHAPLAN_8], subset=CHAPLAN_8)
    assert (result.grams, result.status) == (15.0, "cutoff_high")
    assert "15 g" in result.reason and "300 g" in result.reason
    # The whole Stoelting set tops at 300 g = the cut-off.
    whole = ascending_threshold([(f.size, False) for f in STOELTING_20])
    assert (whole.grams, whole.status) == (300.0, "cutoff_high")


def test_ascending_withdrawal_at_the_lowest_filament_is_cutoff_low():
    result = ascending_threshold([("3.61", True)], subset=CHAPLAN_8)
    assert (result.grams, result.status) == (0.4, "cutoff_low")
    assert "at or below 0.4 g" in result.reason


def test_ascending_open_series_has_no_number():
    result = ascending_threshold([("3.61", False), ("3.84", False)], subset=CHAPLAN_8)
    assert result.status == "incomplete" and result.grams is None
    assert "continue upward" in result.reason


# ---------------------------------------------------------------------------
# Percent response (frequency)


FOUR = ("4.08", "4.31", "4.56", "4.74")  # 1, 2, 4, 6 g


def test_percent_response_three_of_five():
    # Five applications each, threshold = lowest filament with >= 3 of 5:
    # 1 g 0/5 (0 %), 2 g 2/5 (40 %), 4 g 3/5 (60 %), 6 g 5/5 (100 %) -> 4.0 g.
    stimuli = blocks(("4.08", "OOOOO"), ("4.31", "XOOXO"), ("4.56", "OXXOX"), ("4.74", "XXXXX"))
    result = percent_response_threshold(stimuli, applications=5, withdrawals=3, subset=FOUR)
    assert (result.grams, result.status, result.n_stimuli) == (4.0, "ok", 20)
    assert result.frequencies == (("4.08", 0, 5), ("4.31", 2, 5), ("4.56", 3, 5), ("4.74", 5, 5))


def test_percent_response_fifty_percent_of_ten():
    # 50 % of 10 = 5 withdrawals: 2 g 4/10 (40 %) misses, 4 g 5/10 reaches it -> 4.0 g.
    stimuli = blocks(
        ("4.08", "O" * 10), ("4.31", "XXXXOOOOOO"), ("4.56", "XOXOXOXOXO"), ("4.74", "X" * 10)
    )
    result = percent_response_threshold(stimuli, applications=10, withdrawals=5, subset=FOUR)
    assert (result.grams, result.status) == (4.0, "ok")
    assert [w / a for _, w, a in result.frequencies] == [0.0, 0.4, 0.5, 1.0]


def test_percent_response_counts_only_the_first_n_and_not_a_late_withdrawal():
    # A sixth application of 4.31 that withdrew does not turn 2/5 into 3/5.
    stimuli = blocks(("4.08", "OOOOO"), ("4.31", "XOOXOX"), ("4.56", "OOOOO"), ("4.74", "XXXOO"))
    result = percent_response_threshold(stimuli, subset=FOUR)
    assert (result.grams, result.status) == (6.0, "ok")
    assert result.frequencies[1] == ("4.31", 2, 5)


def test_percent_response_guidance_and_incomplete_reason():
    stimuli = blocks(("4.08", "OOOOO"), ("4.31", "XO"))
    assert next_filament(stimuli, method="percent_response", subset=FOUR) == "4.31"
    done = blocks(("4.08", "OOOOO"), ("4.31", "XOOXO"))
    assert next_filament(done, method="percent_response", subset=FOUR) == "4.56"
    result = percent_response_threshold(stimuli, subset=FOUR)
    assert result.status == "incomplete" and result.grams is None
    assert result.reason == (
        "7 of 20 applications recorded (5 on each of 4 filaments); apply 13 more"
    )


def test_percent_response_never_reaching_the_criterion_reports_the_top_in_use():
    stimuli = blocks(*[(s, "OOXOO") for s in FOUR])
    result = percent_response_threshold(stimuli, subset=FOUR)
    assert (result.grams, result.status) == (6.0, "cutoff_high")
    assert effective_cutoff_g(method="percent_response", subset=FOUR) == 6.0


def test_percent_response_criterion_at_the_lowest_filament_is_cutoff_low():
    stimuli = blocks(*[(s, "XXXOO") for s in FOUR])
    result = percent_response_threshold(stimuli, subset=FOUR)
    assert (result.grams, result.status) == (1.0, "cutoff_low")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"applications": 3, "withdrawals": 4}, "cannot exceed applications per filament"),
        ({"applications": 0}, "applications per filament must be between 1 and 20"),
        ({"applications": 2.5}, "applications per filament must be a whole number"),
        ({"withdrawals": True}, "withdrawals needed must be a whole number"),
        ({"subset": ["4.31", "9.99"]}, "unknown filament '9.99'"),
        ({"subset": "4.31,4.56"}, "not one string"),
    ],
)
def test_bad_method_parameters_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compute_threshold([("4.31", True)], method="percent_response", **kwargs)


# ---------------------------------------------------------------------------
# The top-filament fix for the up-down family


def test_mixed_up_down_series_running_off_a_small_set_reports_its_top_filament():
    # Start 4.56 (4 g): X, then 4.31 O, 4.56 O, 4.93 O, 5.12 O = the top (13.1 g) with no
    # withdrawal before the sixth critical response: the series runs off the top.
    # Before issue 15 this reported the study's 300 g cut-off.
    stimuli = [("4.56", True), ("4.31", False), ("4.56", False), ("4.93", False), ("5.12", False)]
    result = up_down_threshold(stimuli, SMALL_SET)
    assert (result.grams, result.status) == (13.1, "cutoff_high")
    assert "13.1 g" in result.reason and "300 g" in result.reason
    # Target force on the same series: the lowest withdrawal, 4 g.
    assert first_response_threshold(stimuli, SMALL_SET).grams == 4.0
    never = [(f.size, False) for f in SMALL_SET[4:]]
    assert first_response_threshold(never, SMALL_SET).grams == 13.1
    # The batch path says the same.
    batch = batch_thresholds(
        filament_indices([s for s, _ in stimuli], SMALL_SET),
        np.array([w for _, w in stimuli]),
        np.zeros(len(stimuli), dtype=int),
        SMALL_SET,
    )
    assert batch.grams.tolist() == [13.1] and batch.status.tolist() == ["cutoff_high"]
    assert batch.threshold(0).reason == result.reason


def test_a_cut_off_below_the_top_filament_still_wins():
    # Cut-off 180 g on the Stoelting set (top 300 g): all O to the top reports 180 g.
    result = up_down_threshold([(f.size, False) for f in STOELTING_20[9:]], cutoff_g=180.0)
    assert (result.grams, result.status) == (180.0, "cutoff_high")


# ---------------------------------------------------------------------------
# Properties: guidance terminates, batch == scalar


SIZES = [f.size for f in STOELTING_20]


@st.composite
def block_settings(draw):
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, n))
    chosen = draw(st.lists(st.sampled_from(SIZES), min_size=1, max_size=8, unique=True))
    subset = None if draw(st.booleans()) else chosen
    return {"applications": n, "withdrawals": k, "subset": subset}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(BLOCK_FAMILY), block_settings(), st.none() | st.floats(1, 7))
def test_block_guidance_terminates_within_its_bound(data, method, params, true_log):
    bound = series_bound(method=method, **params)
    series = []
    while (size := next_filament(series, method=method, **params)) is not None:
        answer = data.draw(st.booleans()) if true_log is None else float(size) >= true_log
        series.append((size, answer))
        assert len(series) <= bound
    result = compute_threshold(series, method=method, **params)
    assert result.status != "incomplete" and result.grams is not None
    assert result.n_stimuli == len(series) and result.n_ignored == 0
    if method == "ascending" and len(series) > 1:
        # Ascending never steps down.
        assert all(float(b[0]) >= float(a[0]) for a, b in zip(series, series[1:], strict=False))


@st.composite
def guided_series(draw, method, params):
    series = []
    while (size := next_filament(series, method=method, **params)) is not None:
        series.append((size, draw(st.booleans())))
    cut = draw(st.integers(0, len(series) + 2))
    extra = draw(st.lists(st.tuples(st.sampled_from(SIZES), st.booleans()), max_size=3))
    return series[:cut] + (extra if cut >= len(series) else [])


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(BLOCK_FAMILY), block_settings(), st.sampled_from([300.0, 5.0]))
def test_batch_agrees_with_the_scalar_for_the_block_methods(data, method, params, cutoff_g):
    any_series = st.lists(st.tuples(st.sampled_from(SIZES), st.booleans()), min_size=1, max_size=30)
    sessions = data.draw(
        st.lists(guided_series(method, params).filter(bool) | any_series, min_size=1, max_size=8)
    )
    sizes = [s for one in sessions for s, _ in one]
    withdrew = np.array([w for one in sessions for _, w in one], dtype=bool)
    ids = np.repeat(np.arange(len(sessions)), [len(one) for one in sessions])
    batch = batch_thresholds(
        filament_indices(sizes), withdrew, ids, method=method, cutoff_g=cutoff_g, **params
    )
    for i, stimuli in enumerate(sessions):
        one = compute_threshold(stimuli, method=method, cutoff_g=cutoff_g, **params)
        other = batch.threshold(i)
        if one.grams is None:
            assert other.grams is None and math.isnan(batch.grams[i])
        assert replace(other, grams=one.grams) == one
        assert other.grams == one.grams
