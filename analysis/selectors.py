"""Reads that feed the results pages: dashboard, completeness, publication figure, animal.

Each function reads the ORM in a fixed number of queries (none per animal, session or
dose) and leaves the numbers to `analysis.frames` (thresholds, %MPE) and
`analysis.stats` (statistics), so the page, the export and the tests share one source.
Nothing is cached: a page shows the data as recorded when it is drawn.

This module reads only. Frames include treatment groups: views check
`StudyAccess.can_view_results` before calling anything here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import Count, Q

from analysis import frames, stats

# ----------------------------------------------------------------------------- design


@dataclass(frozen=True)
class Measure:
    key: str
    column: str
    label: str
    unit: str
    axis_title: str


THRESHOLD = Measure(
    key="threshold",
    column="threshold_g",
    label="Withdrawal threshold",
    unit="g",
    axis_title="Paw withdrawal threshold (g)",
)
MPE = Measure(key="mpe", column="pct_mpe", label="%MPE", unit="%", axis_title="%MPE")
MEASURES = {m.key: m for m in (THRESHOLD, MPE)}


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
    statistics: the baseline timepoint, the first treated one and the control group."""

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


# ----------------------------------------------------------------------------- results

WITHIN_FAMILY = {
    "friedman": "Friedman and Nemenyi",
    "wilcoxon": "Wilcoxon signed-rank",
    "rm_anova": "Repeated-measures ANOVA",
    "mixed_anova": "Mixed ANOVA (group × time)",
    "auc_kruskal": "Area under the curve",
    "auc_mann_whitney": "Area under the curve",
}


