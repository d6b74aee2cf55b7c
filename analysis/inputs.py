"""One route from the recorded data to every number: `analysis_inputs` and `study_statistics`.

The dashboard, every export (CSV tables, workbook, Prism tables, publication package,
the `export_study` command) and the ARRIVE report take the study's design, its
reference (baseline timepoint, first treated timepoint, control group), the tidy frames
per outcome in study order and the comparison pairs that can be computed from
`analysis_inputs`, and their statistics from `study_statistics`: they agree because
they make the same call, not because comments keep two copies equal.

Reads only: this module never writes to the database. It reads the ORM through
`analysis.frames` (a fixed number of queries) and leaves the numbers to
`analysis.stats`. It must not import `analysis.selectors`, `analysis.exports` or any
view: those sit above it and call it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import pandas as pd

from analysis import frames, stats, stats_cache, thresholds

# The outcomes every number is computed for, as the stats export's `outcome` column and
# the session frame's value columns name them.
THRESHOLD_G = "threshold_g"
PCT_MPE = "pct_mpe"
OUTCOMES = (THRESHOLD_G, PCT_MPE)

# ----------------------------------------------------------------------------- design


@dataclass(frozen=True)
class GroupInfo:
    code: str
    name: str
    colour: str
    is_control: bool


@dataclass(frozen=True)
class PhaseInfo:
    code: str
    name: str
    first_day: int
    last_day: int
    dosed: bool


@dataclass(frozen=True)
class TimepointInfo:
    pk: int
    label: str
    day: int
    is_baseline: bool
    date: dt.date


@dataclass(frozen=True)
class Design:
    """Groups, phases and timepoints in study order, and the reference points of the
    statistics as the study declares them: the baseline timepoint, the first treated
    one and the control group (whether or not they have data yet; see `Reference`)."""

    groups: tuple[GroupInfo, ...]
    phases: tuple[PhaseInfo, ...]
    timepoints: tuple[TimepointInfo, ...]
    baseline: str | None
    first_treated: str | None
    control: str | None
    control_assumed: bool = False

    @property
    def group_order(self) -> dict[str, int]:
        return {g.code: i for i, g in enumerate(self.groups)}


def study_design(study) -> Design:
    """Three queries: groups, phases, timepoints."""
    groups = tuple(
        GroupInfo(code, name, colour, is_control)
        for code, name, colour, is_control in study.groups.order_by("order", "code").values_list(
            "code", "name", "colour", "is_control"
        )
    )
    phases = tuple(
        PhaseInfo(*row)
        for row in study.phases.order_by("first_day").values_list(
            "code", "name", "first_day", "last_day", "dosed"
        )
    )
    timepoints = tuple(
        TimepointInfo(pk, label, day, is_baseline, study.date_of_day(day))
        for pk, label, day, is_baseline in study.timepoints.order_by("day").values_list(
            "pk", "label", "day", "is_baseline"
        )
    )
    baseline = next((t.label for t in timepoints if t.is_baseline), None)
    if baseline is None and timepoints:
        baseline = timepoints[0].label
    labels = [t.label for t in timepoints]
    first_treated = None
    if baseline is not None and labels.index(baseline) + 1 < len(labels):
        first_treated = labels[labels.index(baseline) + 1]
    control = next((g.code for g in groups if g.is_control), None)
    assumed = control is None and bool(groups)
    if assumed:
        control = groups[0].code
    return Design(groups, phases, timepoints, baseline, first_treated, control, assumed)


@dataclass(frozen=True)
class Reference:
    """The baseline, first treated timepoint and control group the statistics use.

    The study's own (its baseline timepoint, its control group) when they have
    thresholds; otherwise the first timepoint / group in study order that has some, with
    a note saying so.
    """

    baseline: str | None
    first_treated: str | None
    control: str | None
    notes: tuple[str, ...] = ()


def reference_for(design: Design, long: pd.DataFrame) -> Reference:
    """The `Reference` for the thresholds in `long` (a long frame: group, timepoint)."""
    labels = set(long["timepoint"].tolist()) if not long.empty else set()
    codes = set(long["group"].tolist()) if not long.empty else set()
    timepoints = [t.label for t in design.timepoints if t.label in labels]
    notes = []
    baseline = design.baseline if design.baseline in labels else None
    if baseline is None and timepoints:
        baseline = timepoints[0]
        notes.append(f"the baseline {design.baseline} has no values yet: {baseline} is used")
    control = design.control if design.control in codes else None
    if control is None and codes:
        control = next(g.code for g in design.groups if g.code in codes)
        notes.append(f"the control group {design.control} has no values yet: {control} is used")
    elif design.control_assumed and control is not None:
        notes.append(f"no group is marked as control: the first group, {control}, is used")
    first_treated = None
    if baseline is not None and timepoints.index(baseline) + 1 < len(timepoints):
        first_treated = timepoints[timepoints.index(baseline) + 1]
    return Reference(baseline, first_treated, control, tuple(notes))


def in_study_order(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Rows in study group order (groups the design does not know last), then by day and
    animal where the frame has them: the order every table and every statistics row
    comes out in, on the page and in the files."""
    if frame.empty:
        return frame.reset_index(drop=True)
    rank = frame["group"].map(design.group_order).fillna(len(design.groups))
    keys = ["_rank"] + [key for key in ("day", "animal") if key in frame.columns]
    ordered = frame.assign(_rank=rank).sort_values(keys, kind="stable")
    return ordered.drop(columns="_rank").reset_index(drop=True)


