"""Withdrawal thresholds from von Frey filament series: data in, numbers out.

This module turns the stimuli of one test session (an ordered sequence of
``(filament size, withdrew)`` pairs) into a threshold in grams, tells the technician
which filament to apply next, and computes %MPE. It is pure Python + numpy and must
never import Django, read settings or touch the database: the web app, the importers
and the tests all call the same functions.

Methods (``METHODS``)
---------------------
``up_down``
    Chaplan et al. 1994 (J Neurosci Methods 53:55-63) 50 % threshold with Dixon's k
    (Dixon 1965 JASA 60:967-978; Dixon 1980 Annu Rev Pharmacol Toxicol 20:441-462):
    ``10 ** (Xf + k * delta) / 10_000`` g. Counting starts at the pair of unlike
    responses around the first change in response; six critical responses (that pair
    plus four more) complete the series. Xf is the evaluator size of the sixth critical
    stimulus, k comes from Dixon's table for the pattern (up to four like responses
    before the change, as Dixon tabulates; a longer opening run is looked up with its
    last four, which moves k by at most 0.004), delta is the mean step between
    evaluator sizes of the filament set, or a fixed study value (Chaplan used 0.224).
``first_response``
    The reference paper's "target force": the force of the LOWEST filament that
    elicited a withdrawal anywhere in the series (not the first withdrawal). The series
    is the up-down series above (same stepping, same stopping rule), so one session
    supports both methods and the study can switch between them afterwards. The
    minimum is well defined because the series is closed: stimuli after it are
    ignored. No withdrawal up to the top filament gives the cut-off.
``sudo``
    Simplified up-down (Bonin, Bories & De Koninck 2014, Mol Pain 10:26): exactly five
    stimuli with the same stepping; the threshold is read from the fifth one, moved half
    a step down after a withdrawal and half a step up after none (k = -0.5 / +0.5). By
    default "half a step" is the midpoint, in evaluator-size units, between the fifth
    filament and its neighbour in that direction; with a fixed ``delta`` it is
    ``delta / 2``.

``ascending``
    Ascending method of limits (Deuis, Dvorakova & Vetter 2017, Front Mol Neurosci
    10:284, "von Frey: ascending stimulus"): filaments in ascending order from the
    lowest filament in use, each applied up to ``applications`` times (N, default 1),
    until one elicits ``withdrawals`` withdrawals (default 1) out of its N; the
    threshold is that filament's force. A filament is left as soon as its outcome is
    settled: the withdrawals are reached, or too few applications remain to reach them.
``percent_response``
    Percent response (frequency) method (Deuis et al. 2017, "von Frey: percent
    response"): every filament in use applied N times (``applications``, e.g. 5 or 10),
    in ascending order; the result is the withdrawal frequency per filament
    (``Threshold.frequencies``), and the threshold is the force of the lowest filament
    reaching ``withdrawals`` of N (e.g. 3 of 5; 5 of 10 = 50 %). Only the first N
    applications of each filament count.

Both take ``subset``, the evaluator sizes in use (a study's chosen filaments; default
the whole set). A withdrawal criterion met at the lowest filament in use is
``cutoff_low``; no filament in use meeting it is ``cutoff_high``.

Stepping and stopping (``next_filament``)
-----------------------------------------
Up-down, target force and SUDO start at ``start`` (4.31 = 2.0 g), one filament down
after a withdrawal, one up after none. The series stops when the method's series is
complete, or when the next step would leave the set: a withdrawal at the lowest
filament (``cutoff_low``, reported as that filament's force) or no withdrawal at the
top filament (``cutoff_high``, reported as the study's cut-off, 300 g by default, or
the top filament's force when the set stops below the cut-off: a 0.4-15 g set cannot
tell 15 g from 300 g). Ascending and percent response step upward through the
filaments in use, each N times (ascending leaves a filament once its outcome is
settled). ``series_bound`` gives the most stimuli a method can need; the guidance never
leaves the set and always terminates.

Series that never change (all O or all X) are ``incomplete`` until they reach an end of
the set. Stimuli recorded after the series ended are ignored (counted in
``Threshold.n_ignored`` and named in ``Threshold.warnings``). Steps that do not follow
the up-down rule are computed anyway and listed in ``warnings``. An up-down or SUDO
estimate above the cut-off is reported as the cut-off with ``cutoff_high``. An
``incomplete`` result never carries a number.

Input rules
-----------
Filament sizes are strings such as ``"4.31"`` (``"6.1"`` matches ``"6.10"``); the
response is ``True``/``False`` (numpy booleans and the integers 0/1 are accepted too,
because CSV files store 1/0; anything else, ``1.0`` or ``"yes"`` included, is refused).
Bad input raises ``ValueError`` naming the 1-based stimulus: ``stimulus 3: unknown
filament '4.32'``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "DIXON_K",
    "METHODS",
    "METHOD_ALIASES",
    "METHOD_NAMES",
    "STATUSES",
    "STOELTING_20",
    "BatchThresholds",
    "Stimuli",
    "Filament",
    "Threshold",
    "ascending_threshold",
    "batch_thresholds",
    "compute_threshold",
    "effective_cutoff_g",
    "dixon_k",
    "filament_indices",
    "first_response_threshold",
    "method_key",
    "method_name",
    "mean_log_step",
    "next_filament",
    "percent_mpe",
    "percent_mpe_reason",
    "percent_response_threshold",
    "series_family",
    "series_bound",
    "sudo_threshold",
    "up_down_threshold",
]

Stimuli = Sequence[tuple[str, bool]]
"""An ordered series of (filament size, withdrew) pairs, as applied."""

METHODS = ("up_down", "first_response", "sudo", "ascending", "percent_response")
# Methods whose series are recorded the same way (one series supports all in a family):
# the up-down stepping, or ascending blocks of N applications per filament.
UP_DOWN_FAMILY = ("up_down", "first_response", "sudo")
BLOCK_FAMILY = ("ascending", "percent_response")
# What files, exports and people call each method. "first_response" is the stored key of
# the target force (lowest withdrawal): it is not the first withdrawal, so files say
# "target_force"; both names are read back (command line, imported thresholds files).
METHOD_NAMES = {
    "up_down": "up_down",
    "first_response": "target_force",
    "sudo": "sudo",
    "ascending": "ascending",
    "percent_response": "percent_response",
}
METHOD_ALIASES = {
    **{name: key for key, name in METHOD_NAMES.items()},
    "first_response": "first_response",
    "ascending_limits": "ascending",
    "frequency": "percent_response",
}


def series_family(method: str) -> tuple[str, ...]:
    """The methods that can be computed from a series recorded for `method`."""
    return BLOCK_FAMILY if method in BLOCK_FAMILY else UP_DOWN_FAMILY


def method_name(method: str) -> str:
    """The name a file or export gives `method` (a key of ``METHODS``)."""
    return METHOD_NAMES.get(method, method)


def method_key(name: str) -> str | None:
    """The ``METHODS`` key of a method written as a key or a name ("target_force"), or None."""
    return METHOD_ALIASES.get(name.strip().lower())


STATUSES = ("ok", "cutoff_high", "cutoff_low", "incomplete")
DEFAULT_CUTOFF_G = 300.0
DEFAULT_START = "4.31"
# Chaplan's six critical responses: the unlike pair around the first change + 4 more.
CRITICAL_RESPONSES = 6
SUDO_STIMULI = 5
DEFAULT_APPLICATIONS = {"ascending": 1, "percent_response": 5}
DEFAULT_WITHDRAWALS = {"ascending": 1, "percent_response": 3}
MAX_APPLICATIONS = 20


@dataclass(frozen=True)
class Filament:
    """One von Frey filament: evaluator size (log10 of 10 x force in mg) and grams."""

    size: str
    grams: float

    def __post_init__(self) -> None:
        if not isinstance(self.size, str):
            raise ValueError(f"filament size must be a string such as '4.31', got {self.size!r}")
        try:
            size_value = float(self.size)
        except ValueError:
            raise ValueError(f"filament size {self.size!r} is not a number") from None
        if not math.isfinite(size_value):
            raise ValueError(f"filament size {self.size!r} is not a finite number")
        if isinstance(self.grams, bool) or not isinstance(self.grams, (numbers.Real, Decimal)):
            raise ValueError(f"filament {self.size}: grams must be a number, got {self.grams!r}")
        grams = float(self.grams)
        if not (math.isfinite(grams) and grams > 0):
            raise ValueError(f"filament {self.size}: grams must be positive, got {self.grams!r}")
        object.__setattr__(self, "grams", grams)


STOELTING_20: tuple[Filament, ...] = tuple(
    Filament(size, grams)
    for size, grams in (
        ("1.65", 0.008),
        ("2.36", 0.02),
        ("2.44", 0.04),
        ("2.83", 0.07),
        ("3.22", 0.16),
        ("3.61", 0.4),
        ("3.84", 0.6),
        ("4.08", 1.0),
        ("4.17", 1.4),
        ("4.31", 2.0),
        ("4.56", 4.0),
        ("4.74", 6.0),
        ("4.93", 8.0),
        ("5.07", 10.0),
        ("5.18", 15.0),
        ("5.46", 26.0),
        ("5.88", 60.0),
        ("6.10", 100.0),
        ("6.45", 180.0),
        ("6.65", 300.0),
    )
)


@dataclass(frozen=True)
class Threshold:
    """One session's threshold and how it was reached.

    ``grams`` is None only when ``status == "incomplete"``. ``pattern`` is the series
    that was used (X = withdrawal, O = none); for a complete up-down series it is the
    pattern looked up in Dixon's table (an opening run longer than four is cut to its
    last four). ``k`` and ``delta`` are set when an up-down or SUDO estimate was
    computed. ``last_filament`` is the final filament of the series. ``reason`` says why
    the status is not ``ok``.
    """

    grams: float | None
    pattern: str
    status: str
    method: str
    k: float | None
    last_filament: str | None
    n_stimuli: int
    reason: str = ""
    delta: float | None = None
    cutoff_g: float = DEFAULT_CUTOFF_G
    n_ignored: int = 0
    warnings: tuple[str, ...] = ()
    # Percent response: (size, withdrawals, applications) per filament in use, ascending.
    frequencies: tuple[tuple[str, int, int], ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# Dixon's table of k for series that start with O (no withdrawal): the table of Dixon
# 1980, reproduced in the appendix of Chaplan et al. 1994. Keys are the second part of
# the series (from the first X on); the four values are for a first part of O, OO, OOO
# and OOOO. Series that start with X use the mirror image with the sign of k flipped.
# The printed table itself was not consulted: the values were checked entry by entry
# against two code copies circulating on GitHub (raqueladaia/vf_updown_analysis,
# get-a-grep/VonFreyCalculator), which agree with each other, and every entry is
# recomputed as Dixon's maximum-likelihood estimate (tests/analysis/test_thresholds.py).
_DIXON_O_FIRST: dict[str, tuple[float, float, float, float]] = {
    "X": (-0.500, -0.388, -0.378, -0.377),
    "XO": (+0.842, +0.890, +0.894, +0.894),
    "XX": (-0.178, +0.000, +0.026, +0.028),
    "XOO": (+0.299, +0.314, +0.315, +0.315),
    "XOX": (-0.500, -0.439, -0.432, -0.432),
    "XXO": (+1.000, +1.122, +1.139, +1.140),
    "XXX": (+0.194, +0.449, +0.500, +0.506),
    "XOOO": (-0.157, -0.154, -0.154, -0.154),
    "XOOX": (-0.878, -0.861, -0.860, -0.860),
    "XOXO": (+0.701, +0.737, +0.741, +0.741),
    "XOXX": (+0.084, +0.169, +0.181, +0.182),
    "XXOO": (+0.305, +0.372, +0.380, +0.381),
    "XXOX": (-0.305, -0.169, -0.144, -0.142),
    "XXXO": (+1.288, +1.500, +1.544, +1.549),
    "XXXX": (+0.555, +0.897, +0.985, +1.000),
    "XOOOO": (-0.547, -0.547, -0.547, -0.547),
    "XOOOX": (-1.250, -1.247, -1.246, -1.246),
    "XOOXO": (+0.372, +0.380, +0.381, +0.381),
    "XOOXX": (-0.169, -0.144, -0.142, -0.142),
    "XOXOO": (+0.022, +0.039, +0.040, +0.040),
    "XOXOX": (-0.500, -0.458, -0.453, -0.453),
    "XOXXO": (+1.169, +1.237, +1.247, +1.248),
    "XOXXX": (+0.611, +0.732, +0.756, +0.758),
    "XXOOO": (-0.296, -0.266, -0.263, -0.263),
    "XXOOX": (-0.831, -0.763, -0.753, -0.752),
    "XXOXO": (+0.831, +0.935, +0.952, +0.954),
    "XXOXX": (+0.296, +0.463, +0.500, +0.504),
    "XXXOO": (+0.500, +0.648, +0.678, +0.681),
    "XXXOX": (-0.043, +0.187, +0.244, +0.252),
    "XXXXO": (+1.603, +1.917, +2.000, +2.014),
    "XXXXX": (+0.893, +1.329, +1.465, +1.496),
}

_MIRROR = str.maketrans("XO", "OX")


def _build_dixon_k() -> dict[str, float]:
    table: dict[str, float] = {}
    for tail, values in _DIXON_O_FIRST.items():
        for run, k in enumerate(values, start=1):
            pattern = "O" * run + tail
            table[pattern] = k
            table[pattern.translate(_MIRROR)] = -k if k else 0.0
    return table


DIXON_K = MappingProxyType(_build_dixon_k())
"""Every pattern of Dixon's table (248: O-first and X-first, N' = 2..6) -> k."""

# k for complete series in array form for the batch path: [run - 1, tail bits 1..4]
# where a tail bit is 1 when that response differs from the first response.
_K_COMPLETE = np.array(
    [
        [
            _DIXON_O_FIRST["X" + format(bits, "04b").replace("1", "X").replace("0", "O")][run]
            for bits in range(16)
        ]
        for run in range(4)
    ]
)


def dixon_k(pattern: str) -> float:
    """Dixon's k for an X/O pattern (first part = opening run of like responses).

    An opening run longer than four is looked up with its last four responses (Dixon
    tabulates up to four; the exact maximum-likelihood value differs by at most 0.004).
    """
    if not isinstance(pattern, str) or not pattern or set(pattern) - {"X", "O"}:
        raise ValueError(f"pattern must be a non-empty string of X and O, got {pattern!r}")
    run = len(pattern) - len(pattern.lstrip(pattern[0]))
    if run == len(pattern):
        raise ValueError(f"pattern {pattern!r} never changes response: no k exists")
    key = pattern[max(0, run - 4) :]
    try:
        return DIXON_K[key]
    except KeyError:
        raise ValueError(
            f"pattern {pattern!r} has {len(pattern) - run} responses from the first change "
            "on; Dixon's table covers 1 to 5"
        ) from None


# ---------------------------------------------------------------------------
# Filament sets


@dataclass(frozen=True)
class _FilamentSet:
    filaments: tuple[Filament, ...]
    sizes: tuple[float, ...]
    grams: tuple[float, ...]
    exact: dict[str, int]
    by_value: dict[Decimal, int]
    mean_step: float
    sizes_arr: np.ndarray
    grams_arr: np.ndarray

    @property
    def n(self) -> int:
        return len(self.filaments)

    def label(self, i: int) -> str:
        f = self.filaments[i]
        return f"{f.size}, {f.grams:g} g"


@lru_cache(maxsize=64)
def _prepare(filaments: tuple[Filament, ...]) -> _FilamentSet:
    if len(filaments) < 2:
        raise ValueError("filament set: at least two filaments are needed")
    sizes = tuple(float(f.size) for f in filaments)
    grams = tuple(f.grams for f in filaments)
    for prev, cur in zip(filaments, filaments[1:], strict=False):
        if float(cur.size) <= float(prev.size):
            raise ValueError(
                f"filament set: sizes must increase ({cur.size!r} after {prev.size!r})"
            )
        if cur.grams <= prev.grams:
            raise ValueError(
                f"filament set: grams must increase ({cur.grams:g} g after {prev.grams:g} g)"
            )
    exact = {f.size: i for i, f in enumerate(filaments)}
    by_value = {Decimal(f.size.strip()): i for i, f in enumerate(filaments)}
    mean_step = (sizes[-1] - sizes[0]) / (len(sizes) - 1)
    sizes_arr = np.array(sizes)
    grams_arr = np.array(grams)
    sizes_arr.flags.writeable = False
    grams_arr.flags.writeable = False
    return _FilamentSet(filaments, sizes, grams, exact, by_value, mean_step, sizes_arr, grams_arr)


def _filament_set(filaments: Sequence[Filament]) -> _FilamentSet:
    if isinstance(filaments, str):
        raise ValueError("filaments must be a sequence of Filament objects")
    items = tuple(filaments)
    if not all(type(f) is Filament for f in items):
        # Accept anything shaped like a filament (e.g. a model row with .size/.grams).
        try:
            items = tuple(Filament(str(f.size), float(f.grams)) for f in items)
        except AttributeError:
            raise ValueError("filaments must have .size and .grams") from None
    return _prepare(items)


def mean_log_step(filaments: Sequence[Filament] = STOELTING_20) -> float:
    """Mean difference between consecutive evaluator sizes of the set (Chaplan's delta)."""
    return _filament_set(filaments).mean_step


def filament_indices(
    sizes: Sequence[str], filaments: Sequence[Filament] = STOELTING_20
) -> np.ndarray:
    """Positions of filament sizes in the set, as an int64 array (for ``batch_thresholds``)."""
    fs = _filament_set(filaments)
    out = np.empty(len(sizes), dtype=np.int64)
    for i, size in enumerate(sizes):
        out[i] = _lookup_size(fs, size, i + 1)
    return out


def _lookup_size(fs: _FilamentSet, size: object, number: int) -> int:
    if not isinstance(size, str):
        raise ValueError(
            f"stimulus {number}: filament size must be a string such as '4.31', got {size!r}"
        )
    i = fs.exact.get(size)
    if i is not None:
        return i
    try:
        i = fs.by_value.get(Decimal(size.strip()))
    except InvalidOperation:
        i = None
    if i is None:
        raise ValueError(f"stimulus {number}: unknown filament {size!r}")
    return i


def _as_withdrew(value: object, number: int) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise ValueError(f"stimulus {number}: response must be True/False (or 1/0), got {value!r}")


def _parse(stimuli, fs: _FilamentSet, *, allow_empty: bool = False):
    if isinstance(stimuli, (str, bytes)):
        raise ValueError("stimuli must be a sequence of (size, withdrew) pairs, not a string")
    idx: list[int] = []
    withdrew: list[bool] = []
    for number, item in enumerate(stimuli, start=1):
        try:
            size, response = item
        except (TypeError, ValueError):
            raise ValueError(
                f"stimulus {number}: expected a (size, withdrew) pair, got {item!r}"
            ) from None
        idx.append(_lookup_size(fs, size, number))
        withdrew.append(_as_withdrew(response, number))
    if not idx and not allow_empty:
        raise ValueError("empty series: no stimuli recorded")
    return idx, withdrew


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def _check_cutoff(cutoff_g: float) -> float:
    if isinstance(cutoff_g, bool) or not isinstance(cutoff_g, numbers.Real):
        raise ValueError(f"cutoff_g must be a number of grams, got {cutoff_g!r}")
    value = float(cutoff_g)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"cutoff_g must be positive, got {cutoff_g!r}")
    return value


