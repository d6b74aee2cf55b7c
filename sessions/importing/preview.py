"""The preview: what an import would create (new groups, animals, timepoints, sessions),
the notes on what the file leaves out or carries that is not read, and the new groups'
details as the user gave them (name, drug, dose, route, vehicle, colour), checked.

Fills in `ImportResult`, which the preview page and the command print. Reads only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from analysis import thresholds
from animals.models import Animal
from labstudy.models import TreatmentGroup
from sessions.importing.checks import Plan
from sessions.importing.parsing import (
    ANIMAL_STATUSES,
    KIND_STIMULI,
    KIND_THRESHOLDS,
    STIMULI_OPTIONAL,
    STIMULI_REQUIRED,
    THRESHOLDS_OPTIONAL,
    THRESHOLDS_REQUIRED,
    natural_key,
)
from sessions.importing.result import ImportResult, Problem
from sessions.importing.table import XLSX, Table

# Columns our own exports write that are derived or belong to another database.
IGNORED_KNOWN = {
    "session": "database ids of the exporting system",
    "pct_mpe": "%MPE is recomputed from the thresholds",
    "n_stimuli": "derived",
    "reason": "derived",
    "source": "derived",
}


def describe(result: ImportResult, table: Table, plan: Plan, kind: str, study) -> None:
    known_groups = set(study.groups.values_list("code", flat=True)) if study else set()
    known_animals = (
        dict(Animal.objects.filter(study=study).values_list("code", "status")) if study else {}
    )
    known_tps = set(study.timepoints.values_list("label", flat=True)) if study else set()
    result.new_groups = [g for g in _group_order(plan) if g not in known_groups]
    result.new_animals = sorted(a for a in plan.animals if a not in known_animals)
    result.new_timepoints = [
        r.timepoint
        for r in sorted(plan.timepoints.values(), key=lambda r: r.day)
        if r.timepoint not in known_tps
    ]
    if kind == KIND_STIMULI:
        result.sessions = len({(r.animal, r.timepoint, r.paw) for r in plan.rows})
        result.stimuli = len(plan.rows)
    else:
        result.legacy_thresholds = len(plan.rows)
        result.notes.append(
            "thresholds-only file: stored as imported thresholds, flagged "
            "'legacy_thresholds' in every export; they cannot be recomputed by another method"
        )
        other = sorted({r.method for r in plan.rows if r.method != result.method})
        if other:
            result.notes.append(
                f"some thresholds were recorded with "
                f"{', '.join(thresholds.method_name(m) for m in other)}, not the study's "
                f"{thresholds.method_name(result.method)}: exports show each row's method"
            )
    expected = set(STIMULI_REQUIRED + STIMULI_OPTIONAL) if kind == KIND_STIMULI else set()
    if kind == KIND_THRESHOLDS:
        expected = set(THRESHOLDS_REQUIRED + THRESHOLDS_OPTIONAL)
    for name in table.header:
        if name in expected or not name:
            continue
        why = IGNORED_KNOWN.get(name, "not a column of this format")
        result.notes.append(f"column '{name}' ignored ({why})")
    if kind == KIND_STIMULI and "tested_at" not in table.header:
        result.notes.append("no tested_at column: stimuli are stamped with the import time")
    unsexed = [code for code in result.new_animals if not plan.animals[code].sex]
    if unsexed:
        sex = getattr(study, "sex", None)
        recorded = sex if sex in ("male", "female") else "male"
        why = (
            "the study's sex" if sex in ("male", "female") else "the study is not single-sex: check"
        )
        shown = ", ".join(unsexed[:10]) + (
            f" and {len(unsexed) - 10} more" if len(unsexed) > 10 else ""
        )
        result.notes.append(
            f"no sex in the file for {len(unsexed)} new animal(s) ({shown}): recorded as "
            f"{recorded} ({why}); correct it in the study's animals if that is wrong"
        )
    _status_notes(result, plan, known_animals)
    if table.decimal_comma:
        result.notes.append("decimal commas read as decimal points")
    if not table.encoding.startswith(("UTF-8", XLSX)):
        result.notes.append(f"text encoding: {table.encoding}")


def _status_notes(result: ImportResult, plan: Plan, known: dict[str, str]) -> None:
    """Name the new animals that come in not active, and the animals already in the study
    whose status in the file differs (the study's status is kept: it has its own reason)."""
    by_status: dict[str, list[str]] = defaultdict(list)
    for code in result.new_animals:
        status = plan.animals[code].animal_status
        if status and status != Animal.Status.ACTIVE:
            by_status[status].append(code)
    for status in ANIMAL_STATUSES:
        codes = by_status.get(status)
        if codes:
            animals = "animal" if len(codes) == 1 else "animals"
            result.notes.append(
                f"{len(codes)} {animals} imported as {status}: {_listing(codes)} "
                f"(status reason '{status_reason(status)}', dated the day of the import)"
            )
    differ = [
        f"{code} ({row.animal_status} in the file, {known[code]} here)"
        for code, row in plan.animals.items()
        if code in known and row.animal_status and row.animal_status != known[code]
    ]
    if differ:
        result.notes.append(
            f"animal status differs from this study's for {_listing(differ)}: the study's "
            "status is kept; change it on the animal's page if the file is right"
        )


def _listing(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def status_reason(status: str) -> str:
    return f"imported: {status} in the source file"


def _group_order(plan: Plan) -> list[str]:
    codes = sorted(plan.groups, key=natural_key)
    if plan.control in codes:
        codes.remove(plan.control)
        codes.insert(0, plan.control)
    return codes


GROUP_FIELDS = ("name", "drug", "dose_mg_kg", "route", "vehicle", "colour")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def group_details(given: dict[str, dict], result: ImportResult) -> tuple[dict, list[Problem]]:
    """What the user gave the file's new groups (name, drug, dose, route, vehicle, colour),
    checked; empty values stay empty. Kept in `result.group_details` for the preview."""
    problems: list[Problem] = []
    details: dict[str, dict] = {}
    routes = TreatmentGroup.Route.values
    for code, raw in given.items():
        if code not in result.new_groups:
            problems.append(Problem(None, "", f"group {code} is not a new group of this file"))
            continue
        clean: dict = {}
        for key, limit in (("name", 100), ("drug", 100), ("vehicle", 100)):
            text = str(raw.get(key) or "").strip()
            if len(text) > limit:
                problems.append(
                    Problem(None, "", f"group {code}: the {key} is longer than {limit} characters")
                )
            elif text:
                clean[key] = text
        dose = str(raw.get("dose_mg_kg") or "").strip().replace(",", ".")
        if dose:
            try:
                value = Decimal(dose)
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite() or value < 0 or value >= 100000:
                problems.append(
                    Problem(None, "", f"group {code}: dose '{dose}' is not a dose in mg/kg")
                )
            else:
                clean["dose_mg_kg"] = value.quantize(Decimal("0.001"))
        route = str(raw.get("route") or "").strip()
        if route and route not in routes:
            problems.append(
                Problem(
                    None, "", f"group {code}: route '{route}' is not one of {', '.join(routes)}"
                )
            )
        elif route:
            clean["route"] = route
        colour = str(raw.get("colour") or "").strip()
        if colour and not _COLOUR.match(colour):
            problems.append(
                Problem(None, "", f"group {code}: colour '{colour}' is not like #1f77b4")
            )
        elif colour:
            clean["colour"] = colour.lower()
        details[code] = clean
    result.group_details = {
        code: {
            "name": details.get(code, {}).get("name", code),
            "colour": details.get(code, {}).get("colour") or group_colour(i),
            **{k: details.get(code, {}).get(k, "") for k in ("drug", "route", "vehicle")},
            "dose_mg_kg": details.get(code, {}).get("dose_mg_kg", ""),
        }
        for i, code in enumerate(result.new_groups, start=1)
    }
    return details, problems


_PALETTE = ("#4d4d4d", "#2b8cbe", "#d7301f", "#31a354", "#756bb1", "#e6550d", "#636363")


def group_colour(i: int) -> str:
    return _PALETTE[(i - 1) % len(_PALETTE)]
