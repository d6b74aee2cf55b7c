"""The threshold engine against the k table, the published rules, and properties.

Expected values never come from analysis/thresholds.py itself. Where an expected
threshold is a number, this file computes it from Chaplan's formula with k from a
circulating code copy of Dixon's table (itself checked against a maximum-likelihood
recomputation below), on series built here from the published rules. That checks the
engine's bookkeeping (which pattern, which k, which Xf, which delta), not agreement with
a printed worked example: numbers printed in publications are checked in
test_thresholds_published.py, which also lists the sources that could not be reached.

Sources
- Chaplan SR, Bach FW, Pogrel JW, Chung JM, Yaksh TL (1994) Quantitative assessment of
  tactile allodynia in the rat paw. J Neurosci Methods 53:55-63: 50 % g threshold =
  10**(Xf + k*delta)/10_000, delta = 0.224, eight hairs 3.61-5.18 (0.41-15.1 g), six
  critical responses from the first change.
- Dixon WJ (1980) Efficient analysis of experimental observations. Annu Rev Pharmacol
  Toxicol 20:441-462 (the k table, reprinted in Chaplan's appendix); Dixon WJ (1965) The
  up-and-down method for small samples. JASA 60:967-978.
- NIH/NINDS PSPP protocol "Rat hind paw mechanical allodynia" (pspp.ninds.nih.gov,
  TestPWT): Chaplan's eight handles, start at 4.31, "6 critical responses ... a
  minimum of 4 to a maximum of 9" stimuli.
- Bonin RP, Bories C, De Koninck Y (2014) A simplified up-down method (SUDO) for
  measuring mechanical nociception in rodents using von Frey filaments. Mol Pain 10:26:
  five stimuli, threshold read from the fifth response without look-up tables.
- Gonzalez-Cano R et al. (2018) Up-Down Reader: an open source program for efficiently
  processing 50 % von Frey thresholds. Front Pharmacol 9:433 (the brief cited it as
  Front Behav Neurosci 12:18; the record found is Front Pharmacol 9:433).
- Christensen SL et al. (2020) Von Frey testing revisited: provision of an online
  algorithm for improved accuracy of 50 % thresholds. Eur J Pain 24:783-790 (constant
  versus flexible delta; handle numbers versus log force).
- Kim et al. 2022, Physiol Res (PMID 35275700), as summarised in ../shared/DESIGN.md:
  Stoelting 20-filament set, cut-off 300 g, target force, K10 T0 = 21.6 +/- 2.7 g from
  15, 15, 26, 26, 26 g, %MPE formula.

Not available here: the full texts of Chaplan 1994, Dixon 1965/1980, Up-Down Reader,
Bonin 2014 and Christensen 2020 could not be opened, so their own worked examples
(animal-level series with printed thresholds) are not reproduced, and the printed k
table was not consulted. The series below are built from the published rules and
constants instead, and say so.
"""