def usable_pairs(pairs: Iterable[tuple[str, str]], long: pd.DataFrame) -> list[tuple[str, str]]:
    """The study's chosen pairs whose two timepoints both have values in `long`."""
    labels = set(long["timepoint"].tolist()) if not long.empty else set()
    return [(a, b) for a, b in pairs if a in labels and b in labels]


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class AnalysisInputs:
    """Everything a number of one study needs, read once.

    `sessions` is `frames.session_frame` with `method`; `frames[outcome]` the long frame
    `analysis.stats` takes (animal, group, timepoint, day, value) in study order;
    `pairs[outcome]` the study's chosen comparison pairs that frame can compute.
    """

    study: object
    method: str
    design: Design
    reference: Reference
    sessions: pd.DataFrame
    frames: Mapping[str, pd.DataFrame]
    pairs: Mapping[str, tuple[tuple[str, str], ...]]

    @property
    def baseline(self) -> str | None:
        return self.reference.baseline

    @property
    def control(self) -> str | None:
        return self.reference.control

    @property
    def first_treated(self) -> str | None:
        return self.reference.first_treated

    @property
    def group_order(self) -> dict[str, int]:
        return self.design.group_order

    def long(self, outcome: str) -> pd.DataFrame:
        """The long frame of `outcome` ("threshold_g" or "pct_mpe") in study order."""
        return self.frames[outcome]

    def wide(self, outcome: str) -> pd.DataFrame:
        """(group, animal) x timepoint table of `long(outcome)` (`frames.pivot_wide`)."""
        return frames.pivot_wide(self.frames[outcome])

    def usable(self, outcome: str) -> pd.DataFrame:
        """The session rows behind `long(outcome)` (all columns, source included)."""
        return frames.usable(self.sessions, outcome)

    def ordered(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (with a group column) in this study's order; see `in_study_order`."""
        return in_study_order(frame, self.design)

    @cached_property
    def _auc(self) -> dict[str, pd.DataFrame]:
        return {outcome: stats.auc_per_animal(long) for outcome, long in self.frames.items()}

    def auc(self, outcome: str) -> pd.DataFrame | None:
        """`stats.auc_per_animal` of `outcome`, None when it has no values."""
        if self.frames[outcome].empty:
            return None
        return self._auc[outcome]


def analysis_inputs(study, *, method: str | None = None) -> AnalysisInputs:
    """The design, reference, tidy frames in study order and usable pairs of `study`,
    with its thresholds computed by `method` (the study's own when None).

    A fixed number of queries (`frames.session_frame`'s, plus three for the design).
    Frames include treatment groups: callers check who may see results first.
    """
    method = method or study.threshold_method
    if method not in thresholds.METHODS:
        raise ValueError(f"unknown threshold method '{method}'")
    design = study_design(study)
    sessions = frames.session_frame(study, method=method)
    longs = {
        outcome: in_study_order(frames.analysis_frame(sessions, outcome), design)
        for outcome in OUTCOMES
    }
    chosen = study.chosen_pairs()
    return AnalysisInputs(
        study=study,
        method=method,
        design=design,
        reference=reference_for(design, longs[THRESHOLD_G]),
        sessions=sessions,
        frames=MappingProxyType(longs),
        pairs=MappingProxyType(
            {outcome: tuple(usable_pairs(chosen, long)) for outcome, long in longs.items()}
        ),
    )


# The summary's columns after `stats.SUMMARY_COLUMNS`: the animals held at either end of
# what the filaments can measure (censored values), see `censored_counts`.
CENSORED_COLUMNS = ["n_at_cutoff", "n_at_lowest"]


def group_summary(inputs: AnalysisInputs, outcome: str = THRESHOLD_G) -> pd.DataFrame:
    """`stats.group_summary` of one outcome (n, mean, SD, SEM, median, quartiles per group
    and timepoint), in study order, with `n_at_cutoff` and `n_at_lowest`
    (`censored_counts`): the dashboard's tables and the summary export."""
    long = inputs.long(outcome)
    if long.empty:
        return pd.DataFrame(columns=[*stats.SUMMARY_COLUMNS, *CENSORED_COLUMNS])
    summary = stats.group_summary(long)
    counts = censored_counts(inputs, outcome)
    summary = summary.merge(counts, on=["group", "timepoint"], how="left")
    summary[CENSORED_COLUMNS] = summary[CENSORED_COLUMNS].fillna(0).astype(int)
    return inputs.ordered(summary)


def censored_counts(inputs: AnalysisInputs, outcome: str = THRESHOLD_G) -> pd.DataFrame:
    """Per group and timepoint, of the animals summarised for `outcome`: `n_at_cutoff`,
    those whose threshold is the cut-off (no withdrawal up to it, `cutoff_high`, or a
    target force at the cut-off filament), and `n_at_lowest`, those that withdrew at the
    lowest filament (`cutoff_low`). Their values are bounds, not measurements: a mean
    over them is bounded by the cut-off."""
    rows = inputs.usable(outcome)
    columns = ["group", "timepoint", *CENSORED_COLUMNS]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    cutoff = float(inputs.study.ceiling_g)
    at_cutoff = rows["status"].eq("cutoff_high") | (
        rows["threshold_g"].astype(float) >= cutoff * (1 - 1e-9)
    )
    flags = rows.assign(n_at_cutoff=at_cutoff, n_at_lowest=rows["status"].eq("cutoff_low"))
    counts = flags.groupby(["group", "timepoint"], sort=False)[CENSORED_COLUMNS].sum()
    return counts.astype(int).reset_index()[columns]


# ----------------------------------------------------------------------------- statistics

NO_VALUES = "No values yet: nothing has been recorded for an allocated animal."
NO_BASELINE = "Statistics start once the baseline timepoint has values."
NO_CONTROL = "Statistics start once the control group has values."


@dataclass(frozen=True)
class StudyStatistics:
    """Every test of one outcome in the stats CSV shape (`stats.COLUMNS`), or an empty
    table and the `problem` that kept it from being computed."""

    table: pd.DataFrame
    problem: str = ""


def study_statistics(
    inputs: AnalysisInputs, outcome: str = THRESHOLD_G, *, mixed_model: bool = True
) -> StudyStatistics:
    """`stats.study_statistics` of one outcome with the study's reference, alpha,
    post-hoc, comparison family and usable pairs; each row's note says how many imported thresholds
    without stimuli its test took in.

    `mixed_model=False` leaves out the linear mixed model, which takes seconds on a large
    study: the dashboard fits it on request (`mixed_model_statistics`), the stats export always.
    """
    long = inputs.long(outcome)
    empty = pd.DataFrame(columns=stats.COLUMNS)
    if long.empty:
        return StudyStatistics(empty, NO_VALUES)
    if inputs.baseline not in set(long["timepoint"].tolist()):
        return StudyStatistics(empty, NO_BASELINE)
    if inputs.control not in set(long["group"].tolist()):
        return StudyStatistics(empty, NO_CONTROL)
    study = inputs.study
    usable = inputs.usable(outcome)
    legacy = usable.loc[usable["source"] == frames.SOURCE_LEGACY, ["animal", "group", "timepoint"]]
    settings = {
        "baseline": inputs.baseline,
        "control_group": inputs.control,
        "alpha": float(study.alpha),
        "posthoc": study.posthoc,
        "pairs": tuple(inputs.pairs[outcome]),
        "mixed_model": mixed_model,
        "family": study.comparison_family,
        "basis": study.comparison_basis,
    }

    def compute() -> StudyStatistics:
        try:
            table = stats.study_statistics(long, **settings)
        except ValueError as error:
            return StudyStatistics(empty, str(error))
        table["note"] = _flag_legacy(table, usable)
        return StudyStatistics(table)

    key = stats_cache.key(
        f"study_statistics:{outcome}", study.pk, [long, legacy], tuple(sorted(settings.items()))
    )
    result = stats_cache.cached(key, compute)
    # A copy: a caller that adds a column must not change what the next one is served.
    return StudyStatistics(result.table.copy(), result.problem)


def mixed_model_statistics(inputs: AnalysisInputs, outcome: str = THRESHOLD_G) -> pd.DataFrame:
    """The linear mixed model (random intercept per animal) alone, on the same long frame
    and reference as `study_statistics`: it keeps animals with a missing timepoint."""
    long = inputs.long(outcome)
    if long.empty or inputs.baseline not in set(long["timepoint"]):
        return pd.DataFrame(columns=stats.COLUMNS)
    control = inputs.control if inputs.control in set(long["group"]) else None
    key = stats_cache.key(
        f"mixed_model:{outcome}", inputs.study.pk, [long], (inputs.baseline, control)
    )
    table = stats_cache.cached(
        key, lambda: stats.mixed_model(long, baseline=inputs.baseline, control_group=control)
    )
    return table.copy()


def _flag_legacy(result: pd.DataFrame, usable: pd.DataFrame) -> list[str]:
    """Each stats row's note, plus how many imported thresholds without stimuli its test
    took in: the values of its group (within-group tests and mixed models) or of its
    timepoint (between-group tests; a mixed model's fit takes every timepoint), less the
    animals the test dropped. Post-hoc rows count their whole family, whose ranks they use."""
    legacy = usable.loc[usable["source"] == frames.SOURCE_LEGACY, ["animal", "group", "timepoint"]]
    notes = []
    for row in result.itertuples(index=False):
        note = row.note if isinstance(row.note, str) else ""
        cells = legacy
        if len(cells) and isinstance(row.group, str) and row.group:
            cells = cells[cells["group"] == row.group]
        mixed = str(row.test).startswith("mixed_model")
        if len(cells) and isinstance(row.timepoint, str) and row.timepoint and not mixed:
            cells = cells[cells["timepoint"] == row.timepoint]
        if len(cells) and isinstance(row.dropped, str) and row.dropped:
            dropped = {a.strip() for a in row.dropped.split(",")}
            cells = cells[~cells["animal"].astype(str).isin(dropped)]
        n = len(cells)
        if n:
            what = "threshold" if n == 1 else "thresholds"
            flag = f"includes {n} imported {what} without stimuli (legacy)"
            note = f"{note}; {flag}" if note else flag
        notes.append(note)
    return notes
