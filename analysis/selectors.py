"""Reads that feed the results pages: dashboard, completeness, publication figure, animal.

Each function reads the ORM in a fixed number of queries (none per animal, session or
dose). The design, reference, frames and statistics come from `analysis.inputs`
(`analysis_inputs`, `study_statistics`), the call the exports and ARRIVE make too, so
the page and the files cannot disagree; this module shapes them for the pages.
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

from analysis import frames, inputs, stats, stats_cache, thresholds
from labstudy import audit

# ----------------------------------------------------------------------------- design

Design = inputs.Design  # re-exported for the views


@dataclass(frozen=True)
class Measure:
    key: str
    column: str
    label: str
    unit: str
    axis_title: str


THRESHOLD = Measure(
    key="threshold",
    column=inputs.THRESHOLD_G,
    label="Withdrawal threshold",
    unit="g",
    axis_title="Paw withdrawal threshold (g)",
)
MPE = Measure(key="mpe", column=inputs.PCT_MPE, label="%MPE", unit="%", axis_title="%MPE")
MEASURES = {m.key: m for m in (THRESHOLD, MPE)}


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
    # The study's chosen comparison pairs this measure has values for.
    pairs: tuple[tuple[str, str], ...] = ()

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
    reference: inputs.Reference
    sessions: pd.DataFrame
    threshold: MeasureResults
    mpe: MeasureResults
    analysed: inputs.AnalysisInputs | None = None  # what every number above came from

    def measure(self, key: str) -> MeasureResults:
        return self.threshold if key == THRESHOLD.key else self.mpe


def study_results(study, *, analysed: inputs.AnalysisInputs | None = None) -> StudyResults:
    """Thresholds and %MPE of every live session, their summaries, statistics and the
    significance marks the charts draw, in a fixed number of queries: all of it from
    `analysis.inputs`, as the exports compute theirs."""
    analysed = analysed or inputs.analysis_inputs(study)
    mpe = measure_results(analysed, MPE)
    mpe.left_out = mpe_left_out(analysed)
    return StudyResults(
        design=analysed.design,
        reference=analysed.reference,
        sessions=analysed.sessions,
        threshold=measure_results(analysed, THRESHOLD),
        mpe=mpe,
        analysed=analysed,
    )


def mpe_left_out(analysed: inputs.AnalysisInputs) -> list[dict]:
    """Animals left out of %MPE at some timepoint and why, in study group order."""
    frame = frames.mpe_left_out(analysed.sessions)
    if frame.empty:
        return []
    return analysed.ordered(frame).to_dict("records")


def measure_results(analysed: inputs.AnalysisInputs, measure: Measure) -> MeasureResults:
    """One measure's long frame, summary, statistics (without the mixed model, fitted on
    request) and marks: computed once per state of the data (`analysis.stats_cache`),
    keyed on the session frame everything here is made of, the design and the settings.
    Role-independent: every group is in it, callers apply the blinding."""
    study = analysed.study
    settings = (
        analysed.method,
        repr(analysed.design),
        analysed.reference,
        float(study.alpha),
        study.posthoc,
        study.comparison_family,
        study.comparison_basis,
        float(study.ceiling_g),
        tuple(analysed.pairs[measure.column]),
    )
    key = stats_cache.key(
        f"measure_results:{measure.key}",
        study.pk,
        [analysed.sessions, analysed.long(measure.column)],
        settings,
    )
    return stats_cache.cached(key, lambda: _measure_results(analysed, measure))


def _measure_results(analysed: inputs.AnalysisInputs, measure: Measure) -> MeasureResults:
    long = analysed.long(measure.column)
    computed = inputs.study_statistics(analysed, measure.column, mixed_model=False)
    if long.empty:
        return MeasureResults(
            measure,
            long,
            pd.DataFrame(columns=stats.SUMMARY_COLUMNS),
            computed.table,
            pd.DataFrame(columns=stats.MARK_COLUMNS),
            problem=computed.problem,
        )
    results = computed.table
    marks = (
        stats.significance_marks(results, alpha=analysed.study.alpha)
        if not results.empty
        else pd.DataFrame(columns=stats.MARK_COLUMNS)
    )
    return MeasureResults(
        measure,
        long,
        inputs.group_summary(analysed, measure.column),
        results,
        marks,
        dropped=_dropped(results),
        problem=computed.problem,
        auc=auc_by_group(analysed, measure.column),
        pairs=analysed.pairs[measure.column],
    )


def auc_by_group(analysed: inputs.AnalysisInputs, outcome: str) -> list[dict]:
    """`stats.auc_per_animal` per group in study order: each group's animals (AUC NaN
    where an animal misses a timepoint), n, mean ± SEM of the complete ones, and the span
    (first and last timepoint with data) the trapezoids run over."""
    aucs = analysed.auc(outcome)
    if aucs is None:
        return []
    present = set(analysed.long(outcome)["timepoint"])
    design = analysed.design
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

    animals = inputs.in_study_order(animals_frame(study), design)
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
        animals = inputs.in_study_order(animals_frame(study), design)
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
    # Percent-response studies: one withdrawal-frequency curve per session with stimuli,
    # {"label", "forces_g", "percent", "counts", "threshold_g"}, in the sessions' order.
    frequency_curves: list = field(default_factory=list)


def _frequency_curves(study, sessions: list[dict]) -> list[dict]:
    """The percent-response curve of each session: the first N applications of every
    filament in use, by the engine that computes the threshold."""
    if study.threshold_method != "percent_response":
        return []
    filaments = frames.filaments_of(study)
    grams = {f.size: f.grams for f in filaments}
    curves = []
    for s in sessions:
        live = [(t.filament.size, t.withdrew) for t in s["stimuli"] if not t.voided]
        if s["session"] is None or s["voided"] or not live:
            continue
        result = thresholds.compute_threshold(
            live,
            filaments,
            method="percent_response",
            cutoff_g=study.cutoff_g,
            **study.method_params,
        )
        done = [(size, w, a) for size, w, a in result.frequencies if a]
        curves.append(
            {
                "label": f"{s['session'].timepoint.label} {s['session'].get_paw_display().lower()}",
                "forces_g": [grams[size] for size, _, _ in done],
                "percent": [100.0 * w / a for _, w, a in done],
                "counts": [f"{w} of {a}" for _, w, a in done],
                "cells": [(grams[size], f"{w} of {a}") for size, w, a in done],
                "threshold_g": result.grams,
            }
        )
    return curves


def animal_record(study, animal) -> AnimalRecord:
    """One animal's sessions (with stimuli, voided ones too, and thresholds from
    `frames.session_frame` so they match the dashboard), weights, doses, observations."""
    from sessions.models import Stimulus, TestSession

    computed = frames.session_frame(study)
    mine = computed[computed["animal"] == animal.code]
    by_session = {int(r.session): r for r in mine[mine["session"].notna()].itertuples(index=False)}
    stimuli: dict[int, list] = {}
    voids = audit.stimulus_voids(study, animal=animal)
    for stimulus in (
        Stimulus.objects.filter(session__animal=animal)
        .select_related("filament", "recorded_by")
        .order_by("session_id", "order")
    ):
        # who undid or voided it and when, for the page's text (not only a hover title)
        stimulus.voided_by, stimulus.voided_at = voids.get(stimulus.pk, ("", None))
        stimuli.setdefault(stimulus.session_id, []).append(stimulus)
    session_voids = audit.session_voids(study, animal=animal)
    sessions = []
    for session in (
        TestSession.objects.filter(animal=animal)
        .select_related("timepoint", "tester")
        .order_by("timepoint__day", "paw", "pk")
    ):
        result = by_session.get(session.pk)
        taps = stimuli.get(session.pk, [])
        voided_by, voided_at = session_voids.get(session.pk, ("", None))
        sessions.append(
            {
                "session": session,
                "stimuli": taps,
                # taps with something besides the response: a note, an override, a void
                "details": [t for t in taps if t.note or t.is_override or t.voided],
                "voided_by": voided_by,
                "voided_at": voided_at,
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
        frequency_curves=_frequency_curves(study, sessions),
    )


@dataclass(frozen=True)
class NothingYet:
    """What an empty study's results pages say instead of drawing empty axes."""

    missing: tuple[str, ...]
    first_timepoint: inputs.TimepointInfo | None
    first_due: inputs.TimepointInfo | None  # the first timepoint still to come, if any
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