import math
import os
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis.thresholds import (
    DIXON_K,
    METHODS,
    STOELTING_20,
    UP_DOWN_FAMILY,
    Filament,
    batch_thresholds,
    compute_threshold,
    dixon_k,
    filament_indices,
    first_response_threshold,
    mean_log_step,
    next_filament,
    percent_mpe,
    percent_mpe_reason,
    series_bound,
    sudo_threshold,
    up_down_threshold,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Dixon's k table as distributed in code, not as printed (the printed table in Dixon 1980
# / Chaplan 1994 could not be consulted): raqueladaia/vf_updown_analysis
# data/dixon_k.csv (commit df1d85c0), in that file's order and notation (X = response).
# Cross-check, done entry by entry when this table was written: identical, 248 of 248,
# to get-a-grep/VonFreyCalculator src/main/resources/application.properties (commit
# 202a7187). A third copy, hxzhai/von-Frey k_table.txt (commit 3ec5f5e8), carries two
# errors: XOOOOO printed as -0.983 (should be -0.893, the mirror of OXXXXX = +0.893)
# and XXXOXOOX printed as "--1.247". Every entry is also recomputed below from Dixon's
# definition (maximum-likelihood estimate under a normal model with sigma = one step),
# which does not depend on any copy.
CIRCULATING_K_TABLE = """
    OX,-0.5  OOX,-0.388  OOOX,-0.378  OOOOX,-0.377
    OXO,0.842  OOXO,0.89  OOOXO,0.894  OOOOXO,0.894
    OXX,-0.178  OOXX,0.0  OOOXX,0.026  OOOOXX,0.028
    OXOO,0.299  OOXOO,0.314  OOOXOO,0.315  OOOOXOO,0.315
    OXOX,-0.5  OOXOX,-0.439  OOOXOX,-0.432  OOOOXOX,-0.432
    OXXO,1.0  OOXXO,1.122  OOOXXO,1.139  OOOOXXO,1.14
    OXXX,0.194  OOXXX,0.449  OOOXXX,0.5  OOOOXXX,0.506
    OXOOO,-0.157  OOXOOO,-0.154  OOOXOOO,-0.154  OOOOXOOO,-0.154
    OXOOX,-0.878  OOXOOX,-0.861  OOOXOOX,-0.86  OOOOXOOX,-0.86
    OXOXO,0.701  OOXOXO,0.737  OOOXOXO,0.741  OOOOXOXO,0.741
    OXOXX,0.084  OOXOXX,0.169  OOOXOXX,0.181  OOOOXOXX,0.182
    OXXOO,0.305  OOXXOO,0.372  OOOXXOO,0.38  OOOOXXOO,0.381
    OXXOX,-0.305  OOXXOX,-0.169  OOOXXOX,-0.144  OOOOXXOX,-0.142
    OXXXO,1.288  OOXXXO,1.5  OOOXXXO,1.544  OOOOXXXO,1.549
    OXXXX,0.555  OOXXXX,0.897  OOOXXXX,0.985  OOOOXXXX,1.0
    OXOOOO,-0.547  OOXOOOO,-0.547  OOOXOOOO,-0.547  OOOOXOOOO,-0.547
    OXOOOX,-1.25  OOXOOOX,-1.247  OOOXOOOX,-1.246  OOOOXOOOX,-1.246
    OXOOXO,0.372  OOXOOXO,0.38  OOOXOOXO,0.381  OOOOXOOXO,0.381
    OXOOXX,-0.169  OOXOOXX,-0.144  OOOXOOXX,-0.142  OOOOXOOXX,-0.142
    OXOXOO,0.022  OOXOXOO,0.039  OOOXOXOO,0.04  OOOOXOXOO,0.04
    OXOXOX,-0.5  OOXOXOX,-0.458  OOOXOXOX,-0.453  OOOOXOXOX,-0.453
    OXOXXO,1.169  OOXOXXO,1.237  OOOXOXXO,1.247  OOOOXOXXO,1.248
    OXOXXX,0.611  OOXOXXX,0.732  OOOXOXXX,0.756  OOOOXOXXX,0.758
    OXXOOO,-0.296  OOXXOOO,-0.266  OOOXXOOO,-0.263  OOOOXXOOO,-0.263
    OXXOOX,-0.831  OOXXOOX,-0.763  OOOXXOOX,-0.753  OOOOXXOOX,-0.752
    OXXOXO,0.831  OOXXOXO,0.935  OOOXXOXO,0.952  OOOOXXOXO,0.954
    OXXOXX,0.296  OOXXOXX,0.463  OOOXXOXX,0.5  OOOOXXOXX,0.504
    OXXXOO,0.5  OOXXXOO,0.648  OOOXXXOO,0.678  OOOOXXXOO,0.681
    OXXXOX,-0.043  OOXXXOX,0.187  OOOXXXOX,0.244  OOOOXXXOX,0.252
    OXXXXO,1.603  OOXXXXO,1.917  OOOXXXXO,2.0  OOOOXXXXO,2.014
    OXXXXX,0.893  OOXXXXX,1.329  OOOXXXXX,1.465  OOOOXXXXX,1.496
    XO,0.5  XXO,0.388  XXXO,0.378  XXXXO,0.377
    XOX,-0.842  XXOX,-0.89  XXXOX,-0.894  XXXXOX,-0.894
    XOO,0.178  XXOO,0.0  XXXOO,-0.026  XXXXOO,-0.028
    XOXX,-0.299  XXOXX,-0.314  XXXOXX,-0.315  XXXXOXX,-0.315
    XOXO,0.5  XXOXO,0.439  XXXOXO,0.432  XXXXOXO,0.432
    XOOX,-1.0  XXOOX,-1.122  XXXOOX,-1.139  XXXXOOX,-1.14
    XOOO,-0.194  XXOOO,-0.449  XXXOOO,-0.5  XXXXOOO,-0.506
    XOXXX,0.157  XXOXXX,0.154  XXXOXXX,0.154  XXXXOXXX,0.154
    XOXXO,0.878  XXOXXO,0.861  XXXOXXO,0.86  XXXXOXXO,0.86
    XOXOX,-0.701  XXOXOX,-0.737  XXXOXOX,-0.741  XXXXOXOX,-0.741
    XOXOO,-0.084  XXOXOO,-0.169  XXXOXOO,-0.181  XXXXOXOO,-0.182
    XOOXX,-0.305  XXOOXX,-0.372  XXXOOXX,-0.38  XXXXOOXX,-0.381
    XOOXO,0.305  XXOOXO,0.169  XXXOOXO,0.144  XXXXOOXO,0.142
    XOOOX,-1.288  XXOOOX,-1.5  XXXOOOX,-1.544  XXXXOOOX,-1.549
    XOOOO,-0.555  XXOOOO,-0.897  XXXOOOO,-0.985  XXXXOOOO,-1.0
    XOXXXX,0.547  XXOXXXX,0.547  XXXOXXXX,0.547  XXXXOXXXX,0.547
    XOXXXO,1.25  XXOXXXO,1.247  XXXOXXXO,1.246  XXXXOXXXO,1.246
    XOXXOX,-0.372  XXOXXOX,-0.38  XXXOXXOX,-0.381  XXXXOXXOX,-0.381
    XOXXOO,0.169  XXOXXOO,0.144  XXXOXXOO,0.142  XXXXOXXOO,0.142
    XOXOXX,-0.022  XXOXOXX,-0.039  XXXOXOXX,-0.04  XXXXOXOXX,-0.04
    XOXOXO,0.5  XXOXOXO,0.458  XXXOXOXO,0.453  XXXXOXOXO,0.453
    XOXOOX,-1.169  XXOXOOX,-1.237  XXXOXOOX,-1.247  XXXXOXOOX,-1.248
    XOXOOO,-0.611  XXOXOOO,-0.732  XXXOXOOO,-0.756  XXXXOXOOO,-0.758
    XOOXXX,0.296  XXOOXXX,0.266  XXXOOXXX,0.263  XXXXOOXXX,0.263
    XOOXXO,0.831  XXOOXXO,0.763  XXXOOXXO,0.753  XXXXOOXXO,0.752
    XOOXOX,-0.831  XXOOXOX,-0.935  XXXOOXOX,-0.952  XXXXOOXOX,-0.954
    XOOXOO,-0.296  XXOOXOO,-0.463  XXXOOXOO,-0.5  XXXXOOXOO,-0.504
    XOOOXX,-0.5  XXOOOXX,-0.648  XXXOOOXX,-0.678  XXXXOOOXX,-0.681
    XOOOXO,0.043  XXOOOXO,-0.187  XXXOOOXO,-0.244  XXXXOOOXO,-0.252
    XOOOOX,-1.603  XXOOOOX,-1.917  XXXOOOOX,-2.0  XXXXOOOOX,-2.014
    XOOOOO,-0.893  XXOOOOO,-1.329  XXXOOOOO,-1.465  XXXXOOOOO,-1.496
"""


def _circulating_k() -> dict[str, float]:
    table = {}
    for item in CIRCULATING_K_TABLE.split():
        pattern, k = item.split(",")
        table[pattern] = float(k)
    return table


CIRCULATING_K = _circulating_k()

# Chaplan's eight hairs (handle numbers as listed by the NIH PSPP protocol).
CHAPLAN_8 = tuple(
    f
    for f in STOELTING_20
    if f.size in {"3.61", "3.84", "4.08", "4.31", "4.56", "4.74", "4.93", "5.18"}
)
CHAPLAN_DELTA = 0.224
STOELTING_MEAN_DELTA = (6.65 - 1.65) / 19


def chaplan_formula_g(xf: float, pattern: str, delta: float) -> float:
    """Chaplan's formula with k from the circulating copy above, not from our code."""
    return 10 ** (xf + CIRCULATING_K[pattern] * delta) / 10_000


def walk(start: str, pattern: str, filaments=STOELTING_20):
    """Stimuli of an up-down series from a start filament and an X/O pattern."""
    sizes = [f.size for f in filaments]
    i = sizes.index(start)
    out = []
    for ch in pattern:
        out.append((sizes[i], ch == "X"))
        i += -1 if ch == "X" else 1
    return out


# ---------------------------------------------------------------------------
# Purity: importable without Django


def test_module_imports_without_django_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, analysis.thresholds as t\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'pandas', 'scipy', 'labstudy'})\n"
        "assert not bad, bad\n"
        "print(len(t.STOELTING_20))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "20"


