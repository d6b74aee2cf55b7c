"""Parsing rows: each row of a read table becomes a `Row` of typed values, or problems
naming its line and column.

Knows the two formats' columns (stimuli and thresholds-only), the filament set's sizes
and forces, paws, sexes, animal statuses, threshold methods and statuses. Each row is
judged on its own: rows against each other and against the study are `checks`. Reads
the study's filament set; must not write.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from analysis import thresholds
from animals.models import Animal
from labstudy.models import ThresholdMethod
from labstudy.validators import code_problem, shown
from sessions.importing.result import Problem
from sessions.importing.table import Table
from sessions.models import Filament, FilamentSet, LegacyThreshold

KIND_STIMULI = "stimuli"
KIND_THRESHOLDS = "thresholds"

STIMULI_REQUIRED = ("animal", "group", "timepoint", "day", "paw", "order", "response")
STIMULI_OPTIONAL = (
    "filament_size", "filament_g", "tested_at", "tester", "cage", "sex", "animal_status",
    "override", "note", "recorded_by",
)  # fmt: skip
THRESHOLDS_REQUIRED = ("animal", "group", "timepoint", "day", "threshold_g")
THRESHOLDS_OPTIONAL = ("paw", "method", "status", "pattern", "cage", "sex", "animal_status")
PAWS = {"right": "right", "r": "right", "left": "left", "l": "left"}
SEXES = {"male": "male", "m": "male", "female": "female", "f": "female"}
ANIMAL_STATUSES = tuple(Animal.Status.values)
STATUSES = tuple(s.value for s in LegacyThreshold.Status)
METHODS = {m.value for m in ThresholdMethod}


# ----------------------------------------------------------------------------- values


class _Bad(ValueError):
    """A value problem; the caller adds line and column."""


def _number(text: str, table: Table) -> float:
    t = text.replace("\u00a0", "").replace(" ", "")
    if "," in t:
        if "." in t or t.count(",") > 1:
            raise _Bad(f"'{text}' is not a number")
        t = t.replace(",", ".")
        table.decimal_comma = True
    try:
        value = float(t)
    except ValueError:
        raise _Bad(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise _Bad(f"'{text}' is not a finite number")
    return value


def _integer(text: str, table: Table) -> int:
    if not text:
        raise _Bad("empty; a whole number is required")
    try:
        value = _number(text, table)
    except _Bad:
        raise _Bad(f"'{text}' is not a whole number") from None
    if value != int(value):
        raise _Bad(f"'{text}' is not a whole number")
    return int(value)


def _required(text: str, limit: int) -> str:
    if not text:
        raise _Bad("empty; a value is required")
    if len(text) > limit:
        raise _Bad(f"'{text[:limit]}…' is longer than {limit} characters")
    return text


def _code(text: str, limit: int, what: str) -> str:
    """An animal code or timepoint label: required, and the set-up forms' rule."""
    _required(text, limit)
    problem = code_problem(text, what=what)
    if problem:
        raise _Bad(f"'{shown(text)}': {problem}")
    return text


def _optional(text: str, limit: int) -> str:
    if len(text) > limit:
        raise _Bad(f"'{text[:limit]}…' is longer than {limit} characters")
    return text


def _paw(text: str) -> str:
    paw = PAWS.get(text.lower())
    if paw is None:
        raise _Bad(f"'{text}' is not right or left")
    return paw


def _sex(text: str) -> str:
    if not text:
        return ""
    sex = SEXES.get(text.lower())
    if sex is None:
        raise _Bad(f"'{text}' is not male or female")
    return sex


def _animal_status(text: str) -> str:
    if not text:
        return ""
    status = text.lower()
    if status not in ANIMAL_STATUSES:
        raise _Bad(f"'{text}' is not one of {', '.join(ANIMAL_STATUSES)}")
    return status


def _response(text: str) -> bool:
    if text == "1":
        return True
    if text == "0":
        return False
    if not text:
        raise _Bad("empty; 0 or 1 is required (1 = withdrawal, 0 = no withdrawal)")
    raise _Bad(f"'{text}' is not 0 or 1 (1 = withdrawal, 0 = no withdrawal)")