@dataclass
class MeasureResults:
    """One measure (threshold or %MPE): its long frame, summary, statistics and marks."""

    measure: Measure
    long: pd.DataFrame
    summary: pd.DataFrame
    statistics: pd.DataFrame
    marks: pd.DataFrame
    dropped: list[dict] = field(default_factory=list)
    problem: str = ""
    # %MPE only: animals with a threshold but no %MPE, and why (`frames.mpe_left_out`).
    left_out: list[dict] = field(default_factory=list)
    # Per-animal area under the curve (`stats.auc_per_animal`), one entry per group.
    auc: list[dict] = field(default_factory=list)

    @property
    def dropped_animals(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.dropped:
            for animal in row["animals"]:
                seen.setdefault(animal)
        return list(seen)


@dataclass
class StudyResults:
    design: Design
    reference: Reference
    sessions: pd.DataFrame
    threshold: MeasureResults
    mpe: MeasureResults

    def measure(self, key: str) -> MeasureResults:
        return self.threshold if key == THRESHOLD.key else self.mpe


@dataclass(frozen=True)
class Reference:
    """The baseline, first treated timepoint and control group the statistics use.

    The study's own (its baseline timepoint, its control group) when they have data;
    otherwise the first timepoint / group with data, as the stats export chooses
    (`analysis.exports.control_group`, `baseline_label`), so page and export agree.
    """

    baseline: str | None
    first_treated: str | None
    control: str | None
    notes: tuple[str, ...] = ()


def reference_for(design: Design, long: pd.DataFrame) -> Reference:
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


def study_results(study, *, design: Design | None = None) -> StudyResults:
    """Thresholds and %MPE of every live session, their summaries, statistics and the
    significance marks the charts draw, in a fixed number of queries."""
    design = design or study_design(study)
    sessions = frames.session_frame(study)
    threshold_long = _ordered(frames.analysis_frame(sessions, THRESHOLD.column), design)
    reference = reference_for(design, threshold_long)
    mpe_long = _ordered(frames.analysis_frame(sessions, MPE.column), design)
    mpe = measure_results(mpe_long, MPE, design, reference, study)
    mpe.left_out = mpe_left_out(sessions, design)
    return StudyResults(
        design=design,
        reference=reference,
        sessions=sessions,
        threshold=measure_results(threshold_long, THRESHOLD, design, reference, study),
        mpe=mpe,
    )


def mpe_left_out(sessions: pd.DataFrame, design: Design) -> list[dict]:
    """Animals left out of %MPE at some timepoint and why, in study group order."""
    frame = frames.mpe_left_out(sessions)
    if frame.empty:
        return []
    return _ordered_animals(frame, design).to_dict("records")


def measure_results(
    long: pd.DataFrame, measure: Measure, design: Design, reference: Reference, study
) -> MeasureResults:
    if long.empty:
        return MeasureResults(
            measure,
            long,
            pd.DataFrame(columns=stats.SUMMARY_COLUMNS),
            pd.DataFrame(columns=stats.COLUMNS),
            pd.DataFrame(columns=stats.MARK_COLUMNS),
            problem="No values yet: nothing has been recorded for an allocated animal.",
        )
    summary = _ordered(stats.group_summary(long), design)
    results, problem = _statistics(
        long, reference, alpha=study.alpha, posthoc=study.posthoc, pairs=study.chosen_pairs()
    )
    marks = (
        stats.significance_marks(results, alpha=study.alpha)
        if not results.empty
        else pd.DataFrame(columns=stats.MARK_COLUMNS)
    )
    return MeasureResults(
        measure,
        long,
        summary,
        results,
        marks,
        dropped=_dropped(results),
        problem=problem,
        auc=auc_by_group(long, design),
    )


def auc_by_group(long: pd.DataFrame, design: Design) -> list[dict]:
    """`stats.auc_per_animal` per group in study order: each group's animals (AUC NaN
    where an animal misses a timepoint), n, mean ± SEM of the complete ones, and the span
    (first and last timepoint with data) the trapezoids run over."""
    if long.empty:
        return []
    aucs = stats.auc_per_animal(long)
    present = set(long["timepoint"])
    span = [t for t in design.timepoints if t.label in present]
    out = []
    for group in design.groups:
        mine = aucs[aucs["group"] == group.code].sort_values("animal")
        if mine.empty:
            continue
        values = mine.loc[mine["complete"], "auc"].to_numpy(dtype=float)
        n = len(values)
        sd = float(np.std(values, ddof=1)) if n > 1 else float("nan")
        out.append(
            {
                "group": group.code,
                "colour": group.colour,
                "animals": mine.astype(object).where(mine.notna(), None).to_dict("records"),
                "n": n,
                "mean": float(values.mean()) if n else None,
                "sem": sd / np.sqrt(n) if n > 1 else None,
                "first": span[0] if span else None,
                "last": span[-1] if span else None,
            }
        )
    return out


def _ordered(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Rows in study group order, then by day (and animal): the order the stats export
    uses, so `analysis.stats` meets the groups, and prints its rows, in the same order."""
    if frame.empty:
        return frame.reset_index(drop=True)
    rank = frame["group"].map(design.group_order).fillna(len(design.groups))
    keys = ["_rank", "day"] + (["animal"] if "animal" in frame.columns else [])
    ordered = frame.assign(_rank=rank).sort_values(keys, kind="stable")
    return ordered.drop(columns="_rank").reset_index(drop=True)


def usable_pairs(pairs, long: pd.DataFrame) -> list[tuple[str, str]]:
    """The study's chosen pairs whose two timepoints both have values."""
    labels = set(long["timepoint"].tolist())
    return [(a, b) for a, b in pairs if a in labels and b in labels]


def _statistics(
    long: pd.DataFrame, reference: Reference, *, alpha: float, posthoc: str, pairs=()
) -> tuple[pd.DataFrame, str]:
    """`stats.study_statistics` without the linear mixed model, which takes seconds on a
    large study and is offered on request (`mixed_model_results`); every other row is
    computed by the same functions, with the same arguments, as in the stats export."""
    empty = pd.DataFrame(columns=stats.COLUMNS)
    if reference.baseline not in set(long["timepoint"].tolist()):
        return empty, "Statistics start once the baseline timepoint has values."
    if reference.control not in set(long["group"].tolist()):
        return empty, "Statistics start once the control group has values."
    baseline, control = reference.baseline, reference.control
    parts = [
        stats.within_group_tests(
            long,
            baseline=baseline,
            first_treated=reference.first_treated,
            pairs=usable_pairs(pairs, long),
            alpha=alpha,
        ),
        stats.rm_anova(long),
        stats.mixed_anova(long, control_group=control),
        stats.between_group_tests(long, control_group=control, alpha=alpha, posthoc=posthoc),
        stats.auc_tests(long, control_group=control, alpha=alpha, posthoc=posthoc),
    ]
    parts = [part for part in parts if not part.empty]
    return pd.concat(parts, ignore_index=True), ""


def mixed_model_results(study, measure: Measure) -> pd.DataFrame:
    """The linear mixed model (random intercept per animal) that keeps animals with a
    missing timepoint: `stats.mixed_model` on the same long frame as the dashboard."""
    design = study_design(study)
    sessions = frames.session_frame(study)
    reference = reference_for(
        design, _ordered(frames.analysis_frame(sessions, THRESHOLD.column), design)
    )
    long = _ordered(frames.analysis_frame(sessions, measure.column), design)
    if long.empty or reference.baseline not in set(long["timepoint"]):
        return pd.DataFrame(columns=stats.COLUMNS)
    control = reference.control if reference.control in set(long["group"]) else None
    return stats.mixed_model(long, baseline=reference.baseline, control_group=control)


def _dropped(results: pd.DataFrame) -> list[dict]:
    """Which animals each complete-case test left out, one entry per test and group."""
    if results.empty:
        return []
    rows = results[results["test"].isin(list(WITHIN_FAMILY)) & results["dropped"].fillna("").ne("")]
    out = []
    for row in rows.drop_duplicates(["test", "group", "dropped"]).itertuples():
        group = row.group if isinstance(row.group, str) else ""
        out.append(
            {
                "tests": WITHIN_FAMILY[row.test],
                "group": group,
                "animals": [a.strip() for a in row.dropped.split(",") if a.strip()],
            }
        )
    return out


# ----------------------------------------------------------------------------- completeness

CELL_DONE = "done"
CELL_IMPORTED = "imported"
CELL_IN_PROGRESS = "in_progress"
CELL_MISSING = "missing"
CELL_VOIDED = "voided"
CELL_UPCOMING = "upcoming"
CELL_NOT_EXPECTED = "not_expected"
CELL_LABELS = {
    CELL_DONE: "done",
    CELL_IMPORTED: "imported",
    CELL_IN_PROGRESS: "in progress",
    CELL_MISSING: "missing",
    CELL_VOIDED: "voided",
    CELL_UPCOMING: "not yet due",
    CELL_NOT_EXPECTED: "not expected",
}


def animals_frame(study) -> pd.DataFrame:
    """One query: every animal of the study with its group, cage, status and dates."""
    from animals.models import Animal

    rows = Animal.objects.filter(study=study).values_list(
        "pk", "code", "group__code", "cage", "sex", "status", "status_date", "status_reason"
    )
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "animal_id", "animal", "group", "cage", "sex", "status", "status_date",
            "status_reason",
        ],
    )  # fmt: skip
    frame["group"] = frame["group"].fillna("")
    return frame