def test_stoelting_20_matches_the_design():
    # ../shared/DESIGN.md, "Stoelting 20-filament set (evaluator size = grams)".
    expected = (
        "1.65=0.008, 2.36=0.02, 2.44=0.04, 2.83=0.07, 3.22=0.16, 3.61=0.4, 3.84=0.6, "
        "4.08=1.0, 4.17=1.4, 4.31=2.0, 4.56=4.0, 4.74=6.0, 4.93=8.0, 5.07=10.0, "
        "5.18=15.0, 5.46=26.0, 5.88=60.0, 6.10=100.0, 6.45=180.0, 6.65=300.0"
    )
    pairs = [item.split("=") for item in expected.split(", ")]
    assert [(f.size, f.grams) for f in STOELTING_20] == [(s, float(g)) for s, g in pairs]
    assert all(isinstance(f, Filament) for f in STOELTING_20)
    with pytest.raises(AttributeError):
        STOELTING_20[0].grams = 1.0  # frozen: the Django side builds its own


# ---------------------------------------------------------------------------
# Dixon's k table


def test_circulating_table_is_complete():
    assert len(CIRCULATING_K) == 248
    assert set(CIRCULATING_K) == set(DIXON_K)


@pytest.mark.parametrize("pattern", sorted(CIRCULATING_K))
def test_k_table_entry_matches_circulating_copy(pattern):
    assert DIXON_K[pattern] == pytest.approx(CIRCULATING_K[pattern], abs=1e-12)
    assert dixon_k(pattern) == pytest.approx(CIRCULATING_K[pattern], abs=1e-12)


def test_known_misprints_in_circulating_copies_are_not_ours():
    assert DIXON_K["XOOOOO"] == pytest.approx(-0.893)
    assert DIXON_K["XOOOOO"] != pytest.approx(-0.983)
    assert DIXON_K["OXXXXX"] == pytest.approx(+0.893)
    assert DIXON_K["XXXOXOOX"] == pytest.approx(-1.247)


def _dixon_mle_k(pattern: str) -> float:
    """Dixon's k recomputed: the maximum-likelihood 50 % point of the series, in steps
    from the final level, for a normal tolerance distribution with sigma = one step."""
    levels = [0]
    for ch in pattern[:-1]:
        levels.append(levels[-1] + (-1 if ch == "X" else 1))

    def loglik(mu: float) -> float:
        total = 0.0
        for level, ch in zip(levels, pattern, strict=True):
            z = level - mu  # P(withdrawal at level) = Phi(level - mu)
            p = (
                0.5 * math.erfc(-z / math.sqrt(2))
                if ch == "X"
                else 0.5 * math.erfc(z / math.sqrt(2))
            )
            total += math.log(p)
        return total

    lo, hi = min(levels) - 5.0, max(levels) + 5.0
    for _ in range(200):  # the log-likelihood is concave: golden-section search
        a = hi - (hi - lo) / 1.618033988749895
        b = lo + (hi - lo) / 1.618033988749895
        if loglik(a) < loglik(b):
            lo = a
        else:
            hi = b
    return (lo + hi) / 2 - levels[-1]


def test_every_table_entry_is_dixons_maximum_likelihood_estimate():
    worst = max(abs(_dixon_mle_k(p) - k) for p, k in CIRCULATING_K.items())
    assert worst < 0.0015  # printed to three decimals


def test_opening_runs_longer_than_four_barely_move_k():
    # Dixon stops at four like responses; longer runs reuse that column.
    for pattern, k in CIRCULATING_K.items():
        if pattern.startswith("OOOO"):
            for extra in (1, 3):
                assert abs(_dixon_mle_k("O" * extra + pattern) - k) < 0.005
                assert dixon_k("O" * extra + pattern) == k


def test_mirrored_table_patterns_have_negated_k():
    mirror = str.maketrans("XO", "OX")
    for pattern, k in DIXON_K.items():
        assert DIXON_K[pattern.translate(mirror)] == pytest.approx(-k, abs=1e-12)


@pytest.mark.parametrize("bad", ["", "OOO", "XXXX", "OXA", "OXOXOXO", 3])
def test_dixon_k_refuses_patterns_outside_the_table(bad):
    with pytest.raises(ValueError):
        dixon_k(bad)