def _check_delta(delta: float | None) -> float | None:
    if delta is None:
        return None
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise ValueError(f"delta must be a positive number (log units), got {delta!r}")
    value = float(delta)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"delta must be a positive number (log units), got {delta!r}")
    return value


@dataclass(frozen=True)
class _BlockParams:
    applications: int  # N applications per filament
    withdrawals: int  # withdrawals out of N that meet the criterion
    subset: tuple[int, ...]  # filament positions in use, ascending

    @property
    def criterion(self) -> str:
        n, k = self.applications, self.withdrawals
        return f"{k} withdrawal{'s' if k != 1 else ''} of {n}"


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not 1 <= int(value) <= MAX_APPLICATIONS:
        raise ValueError(f"{name} must be between 1 and {MAX_APPLICATIONS}, got {value!r}")
    return int(value)


def _block_params(
    fs: _FilamentSet,
    method: str,
    applications: int | None,
    withdrawals: int | None,
    subset: Sequence[str] | None,
) -> _BlockParams | None:
    """Validated ascending / percent-response parameters; None for the up-down family."""
    if method not in BLOCK_FAMILY:
        return None
    n = _check_count(
        DEFAULT_APPLICATIONS[method] if applications is None else applications,
        "applications per filament",
    )
    k = _check_count(
        min(DEFAULT_WITHDRAWALS[method], n) if withdrawals is None else withdrawals,
        "withdrawals needed",
    )
    if k > n:
        raise ValueError(f"withdrawals needed ({k}) cannot exceed applications per filament ({n})")
    if subset is None or (not isinstance(subset, str) and len(subset) == 0):
        positions = tuple(range(fs.n))
    else:
        if isinstance(subset, str):
            raise ValueError("subset must be a sequence of filament sizes, not one string")
        found = set()
        for size in subset:
            try:
                found.add(_lookup_size(fs, size, 0))
            except ValueError:
                raise ValueError(f"filaments in use: unknown filament {size!r}") from None
        positions = tuple(sorted(found))
    return _BlockParams(n, k, positions)