def completeness(study, *, design: Design, sessions: pd.DataFrame, today: dt.date):
    """Animals x timepoints, one cell each: done / imported / in progress / voided /
    missing, or not yet due and not expected (animal out of the study by then).

    `sessions` is `frames.session_frame(study)`; one more query reads every session,
    voided ones included. Returns (animals, cells): `cells` has one row per animal and
    timepoint with `state`, `session` (the session to link to, or NA) and `value`.
    """
    from sessions.models import TestSession

    animals = _ordered_animals(animals_frame(study), design)
    tps = pd.DataFrame(
        [(t.pk, t.label, t.day, t.date) for t in design.timepoints],
        columns=["timepoint_id", "timepoint", "day", "date"],
    )
    grid = animals[["animal_id", "animal", "status", "status_date"]].merge(tps, how="cross")
    all_sessions = pd.DataFrame(
        list(
            TestSession.objects.filter(animal__study=study).values_list(
                "pk", "animal_id", "timepoint_id", "status"
            )
        ),
        columns=["session", "animal_id", "timepoint_id", "session_status"],
    )
    keys = ["animal_id", "timepoint_id"]
    paws = 2 if study.paw_tested == "both" else 1
    status = all_sessions["session_status"]
    counts = (
        all_sessions.assign(
            complete=status.eq(TestSession.Status.COMPLETE),
            in_progress=status.eq(TestSession.Status.IN_PROGRESS),
            voided=status.eq(TestSession.Status.VOIDED),
            live_session=all_sessions["session"].where(status.ne(TestSession.Status.VOIDED)),
            voided_session=all_sessions["session"].where(status.eq(TestSession.Status.VOIDED)),
        )
        .groupby(keys)
        .agg(
            n_complete=("complete", "sum"),
            n_in_progress=("in_progress", "sum"),
            n_voided=("voided", "sum"),
            live_session=("live_session", "min"),
            voided_session=("voided_session", "max"),
        )
        .reset_index()
    )
    grid = grid.merge(counts, on=keys, how="left")
    imported = sessions.loc[sessions["source"].eq("legacy_thresholds"), ["animal", "timepoint"]]
    imported = imported.drop_duplicates().assign(n_imported=1)
    grid = grid.merge(imported, on=["animal", "timepoint"], how="left")
    for column in ("n_complete", "n_in_progress", "n_voided", "n_imported"):
        grid[column] = grid[column].fillna(0).astype(int)

    live = sessions[sessions["session"].notna()]
    value = live.sort_values("paw").drop_duplicates(["animal", "timepoint"])
    grid = grid.merge(
        value[["animal", "timepoint", "threshold_g"]], on=["animal", "timepoint"], how="left"
    )

    out_of_study = grid["status"].ne("active") & grid["status_date"].notna()
    gone = out_of_study & (
        pd.to_datetime(grid["status_date"]) < pd.to_datetime(grid["date"])
    ).fillna(False)
    future = pd.to_datetime(grid["date"]) > pd.Timestamp(today)
    conditions = [
        grid["n_complete"] >= paws,
        grid["n_imported"] > 0,
        (grid["n_in_progress"] + grid["n_complete"]) > 0,
        grid["n_voided"] > 0,
        gone,
        future,
    ]
    choices = [
        CELL_DONE,
        CELL_IMPORTED,
        CELL_IN_PROGRESS,
        CELL_VOIDED,
        CELL_NOT_EXPECTED,
        CELL_UPCOMING,
    ]
    grid["state"] = np.select(conditions, choices, default=CELL_MISSING)
    grid["session"] = grid["live_session"].fillna(grid["voided_session"]).astype("Int64")
    grid["value"] = grid["threshold_g"].where(grid["state"].isin([CELL_DONE, CELL_IN_PROGRESS]))
    return animals, grid