# ---------------------------------------------------------------------------
# Up-down: series built here with Chaplan's rules, the k table copy and the stepping
# (constructed, not printed examples; see test_thresholds_published.py)


UP_DOWN_CASES = [
    # O-first series from the 4.31 start, delta fixed at Chaplan's 0.224.
    pytest.param("4.31", "OXOXOO", CHAPLAN_DELTA, "OXOXOO", "4.56", id="O-first"),
    # X-first series (negated mirror of OXOOXO), delta 0.224.
    pytest.param("4.31", "XOXXOX", CHAPLAN_DELTA, "XOXXOX", "4.17", id="X-first"),
    # Long opening run of withdrawals (XXXX first part, Dixon's last column).
    pytest.param("4.31", "XXXXOOXOX", CHAPLAN_DELTA, "XXXXOOXOX", "4.08", id="XXXX-run"),
    # Long opening run of non-responses (OOOOX...).
    pytest.param("4.31", "OOOOXOXXO", CHAPLAN_DELTA, "OOOOXOXXO", "4.74", id="OOOOX-run"),
    # Six O's before the change: looked up with the last four (Dixon's OOOO column).
    pytest.param("4.31", "OOOOOOXXOXO", CHAPLAN_DELTA, "OOOOXXOXO", "5.07", id="OOOOOOX-run"),
    # Flexible delta (Christensen 2020's term): the mean step of the whole Stoelting set.
    pytest.param("4.31", "OXOXOO", None, "OXOXOO", "4.56", id="mean-step-delta"),
    # Start low (Up-Down Reader allows any start): XOOOOO, the entry misprinted as -0.983.
    pytest.param("3.22", "XOOOOO", CHAPLAN_DELTA, "XOOOOO", "4.08", id="XOOOOO"),
    pytest.param("4.31", "OXXXXX", CHAPLAN_DELTA, "OXXXXX", "3.84", id="OXXXXX"),
]


@pytest.mark.parametrize(("start", "responses", "delta", "lookup", "xf"), UP_DOWN_CASES)
def test_up_down_constructed_series(start, responses, delta, lookup, xf):
    stimuli = walk(start, responses)
    result = up_down_threshold(stimuli, delta=delta)
    used_delta = STOELTING_MEAN_DELTA if delta is None else delta
    assert result.status == "ok", result.reason
    assert result.pattern == lookup
    assert result.k == pytest.approx(CIRCULATING_K[lookup])
    assert result.last_filament == xf
    assert result.delta == pytest.approx(used_delta)
    assert result.grams == pytest.approx(chaplan_formula_g(float(xf), lookup, used_delta))
    assert result.n_stimuli == len(responses)
    assert result.reason == "" and result.warnings == ()
    assert compute_threshold(stimuli, method="up_down", delta=delta) == result


def test_chaplan_delta_is_the_mean_step_of_his_eight_hairs():
    # Chaplan 1994 used hairs 3.61-5.18 and delta = 0.224 (= (5.18 - 3.61) / 7).
    assert len(CHAPLAN_8) == 8
    assert round(mean_log_step(CHAPLAN_8), 3) == CHAPLAN_DELTA
    assert mean_log_step() == pytest.approx(STOELTING_MEAN_DELTA)


def test_chaplan_protocol_needs_four_to_nine_stimuli():
    # NIH PSPP TestPWT (Chaplan's paradigm): start at 4.31 with the eight hairs; the
    # number of responses "can vary from a minimum of 4 to a maximum of 9".
    assert series_bound(CHAPLAN_8, method="up_down", start="4.31") == 9
    counts = set()
    for code in range(2**9):
        answers = [bool(code >> i & 1) for i in range(9)]
        stimuli = []
        while (size := next_filament(stimuli, CHAPLAN_8, start="4.31")) is not None:
            stimuli.append((size, answers[len(stimuli)]))
        counts.add(len(stimuli))
    assert min(counts) == 4 and max(counts) == 9


def test_all_no_response_to_the_top_is_the_cut_off():
    # Reference study: cut-off 300 g, the top of the Stoelting set.
    stimuli = walk("4.31", "O" * 11)
    assert stimuli[-1][0] == "6.65"
    result = up_down_threshold(stimuli)
    assert (result.status, result.grams, result.k) == ("cutoff_high", 300.0, None)
    assert "cut-off 300 g" in result.reason


def test_all_withdrawals_to_the_bottom_is_cutoff_low():
    stimuli = walk("4.31", "X" * 10)
    assert stimuli[-1][0] == "1.65"
    result = up_down_threshold(stimuli)
    assert (result.status, result.grams) == ("cutoff_low", 0.008)
    assert "lowest filament" in result.reason


def test_study_cut_off_is_reported_for_cutoff_high():
    result = up_down_threshold(walk("4.31", "O" * 11), cutoff_g=180.0)
    assert (result.status, result.grams) == ("cutoff_high", 180.0)


def test_change_then_no_response_to_the_top_is_cutoff_high():
    # Withdrawal at 6.10, then none at 5.88, 6.10, 6.45 and 6.65: the top is reached
    # before the six critical responses.
    stimuli = walk("6.10", "XOOOO")
    assert stimuli[-1] == ("6.65", False)
    result = up_down_threshold(stimuli)
    assert (result.status, result.grams) == ("cutoff_high", 300.0)


def test_estimate_above_the_cut_off_is_reported_as_the_cut_off():
    # OXOOXO from 6.10 ends at 6.45 with k = +0.372: above the 300 g cut-off.
    stimuli = walk("6.10", "OXOOXO")
    assert stimuli[-1][0] == "6.45"
    assert chaplan_formula_g(6.45, "OXOOXO", CHAPLAN_DELTA) > 300
    result = up_down_threshold(stimuli, delta=CHAPLAN_DELTA)
    assert (result.status, result.grams) == ("cutoff_high", 300.0)
    assert result.k == pytest.approx(0.372)
    assert "above the cut-off" in result.reason