@dataclass(frozen=True)
class _BlockSeries:
    state: str  # "reached", "high" or "incomplete"
    end: int
    reached: int | None  # filament position meeting the criterion
    done: int  # first-N applications recorded on the filaments in use
    counts: dict[int, tuple[int, int]]  # position -> (withdrawals, applications), first N


def _block_series(idx: list[int], withdrew: list[bool], params: _BlockParams, method: str):
    n, k, subset = params.applications, params.withdrawals, params.subset
    if method == "ascending":
        top = subset[-1]
        a = w = 0
        prev = None
        for i, (j, x) in enumerate(zip(idx, withdrew, strict=True)):
            if j != prev:
                a = w = 0
                prev = j
            a += 1
            w += x
            if a <= n and w >= k:
                return _BlockSeries("reached", i, j, i + 1, {})
            if j >= top and n - a < k - w:
                return _BlockSeries("high", i, None, i + 1, {})
        return _BlockSeries("incomplete", len(idx) - 1, None, len(idx), {})
    counts: dict[int, list[int]] = {}
    nth: dict[int, int] = {}
    for i, (j, x) in enumerate(zip(idx, withdrew, strict=True)):
        c = counts.setdefault(j, [0, 0])
        if c[1] < n:
            c[0] += x
            c[1] += 1
            if c[1] == n:
                nth[j] = i
    in_use = {j: tuple(counts.get(j, (0, 0))) for j in subset}
    done = sum(c[1] for c in in_use.values())
    if not all(j in nth for j in subset):
        return _BlockSeries("incomplete", len(idx) - 1, None, done, in_use)
    end = max(nth[j] for j in subset)
    reached = next((j for j in subset if in_use[j][0] >= k), None)
    return _BlockSeries("high" if reached is None else "reached", end, reached, done, in_use)