def _ordered_animals(animals: pd.DataFrame, design: Design) -> pd.DataFrame:
    rank = animals["group"].map(design.group_order).fillna(len(design.groups))
    return (
        animals.assign(_rank=rank)
        .sort_values(["_rank", "animal"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def completeness_counts(grid: pd.DataFrame) -> dict[str, int]:
    counts = grid["state"].value_counts()
    return {state: int(counts.get(state, 0)) for state in CELL_LABELS}


# ----------------------------------------------------------------------------- dosing


def dosing_compliance(
    study, *, design: Design, today: dt.date, animals: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per animal: doses given, missed, refused, not recorded (scheduled and past),
    still to come, and compliance = given / (given + missed + refused + not recorded).

    One query (an aggregate grouped by animal), plus the animals query unless `animals`
    (`completeness`'s first result) is given.
    """
    from animals.models import DoseAdministration

    status = DoseAdministration.Status
    live = DoseAdministration.objects.filter(animal__study=study, voided=False)
    rows = live.values("animal_id").annotate(
        given=Count("pk", filter=Q(status=status.GIVEN)),
        missed=Count("pk", filter=Q(status=status.MISSED)),
        refused=Count("pk", filter=Q(status=status.REFUSED)),
        not_recorded=Count("pk", filter=Q(status=status.SCHEDULED, scheduled_date__lt=today)),
        to_come=Count("pk", filter=Q(status=status.SCHEDULED, scheduled_date__gte=today)),
    )
    columns = ["given", "missed", "refused", "not_recorded", "to_come"]
    counts = pd.DataFrame(list(rows), columns=["animal_id", *columns])
    if animals is None:
        animals = _ordered_animals(animals_frame(study), design)
    frame = animals[["animal_id", "animal", "group", "status"]].merge(
        counts, on="animal_id", how="left"
    )
    frame[columns] = frame[columns].fillna(0).astype(int)
    due = frame[["given", "missed", "refused", "not_recorded"]].sum(axis=1)
    frame["due"] = due
    frame["compliance"] = (frame["given"] / due.where(due > 0)) * 100.0
    return frame


def doses_not_given(study) -> pd.DataFrame:
    """Every missed or refused dose, with its reason (one query)."""
    from animals.models import DoseAdministration

    status = DoseAdministration.Status
    rows = DoseAdministration.objects.filter(
        animal__study=study, voided=False, status__in=[status.MISSED, status.REFUSED]
    ).order_by("scheduled_date", "animal__code")
    return pd.DataFrame(
        list(
            rows.values_list(
                "animal_id", "animal__code", "animal__group__code", "scheduled_date",
                "study_day", "status", "reason",
            )
        ),
        columns=["animal_id", "animal", "group", "date", "day", "status", "reason"],
    )  # fmt: skip


def adverse_events(study) -> pd.DataFrame:
    """Live adverse-event observations, oldest first (one query)."""
    from animals.models import Observation

    rows = (
        Observation.objects.filter(
            animal__study=study, kind=Observation.Kind.ADVERSE_EVENT, voided=False
        )
        .order_by("date", "animal__code")
        .values_list(
            "animal_id", "animal__code", "animal__group__code", "date", "term", "severity", "notes"
        )
    )
    frame = pd.DataFrame(
        list(rows),
        columns=["animal_id", "animal", "group", "date", "term", "severity", "notes"],
    )
    frame["day"] = (pd.to_datetime(frame["date"]) - pd.Timestamp(study.day0_date)).dt.days
    return frame


# ----------------------------------------------------------------------------- one animal


@dataclass
class AnimalRecord:
    animal: object
    sessions: list[dict]
    weights: list
    doses: list
    observations: list
    surgeries: list


def animal_record(study, animal) -> AnimalRecord:
    """One animal's sessions (with stimuli, voided ones too, and thresholds from
    `frames.session_frame` so they match the dashboard), weights, doses, observations."""
    from sessions.models import Stimulus, TestSession

    computed = frames.session_frame(study)
    mine = computed[computed["animal"] == animal.code]
    by_session = {int(r.session): r for r in mine[mine["session"].notna()].itertuples(index=False)}
    stimuli: dict[int, list] = {}
    for stimulus in (
        Stimulus.objects.filter(session__animal=animal)
        .select_related("filament")
        .order_by("session_id", "order")
    ):
        stimuli.setdefault(stimulus.session_id, []).append(stimulus)
    sessions = []
    for session in (
        TestSession.objects.filter(animal=animal)
        .select_related("timepoint", "tester")
        .order_by("timepoint__day", "paw", "pk")
    ):
        result = by_session.get(session.pk)
        sessions.append(
            {
                "session": session,
                "stimuli": stimuli.get(session.pk, []),
                "result": result,
                "voided": session.status == TestSession.Status.VOIDED,
            }
        )
    for row in mine[mine["source"].eq("legacy_thresholds")].itertuples(index=False):
        sessions.append({"session": None, "stimuli": [], "result": row, "voided": False})
    sessions.sort(
        key=lambda s: s["result"].day if s["result"] is not None else s["session"].timepoint.day
    )
    weights = list(animal.weights.order_by("date", "pk"))
    for weight in weights:
        weight.day = study.day_of_date(weight.date)
    return AnimalRecord(
        animal=animal,
        sessions=sessions,
        weights=weights,
        doses=list(animal.doses.select_related("given_by").order_by("scheduled_date", "pk")),
        observations=list(animal.observations.order_by("date", "pk")),
        surgeries=list(animal.surgeries.order_by("date")),
    )


@dataclass(frozen=True)
class NothingYet:
    """What an empty study's results pages say instead of drawing empty axes."""

    missing: tuple[str, ...]
    first_timepoint: TimepointInfo | None
    first_due: TimepointInfo | None  # the first timepoint still to come, if any
    days_until: int | None


def nothing_yet(study, design: Design, today: dt.date) -> NothingYet:
    """Why there are no thresholds yet, in the order a study fills up, and when the
    first timepoint (or the next one to come) is due."""
    from animals.models import Animal
    from sessions.models import TestSession

    animals = Animal.objects.filter(study=study).aggregate(
        total=Count("pk"), allocated=Count("pk", filter=Q(group__isnull=False))
    )
    sessions = TestSession.objects.filter(animal__study=study).exclude(
        status=TestSession.Status.VOIDED
    )
    counts = sessions.aggregate(
        total=Count("pk"),
        complete=Count("pk", filter=Q(status=TestSession.Status.COMPLETE)),
    )
    missing = []
    if not design.groups:
        missing.append("No treatment groups: a data manager adds them under Set-up → Groups.")
    if not design.timepoints:
        missing.append("No timepoints: a data manager adds them under Set-up → Timepoints.")
    if not animals["total"]:
        missing.append("No animals yet: a data manager adds them under Set-up → Add animals.")
    elif not animals["allocated"]:
        missing.append(
            f"{animals['total']} animal{'s' if animals['total'] != 1 else ''}, none allocated "
            "to a group yet: a data manager allocates them under Set-up → Allocation."
        )
    if not counts["total"]:
        missing.append("No von Frey session recorded yet.")
    elif not counts["complete"]:
        missing.append(
            f"{counts['total']} session{'s' if counts['total'] != 1 else ''} started, none "
            "finished yet: a threshold counts once its series is complete."
        )
    elif animals["allocated"]:
        missing.append("Finished sessions so far belong to animals without a group.")
    first = design.timepoints[0] if design.timepoints else None
    upcoming = next((t for t in design.timepoints if t.date >= today), None)
    return NothingYet(
        missing=tuple(missing),
        first_timepoint=first,
        first_due=upcoming,
        days_until=(upcoming.date - today).days if upcoming else None,
    )