@pytest.mark.parametrize("responses", ["O", "OOO", "XX", "OX", "OXOX", "XOXOX"])
def test_short_series_are_incomplete_and_carry_no_number(responses):
    result = up_down_threshold(walk("4.31", responses))
    assert result.status == "incomplete"
    assert result.grams is None and result.k is None
    assert result.reason


def test_stimuli_beyond_the_series_are_ignored():
    stimuli = walk("4.31", "OXOXOO" + "XO")
    result = up_down_threshold(stimuli, delta=CHAPLAN_DELTA)
    reference = up_down_threshold(stimuli[:6], delta=CHAPLAN_DELTA)
    assert result.grams == reference.grams and result.pattern == "OXOXOO"
    assert (result.n_stimuli, result.n_ignored) == (6, 2)
    assert result.warnings == ("2 stimuli recorded after the series ended were ignored",)


def test_steps_that_break_the_rule_are_computed_and_flagged():
    stimuli = walk("4.31", "OXOXOO")
    stimuli[2] = ("4.17", False)  # should have been 4.31
    result = up_down_threshold(stimuli)
    assert result.status == "ok"
    assert any("stimulus 3: expected 4.31" in w for w in result.warnings)


# ---------------------------------------------------------------------------
# First response ("target force", the reference paper's measure)


def test_reference_paper_k10_t0_target_forces():
    # Kim et al. 2022 (DESIGN.md): K10 T0 = 21.6 +/- 2.7 g (mean +/- SEM) from target
    # forces 15, 15, 26, 26, 26 g, each the lowest withdrawal force of a Dixon series
    # started at 4.31 (2.0 g). The series are constructed; the forces are the paper's.
    sessions = [
        walk("4.31", "OOOOOXOXOX"),  # withdrawals only at 5.18 (15 g)
        walk("4.31", "OOOOOXOOXO"),  # 5.18 (15 g) and 5.46
        walk("4.31", "OOOOOOXOXOX"),  # only at 5.46 (26 g)
        walk("4.31", "OOOOOOXOOXO"),  # 5.46 (26 g) and 5.88
        walk("4.31", "OOOOOOXOOOX"),  # 5.46 (26 g) and 6.10
    ]
    results = [first_response_threshold(s) for s in sessions]
    assert {r.status for r in results} == {"ok"}
    forces = [r.grams for r in results]
    assert forces == [15.0, 15.0, 26.0, 26.0, 26.0]
    assert round(statistics.mean(forces), 1) == 21.6
    assert round(statistics.stdev(forces) / math.sqrt(len(forces)), 1) == 2.7


def test_target_force_is_the_lowest_withdrawal_not_the_first():
    # DESIGN.md: "the lowest force that elicited a withdrawal in the series (not the
    # first withdrawal, which is often the 2.0 g start filament)".
    stimuli = walk("4.31", "XOXXXO")  # 4.31 X, 4.17 O, 4.31 X, 4.17 X, 4.08 X, 3.84 O
    result = first_response_threshold(stimuli)
    assert (result.status, result.grams) == ("ok", 1.0)
    assert result.pattern == "XOXXXO"


def test_target_force_without_any_withdrawal_is_the_cut_off():
    result = first_response_threshold(walk("4.31", "O" * 11))
    assert (result.status, result.grams) == ("cutoff_high", 300.0)
    assert first_response_threshold(walk("4.31", "O" * 11), cutoff_g=180.0).grams == 180.0


def test_target_force_at_the_lowest_filament_is_cutoff_low():
    result = first_response_threshold(walk("4.31", "X" * 10))
    assert (result.status, result.grams) == ("cutoff_low", 0.008)


def test_target_force_needs_a_closed_series():
    result = first_response_threshold(walk("4.31", "XOX"))
    assert result.status == "incomplete" and result.grams is None


def test_target_force_above_the_cut_off_is_the_cut_off():
    # First withdrawal at 6.45 (180 g), the series is still open.
    assert first_response_threshold(walk("4.31", "O" * 9 + "XO")).status == "incomplete"
    # Withdrawals only at 6.45 (180 g); none at 6.10 (100 g), the study's cut-off.
    result = first_response_threshold(walk("4.31", "O" * 9 + "XOXOX"), cutoff_g=100.0)
    assert (result.status, result.grams) == ("cutoff_high", 100.0)
    assert "180 g is above the cut-off" in result.reason


def test_first_response_and_up_down_share_the_series():
    for responses in ("OXOXOO", "XOXXOX", "OOOOXOXXO", "OOO", "O" * 11):
        stimuli = walk("4.31", responses)
        a = up_down_threshold(stimuli)
        b = first_response_threshold(stimuli)
        assert (a.n_stimuli, a.status == "incomplete") == (b.n_stimuli, b.status == "incomplete")
        assert next_filament(stimuli, method="up_down") == next_filament(
            stimuli, method="first_response"
        )


# ---------------------------------------------------------------------------
# SUDO (Bonin et al. 2014)


def test_sudo_fifth_withdrawal_moves_half_a_step_down():
    # Bonin 2014: five stimuli, threshold from the fifth response; a withdrawal at the
    # fifth moves half a filament down (k = -0.5). Here: the log midpoint of 4.31 and
    # the next filament down, 4.17.
    stimuli = walk("4.31", "OXOXX")
    result = sudo_threshold(stimuli)
    assert (result.status, result.k, result.pattern) == ("ok", -0.5, "OXOXX")
    assert result.last_filament == "4.31"
    assert result.grams == pytest.approx(10 ** ((4.31 + 4.17) / 2) / 10_000)
    fixed = sudo_threshold(stimuli, delta=CHAPLAN_DELTA)
    assert fixed.grams == pytest.approx(10 ** (4.31 - 0.5 * CHAPLAN_DELTA) / 10_000)