def _block_next(idx: list[int], withdrew: list[bool], params: _BlockParams, method: str):
    """Position of the next filament for an open ascending / percent-response series."""
    n, k, subset = params.applications, params.withdrawals, params.subset
    if method == "percent_response":
        counts: dict[int, int] = {}
        for j in idx:
            counts[j] = counts.get(j, 0) + 1
        return next(j for j in subset if counts.get(j, 0) < n)
    if not idx:
        return subset[0]
    j = idx[-1]
    a = w = 0
    for jj, x in zip(reversed(idx), reversed(withdrew), strict=True):
        if jj != j:
            break
        a += 1
        w += x
    if n - a >= k - w:  # still undecided at this filament
        return j
    return next(s for s in subset if s > j)


# ---------------------------------------------------------------------------
# The series: where it ends and why


@dataclass(frozen=True)
class _Series:
    state: str  # "complete", "low", "high" or "incomplete"
    end: int  # index of the last stimulus that belongs to the series
    change: int | None  # index of the first response unlike the first one


def _series(idx: list[int], withdrew: list[bool], n_filaments: int, method: str) -> _Series:
    first = withdrew[0]
    change = next((i for i, w in enumerate(withdrew) if w != first), None)
    bound = None
    top = n_filaments - 1
    for i, (j, w) in enumerate(zip(idx, withdrew, strict=True)):
        if (w and j == 0) or (not w and j == top):
            bound = i
            break
    if method == "sudo":
        last = SUDO_STIMULI - 1
        censored = bound is not None and bound <= last
    else:
        last = None if change is None else change + CRITICAL_RESPONSES - 2
        # A bound on the last critical stimulus still completes the series.
        censored = bound is not None and (last is None or bound < last)
    if censored:
        return _Series("low" if withdrew[bound] else "high", bound, change)
    if last is not None and len(idx) > last:
        return _Series("complete", last, change)
    return _Series("incomplete", len(idx) - 1, change)


def _pattern(withdrew: Sequence[bool]) -> str:
    return "".join("X" if w else "O" for w in withdrew)


def _stepping_warnings(idx: list[int], withdrew: list[bool], end: int, fs: _FilamentSet):
    out = []
    for i in range(1, end + 1):
        expected = idx[i - 1] - 1 if withdrew[i - 1] else idx[i - 1] + 1
        if idx[i] != expected:
            after = "a withdrawal" if withdrew[i - 1] else "no withdrawal"
            want = fs.filaments[expected].size if 0 <= expected < fs.n else "none"
            out.append(
                f"stimulus {i + 1}: expected {want} after {after} at "
                f"{fs.filaments[idx[i - 1]].size}, got {fs.filaments[idx[i]].size}"
            )
    return out


def _ignored_warning(n_ignored: int) -> str:
    if n_ignored == 1:
        return "1 stimulus recorded after the series ended was ignored"
    return f"{n_ignored} stimuli recorded after the series ended were ignored"


# Reasons are shared by the scalar and batch paths so both say the same thing.


def _stimuli(n: int) -> str:
    return "1 stimulus" if n == 1 else f"{n} stimuli"


def _reason_incomplete(method: str, n_used: int, change: int | None, first_withdrew: bool):
    if method == "sudo":
        more = SUDO_STIMULI - n_used
        return f"SUDO uses {SUDO_STIMULI} stimuli; {n_used} recorded, apply {more} more"
    if change is None:
        response = "withdrawal" if first_withdrew else "no withdrawal"
        return (
            f"no change in response yet ({_stimuli(n_used)}, all {response}); the six "
            "critical responses start at the first change"
        )
    have = n_used - change + 1
    return (
        f"{have} of {CRITICAL_RESPONSES} critical responses recorded; "
        f"apply {CRITICAL_RESPONSES - have} more"
    )


def _reason_low(fs: _FilamentSet) -> str:
    g = fs.grams[0]
    return (
        f"withdrawal at the lowest filament of the set ({fs.label(0)}): the threshold is "
        f"at or below {g:g} g, reported as {g:g} g"
    )


def _ceiling_g(fs: _FilamentSet, cutoff_g: float, top: int | None = None) -> float:
    """The value reported when a series runs off the top filament in use."""
    return min(cutoff_g, fs.grams[fs.n - 1 if top is None else top])


def _reason_high(fs: _FilamentSet, cutoff_g: float, top: int | None = None) -> str:
    top = fs.n - 1 if top is None else top
    ceiling = _ceiling_g(fs, cutoff_g, top)
    what = "the set" if top == fs.n - 1 else "the filaments in use"
    if ceiling < cutoff_g:
        return (
            f"no withdrawal up to the top filament of {what} ({fs.label(top)}): reported as "
            f"that filament's force, {ceiling:g} g (the study's cut-off of {cutoff_g:g} g is "
            "beyond the filaments)"
        )
    return (
        f"no withdrawal up to the top filament of {what} ({fs.label(top)}): "
        f"reported as the cut-off {cutoff_g:g} g"
    )


def _reason_block_high(fs: _FilamentSet, cutoff_g: float, params: _BlockParams) -> str:
    top = params.subset[-1]
    ceiling = _ceiling_g(fs, cutoff_g, top)
    what = "the set" if top == fs.n - 1 else "the filaments in use"
    tail = (
        f"that filament's force, {ceiling:g} g (the study's cut-off of {cutoff_g:g} g is "
        "beyond the filaments)"
        if ceiling < cutoff_g
        else f"the cut-off {cutoff_g:g} g"
    )
    return (
        f"no filament up to the top of {what} ({fs.label(top)}) reached {params.criterion}: "
        f"reported as {tail}"
    )