def _flag(text: str) -> bool:
    if text in ("", "0"):
        return False
    if text == "1":
        return True
    raise _Bad(f"'{text}' is not 0 or 1 (1 = another filament than the suggested one)")


def _datetime(text: str) -> dt.datetime | None:
    if not text:
        return None
    value = parse_datetime(text.replace("/", "-"))
    if value is None:
        date = parse_date(text)
        if date is None:
            raise _Bad(f"'{text}' is not an ISO date-time such as 2026-09-08T09:00:00+01:00")
        value = dt.datetime.combine(date, dt.time(0, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


class Filaments:
    """The study's filament set, looked up by evaluator size or by grams."""

    def __init__(self, filament_set: FilamentSet):
        self.rows = list(filament_set.filaments.order_by("order"))
        self.by_size = {Decimal(f.size): f for f in self.rows}
        self.label = _set_label(filament_set, len(self.rows))
        self.specs = tuple(thresholds.Filament(size=f.size, grams=f.grams) for f in self.rows)

    def lookup(self, size_text: str, grams_text: str, table: Table) -> tuple[Filament | None, str]:
        """The filament, or None and the column to blame (with the message in _Bad)."""
        by_size = by_grams = None
        if size_text:
            try:
                by_size = self.by_size.get(Decimal(size_text.replace(",", ".")))
            except InvalidOperation:
                by_size = None
            if by_size is None:
                raise _ColumnBad(
                    "filament_size", f"unknown filament '{size_text}' (not in {self.label})"
                )
        if grams_text:
            try:
                grams = _number(grams_text, table)
            except _Bad as bad:
                raise _ColumnBad("filament_g", str(bad)) from None
            by_grams = next(
                (f for f in self.rows if math.isclose(f.grams, grams, rel_tol=1e-9)), None
            )
            if by_grams is None:
                raise _ColumnBad(
                    "filament_g", f"unknown filament force '{grams_text}' g (not in {self.label})"
                )
        if by_size is not None and by_grams is not None and by_size != by_grams:
            raise _ColumnBad(
                "filament_g",
                f"{grams_text} g does not match filament {by_size.size} ({by_size.grams:g} g)",
            )
        found = by_size or by_grams
        if found is None:
            raise _ColumnBad("filament_size", "empty; give filament_size or filament_g")
        return found, ""


class _ColumnBad(ValueError):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column


def _set_label(filament_set: FilamentSet, n: int) -> str:
    if filament_set.manufacturer:
        return f"{filament_set.manufacturer} {n}"
    return filament_set.name


# ----------------------------------------------------------------------------- parsing


@dataclass
class Row:
    line: int
    animal: str
    group: str
    timepoint: str
    day: int
    paw: str
    cage: str
    sex: str
    animal_status: str = ""
    # stimuli
    order: int = 0
    filament: Filament | None = None
    withdrew: bool = False
    tested_at: dt.datetime | None = None
    tester: str = ""
    override: bool = False
    note: str | None = None  # None: the file has no note column
    recorded_by: str = ""
    # thresholds
    threshold_g: float | None = None
    method: str = ""
    status: str = ""
    pattern: str = ""


def detect_kind(header: list[str]) -> str | None:
    if "response" in header:
        return KIND_STIMULI
    if "threshold_g" in header:
        return KIND_THRESHOLDS
    return None


def missing_columns(header: list[str], kind: str | None, line: int) -> list[Problem]:
    if kind is None:
        missing = [c for c in STIMULI_REQUIRED if c not in header]
        problems = [Problem(line, "", f"missing required column '{c}'") for c in missing]
        if not any(c in header for c in ("filament_size", "filament_g")):
            problems.append(
                Problem(line, "", "missing required column 'filament_size' or 'filament_g'")
            )
        problems.append(
            Problem(
                line,
                "",
                "a stimuli file needs a 'response' column; a thresholds-only file needs "
                "'threshold_g'",
            )
        )
        return problems
    required = STIMULI_REQUIRED if kind == KIND_STIMULI else THRESHOLDS_REQUIRED
    problems = [
        Problem(line, "", f"missing required column '{c}'") for c in required if c not in header
    ]
    if kind == KIND_STIMULI and not any(c in header for c in ("filament_size", "filament_g")):
        problems.append(
            Problem(line, "", "missing required column 'filament_size' or 'filament_g'")
        )
    return problems


def parse_rows(
    table: Table, kind: str, filaments: Filaments, default_paw: str | None, default_method: str
) -> tuple[list[Row], list[Problem]]:
    rows, problems = [], []
    for line, raw in table.rows:
        bad: list[Problem] = []

        def field_value(column: str, parse, *args, _raw=raw, _line=line, _bad=bad):
            try:
                return parse(_raw.get(column, ""), *args)
            except _Bad as error:
                _bad.append(Problem(_line, column, str(error)))
                return None

        animal = field_value("animal", _code, 30, "animal code")
        group = field_value("group", _optional, 20)
        timepoint = field_value("timepoint", _code, 20, "timepoint label")
        day = field_value("day", _integer, table)
        paw = field_value("paw", _paw) if "paw" in raw else default_paw
        cage = field_value("cage", _optional, 30)
        sex = field_value("sex", _sex)
        status = field_value("animal_status", _animal_status)
        row = Row(line, animal, group, timepoint, day, paw, cage or "", sex or "", status or "")
        if kind == KIND_STIMULI:
            order = field_value("order", _integer, table)
            if order is not None and order < 1:
                bad.append(Problem(line, "order", f"'{raw['order']}' must be 1 or more"))
            row.order = order
            try:
                row.filament, _ = filaments.lookup(
                    raw.get("filament_size", ""), raw.get("filament_g", ""), table
                )
            except _ColumnBad as error:
                bad.append(Problem(line, error.column, str(error)))
            row.withdrew = field_value("response", _response)
            row.tested_at = field_value("tested_at", _datetime)
            row.tester = field_value("tester", _optional, 150) or ""
            if "override" in raw:
                row.override = bool(field_value("override", _flag))
            row.recorded_by = field_value("recorded_by", _optional, 150) or ""
            if "note" in raw:
                row.note = field_value("note", _optional, 200) or ""
        else:
            _parse_threshold(row, raw, table, bad, default_method)
        if bad:
            problems.extend(bad)
        else:
            rows.append(row)
    return rows, problems


def _parse_threshold(row: Row, raw: dict, table: Table, bad: list, default_method: str) -> None:
    line = row.line
    written = raw.get("method", "").strip()
    method = thresholds.method_key(written) if written else default_method
    if method not in METHODS:
        names = ", ".join(sorted(thresholds.METHOD_ALIASES))
        bad.append(Problem(line, "method", f"'{raw['method']}' is not one of {names}"))
    status = raw.get("status", "").strip().lower() or "ok"
    if status not in STATUSES:
        bad.append(
            Problem(line, "status", f"'{raw['status']}' is not one of {', '.join(STATUSES)}")
        )
    text = raw.get("threshold_g", "")
    grams = None
    if text:
        try:
            grams = _number(text, table)
        except _Bad as error:
            bad.append(Problem(line, "threshold_g", str(error)))
        else:
            if grams <= 0:
                bad.append(Problem(line, "threshold_g", f"'{text}' must be more than 0 g"))
    elif status != "incomplete":
        bad.append(Problem(line, "threshold_g", "empty; only an 'incomplete' status may be empty"))
    pattern = raw.get("pattern", "").strip().upper()
    if pattern and not set(pattern) <= {"X", "O"}:
        bad.append(Problem(line, "pattern", f"'{raw['pattern']}' may hold only X and O"))
    elif len(pattern) > 100:
        bad.append(Problem(line, "pattern", "is longer than 100 characters"))
    row.threshold_g, row.method, row.status, row.pattern = grams, method, status, pattern


def natural_key(code: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", code)]