def test_sudo_fifth_non_response_moves_half_a_step_up():
    stimuli = walk("4.31", "XOXOO")  # fifth: 4.31, no withdrawal
    result = sudo_threshold(stimuli)
    assert (result.status, result.k) == ("ok", 0.5)
    assert result.grams == pytest.approx(10 ** ((4.31 + 4.56) / 2) / 10_000)


def test_sudo_is_exactly_five_stimuli():
    stimuli = walk("4.31", "OXOXO")
    assert next_filament(stimuli[:4], method="sudo") == "4.31"
    assert next_filament(stimuli, method="sudo") is None
    assert sudo_threshold(stimuli[:4]).status == "incomplete"
    assert series_bound(method="sudo") == 5
    longer = sudo_threshold(walk("4.31", "OXOXOXX"))
    assert (longer.n_stimuli, longer.n_ignored) == (5, 2)


def test_sudo_ends_of_the_set():
    assert sudo_threshold(walk("2.44", "XXX")).status == "cutoff_low"
    assert sudo_threshold(walk("6.10", "OOO")).grams == 300.0
    # A withdrawal at the lowest filament on the fifth stimulus has no half step below.
    assert sudo_threshold(walk("2.44", "OXXXX")).status == "cutoff_low"


# ---------------------------------------------------------------------------
# %MPE (reference paper: per animal, baseline = that animal's T0, cut-off 300 g)


def test_percent_mpe_paper_shaped_values():
    # DESIGN.md: K10 T1 32.6 g on a 21.6 g baseline "implies 3.6-4.1 %".
    value = percent_mpe(32.6, 21.6)
    assert 3.6 <= value <= 4.1
    assert value == pytest.approx((32.6 - 21.6) / (300 - 21.6) * 100)
    assert percent_mpe(21.6, 21.6) == 0.0
    assert percent_mpe(300.0, 21.6) == pytest.approx(100.0)


def test_percent_mpe_can_be_negative():
    # Worked by hand: baseline 21.6 g, post 10 g, cut-off 300 g:
    # (10 - 21.6) / (300 - 21.6) * 100 = -11.6 / 278.4 * 100 = -4.16666... %
    assert percent_mpe(10.0, 21.6) == pytest.approx(-4.1667, abs=5e-5)
    # Baseline 26 g, post 10 g: (10 - 26) / (300 - 26) * 100 = -16 / 274 * 100 = -5.8394 %
    assert percent_mpe(10.0, 26.0) == pytest.approx(-5.8394, abs=5e-5)
    # A study cut-off of 180 g: (10 - 26) / (180 - 26) * 100 = -16 / 154 * 100 = -10.3896 %
    assert percent_mpe(10.0, 26.0, cutoff_g=180.0) == pytest.approx(-10.3896, abs=5e-5)


def test_percent_mpe_undefined_cases_give_none_with_a_reason():
    assert percent_mpe(26.0, 300.0) is None
    assert "baseline equals the cut-off" in percent_mpe_reason(26.0, 300.0)
    assert percent_mpe(26.0, 180.0, cutoff_g=180.0) is None
    assert percent_mpe(None, 21.6) is None and percent_mpe_reason(None, 21.6)
    assert percent_mpe(26.0, None) is None
    assert percent_mpe(26.0, 400.0) is None and "above the cut-off" in percent_mpe_reason(
        26.0, 400.0
    )
    assert percent_mpe(float("nan"), 21.6) is None
    assert percent_mpe_reason(32.6, 21.6) is None


# ---------------------------------------------------------------------------
# Bad input


def test_unknown_filament_names_the_stimulus():
    with pytest.raises(ValueError, match=r"^stimulus 3: unknown filament '4\.32'$"):
        up_down_threshold([("4.31", True), ("4.17", False), ("4.32", True)])


def test_empty_series_is_refused():
    for fn in (up_down_threshold, first_response_threshold, sudo_threshold):
        with pytest.raises(ValueError, match="empty series"):
            fn([])
    assert next_filament([]) == "4.31"


@pytest.mark.parametrize("response", ["yes", "1", 2, -1, 1.0, 0.0, None])
def test_non_boolean_response_is_refused(response):
    with pytest.raises(ValueError, match=r"^stimulus 2: response must be True/False"):
        up_down_threshold([("4.31", True), ("4.17", response)])


def test_booleans_numpy_booleans_and_0_1_integers_are_accepted():
    as_bool = walk("4.31", "OXOXOO")
    as_int = [(s, int(w)) for s, w in as_bool]
    as_np = [(s, np.bool_(w)) for s, w in as_bool]
    as_np_int = [(s, np.int64(w)) for s, w in as_bool]
    expected = up_down_threshold(as_bool)
    assert up_down_threshold(as_int) == expected
    assert up_down_threshold(as_np) == expected
    assert up_down_threshold(as_np_int) == expected


def test_sizes_must_be_strings_but_trailing_zeros_match():
    with pytest.raises(ValueError, match=r"^stimulus 1: filament size must be a string"):
        up_down_threshold([(4.31, True)])
    assert up_down_threshold([("6.1", False), ("6.45", False), ("6.65", False)]).grams == 300.0


@pytest.mark.parametrize("item", [("4.31",), ("4.31", True, 1), "4.31", None])
def test_malformed_stimulus_is_refused(item):
    with pytest.raises(ValueError, match=r"^stimulus 2: "):
        up_down_threshold([("4.31", True), item])


def test_bad_arguments():
    stimuli = walk("4.31", "OXOXOO")
    with pytest.raises(ValueError, match="unknown method"):
        compute_threshold(stimuli, method="dixon")
    with pytest.raises(ValueError, match="delta"):
        up_down_threshold(stimuli, delta=0)
    with pytest.raises(ValueError, match="cutoff_g"):
        up_down_threshold(stimuli, cutoff_g=-1)
    with pytest.raises(ValueError, match="sizes must increase"):
        up_down_threshold(stimuli, (STOELTING_20[1], STOELTING_20[0]))
    with pytest.raises(ValueError, match="start filament '9.99' is not in the filament set"):
        next_filament([], start="9.99")
    with pytest.raises(ValueError, match="start filament"):
        series_bound(CHAPLAN_8, start="1.65")
    with pytest.raises(ValueError):
        Filament(4.31, 2.0)
    with pytest.raises(ValueError):
        Filament("4.31", -2.0)