def _reason_block_low(fs: _FilamentSet, j: int, params: _BlockParams) -> str:
    g = fs.grams[j]
    return (
        f"{params.criterion} already at the lowest filament in use ({fs.label(j)}): the "
        f"threshold is at or below {g:g} g, reported as {g:g} g"
    )


def _reason_block_incomplete(method: str, n_used: int, done: int, params: _BlockParams) -> str:
    if method == "ascending":
        return (
            f"no filament has reached {params.criterion} yet ({_stimuli(n_used)}); continue upward"
        )
    total = len(params.subset) * params.applications
    return (
        f"{done} of {total} applications recorded ({params.applications} on each of "
        f"{len(params.subset)} filaments); apply {total - done} more"
    )


def _reason_above_cutoff(value_g: float, cutoff_g: float) -> str:
    return f"{value_g:.4g} g is above the cut-off: reported as the cut-off {cutoff_g:g} g"


# ---------------------------------------------------------------------------
# Scalar API


def _result(
    *,
    method: str,
    grams: float | None,
    status: str,
    pattern: str,
    k: float | None,
    delta: float | None,
    last: int,
    n_used: int,
    n_total: int,
    reason: str,
    cutoff_g: float,
    fs: _FilamentSet,
    warnings: list[str],
) -> Threshold:
    n_ignored = n_total - n_used
    if n_ignored:
        warnings = [*warnings, _ignored_warning(n_ignored)]
    return Threshold(
        grams=grams,
        pattern=pattern,
        status=status,
        method=method,
        k=k,
        last_filament=fs.filaments[last].size,
        n_stimuli=n_used,
        reason=reason,
        delta=delta,
        cutoff_g=cutoff_g,
        n_ignored=n_ignored,
        warnings=tuple(warnings),
    )


def _compute_block(
    idx: list[int],
    withdrew: list[bool],
    fs: _FilamentSet,
    method: str,
    cutoff_g: float,
    params: _BlockParams,
) -> Threshold:
    series = _block_series(idx, withdrew, params, method)
    end = series.end
    grams: float | None
    if series.state == "incomplete":
        grams, status = None, "incomplete"
        reason = _reason_block_incomplete(method, end + 1, series.done, params)
    elif series.state == "high":
        grams, status = _ceiling_g(fs, cutoff_g, params.subset[-1]), "cutoff_high"
        reason = _reason_block_high(fs, cutoff_g, params)
    elif fs.grams[series.reached] > cutoff_g:
        grams, status = cutoff_g, "cutoff_high"
        reason = _reason_above_cutoff(fs.grams[series.reached], cutoff_g)
    elif series.reached <= params.subset[0]:
        grams, status = fs.grams[series.reached], "cutoff_low"
        reason = _reason_block_low(fs, series.reached, params)
    else:
        grams, status, reason = fs.grams[series.reached], "ok", ""
    frequencies = tuple(
        (fs.filaments[j].size, *series.counts[j]) for j in params.subset if series.counts
    )
    result = _result(
        method=method,
        grams=grams,
        status=status,
        pattern=_pattern(withdrew[: end + 1]),
        k=None,
        delta=None,
        last=idx[end],
        n_used=end + 1,
        n_total=len(idx),
        reason=reason,
        cutoff_g=cutoff_g,
        fs=fs,
        warnings=[],
    )
    return replace(result, frequencies=frequencies) if frequencies else result


def _compute(
    stimuli: Stimuli,
    filaments: Sequence[Filament],
    method: str,
    cutoff_g: float,
    delta: float | None,
    applications: int | None = None,
    withdrawals: int | None = None,
    subset: Sequence[str] | None = None,
):
    _check_method(method)
    cutoff_g = _check_cutoff(cutoff_g)
    delta = _check_delta(delta)
    fs = _filament_set(filaments)
    params = _block_params(fs, method, applications, withdrawals, subset)
    idx, withdrew = _parse(stimuli, fs)
    if params is not None:
        return _compute_block(idx, withdrew, fs, method, cutoff_g, params)
    series = _series(idx, withdrew, fs.n, method)
    end = series.end
    used = withdrew[: end + 1]
    common = {
        "method": method,
        "last": idx[end],
        "n_used": end + 1,
        "n_total": len(idx),
        "cutoff_g": cutoff_g,
        "fs": fs,
        "warnings": _stepping_warnings(idx, withdrew, end, fs),
    }
    if series.state == "incomplete":
        return _result(
            grams=None,
            status="incomplete",
            pattern=_pattern(used),
            k=None,
            delta=None,
            reason=_reason_incomplete(method, end + 1, series.change, withdrew[0]),
            **common,
        )

    if method == "first_response":
        withdrawn = [j for j, w in zip(idx[: end + 1], used, strict=True) if w]
        lowest = min(withdrawn) if withdrawn else None
        if lowest is None:
            grams, status = _ceiling_g(fs, cutoff_g), "cutoff_high"
            reason = _reason_high(fs, cutoff_g)
        elif lowest == 0:
            grams, status, reason = fs.grams[0], "cutoff_low", _reason_low(fs)
        elif fs.grams[lowest] > cutoff_g:
            grams, status = cutoff_g, "cutoff_high"
            reason = _reason_above_cutoff(fs.grams[lowest], cutoff_g)
        else:
            grams, status, reason = fs.grams[lowest], "ok", ""
        return _result(
            grams=grams,
            status=status,
            pattern=_pattern(used),
            k=None,
            delta=None,
            reason=reason,
            **common,
        )

    if series.state == "low":
        return _result(
            grams=fs.grams[0],
            status="cutoff_low",
            pattern=_pattern(used),
            k=None,
            delta=None,
            reason=_reason_low(fs),
            **common,
        )
    if series.state == "high":
        return _result(
            grams=_ceiling_g(fs, cutoff_g),
            status="cutoff_high",
            pattern=_pattern(used),
            k=None,
            delta=None,
            reason=_reason_high(fs, cutoff_g),
            **common,
        )

    last = idx[end]
    if method == "up_down":
        change = series.change
        run = min(change, 4)
        pattern = _pattern(withdrew[change - run : end + 1])
        k = DIXON_K[pattern]
        step = fs.mean_step if delta is None else delta
        log_g = fs.sizes[last] + k * step
    else:  # sudo
        pattern = _pattern(used)
        k = -0.5 if withdrew[end] else 0.5
        if delta is None:
            neighbour = last - 1 if withdrew[end] else last + 1
            step = abs(fs.sizes[neighbour] - fs.sizes[last])
        else:
            step = delta
        log_g = fs.sizes[last] + k * step
    estimate = 10.0**log_g / 10_000.0
    if estimate > cutoff_g:
        grams, status, reason = cutoff_g, "cutoff_high", _reason_above_cutoff(estimate, cutoff_g)
    else:
        grams, status, reason = estimate, "ok", ""
    return _result(
        grams=grams,
        status=status,
        pattern=pattern,
        k=k,
        delta=step,
        reason=reason,
        **common,
    )


def up_down_threshold(
    stimuli: Stimuli,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    delta: float | None = None,
    cutoff_g: float = DEFAULT_CUTOFF_G,
) -> Threshold:
    """Chaplan/Dixon 50 % threshold: ``10 ** (Xf + k * delta) / 10_000`` g.

    ``delta=None`` uses the mean log step of ``filaments``; pass Chaplan's 0.224 (or the
    study's value) to fix it. See the module docstring for the series rules.
    """
    return _compute(stimuli, filaments, "up_down", cutoff_g, delta)


