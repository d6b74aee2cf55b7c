"""The input frame of the statistics and the mixed model fitted to its cells: what
analysis.stats (the tests) and analysis.emm (the model-based comparisons) both build on.

Input is the tidy long frame ``animal, group, timepoint, day, value`` (one row per animal
and timepoint). :func:`clean` checks and types it, :func:`design` orders its timepoints by
day and its groups control first, and :func:`fit_cells` fits
``lmer(value ~ group * timepoint + (1 | animal))`` (analysis.lmm) with the study's labels
coded, so that both the stats rows and the emmeans-style contrasts read one fit.

This module sits under analysis.stats and analysis.emm and must import neither; like them
it is pure (no Django, no database, no study settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analysis import lmm

INPUT_COLUMNS = ["animal", "group", "timepoint", "day", "value"]


@dataclass(frozen=True)
class Design:
    """The ordered timepoints and groups of one analysis frame."""

    timepoints: list[str]
    days: dict[str, float]
    groups: list[str]


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """The input columns of ``frame``, typed (value and day as floats, labels as text).
    Raises ValueError naming a missing column or an animal with two values at one
    timepoint."""
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s): {', '.join(missing)}")
    out = frame[INPUT_COLUMNS].copy()
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    out["day"] = pd.to_numeric(out["day"], errors="coerce").astype(float)
    for column in ("animal", "group", "timepoint"):
        out[column] = out[column].astype(str)
    duplicated = out.duplicated(["animal", "timepoint"], keep=False) & out["value"].notna()
    if duplicated.any():
        first = out.loc[duplicated].iloc[0]
        raise ValueError(
            f"animal {first['animal']} has more than one value at {first['timepoint']}"
        )
    return out


def design(cleaned: pd.DataFrame, control_group: str | None = None) -> Design:
    """Timepoints ordered by day (then label), groups in first-seen order with
    ``control_group`` first when it has data."""
    days = cleaned.groupby("timepoint", sort=False)["day"].min()
    order = sorted(days.index, key=lambda tp: (days[tp], tp))
    groups = cleaned["group"].drop_duplicates().tolist()  # first-seen order, without a slow loop
    if control_group is not None and control_group in groups:
        groups.remove(control_group)
        groups.insert(0, control_group)
    return Design(timepoints=order, days={tp: float(days[tp]) for tp in order}, groups=groups)


def coded_levels(labels: Sequence[str], reference: str, prefix: str) -> dict[str, str]:
    """label -> code, the reference first. People's labels never become column names:
    the codes ("g0", "t3") are what the design matrix is built from."""
    order = [reference, *[label for label in labels if label != reference]]
    return {label: f"{prefix}{i}" for i, label in enumerate(order)}


def fit_cells(
    frame: pd.DataFrame,
    *,
    timepoints: Sequence[str],
    baseline: str,
    groups: Sequence[str] | None = None,
    control: str | None = None,
) -> tuple[lmm.LmmFit, dict[str, str], dict[str, str]]:
    """``lmer(value ~ timepoint + (1 | animal))`` or, with ``groups``,
    ``lmer(value ~ group * timepoint + (1 | animal))``, treatment contrasts against
    ``baseline`` and ``control``. Returns the fit and the group and timepoint codes:
    columns are named "timepoint<t>", "group<g>" and "group<g>:timepoint<t>".

    ``frame`` is a cleaned long frame without missing values."""
    tp_code = coded_levels(timepoints, baseline, "t")
    columns = {"timepoint": frame["timepoint"].map(tp_code)}
    levels = {"timepoint": list(tp_code.values())}
    group_code: dict[str, str] = {}
    if groups is not None:
        group_code = coded_levels(groups, control, "g")
        columns = {"group": frame["group"].map(group_code), **columns}
        levels = {"group": list(group_code.values()), **levels}
    X, names = lmm.treatment_design(columns, levels)
    fit = lmm.fit_lmm(frame["value"].to_numpy(), X, frame["animal"].to_numpy(), names)
    return fit, group_code, tp_code