def test_filament_rows_from_elsewhere_are_accepted():
    class Row:  # e.g. a Django model instance with .size and .grams
        def __init__(self, size, grams):
            self.size, self.grams = size, grams

    rows = [Row(f.size, f.grams) for f in CHAPLAN_8]
    stimuli = walk("4.31", "OXOXOO", CHAPLAN_8)
    assert up_down_threshold(stimuli, rows) == up_down_threshold(stimuli, CHAPLAN_8)
    assert up_down_threshold(stimuli, rows).delta == pytest.approx((5.18 - 3.61) / 7)


# ---------------------------------------------------------------------------
# next_filament


def test_next_filament_steps_down_after_withdrawal_and_up_after_none():
    assert next_filament([]) == "4.31"
    assert next_filament([("4.31", True)]) == "4.17"
    assert next_filament([("4.31", False)]) == "4.56"
    assert next_filament([], start="2.44") == "2.44"
    assert next_filament(walk("4.31", "OXOXOO")) is None
    assert next_filament(walk("4.31", "OXOXO")) == "4.56"


def test_next_filament_stops_at_the_ends_of_the_set():
    assert next_filament([("1.65", True)], start="1.65") is None
    assert next_filament([("6.65", False)], start="6.65") is None
    assert next_filament(walk("4.31", "X" * 10)) is None
    assert next_filament(walk("4.31", "X" * 9)) == "1.65"


# ---------------------------------------------------------------------------
# Properties (hypothesis)


EVEN_SET = tuple(
    Filament(f"{2 + 0.25 * i:.2f}", round(10 ** (2 + 0.25 * i) / 10_000, 6)) for i in range(12)
)


@st.composite
def filament_sets(draw):
    if draw(st.booleans()):
        return STOELTING_20
    chosen = draw(st.lists(st.sampled_from(range(20)), min_size=2, max_size=20, unique=True))
    return tuple(STOELTING_20[i] for i in sorted(chosen))


@st.composite
def up_down_series(draw, filaments=None, max_len=30):
    """Stimuli that follow the up-down stepping from any start, with any responses."""
    filaments = filaments if filaments is not None else draw(filament_sets())
    n = len(filaments)
    i = draw(st.integers(0, n - 1))
    stimuli = []
    for _ in range(draw(st.integers(1, max_len))):
        if not 0 <= i < n:
            break
        withdrew = draw(st.booleans())
        stimuli.append((filaments[i].size, withdrew))
        i += -1 if withdrew else 1
    return filaments, stimuli


def _index(filaments, size):
    return [f.size for f in filaments].index(size)


@settings(max_examples=300)
@given(up_down_series(filaments=EVEN_SET), st.sampled_from(["up_down", "sudo"]))
def test_mirrored_series_give_negated_k(series, method):
    filaments, stimuli = series
    n = len(filaments)
    mirrored = [(filaments[n - 1 - _index(filaments, s)].size, not w) for s, w in stimuli]
    a = compute_threshold(stimuli, filaments, method=method, cutoff_g=1e9)
    b = compute_threshold(mirrored, filaments, method=method, cutoff_g=1e9)
    swap = {"ok": "ok", "incomplete": "incomplete", "cutoff_low": "cutoff_high"}
    swap["cutoff_high"] = "cutoff_low"
    assert b.status == swap[a.status]
    if a.k is not None:
        assert b.k == pytest.approx(-a.k)
        assert b.pattern == a.pattern.translate(str.maketrans("XO", "OX"))
        # On an evenly spaced set the estimate mirrors around the middle of the set.
        centre = (float(filaments[0].size) + float(filaments[-1].size)) / 2
        log_a, log_b = math.log10(a.grams * 1e4), math.log10(b.grams * 1e4)
        assert log_a - centre == pytest.approx(centre - log_b, abs=1e-9)


@settings(max_examples=300)
@given(up_down_series(), st.sampled_from(METHODS), st.sampled_from([None, 0.224]))
def test_shifting_every_stimulus_one_filament_up_never_lowers_the_threshold(series, method, delta):
    filaments, stimuli = series
    top = max(_index(filaments, s) for s, _ in stimuli)
    assume(top + 1 < len(filaments))
    shifted = [(filaments[_index(filaments, s) + 1].size, w) for s, w in stimuli]
    a = compute_threshold(stimuli, filaments, method=method, delta=delta)
    b = compute_threshold(shifted, filaments, method=method, delta=delta)
    if a.grams is not None and b.grams is not None:
        assert b.grams >= a.grams


@settings(max_examples=400)
@given(up_down_series(), st.sampled_from(METHODS))
def test_threshold_lies_within_the_filaments_applied_or_is_a_cut_off(series, method):
    # Dixon's estimate may extrapolate a little past the filaments applied (OXX has
    # k = -0.178 at the lowest one applied), so the bound is the next filament out, or
    # one mean step beyond the end of the set.
    filaments, stimuli = series
    result = compute_threshold(stimuli, filaments, method=method)
    if result.status == "incomplete":
        assert result.grams is None
        return
    if result.status == "cutoff_high":
        # An estimate above the cut-off is the cut-off; running off the top of a set
        # that stops below the cut-off is the top filament's force (issue 15).
        top_g = min(300.0, filaments[-1].grams)
        assert result.grams == (300.0 if "above the cut-off" in result.reason else top_g)
        return
    if result.status == "cutoff_low":
        assert result.grams == filaments[0].grams
        return
    used = [_index(filaments, s) for s, _ in stimuli[: result.n_stimuli]]
    sizes = [float(f.size) for f in filaments]
    step = mean_log_step(filaments)
    lo = sizes[min(used) - 1] if min(used) > 0 else sizes[0] - step
    hi = sizes[max(used) + 1] if max(used) + 1 < len(sizes) else sizes[-1] + step
    log_g = math.log10(result.grams * 10_000)
    assert lo - 1e-9 <= log_g <= hi + 1e-9
    if method in ("first_response", "ascending", "percent_response"):
        assert result.grams in {filaments[i].grams for i in used}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), filament_sets(), st.sampled_from(UP_DOWN_FAMILY), st.none() | st.floats(0.0, 8.0))