def first_response_threshold(
    stimuli: Stimuli,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    cutoff_g: float = DEFAULT_CUTOFF_G,
) -> Threshold:
    """Target force: grams of the lowest filament that elicited a withdrawal in the series."""
    return _compute(stimuli, filaments, "first_response", cutoff_g, None)


def sudo_threshold(
    stimuli: Stimuli,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    delta: float | None = None,
    cutoff_g: float = DEFAULT_CUTOFF_G,
) -> Threshold:
    """SUDO (Bonin et al. 2014): fifth stimulus moved half a step (k = -0.5 or +0.5)."""
    return _compute(stimuli, filaments, "sudo", cutoff_g, delta)


def ascending_threshold(
    stimuli: Stimuli,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    applications: int = 1,
    withdrawals: int = 1,
    subset: Sequence[str] | None = None,
    cutoff_g: float = DEFAULT_CUTOFF_G,
) -> Threshold:
    """Ascending method of limits: force of the first filament with `withdrawals` of N."""
    return _compute(
        stimuli, filaments, "ascending", cutoff_g, None, applications, withdrawals, subset
    )


def percent_response_threshold(
    stimuli: Stimuli,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    applications: int = 5,
    withdrawals: int = 3,
    subset: Sequence[str] | None = None,
    cutoff_g: float = DEFAULT_CUTOFF_G,
) -> Threshold:
    """Percent response: lowest filament with `withdrawals` of N (see ``.frequencies``)."""
    return _compute(
        stimuli, filaments, "percent_response", cutoff_g, None, applications, withdrawals, subset
    )


def effective_cutoff_g(
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    cutoff_g: float = DEFAULT_CUTOFF_G,
    method: str = "up_down",
    subset: Sequence[str] | None = None,
) -> float:
    """What a series running off the top reports: the cut-off, or the top filament in use."""
    fs = _filament_set(filaments)
    params = _block_params(fs, method, None, None, subset)
    return _ceiling_g(fs, _check_cutoff(cutoff_g), params.subset[-1] if params else None)


def compute_threshold(
    stimuli: Stimuli,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    method: str,
    cutoff_g: float = DEFAULT_CUTOFF_G,
    delta: float | None = None,
    applications: int | None = None,
    withdrawals: int | None = None,
    subset: Sequence[str] | None = None,
) -> Threshold:
    """Dispatch to the study's method.

    ``delta`` applies to up-down and SUDO only; ``applications`` (N per filament),
    ``withdrawals`` (needed of N) and ``subset`` (sizes in use) to ascending and percent
    response only, and are ignored by the others.
    """
    _check_method(method)
    return _compute(
        stimuli,
        filaments,
        method,
        cutoff_g,
        delta if method in ("up_down", "sudo") else None,
        applications,
        withdrawals,
        subset,
    )


def _start_index(fs: _FilamentSet, start: str) -> int:
    try:
        return _lookup_size(fs, start, 0)
    except ValueError:
        raise ValueError(f"start filament {start!r} is not in the filament set") from None


def next_filament(
    stimuli: Stimuli,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    method: str = "up_down",
    start: str = DEFAULT_START,
    applications: int | None = None,
    withdrawals: int | None = None,
    subset: Sequence[str] | None = None,
) -> str | None:
    """The filament size to apply next, or None when the method's series has ended.

    Ascending and percent response start at the lowest filament in use (``start`` is
    for the up-down family) and step upward.
    """
    _check_method(method)
    fs = _filament_set(filaments)
    params = _block_params(fs, method, applications, withdrawals, subset)
    if params is not None:
        idx, withdrew = _parse(stimuli, fs, allow_empty=True)
        if idx and _block_series(idx, withdrew, params, method).state != "incomplete":
            return None
        return fs.filaments[_block_next(idx, withdrew, params, method)].size
    start_idx = _start_index(fs, start)
    idx, withdrew = _parse(stimuli, fs, allow_empty=True)
    if not idx:
        return fs.filaments[start_idx].size
    series = _series(idx, withdrew, fs.n, method)
    if series.state != "incomplete":
        return None
    nxt = idx[-1] - 1 if withdrew[-1] else idx[-1] + 1
    return fs.filaments[nxt].size


def series_bound(
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    method: str = "up_down",
    start: str = DEFAULT_START,
    applications: int | None = None,
    withdrawals: int | None = None,
    subset: Sequence[str] | None = None,
) -> int:
    """The most stimuli ``next_filament`` can ask for with this set and start."""
    _check_method(method)
    fs = _filament_set(filaments)
    params = _block_params(fs, method, applications, withdrawals, subset)
    if params is not None:
        return len(params.subset) * params.applications
    s = _start_index(fs, start)
    if method == "sudo":
        return SUDO_STIMULI
    # The opening run reaches at most an end of the set; four more follow the change.
    return max(s, fs.n - 1 - s) + CRITICAL_RESPONSES - 1


# ---------------------------------------------------------------------------
# %MPE


def percent_mpe_reason(
    post_g: float | None, baseline_g: float | None, cutoff_g: float = DEFAULT_CUTOFF_G
) -> str | None:
    """Why ``percent_mpe`` gives None for these values, or None when it gives a number."""
    for name, value in (("post", post_g), ("baseline", baseline_g), ("cut-off", cutoff_g)):
        if value is None:
            return f"no {name} threshold"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return f"{name} value {value!r} is not a number"
        if not math.isfinite(float(value)):
            return f"{name} value {value!r} is not a finite number"
    if float(baseline_g) == float(cutoff_g):
        return (
            f"baseline equals the cut-off ({float(cutoff_g):g} g): no room for an effect, "
            "%MPE is undefined"
        )
    if float(baseline_g) > float(cutoff_g):
        return f"baseline {float(baseline_g):g} g is above the cut-off {float(cutoff_g):g} g"
    return None


def percent_mpe(
    post_g: float | None, baseline_g: float | None, cutoff_g: float = DEFAULT_CUTOFF_G
) -> float | None:
    """%MPE = (post - baseline) / (cut-off - baseline) x 100; negative values allowed.

    None when undefined (baseline at or above the cut-off, a missing value);
    ``percent_mpe_reason`` says why.
    """
    if percent_mpe_reason(post_g, baseline_g, cutoff_g) is not None:
        return None
    post, base, cut = float(post_g), float(baseline_g), float(cutoff_g)
    return (post - base) / (cut - base) * 100.0


# ---------------------------------------------------------------------------
# Batch: a whole study at once


