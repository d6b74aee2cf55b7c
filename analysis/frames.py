"""Tidy pandas frames of a study, read from the ORM in a fixed number of queries.

Reads only: this module never writes. Every frame is derived from the raw stimuli on
demand (thresholds are computed with `analysis.thresholds.batch_thresholds`), so the
numbers on a page, in an export and in a test come from one place.

The query count does not grow with the number of animals: one query each for the
study's filaments, timepoints, animals and sessions, one for all live stimuli and one for
thresholds imported without stimuli (flagged `source` = "legacy_thresholds").
Frames include the treatment group; callers decide who may see it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import thresholds

STIMULI_COLUMNS = [
    "animal", "group", "timepoint", "day", "paw", "order", "filament_size", "filament_g",
    "response", "tested_at", "tester", "cage", "sex", "session",
]  # fmt: skip
# `source` of a session-frame row: computed from the recorded stimuli, or a threshold
# imported from a spreadsheet that recorded no stimuli.
SOURCE_STIMULI = "stimuli"
SOURCE_LEGACY = "legacy_thresholds"
SESSION_COLUMNS = [
    "session", "animal", "group", "timepoint", "day", "paw", "method", "threshold_g",
    "status", "pattern", "pct_mpe", "n_stimuli", "session_status", "cage", "sex", "reason",
    "mpe_reason",
]  # fmt: skip


def filaments_of(study) -> tuple[thresholds.Filament, ...]:
    return tuple(
        thresholds.Filament(size=size, grams=grams)
        for size, grams in study.filament_set.filaments.order_by("order").values_list(
            "size", "grams"
        )
    )


def _animals(study) -> pd.DataFrame:
    from animals.models import Animal

    rows = Animal.objects.filter(study=study).values_list(
        "pk", "code", "group__code", "cage", "sex", "status"
    )
    return pd.DataFrame(
        list(rows), columns=["animal_id", "animal", "group", "cage", "sex", "animal_status"]
    )


def _timepoints(study) -> pd.DataFrame:
    rows = study.timepoints.order_by("day").values_list("pk", "label", "day", "is_baseline")
    return pd.DataFrame(list(rows), columns=["timepoint_id", "timepoint", "day", "is_baseline"])


def stimuli_frame(study) -> pd.DataFrame:
    """One row per live filament application, in the stimuli CSV's column order.

    Voided stimuli and stimuli of voided sessions are left out. `response` is 1 for a
    withdrawal and 0 for none.
    """
    from sessions.models import Stimulus, TestSession

    rows = (
        Stimulus.objects.filter(session__animal__study=study, voided=False)
        .exclude(session__status=TestSession.Status.VOIDED)
        .order_by("session__timepoint__day", "session__animal__code", "session__paw", "order")
        .values_list(
            "session__animal__code",
            "session__animal__group__code",
            "session__timepoint__label",
            "session__timepoint__day",
            "session__paw",
            "order",
            "filament__size",
            "filament__grams",
            "withdrew",
            "recorded_at",
            "session__tester__username",
            "session__animal__cage",
            "session__animal__sex",
            "session_id",
        )  # fmt: skip
    )
    frame = pd.DataFrame(list(rows), columns=STIMULI_COLUMNS)
    frame["response"] = frame["response"].astype(int)
    frame["group"] = frame["group"].fillna("")
    frame["tester"] = frame["tester"].fillna("")
    return frame


def session_frame(study, *, method: str | None = None) -> pd.DataFrame:
    """One row per live test session with its threshold (g), status, pattern and %MPE.

    `method` defaults to the study's; %MPE uses each animal's baseline-timepoint
    threshold on the same paw and the study's cut-off, and is NaN where undefined;
    `mpe_reason` then says why (no baseline threshold, baseline at the cut-off, no
    threshold at this timepoint), in `thresholds.percent_mpe_reason`'s words.
    """
    from sessions.models import Stimulus, TestSession

    method = method or study.threshold_method
    filaments = filaments_of(study)
    positions = {f.size: i for i, f in enumerate(filaments)}
    sessions = pd.DataFrame(
        list(
            TestSession.objects.filter(animal__study=study)
            .exclude(status=TestSession.Status.VOIDED)
            .values_list("pk", "animal_id", "timepoint_id", "paw", "status")
        ),
        columns=["session", "animal_id", "timepoint_id", "paw", "session_status"],
    )
    stim = list(
        Stimulus.objects.filter(session__animal__study=study, voided=False)
        .exclude(session__status=TestSession.Status.VOIDED)
        .order_by("session_id", "order")
        .values_list("session_id", "filament__size", "withdrew")
    )
    result = pd.DataFrame(
        {"session": pd.Series(dtype="int64"), "threshold_g": pd.Series(dtype=float)}
    )
    if stim:
        sid = np.fromiter((r[0] for r in stim), dtype=np.int64, count=len(stim))
        idx = np.fromiter((positions[r[1]] for r in stim), dtype=np.int64, count=len(stim))
        withdrew = np.fromiter((r[2] for r in stim), dtype=bool, count=len(stim))
        batch = thresholds.batch_thresholds(
            idx,
            withdrew,
            sid,
            filaments,
            method=method,
            cutoff_g=study.cutoff_g,
            **study.method_params,
        )
        result = pd.DataFrame(
            {
                "session": batch.session_ids,
                "threshold_g": batch.grams,
                "status": batch.status,
                "pattern": list(batch.patterns),
                "n_stimuli": batch.n_stimuli,
                "reason": [
                    "" if s == "ok" else batch.threshold(i).reason
                    for i, s in enumerate(batch.status)
                ],
            }
        )
    frame = sessions.merge(result, on="session", how="left")
    frame["status"] = frame.get("status", pd.Series(dtype=object)).fillna("incomplete")
    frame["pattern"] = frame.get("pattern", pd.Series(dtype=object)).fillna("")
    frame["n_stimuli"] = frame.get("n_stimuli", pd.Series(dtype=float)).fillna(0).astype(int)
    frame["reason"] = frame.get("reason", pd.Series(dtype=object)).fillna("no stimuli recorded")
    frame["method"] = method
    frame["source"] = SOURCE_STIMULI
    legacy = _legacy_thresholds(study)
    if not legacy.empty:
        frame = pd.concat([frame, legacy], ignore_index=True)
        frame["session"] = frame["session"].astype("Int64")
    frame = frame.merge(_animals(study), on="animal_id").merge(
        _timepoints(study), on="timepoint_id"
    )
    frame["pct_mpe"], frame["mpe_reason"] = _pct_mpe(frame, study.ceiling_g)
    frame["group"] = frame["group"].fillna("")
    frame["analysed_paw"] = _analysed_paws(study, frame["animal_id"])
    frame = frame.sort_values(["day", "animal", "paw"]).reset_index(drop=True)
    return frame[SESSION_COLUMNS + ["is_baseline", "animal_status", "source", "analysed_paw"]]


def _analysed_paws(study, animal_ids: pd.Series) -> pd.Series:
    """The paw whose thresholds go into the statistics, for each row's animal.

    A study testing one paw analyses that paw (a session recorded on the other paw stays
    in the tables but not in the statistics). A study testing both hind paws analyses the
    ipsilateral one: the side of the animal's first surgery, the right paw when none is
    recorded.
    """
    from animals.models import Surgery

    if study.paw_tested != study.Paw.BOTH:
        return pd.Series(study.paw_tested, index=animal_ids.index, dtype=object)
    sides: dict[int, str] = {}
    for animal_id, side in (
        Surgery.objects.filter(animal__study=study)
        .order_by("animal_id", "date", "pk")
        .values_list("animal_id", "side")
    ):
        sides.setdefault(animal_id, side)
    return animal_ids.map(lambda pk: sides.get(pk, "right")).astype(object)


def _legacy_thresholds(study) -> pd.DataFrame:
    """Thresholds imported without stimuli, as session rows with `source` = "legacy_thresholds".

    They keep the method they were recorded with; `session` is empty (NA).
    """
    from sessions.models import LegacyThreshold

    rows = LegacyThreshold.objects.filter(animal__study=study).values_list(
        "animal_id", "timepoint_id", "paw", "threshold_g", "status", "pattern", "method",
        "source_file", "source_line",
    )  # fmt: skip
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "animal_id", "timepoint_id", "paw", "threshold_g", "status", "pattern", "method",
            "source_file", "source_line",
        ],
    )  # fmt: skip
    if frame.empty:
        return frame
    frame["session"] = pd.NA
    frame["session_status"] = "imported"
    frame["n_stimuli"] = 0
    frame["threshold_g"] = frame["threshold_g"].astype(float)
    frame["reason"] = [
        f"imported threshold without stimuli ({name} line {line})"
        for name, line in zip(frame["source_file"], frame["source_line"], strict=True)
    ]
    frame["source"] = SOURCE_LEGACY
    return frame.drop(columns=["source_file", "source_line"])


def _pct_mpe(frame: pd.DataFrame, cutoff_g: float) -> tuple[pd.Series, pd.Series]:
    """%MPE of every row against its animal's baseline on the same paw, and why it is
    undefined where it is: `thresholds.percent_mpe` and `percent_mpe_reason` row by row,
    so the formula and its reasons live in one place."""
    base = frame.loc[frame["is_baseline"], ["animal", "paw", "threshold_g"]].rename(
        columns={"threshold_g": "baseline_g"}
    )
    base = base.drop_duplicates(["animal", "paw"])
    merged = frame[["animal", "paw", "threshold_g"]].merge(base, on=["animal", "paw"], how="left")
    mpe, reasons = [], []
    for post, baseline in zip(
        merged["threshold_g"].tolist(), merged["baseline_g"].tolist(), strict=True
    ):
        post = None if pd.isna(post) else float(post)
        baseline = None if pd.isna(baseline) else float(baseline)
        value = thresholds.percent_mpe(post, baseline, cutoff_g)
        mpe.append(np.nan if value is None else value)
        reasons.append(
            "" if value is not None else thresholds.percent_mpe_reason(post, baseline, cutoff_g)
        )
    return (
        pd.Series(mpe, index=frame.index, dtype=float),
        pd.Series(reasons, index=frame.index, dtype=object),
    )


def mpe_left_out(sessions: pd.DataFrame) -> pd.DataFrame:
    """Animals whose threshold is in the statistics at a timepoint where %MPE is not,
    with the reason: one row per animal and reason, its timepoints in day order.

    Columns: animal, group, reason, timepoints (list of labels).
    """
    columns = ["animal", "group", "reason", "timepoints"]
    rows = usable(sessions, "threshold_g")
    missing = rows[rows["pct_mpe"].isna()]
    if missing.empty:
        return pd.DataFrame(columns=columns)
    missing = missing.sort_values(["animal", "day"])
    rows = [
        {"animal": animal, "group": group, "reason": reason, "timepoints": list(part["timepoint"])}
        for (animal, group, reason), part in missing.groupby(
            ["animal", "group", "mpe_reason"], sort=True
        )
    ]
    return pd.DataFrame(rows, columns=columns)


def usable(sessions: pd.DataFrame, value: str) -> pd.DataFrame:
    """The session rows the statistics use for `value`, one per animal and timepoint:
    allocated animals with a value, excluded animals left out, the analysed paw only."""
    keep = (sessions["group"] != "") & sessions[value].notna()
    if "animal_status" in sessions:
        keep &= sessions["animal_status"] != "excluded"
    if "analysed_paw" in sessions:
        keep &= sessions["paw"] == sessions["analysed_paw"]
    return (
        sessions[keep]
        .sort_values(["animal", "day", "paw"])
        .drop_duplicates(["animal", "timepoint"])
    )


def analysis_frame(sessions: pd.DataFrame, value: str = "threshold_g") -> pd.DataFrame:
    """The long frame `analysis.stats` expects: animal, group, timepoint, day, value.

    Only allocated animals with a computed value, excluded animals left out (animals that
    died keep their data up to death); one paw per animal: the study's analysed paw
    (`analysed_paw`, see `_analysed_paws`), never a mix of the two: the rows of `usable`.
    """
    rows = usable(sessions, value)
    return rows[["animal", "group", "timepoint", "day", value]].rename(columns={value: "value"})


def wide_frame(sessions: pd.DataFrame, value: str = "threshold_g") -> pd.DataFrame:
    """Animal x timepoint table of `value`, timepoints in study-day order."""
    return pivot_wide(analysis_frame(sessions, value))


def pivot_wide(long: pd.DataFrame) -> pd.DataFrame:
    """(group, animal) x timepoint table of an `analysis_frame`'s values, timepoints in
    study-day order."""
    order = long.drop_duplicates("timepoint").sort_values("day")["timepoint"].tolist()
    table = long.pivot_table(index=["group", "animal"], columns="timepoint", values="value")
    return table.reindex(columns=order)


def baseline_thresholds(study) -> dict[str, float]:
    """Each animal's threshold (g) at the study's baseline timepoint, by the study method
    (the first paw in order when both are tested): what a stratified allocation sorts on."""
    sessions = session_frame(study)
    base = sessions[sessions["is_baseline"] & sessions["threshold_g"].notna()]
    base = base.sort_values(["animal", "paw"]).drop_duplicates("animal")
    return dict(zip(base["animal"], base["threshold_g"].astype(float), strict=True))