def test_next_filament_always_terminates_inside_the_set(data, filaments, method, true_log):
    # The simulated rat has a fixed threshold (withdraws at or above it) or, when
    # true_log is None, answers anything at all.
    start = data.draw(st.sampled_from([f.size for f in filaments]))
    bound = series_bound(filaments, method=method, start=start)
    assert bound <= len(filaments) + 4
    sizes = [f.size for f in filaments]
    stimuli = []
    while (size := next_filament(stimuli, filaments, method=method, start=start)) is not None:
        assert size in sizes
        if stimuli:
            prev, withdrew = stimuli[-1]
            assert sizes.index(size) == sizes.index(prev) + (-1 if withdrew else 1)
        answer = data.draw(st.booleans()) if true_log is None else float(size) >= true_log
        stimuli.append((size, answer))
        assert len(stimuli) <= bound
    result = compute_threshold(stimuli, filaments, method=method)
    assert result.status != "incomplete"
    assert result.n_stimuli == len(stimuli) and result.n_ignored == 0
    assert result.grams is not None


# ---------------------------------------------------------------------------
# Batch computation


def _flatten(sessions, filaments):
    sizes, withdrew, ids = [], [], []
    for sid, stimuli in enumerate(sessions):
        for size, w in stimuli:
            sizes.append(size)
            withdrew.append(w)
            ids.append(sid)
    return filament_indices(sizes, filaments), np.array(withdrew, dtype=bool), np.array(ids)


ANY_STIMULI = st.lists(
    st.tuples(st.sampled_from([f.size for f in STOELTING_20]), st.booleans()),
    min_size=1,
    max_size=12,
)  # not following the stepping rule at all


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        up_down_series(filaments=STOELTING_20, max_len=14).map(lambda fs_stimuli: fs_stimuli[1])
        | ANY_STIMULI,
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(METHODS),
    st.sampled_from([None, 0.224]),
    st.sampled_from([300.0, 26.0]),
)
def test_batch_agrees_with_the_per_session_functions(sessions, method, delta, cutoff_g):
    filaments = STOELTING_20
    stimuli_lists = sessions
    batch = batch_thresholds(
        *_flatten(stimuli_lists, filaments),
        filaments,
        method=method,
        cutoff_g=cutoff_g,
        delta=delta,
    )
    assert len(batch) == len(stimuli_lists)
    for i, stimuli in enumerate(stimuli_lists):
        one = compute_threshold(stimuli, filaments, method=method, cutoff_g=cutoff_g, delta=delta)
        other = batch.threshold(i)
        if one.grams is None:
            assert other.grams is None
        else:
            assert other.grams == pytest.approx(one.grams, rel=1e-12)
        # The batch path does not list stepping deviations, only ignored stimuli.
        assert other.warnings == tuple(w for w in one.warnings if "ignored" in w)
        assert replace(other, grams=one.grams) == replace(one, warnings=other.warnings)


def test_batch_keeps_session_ids_and_order():
    sessions = [walk("4.31", "OXOXOO"), walk("4.31", "OOO"), walk("4.31", "X" * 10)]
    idx, withdrew, _ = _flatten(sessions, STOELTING_20)
    ids = np.repeat(np.array(["rat-b", "rat-a", "rat-c"]), [6, 3, 10])
    batch = batch_thresholds(idx, withdrew.astype(int), ids, delta=CHAPLAN_DELTA)
    assert batch.session_ids.tolist() == ["rat-b", "rat-a", "rat-c"]
    assert batch.status.tolist() == ["ok", "incomplete", "cutoff_low"]
    assert batch.grams[0] == pytest.approx(chaplan_formula_g(4.56, "OXOXOO", CHAPLAN_DELTA))
    assert math.isnan(batch.grams[1]) and math.isnan(batch.k[1])
    assert batch.patterns == ("OXOXOO", "OOO", "XXXXXXXXXX")


def test_batch_bad_input():
    idx, withdrew, ids = _flatten([walk("4.31", "OXOXOO"), walk("4.31", "OOO")], STOELTING_20)
    with pytest.raises(ValueError, match="session 0 appears in two separate blocks"):
        batch_thresholds(idx, withdrew, np.array([0, 0, 0, 1, 1, 1, 0, 0, 0]))
    with pytest.raises(ValueError, match=r"^stimulus 2: filament position 20"):
        batch_thresholds(np.array([9, 20]), np.array([True, False]), np.array([1, 1]))
    with pytest.raises(ValueError, match=r"^stimulus 2: response must be True/False"):
        batch_thresholds(np.array([9, 8]), np.array([1, 2]), np.array([1, 1]))
    with pytest.raises(ValueError, match="same length"):
        batch_thresholds(idx, withdrew[:-1], ids)
    with pytest.raises(ValueError, match="integer filament positions"):
        batch_thresholds(idx.astype(float), withdrew, ids)
    with pytest.raises(ValueError, match=r"stimulus 2: unknown filament '4\.32'"):
        filament_indices(["4.31", "4.32"])
    empty = batch_thresholds(np.array([], dtype=int), np.array([], dtype=bool), np.array([]))
    assert len(empty) == 0 and empty.to_thresholds() == []