@dataclass(frozen=True, eq=False)
class BatchThresholds:
    """Per-session results of ``batch_thresholds``; arrays are aligned with ``session_ids``.

    ``grams``, ``k`` and ``delta`` are NaN where a scalar result would have None;
    ``last_filament_idx`` indexes ``filaments``. ``threshold(i)`` gives the same
    ``Threshold`` as the scalar functions (without stepping warnings).
    """

    method: str
    cutoff_g: float
    filaments: tuple[Filament, ...]
    session_ids: np.ndarray
    grams: np.ndarray
    status: np.ndarray
    k: np.ndarray
    delta: np.ndarray
    last_filament_idx: np.ndarray
    n_stimuli: np.ndarray
    n_ignored: np.ndarray
    change_idx: np.ndarray
    first_withdrew: np.ndarray
    lowest_withdrawal_idx: np.ndarray
    patterns: tuple[str, ...]
    # Ascending / percent response: the parameters, and for percent response the
    # first-N withdrawals and applications per session and filament in use.
    params: _BlockParams | None = None
    freq_withdrawals: np.ndarray | None = None
    freq_applications: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.session_ids)

    def threshold(self, i: int) -> Threshold:
        fs = _filament_set(self.filaments)
        status = str(self.status[i])
        grams = None if status == "incomplete" else float(self.grams[i])
        k = None if math.isnan(self.k[i]) else float(self.k[i])
        delta = None if math.isnan(self.delta[i]) else float(self.delta[i])
        n_used = int(self.n_stimuli[i])
        frequencies: tuple[tuple[str, int, int], ...] = ()
        if self.freq_applications is not None:
            frequencies = tuple(
                (fs.filaments[j].size, int(w), int(a))
                for j, w, a in zip(
                    self.params.subset,
                    self.freq_withdrawals[i],
                    self.freq_applications[i],
                    strict=True,
                )
            )
        reached = int(self.lowest_withdrawal_idx[i])
        if status == "ok":
            reason = ""
        elif self.params is not None:
            if status == "incomplete":
                done = sum(a for _, _, a in frequencies)
                reason = _reason_block_incomplete(self.method, n_used, done, self.params)
            elif reached < 0:
                reason = _reason_block_high(fs, self.cutoff_g, self.params)
            elif status == "cutoff_low":
                reason = _reason_block_low(fs, reached, self.params)
            else:
                reason = _reason_above_cutoff(fs.grams[reached], self.cutoff_g)
        elif status == "incomplete":
            change = int(self.change_idx[i])
            reason = _reason_incomplete(
                self.method, n_used, None if change < 0 else change, bool(self.first_withdrew[i])
            )
        elif status == "cutoff_low":
            reason = _reason_low(fs)
        elif k is not None:
            estimate = 10.0 ** (fs.sizes[int(self.last_filament_idx[i])] + k * delta) / 10_000.0
            reason = _reason_above_cutoff(estimate, self.cutoff_g)
        elif self.lowest_withdrawal_idx[i] >= 0:
            lowest_g = fs.grams[int(self.lowest_withdrawal_idx[i])]
            reason = _reason_above_cutoff(lowest_g, self.cutoff_g)
        else:
            reason = _reason_high(fs, self.cutoff_g)
        n_ignored = int(self.n_ignored[i])
        return Threshold(
            grams=grams,
            pattern=self.patterns[i],
            status=status,
            method=self.method,
            k=k,
            last_filament=fs.filaments[int(self.last_filament_idx[i])].size,
            n_stimuli=n_used,
            reason=reason,
            delta=delta,
            cutoff_g=self.cutoff_g,
            n_ignored=n_ignored,
            warnings=(_ignored_warning(n_ignored),) if n_ignored else (),
            frequencies=frequencies,
        )

    def to_thresholds(self) -> list[Threshold]:
        return [self.threshold(i) for i in range(len(self))]


def _batch_withdrew(withdrew: ArrayLike) -> np.ndarray:
    x = np.asarray(withdrew)
    if x.dtype == np.bool_:
        return x
    if np.issubdtype(x.dtype, np.integer):
        bad = (x != 0) & (x != 1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"stimulus {i + 1}: response must be True/False (or 1/0), got {x[i]!r}"
            )
        return x.astype(bool)
    raise ValueError(f"withdrew must be a boolean (or 0/1 integer) array, got dtype {x.dtype}")


def batch_thresholds(
    sizes_idx: ArrayLike,
    withdrew: ArrayLike,
    session_ids: ArrayLike,
    filaments: Sequence[Filament] = STOELTING_20,
    *,
    method: str = "up_down",
    cutoff_g: float = DEFAULT_CUTOFF_G,
    delta: float | None = None,
    applications: int | None = None,
    withdrawals: int | None = None,
    subset: Sequence[str] | None = None,
) -> BatchThresholds:
    """Thresholds for many sessions at once from flat per-stimulus arrays.

    ``sizes_idx`` holds positions in ``filaments`` (see ``filament_indices``),
    ``withdrew`` booleans (or 0/1), ``session_ids`` one id per stimulus. Each session's
    stimuli must be adjacent and in the order applied. Same rules and numbers as
    ``compute_threshold``, vectorised with numpy.
    """
    _check_method(method)
    cutoff_g = _check_cutoff(cutoff_g)
    delta = _check_delta(delta)
    if method not in ("up_down", "sudo"):
        delta = None
    fs = _filament_set(filaments)
    params = _block_params(fs, method, applications, withdrawals, subset)
    idx = np.asarray(sizes_idx)
    sid = np.asarray(session_ids)
    if idx.ndim != 1 or sid.ndim != 1 or np.ndim(withdrew) != 1:
        raise ValueError("sizes_idx, withdrew and session_ids must be one-dimensional")
    if not (len(idx) == len(sid) == len(withdrew)):
        raise ValueError("sizes_idx, withdrew and session_ids must have the same length")
    if len(idx) and not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"sizes_idx must hold integer filament positions, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False)
    x = _batch_withdrew(withdrew)
    n_fil = fs.n
    bad = (idx < 0) | (idx >= n_fil)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"stimulus {i + 1}: filament position {idx[i]} is outside the set (0..{n_fil - 1})"
        )
    total = len(idx)
    if total == 0:
        empty_f = np.empty(0)
        empty_i = np.empty(0, dtype=np.int64)
        return BatchThresholds(
            method, cutoff_g, fs.filaments, sid, empty_f, np.empty(0, dtype="<U11"),
            empty_f, empty_f, empty_i, empty_i, empty_i, empty_i, np.empty(0, dtype=bool),
            empty_i, (), params=params,
        )  # fmt: skip

    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    lens = np.diff(np.r_[starts, total])
    ids = sid[starts]
    if len(np.unique(ids)) != len(ids):
        seen: set = set()
        for s in ids.tolist():
            if s in seen:
                raise ValueError(
                    f"session {s!r} appears in two separate blocks; sort the stimuli by "
                    "session, then by order"
                )
            seen.add(s)
    n_sessions = len(starts)
    group = np.repeat(np.arange(n_sessions), lens)
    pos = np.arange(total) - starts[group]
    big = total + 10
    if params is not None:
        return _batch_block(idx, x, ids, starts, lens, group, pos, fs, method, cutoff_g, params)

    first = x[starts]
    differs = x != first[group]
    change = np.minimum.reduceat(np.where(differs, pos, big), starts)
    hit = (x & (idx == 0)) | (~x & (idx == n_fil - 1))
    bound = np.minimum.reduceat(np.where(hit, pos, big), starts)
    if method == "sudo":
        last_needed = np.full(n_sessions, SUDO_STIMULI - 1)
        censored = bound <= last_needed
    else:
        last_needed = np.where(change < big, change + CRITICAL_RESPONSES - 2, big)
        censored = bound < last_needed
    complete = ~censored & (lens > last_needed)
    incomplete = ~censored & ~complete
    end = np.where(censored, bound, np.where(complete, last_needed, lens - 1))
    last_pos = starts + end
    last_idx = idx[last_pos]
    low = censored & x[np.where(censored, last_pos, 0)]
    high = censored & ~low

    grams = np.full(n_sessions, np.nan)
    lowest_withdrawal = np.full(n_sessions, -1)
    k = np.full(n_sessions, np.nan)
    dlt = np.full(n_sessions, np.nan)
    status = np.full(n_sessions, "incomplete", dtype="<U11")
    pat_start = starts.copy()
    pat_stop = last_pos + 1

    if method == "first_response":
        in_series = pos <= end[group]
        lowest = np.minimum.reduceat(np.where(x & in_series, idx, n_fil), starts)
        closed = ~incomplete
        none = closed & (lowest == n_fil)
        at_floor = closed & (lowest == 0)
        found = closed & ~none & ~at_floor
        lowest_g = fs.grams_arr[np.minimum(lowest, n_fil - 1)]
        above = found & (lowest_g > cutoff_g)
        ok = found & ~above
        status[none | above] = "cutoff_high"
        grams[above] = cutoff_g
        grams[none] = _ceiling_g(fs, cutoff_g)
        status[at_floor] = "cutoff_low"
        grams[at_floor] = fs.grams[0]
        status[ok] = "ok"
        grams[ok] = lowest_g[ok]
        lowest_withdrawal = np.where(found, lowest, -1)
    else:
        status[low] = "cutoff_low"
        grams[low] = fs.grams[0]
        status[high] = "cutoff_high"
        grams[high] = _ceiling_g(fs, cutoff_g)
        sel = np.flatnonzero(complete)
        xf = fs.sizes_arr[last_idx[sel]]
        if method == "up_down":
            c = change[sel]
            run = np.minimum(c, 4)
            base = starts[sel] + c
            bits = np.zeros(len(sel), dtype=np.int64)
            for j in range(1, CRITICAL_RESPONSES - 1):
                bits = (bits << 1) | differs[base + j]
            sign = np.where(first[sel], -1.0, 1.0)
            k_sel = _K_COMPLETE[run - 1, bits] * sign
            step = np.full(len(sel), fs.mean_step if delta is None else delta)
            pat_start[sel] = base - run
        else:  # sudo
            w5 = x[last_pos[sel]]
            k_sel = np.where(w5, -0.5, 0.5)
            if delta is None:
                neighbour = last_idx[sel] + np.where(w5, -1, 1)
                step = np.abs(fs.sizes_arr[neighbour] - xf)
            else:
                step = np.full(len(sel), delta)
        estimate = 10.0 ** (xf + k_sel * step) / 10_000.0
        above = estimate > cutoff_g
        grams[sel] = np.where(above, cutoff_g, estimate)
        status[sel] = np.where(above, "cutoff_high", "ok")
        k[sel] = k_sel
        dlt[sel] = step

    chars = np.where(x, "X", "O").astype("<U1")
    text = "".join(chars.tolist())
    patterns = tuple(text[a:b] for a, b in zip(pat_start.tolist(), pat_stop.tolist(), strict=True))
    return BatchThresholds(
        method=method,
        cutoff_g=cutoff_g,
        filaments=fs.filaments,
        session_ids=ids,
        grams=grams,
        status=status,
        k=k,
        delta=dlt,
        last_filament_idx=last_idx,
        n_stimuli=end + 1,
        n_ignored=lens - (end + 1),
        change_idx=np.where(change < big, change, -1),
        first_withdrew=first,
        lowest_withdrawal_idx=lowest_withdrawal,
        patterns=patterns,
    )


