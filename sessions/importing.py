"""Import a study from a CSV file: raw stimuli, or thresholds from legacy spreadsheets.

Two formats (../shared/DESIGN.md), told apart by their header:

* stimuli — ``animal,group,timepoint,day,paw,order,filament_size|filament_g,response``
  (+ optional ``tested_at,tester,cage,sex,animal_status``; ``session`` is ignored because
  it holds another database's ids). This is the stimuli export, so exports round-trip: a
  new animal gets the file's ``animal_status``, so an excluded animal stays excluded.
* thresholds — ``animal,group,timepoint,day,threshold_g`` (+ optional ``paw,method,
  status,pattern``) for spreadsheets that recorded only thresholds. They are stored as
  read-only :class:`sessions.models.LegacyThreshold` rows and flagged in every export.

Our exports write a text cell that a spreadsheet would run as a formula (``=…``, ``+…``,
``-…``, ``@…``, tab, carriage return) with a leading ``'`` (`analysis.safe_cells`); the
reader removes that ``'`` from every cell, so an export imported again is the same data.

What a spreadsheet may look like: UTF-8 with or without a byte-order mark, Windows-1252 /
Latin-1, comma-, semicolon- or tab-separated, decimal commas, blank lines anywhere.

Nothing is guessed silently: every decision the file leaves open (day 0 date, baseline,
control group, ignored columns, encoding) is listed in ``ImportResult.notes`` so the
preview shows it, and every problem is an error naming the physical line (header = line
1) and the column. Validation only reads; the write is one transaction, and on any
error nothing is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from simple_history.utils import bulk_create_with_history

from analysis import thresholds
from analysis.safe_cells import unguard
from animals.models import Animal
from labstudy.models import (
    Study,
    ThresholdMethod,
    Timepoint,
    TreatmentGroup,
)
from labstudy.pairs import bad_pair_message, parse_pairs, unknown_pair_timepoints
from labstudy.validators import code_problem, shown
from sessions.models import Filament, FilamentSet, LegacyThreshold, Stimulus, TestSession
from sessions.services import stoelting_set

KIND_STIMULI = "stimuli"
KIND_THRESHOLDS = "thresholds"

STIMULI_REQUIRED = ("animal", "group", "timepoint", "day", "paw", "order", "response")
STIMULI_OPTIONAL = (
    "filament_size", "filament_g", "tested_at", "tester", "cage", "sex", "animal_status",
)  # fmt: skip
THRESHOLDS_REQUIRED = ("animal", "group", "timepoint", "day", "threshold_g")
THRESHOLDS_OPTIONAL = ("paw", "method", "status", "pattern", "cage", "sex", "animal_status")
# Columns our own exports write that are derived or belong to another database.
IGNORED_KNOWN = {
    "session": "database ids of the exporting system",
    "pct_mpe": "%MPE is recomputed from the thresholds",
    "n_stimuli": "derived",
    "reason": "derived",
    "source": "derived",
}
CONTROL_NAMES = re.compile(r"^(control|ctrl|vehicle|saline|sham)\b", re.IGNORECASE)
PAWS = {"right": "right", "r": "right", "left": "left", "l": "left"}
SEXES = {"male": "male", "m": "male", "female": "female", "f": "female"}
ANIMAL_STATUSES = tuple(Animal.Status.values)
STATUSES = tuple(s.value for s in LegacyThreshold.Status)
METHODS = {m.value for m in ThresholdMethod}
BATCH_SIZE = 2000


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Problem:
    """One error, with the physical line of the file (1 = header) and the column."""

    line: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return (
            f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass
class ImportResult:
    """What an import would create (dry run) or created, and every problem found."""

    source_name: str
    slug: str
    kind: str = ""
    encoding: str = ""
    delimiter: str = ""
    data_rows: int = 0
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    study_exists: bool = False
    method: str = ""
    cutoff_g: float | None = None
    new_groups: list[str] = field(default_factory=list)
    new_animals: list[str] = field(default_factory=list)
    new_timepoints: list[str] = field(default_factory=list)
    sessions: int = 0
    stimuli: int = 0
    legacy_thresholds: int = 0
    written: bool = False
    study: Study | None = None
    # What the preview lets the user choose: the file's groups and timepoints (day
    # order), the control group and baseline in effect, and whether the study already
    # fixes them (an existing study keeps its own).
    file_groups: list[str] = field(default_factory=list)
    file_timepoints: list[str] = field(default_factory=list)
    control: str = ""
    baseline: str = ""
    control_fixed: bool = False
    baseline_fixed: bool = False
    group_details: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def separator(self) -> str:
        return _delimiter_name(self.delimiter) if self.delimiter else ""

    def error_lines(self) -> list[str]:
        return [str(p) for p in self.errors]

    def summary_lines(self) -> list[str]:
        """What is (or would be) created, one line each, for the command and the preview."""
        verb = "Created" if self.written else "Would create"
        study = f"study '{self.slug}'" + ("" if self.study_exists else " (new)")
        lines = [
            f"File: {self.source_name} — {self.kind or 'unknown'} format, {self.data_rows} "
            f"data rows, {self.encoding or '?'}"
            + (f", separator {_delimiter_name(self.delimiter)}" if self.delimiter else ""),
            f"Into: {study}, method {thresholds.method_name(self.method)}, "
            f"cut-off {_g(self.cutoff_g)} g",
            f"{verb}: {_count(self.new_groups, 'group')}, {_count(self.new_animals, 'animal')}, "
            f"{_count(self.new_timepoints, 'timepoint')}, {self.sessions} sessions, "
            f"{self.stimuli} stimuli, {self.legacy_thresholds} legacy thresholds",
        ]
        return lines


def _count(items: list[str], noun: str) -> str:
    shown = ", ".join(items[:12]) + (" …" if len(items) > 12 else "")
    plural = noun if len(items) == 1 else f"{noun}s"
    return f"{len(items)} new {plural}" + (f" ({shown})" if items else "")


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}.get(delimiter, repr(delimiter))


def _g(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


# ----------------------------------------------------------------------------- reading


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    encoding: str
    delimiter: str
    data_lines: int = 0
    decimal_comma: bool = False


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 with byte-order mark"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1), not UTF-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO-8859-1), not UTF-8"


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().strip("\ufeff").strip().lower())


SAVE_AS = "save it from Excel as CSV UTF-8 (Comma delimited) or as an Excel workbook (.xlsx)"
XLSX = "Excel workbook (.xlsx)"


def _not_a_table(data: bytes) -> str | None:
    """What kind of file this is when it is neither text nor an .xlsx workbook: the first
    bytes name most formats labs send (old Excel, OpenDocument, PDF, Word, images)."""
    head = data[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an Excel 97-2003 workbook (.xls) or another old Office file"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        if b"opendocument.spreadsheet" in data[:200]:
            return "an OpenDocument spreadsheet (.ods)"
        return "a ZIP archive or Office file that is not an .xlsx workbook"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "an image"
    return None


def _xlsx_text(value) -> str:
    """One workbook cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(
    data: bytes, sheet: str | None
) -> tuple[list[tuple[int, list[str]]] | None, str, list[Problem]]:
    """The rows of one sheet (the first, or `sheet`) with their row numbers, and which
    sheet was read."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 (openpyxl raises many kinds for a damaged file)
        return None, "", [Problem(None, "", f"this .xlsx workbook cannot be read; {SAVE_AS}")]
    try:
        names = book.sheetnames
        if sheet:
            if sheet not in names:
                listing = ", ".join(f"'{n}'" for n in names)
                return (
                    None,
                    "",
                    [Problem(None, "", f"no sheet '{sheet}' in the workbook (sheets: {listing})")],
                )
            chosen = sheet
        else:
            chosen = names[0]
        rows = [
            (number, [_xlsx_text(v) for v in values])
            for number, values in enumerate(book[chosen].iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    where = f"sheet '{chosen}'"
    if not sheet and len(names) > 1:
        where += f", the first of {len(names)}: {', '.join(names)}"
    return rows, where, []


def read_table(
    *, data: bytes, max_bytes: int | None = None, sheet: str | None = None
) -> tuple[Table | None, list[Problem]]:
    """Decode and split a CSV (or UTF-16 "Unicode text") file or one sheet of an .xlsx
    workbook; rows carry their physical line number (a workbook's row number).

    Refuses an empty file, a file with only a header, a file over `max_bytes`, repeated
    column names, rows with more or fewer values than the header, and any other kind of
    file (with what to save it as). Each value is stripped of spaces and of the export's
    formula guard (`safe_cells.unguard`).
    """
    if max_bytes is not None and len(data) > max_bytes:
        return None, [size_problem(len(data), max_bytes)]
    if _is_xlsx(data):
        records, where, problems = _read_xlsx(data, sheet)
        if records is None:
            return None, problems
        return _build_table(records, f"{XLSX}, {where}", "", skip_line=0)
    kind = _not_a_table(data)
    if kind:
        return None, [Problem(None, "", f"this is {kind}, not a table the import reads: {SAVE_AS}")]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode("utf-16"), "UTF-16 (Excel's Unicode text)"
        except UnicodeDecodeError:
            return None, [Problem(None, "", f"this UTF-16 text cannot be decoded; {SAVE_AS}")]
    else:
        text, encoding = _decode(data)
    if "\x00" in text:
        return None, [
            Problem(None, "", f"this is not a text CSV file (it contains NUL bytes): {SAVE_AS}")
        ]
    if not text.strip().strip(",;\t\r\n "):
        return None, [Problem(1, "", "the file is empty")]
    lines = text.splitlines()
    header_index = next(i for i, line in enumerate(lines) if line.strip().strip(",;\t"))
    first = lines[header_index].strip()
    skip_line = 0
    if first.lower().startswith("sep=") and len(first) == 5:
        # Excel's "sep=;" hint line names the separator; the header follows it.
        delimiter, skip_line = first[4], header_index + 1
    else:
        delimiter = _sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            records.append((start, values))
    except csv.Error as error:
        table, problems = _build_table(records, encoding, delimiter, skip_line=skip_line)
        problem = Problem(reader.line_num, "", f"the file cannot be read as CSV: {error}")
        if table is None:
            return None, [problem]
        return table, [*problems, problem]
    return _build_table(records, encoding, delimiter, skip_line=skip_line)


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _build_table(
    records: list[tuple[int, list[str]]], encoding: str, delimiter: str, *, skip_line: int
) -> tuple[Table | None, list[Problem]]:
    header: list[str] | None = None
    header_line = 0
    data_lines = 0
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    for start, values in records:
        if not any(v.strip() for v in values) or start == skip_line:
            continue  # a stray blank line, one of only separators, or "sep=;"
        if header is None:
            header, header_line = [_column_name(v) for v in values], start
            while header and not header[-1]:
                header.pop()  # Excel's trailing separators (or empty cells)
            repeated = [c for c, n in Counter(header).items() if n > 1 and c]
            for name in repeated:
                problems.append(Problem(start, name, "the column appears more than once"))
            if "" in header:
                position = header.index("") + 1
                problems.append(Problem(start, "", f"column {position} has no name"))
            continue
        data_lines += 1
        extra = values[len(header) :]
        if len(values) < len(header) and delimiter == "":
            values = values + [""] * (len(header) - len(values))  # a sheet's empty cells
        if len(values) < len(header) or any(v.strip() for v in extra):
            problems.append(
                Problem(
                    start,
                    "",
                    f"{len(_trim(values))} values but the header has {len(header)} columns",
                )
            )
            continue
        rows.append((start, {name: unguard(values[i].strip()) for i, name in enumerate(header)}))
    if header is None:
        return None, [Problem(1, "", "the file is empty")]
    if not rows and not problems:
        problems.append(Problem(header_line, "", "the file has a header row but no data rows"))
    table = Table(
        header=header, rows=rows, encoding=encoding, delimiter=delimiter, data_lines=data_lines
    )
    return table, problems


def _trim(values: list[str]) -> list[str]:
    values = list(values)
    while values and not values[-1].strip():
        values.pop()
    return values


def size_problem(size: int, limit: int) -> Problem:
    """The error for a file over the upload limit (settings.LABSTUDY_MAX_UPLOAD_BYTES)."""
    return Problem(
        None,
        "",
        f"the file is {_bytes(size)}, over the upload limit of {_bytes(limit)} "
        "(LABSTUDY_MAX_UPLOAD_BYTES); split it, or use the import_study command",
    )


def _bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} kB"
    return f"{n} bytes"


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


class _Filaments:
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
class _Row:
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
    # thresholds
    threshold_g: float | None = None
    method: str = ""
    status: str = ""
    pattern: str = ""


def _detect_kind(header: list[str]) -> str | None:
    if "response" in header:
        return KIND_STIMULI
    if "threshold_g" in header:
        return KIND_THRESHOLDS
    return None


def _missing_columns(header: list[str], kind: str | None, line: int) -> list[Problem]:
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


def _parse_rows(
    table: Table, kind: str, filaments: _Filaments, default_paw: str | None, default_method: str
) -> tuple[list[_Row], list[Problem]]:
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
        row = _Row(line, animal, group, timepoint, day, paw, cage or "", sex or "", status or "")
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
        else:
            _parse_threshold(row, raw, table, bad, default_method)
        if bad:
            problems.extend(bad)
        else:
            rows.append(row)
    return rows, problems


def _parse_threshold(row: _Row, raw: dict, table: Table, bad: list, default_method: str) -> None:
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


# ----------------------------------------------------------------------------- checking


@dataclass
class _Plan:
    study: Study | None
    rows: list[_Row]
    groups: dict[str, int]  # code -> first line
    animals: dict[str, _Row]  # code -> first row
    timepoints: dict[str, _Row]  # label -> first row
    baseline: str | None
    control: str | None
    day0: dt.date | None
    testers: dict[str, AbstractBaseUser | None]


def _check_rows(rows: list[_Row], kind: str) -> tuple[_Plan, list[Problem]]:
    problems: list[Problem] = []
    animals: dict[str, _Row] = {}
    timepoints: dict[str, _Row] = {}
    days: dict[int, _Row] = {}
    groups: dict[str, int] = {}
    seen: dict[tuple, int] = {}
    session_tester: dict[tuple, _Row] = {}
    for row in rows:
        first = animals.setdefault(row.animal, row)
        if first.group != row.group:
            problems.append(
                Problem(
                    row.line,
                    "group",
                    f"animal {row.animal} is in {_group_words(row.group)} here but in "
                    f"{_group_words(first.group)} on line {first.line}",
                )
            )
        for column in ("cage", "sex", "animal_status"):
            mine, theirs = getattr(row, column), getattr(first, column)
            if mine and not theirs:
                setattr(first, column, mine)
            elif mine and theirs and mine != theirs:
                problems.append(
                    Problem(
                        row.line,
                        column,
                        f"animal {row.animal} has {column} '{mine}' here but '{theirs}' "
                        f"on line {first.line}",
                    )
                )
        tp = timepoints.setdefault(row.timepoint, row)
        if tp.day != row.day:
            problems.append(
                Problem(
                    row.line,
                    "day",
                    f"timepoint {row.timepoint} is day {row.day} here but day {tp.day} "
                    f"on line {tp.line}",
                )
            )
        other = days.setdefault(row.day, row)
        if other.timepoint != row.timepoint:
            problems.append(
                Problem(
                    row.line,
                    "timepoint",
                    f"day {row.day} is timepoint {other.timepoint} on line {other.line}; "
                    "one timepoint per study day",
                )
            )
        if row.group:
            groups.setdefault(row.group, row.line)
        if kind == KIND_STIMULI:
            key = (row.animal, row.timepoint, row.paw, row.order)
            what = f"animal {row.animal}, {row.timepoint}, {row.paw} paw, order {row.order}"
            column = "order"
            slot = (row.animal, row.timepoint, row.paw)
            if row.tester:
                owner = session_tester.setdefault(slot, row)
                if owner.tester != row.tester:
                    problems.append(
                        Problem(
                            row.line,
                            "tester",
                            f"'{row.tester}' differs from '{owner.tester}' on line {owner.line} "
                            f"for the same session ({row.animal}, {row.timepoint}, {row.paw} paw)",
                        )
                    )
        else:
            key = (row.animal, row.timepoint, row.paw)
            what = f"animal {row.animal}, {row.timepoint}, {row.paw} paw"
            column = "timepoint"
        if key in seen:
            problems.append(Problem(row.line, column, f"duplicate of line {seen[key]} ({what})"))
        else:
            seen[key] = row.line
    plan = _Plan(
        study=None,
        rows=rows,
        groups=groups,
        animals=animals,
        timepoints=timepoints,
        baseline=None,
        control=None,
        day0=None,
        testers={},
    )
    return plan, problems


def _group_words(code: str) -> str:
    return f"group {code}" if code else "no group"


def _check_against_study(study: Study, plan: _Plan, kind: str) -> list[Problem]:
    """Conflicts with what the study already holds: groups, days, allocations, sessions."""
    problems: list[Problem] = []
    existing_tps = {t.label: t for t in study.timepoints.all()}
    tp_by_day = {t.day: t for t in existing_tps.values()}
    for label, row in plan.timepoints.items():
        known = existing_tps.get(label)
        if known is not None:
            if known.day != row.day:
                problems.append(
                    Problem(
                        row.line,
                        "day",
                        f"timepoint {label} is day {row.day} here but day {known.day} "
                        "in this study",
                    )
                )
        else:
            clash = tp_by_day.get(row.day)
            if clash is not None:
                problems.append(
                    Problem(
                        row.line,
                        "timepoint",
                        f"day {row.day} is timepoint {clash.label} in this study, not {label}",
                    )
                )
            if not study.first_day <= row.day <= study.last_day:
                problems.append(
                    Problem(
                        row.line,
                        "day",
                        f"day {row.day} is outside the study's days "
                        f"({study.first_day} to {study.last_day})",
                    )
                )
    locked = {t.label for t in existing_tps.values() if getattr(t, "locked_at", None)}
    reported_locked: set[str] = set()
    for row in plan.rows:
        if row.timepoint in locked and row.timepoint not in reported_locked:
            reported_locked.add(row.timepoint)
            problems.append(
                Problem(
                    row.line,
                    "timepoint",
                    f"{row.timepoint} is signed off (locked); reopen it before importing",
                )
            )
    animals = {
        a.code: a
        for a in Animal.objects.filter(study=study, code__in=list(plan.animals)).select_related(
            "group"
        )
    }
    for code, row in plan.animals.items():
        animal = animals.get(code)
        if animal is None:
            continue
        stored = animal.group.code if animal.group else ""
        if stored != row.group:
            problems.append(
                Problem(
                    row.line,
                    "group",
                    f"animal {code} is in {_group_words(row.group)} here but in "
                    f"{_group_words(stored)} in this study",
                )
            )
        for column in ("cage", "sex"):
            mine, theirs = getattr(row, column), getattr(animal, column)
            if mine and theirs and mine != theirs:
                problems.append(
                    Problem(
                        row.line,
                        column,
                        f"animal {code} has {column} '{mine}' here but '{theirs}' in this study",
                    )
                )
    taken = set(
        TestSession.objects.filter(animal__study=study)
        .exclude(status=TestSession.Status.VOIDED)
        .values_list("animal__code", "timepoint__label", "paw")
    )
    legacy = set(
        LegacyThreshold.objects.filter(animal__study=study).values_list(
            "animal__code", "timepoint__label", "paw"
        )
    )
    reported: set[tuple] = set()
    for row in plan.rows:
        slot = (row.animal, row.timepoint, row.paw)
        if slot in reported:
            continue
        if slot in taken:
            reported.add(slot)
            problems.append(
                Problem(
                    row.line,
                    "animal",
                    f"{row.animal} already has a {row.timepoint} session ({row.paw} paw) "
                    "in this study",
                )
            )
        elif slot in legacy:
            reported.add(slot)
            problems.append(
                Problem(
                    row.line,
                    "animal",
                    f"{row.animal} already has an imported {row.timepoint} threshold "
                    f"({row.paw} paw) in this study",
                )
            )
    return problems


# ----------------------------------------------------------------------------- import


def import_study_csv(
    *,
    data: bytes,
    source_name: str,
    slug: str,
    title: str = "",
    method: str | None = None,
    cutoff_g: float | None = None,
    baseline: str | None = None,
    control: str | None = None,
    day0: dt.date | None = None,
    alpha: float | None = None,
    posthoc: str | None = None,
    pairs: str | None = None,
    sheet: str | None = None,
    groups: dict[str, dict] | None = None,
    user: AbstractBaseUser | None = None,
    dry_run: bool = False,
    max_bytes: int | None = None,
) -> ImportResult:
    """Check a stimuli or thresholds CSV and, unless `dry_run` or on any error, write it.

    Imports into the study `slug`, creating it (blank, Stoelting 20 filaments) when it
    does not exist. `alpha`, `posthoc` and `pairs` ("T7-T4,T5-T1": the chosen timepoint
    comparisons) are the study's analysis settings, which a CSV does not carry: set on a
    new study, or on an existing one still in planning. `data` may also be UTF-16 text or
    an .xlsx workbook (its first sheet, or `sheet`). `groups` gives new groups what a file
    does not say, {code: {"name", "drug", "dose_mg_kg", "route", "vehicle", "colour"}};
    what it leaves out stays empty (route and vehicle "not recorded"), never guessed.
    Returns what was (or would be) created; `result.errors` lists every problem and, when
    it is not empty, nothing was written.
    """
    result = ImportResult(source_name=source_name, slug=slug)
    table, problems = read_table(data=data, max_bytes=max_bytes, sheet=sheet)
    if table is None:
        result.errors = problems
        return result
    result.encoding, result.delimiter = table.encoding, table.delimiter
    result.data_rows = table.data_lines
    kind = _detect_kind(table.header)
    result.kind = kind or ""
    header_problems = _missing_columns(table.header, kind, _header_line(table))
    if header_problems:
        result.errors = header_problems + problems
        return result

    # Checking only reads, and runs outside any transaction: on SQLite a transaction takes
    # the database's one write lock (BEGIN IMMEDIATE, see settings), and checking a large
    # file inside one held it for minutes while technicians tapped and people signed in.
    # A dry run ends here having written nothing and locked nothing.
    checked = _check_file(
        table, kind, problems, result, slug=slug, title=title, method=method,
        cutoff_g=cutoff_g, baseline=baseline, control=control, day0=day0, alpha=alpha,
        posthoc=posthoc, pairs=pairs, groups=groups,
    )  # fmt: skip
    if checked is None or dry_run:
        return result
    plan, analysis, filaments, details = checked
    try:
        with transaction.atomic():
            # The write is short; only what the study holds is checked again, under its
            # lock, in case it changed while the file was being checked.
            study = Study.objects.select_for_update().filter(slug=slug).first()
            errors = _check_study_arguments(study, slug, title, method, cutoff_g)
            errors += _analysis_settings(study, alpha, posthoc, pairs)[1]
            if (study is None) != (plan.study is None):
                now = "was created" if study is not None else "was deleted"
                errors.append(
                    Problem(None, "", f"study '{slug}' {now} while the file was being checked; "
                            "nothing was imported, check the file again")
                )  # fmt: skip
            elif study is not None:
                # Hold the study's timepoints as sign-off does (sessions.services.lock_timepoint),
                # so no timepoint is signed off between the check below and the write.
                list(
                    Timepoint.objects.select_for_update(no_key=True)
                    .filter(study=study)
                    .values("pk")
                )
                errors += _check_against_study(study, plan, kind)
            if errors:
                result.errors = sorted(errors, key=lambda p: (p.line or 0, p.column))
                return result
            plan.study = study
            result.study = _write(
                plan,
                result,
                kind,
                filaments,
                user=user,
                title=title,
                slug=slug,
                analysis=analysis,
                details=details,
            )
    except (IntegrityError, ValidationError) as error:
        result.errors = [
            Problem(None, "", f"nothing was imported: the database refused the write ({error})")
        ]
        result.study = None
        return result
    result.written = True
    return result


def _check_file(
    table: Table,
    kind: str,
    problems: list[Problem],
    result: ImportResult,
    *,
    slug: str,
    title: str,
    method: str | None,
    cutoff_g: float | None,
    baseline: str | None,
    control: str | None,
    day0: dt.date | None,
    alpha: float | None,
    posthoc: str | None,
    pairs: str | None,
    groups: dict[str, dict] | None = None,
) -> tuple[_Plan, dict, _Filaments, dict] | None:
    """Every check of the file against itself and the study, reading only. Fills in
    `result` (what would be created, notes, errors); None when there are errors."""
    study = Study.objects.filter(slug=slug).first()
    result.study_exists = study is not None
    errors = list(problems)
    errors += _check_study_arguments(study, slug, title, method, cutoff_g)
    analysis, analysis_problems = _analysis_settings(study, alpha, posthoc, pairs)
    errors += analysis_problems
    if errors and any(p.line is None for p in errors):
        result.errors = errors
        return None
    result.method = study.threshold_method if study else (method or "first_response")
    result.cutoff_g = study.cutoff_g if study else (cutoff_g or 300.0)
    filament_set = study.filament_set if study else stoelting_set()
    filaments = _Filaments(filament_set)
    default_paw, paw_note = _default_paw(study, table.header)
    if default_paw is None and paw_note:
        errors.append(Problem(_header_line(table), "", paw_note))
    elif paw_note:
        result.notes.append(paw_note)
    rows, row_problems = _parse_rows(table, kind, filaments, default_paw, result.method)
    errors += row_problems
    plan, cross = _check_rows(rows, kind)
    errors += cross
    plan.study = study
    if study is not None:
        errors += _check_against_study(study, plan, kind)
    errors += _settle_design(plan, result, baseline=baseline, control=control, day0=day0)
    errors += _check_pairs(analysis, plan, result)
    _describe(result, table, plan, kind, study)
    details, detail_problems = _group_details(groups or {}, result)
    errors += detail_problems
    if errors:
        result.errors = sorted(errors, key=lambda p: (p.line or 0, p.column))
        return None
    return plan, analysis, filaments, details


def _header_line(table: Table) -> int:
    return table.rows[0][0] - 1 if table.rows else 1


def _check_study_arguments(
    study: Study | None, slug: str, title: str, method: str | None, cutoff_g: float | None
) -> list[Problem]:
    problems = []
    if study is None:
        try:
            validate_slug(slug)
        except ValidationError:
            problems.append(
                Problem(None, "", f"'{slug}' is not a valid short name (letters, digits, - and _)")
            )
        if len(slug) > 60:
            problems.append(Problem(None, "", "the short name is longer than 60 characters"))
        if method is not None and method not in METHODS:
            problems.append(Problem(None, "", f"unknown threshold method '{method}'"))
        if cutoff_g is not None and not (math.isfinite(cutoff_g) and cutoff_g > 0):
            problems.append(Problem(None, "", "the cut-off must be more than 0 g"))
        return problems
    if method is not None and method != study.threshold_method:
        problems.append(
            Problem(
                None,
                "",
                f"study '{study.slug}' uses the {thresholds.method_name(study.threshold_method)} "
                f"method, not {thresholds.method_name(method)}; change it in the study settings "
                "first",
            )
        )
    if cutoff_g is not None and cutoff_g != study.cutoff_g:
        problems.append(
            Problem(
                None,
                "",
                f"study '{study.slug}' has a cut-off of {study.cutoff_g:g} g, not {cutoff_g:g} g",
            )
        )
    return problems


def _analysis_settings(
    study: Study | None, alpha: float | None, posthoc: str | None, pairs: str | None
) -> tuple[dict, list[Problem]]:
    """The analysis settings asked for, as Study field values, and what is wrong with them.

    On an existing study a value that differs is applied only while the study is in
    planning: past it, a change of analysis must go through the settings page, which
    asks for a reason.
    """
    problems: list[Problem] = []
    wanted: dict = {}
    if alpha is not None:
        if not (math.isfinite(alpha) and 0.0001 <= alpha <= 0.5):
            problems.append(Problem(None, "", f"alpha {alpha:g} is not between 0.0001 and 0.5"))
        else:
            wanted["alpha"] = alpha
    if posthoc is not None:
        if posthoc not in Study.Posthoc.values:
            choices = ", ".join(Study.Posthoc.values)
            problems.append(Problem(None, "", f"unknown post-hoc test '{posthoc}' ({choices})"))
        else:
            wanted["posthoc"] = posthoc
    if pairs is not None and pairs.strip():
        parsed = parse_pairs(pairs)
        for item in parsed.bad:
            problems.append(Problem(None, "", bad_pair_message(item, noun="timepoint pair")))
        text = parsed.text
        if len(text) > 200:
            problems.append(Problem(None, "", "the chosen pairs are longer than 200 characters"))
        elif not problems:
            wanted["comparison_pairs"] = text
    if study is None or problems:
        return wanted, problems
    labels = {
        "alpha": "alpha",
        "posthoc": "post-hoc test",
        "comparison_pairs": "chosen pairs",
    }
    changed = {k: v for k, v in wanted.items() if getattr(study, k) != v}
    if changed and study.status != Study.Status.PLANNING:
        for key, value in changed.items():
            problems.append(
                Problem(
                    None,
                    "",
                    f"study '{study.slug}' has {labels[key]} {_setting(getattr(study, key))}, "
                    f"not {_setting(value)}; it is {study.get_status_display().lower()}, so "
                    "change it in the study settings, with a reason",
                )
            )
    return changed, problems


def _setting(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return value or "(none)"


def _check_pairs(analysis: dict, plan: _Plan, result: ImportResult) -> list[Problem]:
    """Every timepoint of a chosen pair must be in the file (or the study already)."""
    known = set(plan.timepoints)
    if plan.study is not None:
        known |= set(plan.study.timepoints.values_list("label", flat=True))
    problems = []
    pairs = analysis.get("comparison_pairs", "")
    for item, missing in unknown_pair_timepoints(pairs, known):
        listing = ", ".join(sorted(known, key=_natural)) or "none"
        problems.append(
            Problem(
                None,
                "",
                f"pair {item}: timepoint {' and '.join(missing)} is not in the file "
                f"(timepoints: {listing})",
            )
        )
    if analysis and not problems:
        shown = {
            "alpha": lambda v: f"alpha {v:g}",
            "posthoc": lambda v: f"between-group post-hoc {v}",
            "comparison_pairs": lambda v: f"chosen pairs {v.replace(',', ', ')}",
        }
        result.notes.append(
            "analysis settings of the study: " + ", ".join(shown[k](v) for k, v in analysis.items())
        )
    return problems


def _default_paw(study: Study | None, header: list[str]) -> tuple[str | None, str]:
    if "paw" in header:
        return None, ""
    paw = study.paw_tested if study else "right"
    if paw not in ("right", "left"):
        return None, "missing required column 'paw' (the study tests both paws)"
    return paw, f"no paw column: every row is taken as the {paw} hind paw"


def _settle_design(
    plan: _Plan,
    result: ImportResult,
    *,
    baseline: str | None,
    control: str | None,
    day0: dt.date | None,
) -> list[Problem]:
    """Baseline timepoint, control group and day-0 date: from arguments, study or file."""
    problems = []
    study = plan.study
    labels = list(plan.timepoints)
    existing_base = (
        study.timepoints.filter(is_baseline=True).values_list("label", flat=True).first()
        if study
        else None
    )
    if baseline:
        if baseline not in labels and not (study and study.timepoints.filter(label=baseline)):
            problems.append(
                Problem(None, "", f"baseline timepoint '{baseline}' is not in the file")
            )
        elif existing_base and existing_base != baseline:
            problems.append(
                Problem(
                    None,
                    "",
                    f"study '{study.slug}' already has baseline {existing_base}, not {baseline}",
                )
            )
        plan.baseline = baseline
    elif existing_base:
        plan.baseline = existing_base
    elif labels:
        by_day = sorted(plan.timepoints.values(), key=lambda r: r.day)
        plan.baseline = "T0" if "T0" in labels else by_day[0].timepoint
        result.notes.append(
            f"baseline timepoint: {plan.baseline} (%MPE is relative to it; you may choose another)"
        )
    codes = list(plan.groups)
    existing_control = (
        study.groups.filter(is_control=True).values_list("code", flat=True).first()
        if study
        else None
    )
    has_control = existing_control is not None
    if control:
        if control not in codes and not (study and study.groups.filter(code=control)):
            problems.append(Problem(None, "", f"control group '{control}' is not in the file"))
        elif existing_control and existing_control != control:
            problems.append(
                Problem(
                    None,
                    "",
                    f"study '{study.slug}' already has control group {existing_control}, "
                    f"not {control}",
                )
            )
        plan.control = control
    elif has_control:
        plan.control = existing_control
    elif control is None:
        named = [c for c in codes if CONTROL_NAMES.match(c)]
        if named:
            plan.control = named[0]
            result.notes.append(f"control group: {plan.control} (from its name)")
        elif codes:
            result.notes.append(
                "no group is marked as control: statistics compare with the first group "
                "until you choose one"
            )
    elif codes:  # "" chosen: no control group
        result.notes.append(
            "no control group: statistics compare with the first group until you mark one "
            "in the study's groups"
        )
    result.file_groups = sorted(codes, key=_natural)
    result.file_timepoints = [
        r.timepoint for r in sorted(plan.timepoints.values(), key=lambda r: r.day)
    ]
    result.control, result.baseline = plan.control or "", plan.baseline or ""
    result.control_fixed, result.baseline_fixed = has_control, existing_base is not None
    if study is None:
        plan.day0 = day0 or _day0_from_file(plan, result)
    return problems


def _day0_from_file(plan: _Plan, result: ImportResult) -> dt.date:
    dates = Counter(
        timezone.localdate(r.tested_at) - dt.timedelta(days=r.day)
        for r in plan.rows
        if r.tested_at is not None
    )
    if not dates:
        today = timezone.localdate()
        result.notes.append(
            f"day 0 date: not in the file (no tested_at), set to today {today.isoformat()}; "
            "correct it in the study settings"
        )
        return today
    day0, n = dates.most_common(1)[0]
    total = sum(dates.values())
    agree = "all rows agree" if n == total else f"{n} of {total} rows agree"
    result.notes.append(f"day 0 date: {day0.isoformat()}, from tested_at and day ({agree})")
    return day0


def _describe(result: ImportResult, table: Table, plan: _Plan, kind: str, study) -> None:
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


def _status_notes(result: ImportResult, plan: _Plan, known: dict[str, str]) -> None:
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
                f"(status reason '{_status_reason(status)}', dated the day of the import)"
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


def _status_reason(status: str) -> str:
    return f"imported: {status} in the source file"


def _natural(code: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", code)]


def _group_order(plan: _Plan) -> list[str]:
    codes = sorted(plan.groups, key=_natural)
    if plan.control in codes:
        codes.remove(plan.control)
        codes.insert(0, plan.control)
    return codes


# ----------------------------------------------------------------------------- writing


def _write(
    plan: _Plan,
    result: ImportResult,
    kind: str,
    filaments: _Filaments,
    *,
    user: AbstractBaseUser | None,
    title: str,
    slug: str,
    analysis: dict,
    details: dict[str, dict],
) -> Study:
    reason = f"imported from {result.source_name}"[:100]
    study = plan.study
    days = [r.day for r in plan.timepoints.values()]
    if study is not None and analysis:
        for key, value in analysis.items():
            setattr(study, key, value)
        study.full_clean()
        study._change_reason = f"analysis settings given with the import of {result.source_name}"
        study._history_user = user
        study.save(update_fields=[*analysis, "updated_at"])
    if study is None:
        from labstudy.services import create_study

        study = create_study(
            template_key="blank",
            slug=slug,
            title=title or slug,
            day0_date=plan.day0,
            user=user,
            threshold_method=result.method,
            cutoff_g=result.cutoff_g,
            first_day=min([0, *days]),
            last_day=max([0, *days]),
            description=f"Imported from {result.source_name}.",
            **analysis,
        )
    groups = {g.code: g for g in study.groups.all()}
    start = max((g.order for g in groups.values()), default=0)
    new_groups = []
    for i, code in enumerate(result.new_groups, start=1):
        given = details.get(code, {})
        new_groups.append(
            TreatmentGroup(
                study=study,
                code=code,
                name=given.get("name") or code,
                drug=given.get("drug", ""),
                dose_mg_kg=given.get("dose_mg_kg"),
                # A file says nothing of route or vehicle: empty ("not recorded"), not the
                # model's i.p. and saline.
                route=given.get("route", ""),
                vehicle=given.get("vehicle", ""),
                is_control=code == plan.control,
                order=start + i,
                colour=given.get("colour") or _colour(start + i),
            )
        )
    if plan.control and plan.control in groups and not groups[plan.control].is_control:
        group = groups[plan.control]
        group.is_control = True
        group._change_reason = reason
        group.save(update_fields=["is_control", "updated_at"])
    for group in bulk_create_with_history(
        new_groups, TreatmentGroup, default_user=user, default_change_reason=reason
    ):
        groups[group.code] = group

    timepoints = {t.label: t for t in study.timepoints.all()}
    order_start = max((t.order for t in timepoints.values()), default=0)
    new_tps = [
        Timepoint(
            study=study,
            label=label,
            day=plan.timepoints[label].day,
            is_baseline=label == plan.baseline,
            order=order_start + i,
        )
        for i, label in enumerate(result.new_timepoints, start=1)
    ]
    base = timepoints.get(plan.baseline or "")
    if base is not None and not base.is_baseline:
        base.is_baseline = True
        base._change_reason = reason
        base.save(update_fields=["is_baseline", "updated_at"])
    for tp in bulk_create_with_history(
        new_tps, Timepoint, default_user=user, default_change_reason=reason
    ):
        timepoints[tp.label] = tp

    animals = {a.code: a for a in Animal.objects.filter(study=study, code__in=list(plan.animals))}
    default_sex = study.sex if study.sex in ("male", "female") else "male"
    today = timezone.localdate()
    new_animals = []
    for code in result.new_animals:
        first = plan.animals[code]
        status = first.animal_status or Animal.Status.ACTIVE
        gone = status != Animal.Status.ACTIVE
        new_animals.append(
            Animal(
                study=study,
                code=code,
                cage=first.cage,
                sex=first.sex or default_sex,
                group=groups.get(first.group),
                status=status,
                # The file carries no status date: the import day is the honest one.
                status_date=today if gone else None,
                status_reason=_status_reason(status) if gone else "",
                created_by=user,
            )
        )
    for animal in bulk_create_with_history(
        new_animals, Animal, default_user=user, default_change_reason=reason
    ):
        animals[animal.code] = animal

    if kind == KIND_STIMULI:
        _write_stimuli(plan, result, study, filaments, animals, timepoints, user, reason)
    else:
        _write_thresholds(plan, result, animals, timepoints, user, reason)
    return study


GROUP_FIELDS = ("name", "drug", "dose_mg_kg", "route", "vehicle", "colour")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _group_details(given: dict[str, dict], result: ImportResult) -> tuple[dict, list[Problem]]:
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
            "colour": details.get(code, {}).get("colour") or _colour(i),
            **{k: details.get(code, {}).get(k, "") for k in ("drug", "route", "vehicle")},
            "dose_mg_kg": details.get(code, {}).get("dose_mg_kg", ""),
        }
        for i, code in enumerate(result.new_groups, start=1)
    }
    return details, problems


_PALETTE = ("#4d4d4d", "#2b8cbe", "#d7301f", "#31a354", "#756bb1", "#e6550d", "#636363")


def _colour(i: int) -> str:
    return _PALETTE[(i - 1) % len(_PALETTE)]


def _users(names: set[str]) -> dict[str, AbstractBaseUser]:
    User = get_user_model()
    field_name = User.USERNAME_FIELD
    return {getattr(u, field_name): u for u in User.objects.filter(**{f"{field_name}__in": names})}


def _write_stimuli(plan, result, study, filaments, animals, timepoints, user, reason) -> None:
    by_session: dict[tuple, list[_Row]] = defaultdict(list)
    for row in plan.rows:
        by_session[(row.animal, row.timepoint, row.paw)].append(row)
    testers = _users({r.tester for r in plan.rows if r.tester})
    missing = sorted({r.tester for r in plan.rows if r.tester and r.tester not in testers})
    if missing:
        result.notes.append(
            f"tester(s) {', '.join(missing)} have no account here: kept in the session notes"
        )
    now = timezone.now()
    sessions = []
    for (animal, tp, paw), rows in by_session.items():
        rows.sort(key=lambda r: r.order)
        series = [(r.filament.size, r.withdrew) for r in rows]
        done = (
            thresholds.next_filament(
                series, filaments.specs, method=study.threshold_method, start=study.start_filament
            )
            is None
        )
        stamps = [r.tested_at for r in rows if r.tested_at is not None]
        tester_name = rows[0].tester
        notes = f"Imported from {result.source_name}, lines {rows[0].line}–{rows[-1].line}."
        if tester_name and tester_name not in testers:
            notes += f" Tester in the file: {tester_name}."
        tester = testers.get(tester_name)
        sessions.append(
            {
                "animal_id": animals[animal].pk,
                "timepoint_id": timepoints[tp].pk,
                "paw": paw,
                "tested_at": min(stamps) if stamps else None,
                "tester_id": tester.pk if tester else None,
                "method": study.threshold_method,
                "status": TestSession.Status.COMPLETE if done else TestSession.Status.IN_PROGRESS,
                "notes": notes,
                "created_by_id": user.pk if user else None,
            }
        )
    session_ids = insert_with_history(TestSession, sessions, user=user, reason=reason)
    note_prefix = f"imported: {result.source_name}"[:180]
    stimuli = []
    for session_id, session, rows in zip(session_ids, sessions, by_session.values(), strict=True):
        for row in rows:
            stimuli.append(
                {
                    "session_id": session_id,
                    "order": row.order,
                    "filament_id": row.filament.pk,
                    "withdrew": row.withdrew,
                    "recorded_at": row.tested_at or now,
                    "recorded_by_id": session["tester_id"],
                    "note": f"{note_prefix} line {row.line}",
                }
            )
    insert_with_history(Stimulus, stimuli, user=user, reason=reason)


def insert_with_history(model, values: list[dict], *, user, reason: str) -> list[int]:
    """Insert rows given as {attname: value} (the model's defaults fill the rest) and one
    "+" history record each, as simple_history's bulk_create_with_history does; returns
    the new primary keys in order. Call it inside a transaction.

    bulk_create_with_history spends its time building model instances and SQL: for 100k
    stimuli nearly 30 s on PostgreSQL, and on SQLite about a minute for 50k, all of it
    holding SQLite's one write lock while technicians' taps wait. So the ids are reserved
    first (PostgreSQL: from the table's sequence; SQLite: above the table's highest id,
    safe because this transaction holds the write lock) and the rows go in with COPY
    (PostgreSQL) or one executemany (SQLite). Other databases: bulk_create_with_history.
    """
    if connection.vendor not in ("postgresql", "sqlite") or not values:
        objs = bulk_create_with_history(
            [model(**row) for row in values],
            model,
            batch_size=BATCH_SIZE,
            default_user=user,
            default_change_reason=reason,
        )
        return [obj.pk for obj in objs]
    meta = model._meta
    now = timezone.now()
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    fixed, per_row = {}, {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fixed[f.attname] = now
        elif f.has_default() and callable(f.default):
            per_row[f.attname] = f.default
        else:
            fixed[f.attname] = f.get_default()
    with connection.cursor() as cursor:
        ids = _reserve_ids(cursor, meta, len(values))
        rows = []
        for pk, row in zip(ids, values, strict=True):
            full = [pk]
            for f in fields:
                name = f.attname
                if name in row:
                    full.append(row[name])
                elif name in per_row:
                    full.append(per_row[name]())
                else:
                    full.append(fixed[name])
            rows.append(full)
        names = [meta.pk.attname] + [f.attname for f in fields]
        _bulk_write(cursor, meta.db_table, [meta.pk, *fields], rows)
        history = model.history.model._meta
        stamp = {
            "history_date": now,
            "history_change_reason": reason,
            "history_type": "+",
            "history_user_id": user.pk if user is not None else None,
        }
        columns = [f for f in history.concrete_fields if f.attname != "history_id"]
        picks = [names.index(f.attname) if f.attname in names else None for f in columns]
        extra = [stamp.get(f.attname) for f in columns]
        history_rows = (
            [row[i] if i is not None else e for i, e in zip(picks, extra, strict=True)]
            for row in rows
        )
        _bulk_write(cursor, history.db_table, columns, history_rows)
    return ids


def _reserve_ids(cursor, meta, n: int) -> list[int]:
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, n],
        )
        return [pk for (pk,) in cursor.fetchall()]
    # SQLite, inside the import's transaction, which holds the database's write lock: no
    # one else can take these ids. AUTOINCREMENT never reuses an id, even a deleted one,
    # so start above both the highest id and the table's sqlite_sequence entry.
    quote = connection.ops.quote_name
    cursor.execute(f"SELECT COALESCE(MAX({quote(meta.pk.column)}), 0) FROM {quote(meta.db_table)}")
    highest = cursor.fetchone()[0]
    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [meta.db_table])
    seq = cursor.fetchone()
    start = max(highest, seq[0] if seq else 0) + 1
    return list(range(start, start + n))


def _bulk_write(cursor, table: str, fields: list, rows) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: values as the ORM would store them (datetimes as text, UUIDs as hex); a
    # converter per column, since field.get_db_prep_save per value took most of the time.
    converters = [_sqlite_converter(f) for f in fields]
    prepared = (
        [v if c is None else c(v) for c, v in zip(converters, row, strict=True)] for row in rows
    )
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(table)} ({columns}) VALUES ({marks})"
    batch = []
    for row in prepared:
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            cursor.executemany(sql, batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)


def _sqlite_converter(field):
    """How a value of `field` goes to SQLite as the ORM stores it; None: as it is (ints,
    text, booleans, floats and None need nothing)."""
    ops = connection.ops
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return lru_cache(maxsize=4096)(ops.adapt_datetimefield_value)  # one `now` per import
    if kind == "DateField":
        return ops.adapt_datefield_value
    if kind == "UUIDField":
        return lambda v: None if v is None else v.hex
    if kind in ("AutoField", "BigAutoField", "SmallAutoField", "ForeignKey", "OneToOneField"):
        return None
    if kind in ("IntegerField", "BigIntegerField", "SmallIntegerField", "BooleanField"):
        return None
    if kind in ("PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"):
        return None
    if kind in ("CharField", "TextField", "FloatField", "SlugField"):
        return None
    return lambda v: field.get_db_prep_save(v, connection)


def _write_thresholds(plan, result, animals, timepoints, user, reason) -> None:
    rows = [
        {
            "animal_id": animals[r.animal].pk,
            "timepoint_id": timepoints[r.timepoint].pk,
            "paw": r.paw,
            "method": r.method,
            "threshold_g": r.threshold_g,
            "status": r.status,
            "pattern": r.pattern,
            "source_file": result.source_name[:255],
            "source_line": r.line,
            "imported_by_id": user.pk if user else None,
        }
        for r in plan.rows
    ]
    insert_with_history(LegacyThreshold, rows, user=user, reason=reason)