def _batch_block(idx, x, ids, starts, lens, group, pos, fs, method, cutoff_g, params):
    """``batch_thresholds`` for ascending and percent response (same rules as the scalar)."""
    n, k = params.applications, params.withdrawals
    subset = np.array(params.subset, dtype=np.int64)
    n_sessions = len(starts)
    total = len(idx)
    big = total + 10
    freq_w = freq_a = None
    if method == "ascending":
        new_block = np.r_[True, idx[1:] != idx[:-1]] | (pos == 0)
        block_start = np.flatnonzero(new_block)
        block_of = np.cumsum(new_block) - 1
        a = np.arange(total) - block_start[block_of] + 1
        cx = np.cumsum(x)
        before = cx[block_start] - x[block_start]
        w = cx - before[block_of]
        reach = (a <= n) & (w >= k)
        fail_top = (idx >= subset[-1]) & (n - a < k - w)
        end = np.minimum.reduceat(np.where(reach | fail_top, pos, big), starts)
        closed = end < big
        end = np.where(closed, end, lens - 1)
        last_pos = starts + end
        reached_here = closed & reach[last_pos]
        reached = np.where(reached_here, idx[last_pos], -1)
    else:
        n_fil = fs.n
        key = group * n_fil + idx
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        run_start = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        run_of = np.cumsum(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) - 1
        rank = np.empty(total, dtype=np.int64)
        rank[order] = np.arange(total) - run_start[run_of]
        kept = rank < n
        size = n_sessions * n_fil
        apps = np.bincount(key[kept], minlength=size).reshape(n_sessions, n_fil)
        wds = np.bincount(key[kept], weights=x[kept], minlength=size).reshape(n_sessions, n_fil)
        nth = np.full(size, big, dtype=np.int64)
        at_n = rank == n - 1
        nth[key[at_n]] = pos[at_n]
        nth = nth.reshape(n_sessions, n_fil)[:, subset]
        freq_a = apps[:, subset].astype(np.int64)
        freq_w = wds[:, subset].astype(np.int64)
        closed = (nth < big).all(axis=1)
        end = np.where(closed, nth.max(axis=1), lens - 1)
        last_pos = starts + end
        hits = freq_w >= k
        any_hit = closed & hits.any(axis=1)
        reached = np.where(any_hit, subset[np.argmax(hits, axis=1)], -1)
        reached_here = any_hit

    grams = np.full(n_sessions, np.nan)
    status = np.full(n_sessions, "incomplete", dtype="<U11")
    high = closed & ~reached_here
    status[high] = "cutoff_high"
    grams[high] = _ceiling_g(fs, cutoff_g, int(subset[-1]))
    reached_g = fs.grams_arr[np.maximum(reached, 0)]
    above = reached_here & (reached_g > cutoff_g)
    low = reached_here & ~above & (reached <= subset[0])
    ok = reached_here & ~above & ~low
    status[above] = "cutoff_high"
    grams[above] = cutoff_g
    status[low] = "cutoff_low"
    grams[low] = reached_g[low]
    status[ok] = "ok"
    grams[ok] = reached_g[ok]

    chars = np.where(x, "X", "O").astype("<U1")
    text = "".join(chars.tolist())
    stops = (last_pos + 1).tolist()
    patterns = tuple(text[a:b] for a, b in zip(starts.tolist(), stops, strict=True))
    nan = np.full(n_sessions, np.nan)
    return BatchThresholds(
        method=method,
        cutoff_g=cutoff_g,
        filaments=fs.filaments,
        session_ids=ids,
        grams=grams,
        status=status,
        k=nan,
        delta=nan.copy(),
        last_filament_idx=idx[last_pos],
        n_stimuli=end + 1,
        n_ignored=lens - (end + 1),
        change_idx=np.full(n_sessions, -1),
        first_withdrew=x[starts],
        lowest_withdrawal_idx=reached,
        patterns=patterns,
        params=params,
        freq_withdrawals=freq_w,
        freq_applications=freq_a,
    )
