"""Publication exports: tidy CSV tables, one Excel workbook, a methods paragraph and the
publication package (ZIP) that holds them all.

Reads only; this module never writes to the database. Raw tables (stimuli, doses,
weights, observations, audit log) are read with server-side iterators and written row
by row, so memory stays flat however large the study (the audit log from
`labstudy.audit.study_history`); derived tables (thresholds, summary, statistics, AUC,
Prism) come from `analysis.inputs.analysis_inputs` and `study_statistics`, the same call
the dashboard and ARRIVE make. The methods paragraph and the data dictionary live in
`analysis.methods_text` and `analysis.data_dictionary`; this module keeps the file
contracts (columns, names, formats) and re-exports their old names. Every file name
carries the study's short name, the threshold method's name and the cut-off, e.g.
``psnl-ketamine-demo_stimuli_target_force_300g.csv`` (the target force is stored as
``first_response``; files name it for what it is).

Who may export is decided by the caller (`analysis.export_views`, the `export_study`
command): exports show treatment groups, so never to a blinded technician.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from typing import IO

import pandas as pd
from django.utils import timezone

from analysis import data_dictionary, frames, methods_text, safe_cells, stats, thresholds
from analysis.inputs import AnalysisInputs, analysis_inputs, group_summary, study_statistics
from labstudy import audit

# Names other modules take from here, from before the methods text and the data
# dictionary had modules of their own (`analysis.methods_text`, `analysis.data_dictionary`).
GUARD_NOTE = data_dictionary.GUARD_NOTE
dictionary_entries = data_dictionary.dictionary_entries
software_versions = methods_text.software_versions
_posthoc_sentence = methods_text.posthoc_sentence
_dropped_animals = methods_text.dropped_animals

# --------------------------------------------------------------------------- contracts

# animal_status is appended so that an excluded (died, euthanised) animal stays so after
# the file is imported into another study, and its statistics come out the same.
# override, note and recorded_by (appended later) carry what the technician recorded at
# the bench besides the response; undone and voided taps are in `taps_all`.
STIMULI_COLUMNS = [*frames.STIMULI_COLUMNS, "animal_status", "override", "note", "recorded_by"]
TAPS_ALL_COLUMNS = [
    "animal", "group", "timepoint", "day", "paw", "session", "order", "filament_size",
    "filament_g", "response", "override", "note", "recorded_at", "recorded_by", "state",
    "void_reason", "voided_by", "voided_at", "session_status", "session_void_reason",
    "session_voided_by", "session_voided_at", "minutes_after_dose",
]  # fmt: skip
THRESHOLD_COLUMNS = [
    "animal", "group", "timepoint", "day", "method", "threshold_g", "status", "pattern",
    "pct_mpe", "paw", "n_stimuli", "source", "reason", "mpe_reason",
]  # fmt: skip
# n_at_cutoff / n_at_lowest: of n, the animals held at the cut-off or at the lowest
# filament (`inputs.censored_counts`); appended after the columns older files have.
SUMMARY_COLUMNS = [
    *stats.SUMMARY_COLUMNS, "mpe_mean", "mpe_sem", "n_legacy", "n_at_cutoff", "n_at_lowest",
]  # fmt: skip
# `outcome` stays where it was; the comparison family and effect size came later.
STATS_COLUMNS = [
    *(c for c in stats.COLUMNS if c not in stats.COMPARISON_COLUMNS),
    "outcome",
    *stats.COMPARISON_COLUMNS,
]
AUC_COLUMNS = [
    "animal", "group", "outcome", "auc", "unit", "from_timepoint", "to_timepoint",
    "from_day", "to_day", "complete",
]  # fmt: skip
AUC_UNITS = {"threshold_g": "g·day", "pct_mpe": "%·day"}
DOSE_COLUMNS = [
    "animal", "group", "study_day", "scheduled_date", "planned_dose_mg_kg", "dose_mg_kg",
    "volume_ml", "route", "status", "given_at", "given_by", "reason",
]  # fmt: skip
WEIGHT_COLUMNS = ["animal", "group", "date", "day", "grams"]
OBSERVATION_COLUMNS = ["animal", "group", "date", "day", "kind", "term", "severity", "notes"]
AUDIT_COLUMNS = ["when", "model", "object_id", "action", "user", "reason", "record"]
DICTIONARY_COLUMNS = ["table", "column", "unit", "meaning"]
OUTCOMES = (("threshold_g", "threshold (g)"), ("pct_mpe", "%MPE"))
SOURCE_STIMULI = frames.SOURCE_STIMULI
SOURCE_LEGACY = frames.SOURCE_LEGACY
EXCEL_MAX_ROWS = 1_048_576
CHUNK_ROWS = 500
ITERATOR_CHUNK = 5000
COPY_CHUNK_CHARS = 64 * 1024
STIMULI_FIELDS = (
    "session__animal__code", "session__animal__group__code", "session__timepoint__label",
    "session__timepoint__day", "session__paw", "order", "filament__size", "filament__grams",
    "withdrew", "recorded_at", "session__tester__username", "session__animal__cage",
    "session__animal__sex", "session_id", "session__animal__status", "is_override", "note",
    "recorded_by__username",
)  # fmt: skip
STIMULI_ORDER = ("session__timepoint__day", "session__animal__code", "session__paw", "order")


@dataclass(frozen=True)
class TableSpec:
    key: str
    title: str
    description: str


TABLES: tuple[TableSpec, ...] = (
    TableSpec("stimuli", "Stimuli", "one row per filament application (the raw data)"),
    TableSpec("thresholds", "Thresholds", "one threshold per animal, timepoint and paw"),
    TableSpec("summary", "Summary", "mean, SD, SEM, median and quartiles per group and timepoint"),
    TableSpec("stats", "Statistics", "every test run, one row per test or comparison"),
    TableSpec("auc", "Per-animal AUC", "area under each animal's time course (trapezoids)"),
    TableSpec(
        "prism",
        "Prism tables",
        "one Prism grouped table per measure: timepoint rows, a subcolumn per animal",
    ),
    TableSpec("dictionary", "Data dictionary", "every column of every table, unit and meaning"),
    TableSpec("doses", "Doses", "planned and given doses, missed doses with reasons"),
    TableSpec("weights", "Body weights", "body weights (g)"),
    TableSpec("observations", "Observations", "adverse events, clinical signs and notes"),
    TableSpec("audit_log", "Audit log", "every change to the study's records: who, when, why"),
    TableSpec(
        "taps_all",
        "All taps",
        "every filament application, undone and voided ones too: notes, overrides, "
        "who and when, and why a tap or its session was voided",
    ),
)
TABLE_KEYS = tuple(t.key for t in TABLES)


# --------------------------------------------------------------------------- names


def cutoff_label(cutoff_g: float) -> str:
    return f"{cutoff_g:g}g"


def file_stem(study, what: str, *, method: str | None = None) -> str:
    """``<slug>_<what>_<method name>_<cut-off>g``: every export says what it holds and how
    (``target_force`` for the stored key ``first_response``)."""
    method = thresholds.method_name(method or study.threshold_method)
    return f"{study.slug}_{what}_{method}_{cutoff_label(study.cutoff_g)}"


def file_name(study, what: str, ext: str = "csv", *, method: str | None = None) -> str:
    return f"{file_stem(study, what, method=method)}.{ext}"


def method_argument(text: str) -> str:
    """A command's --method value, a name or alias ("target_force", "first_response"), as
    the stored key."""
    import argparse

    key = thresholds.method_key(text)
    if key is None:
        raise argparse.ArgumentTypeError(
            f"unknown method '{text}' (target_force, first_response, up_down, sudo, ascending "
            "or percent_response)"
        )
    return key


def method_label(method: str) -> str:
    from labstudy.models import ThresholdMethod

    return ThresholdMethod(method).label


# --------------------------------------------------------------------------- cells


def csv_cell(value, zone: dt.tzinfo | None = None) -> str:
    """One CSV cell: empty for missing, shortest faithful text for numbers, ISO dates
    (in `zone`, by default the current time zone); text a spreadsheet would run as a
    formula gets a leading ' (`safe_cells.guard`)."""
    kind = type(value)
    if kind is str:
        return safe_cells.guard(value)
    if kind is int:
        return str(value)
    return _cell_text(value, zone)


def _cell_text(value, zone: dt.tzinfo | None = None) -> str:
    """`csv_cell` without the guard: for text inside a cell (the audit log's record)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value == 0:
            return "0"
        return format(value, ".15g")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(zone or timezone.get_current_timezone())
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _cell_text(value.item(), zone)
    return str(value)


def excel_cell(value, zone: dt.tzinfo | None = None):
    """The typed value openpyxl should store: numbers as numbers, naive times (in `zone`,
    by default the current time zone), text guarded as in the CSV files
    (`safe_cells.guard`), without the control characters a workbook cannot hold."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return _illegal_characters().sub("\ufffd", safe_cells.guard(value))
    if hasattr(value, "item") and not isinstance(value, bytes):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return value.astimezone(zone or timezone.get_current_timezone()).replace(tzinfo=None)
    return value


@cache
def _illegal_characters():
    """The characters a worksheet cannot hold (openpyxl's rule, the one the import reads
    workbooks with); imported on first use, so pages that never write a workbook do not
    load openpyxl."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE


# The number formats openpyxl gives a date, a time of day and a date and time, kept so
# that a workbook reads back as it did when openpyxl wrote it.
_DATE_FORMATS = (
    (dt.datetime, "yyyy-mm-dd h:mm:ss"),
    (dt.date, "yyyy-mm-dd"),
    (dt.time, "h:mm:ss"),
    (dt.timedelta, "[hh]:mm:ss"),
)
_TEXT_CACHE_MAX_CHARS = 64
_TEXT_CACHE_MAX_ENTRIES = 100_000


class _SheetWriter:
    """Rows of values into one XlsxWriter worksheet (constant_memory mode), each cell
    written as its type: text always as text (never a formula, an error value or a
    link, whatever it starts with), numbers and booleans as such (16 significant digits,
    as openpyxl wrote them), dates with openpyxl's formats; text guarded and cleaned as
    `excel_cell` does.

    A row's XML goes straight into the worksheet's row file, as XlsxWriter's own
    `_write_single_row` writes it (its cell and row elements, its escapes; the test
    pins the bytes against XlsxWriter's public `write_*` calls): a large study's
    workbook holds millions of cells, and XlsxWriter's per-cell path (argument
    conversion, bounds checks, a cell tuple, then the XML) took most of the package's
    time. One difference on purpose: XlsxWriter writes an inline string that starts
    with ``<r>`` and ends with ``</r>`` as raw XML (a rich string), so such a note would
    break the workbook; here it is text like any other."""

    def __init__(self, book, name: str, formats: dict, texts: dict[str, str]):
        from xlsxwriter.utility import xl_col_to_name

        self.sheet = book.add_worksheet(name)
        if not self.sheet.constant_memory:
            raise ValueError("_SheetWriter writes rows for XlsxWriter's constant_memory mode")
        self.formats = formats
        self.texts = texts  # shared by the workbook's sheets: text -> its cell XML after r=
        self.zone = timezone.get_current_timezone()  # once: Django's lookup takes ~20 µs
        self.columns = [xl_col_to_name(col) for col in range(64)]
        self._column_name = xl_col_to_name
        self.row = 0
        self.beyond = 0  # table rows past Excel's last row

    def add(self, values: Iterable) -> None:
        """A table row, or only counted once the sheet is at Excel's last row."""
        if self.row >= EXCEL_MAX_ROWS - 1:
            self.beyond += 1
        else:
            self.append(values)

    def finish(self) -> None:
        """The table's last row: how many rows did not fit, if any did not."""
        if self.beyond:
            self.append([f"… {self.beyond} more rows: Excel's row limit; see the CSV file"])
            self.beyond = 0

    def _more_columns(self, col: int) -> None:
        while col >= len(self.columns):
            self.columns.append(self._column_name(len(self.columns)))

    def _text(self, value: str) -> str | None:
        """The XML of a text cell after its reference (None for a cell left blank)."""
        xml = self.texts.get(value)
        if xml is None:
            xml = _inline_string_xml(value)
            if len(value) <= _TEXT_CACHE_MAX_CHARS and len(self.texts) < _TEXT_CACHE_MAX_ENTRIES:
                self.texts[value] = xml  # memory stays bounded
        return xml or None

    def append(self, values: Iterable) -> None:
        """One row; blank cells (None, NaN, empty text) are left out, as XlsxWriter does."""
        number = str(self.row + 1)
        columns, texts = self.columns, self.texts
        cells = []
        first = last = None
        for col, value in enumerate(values):
            kind = type(value)
            # The common cells first, without `excel_cell`'s checks: a group code, a paw,
            # a filament size repeat, and each text's XML is made once.
            if kind is str:
                if not value:
                    continue
                xml = texts.get(value) or self._text(value)
                if xml is None:
                    continue
            elif kind is int or (kind is float and math.isfinite(value)):
                xml = f"><v>{value:.16G}</v></c>"
            elif value is None:
                continue
            elif kind is dt.datetime:  # a time recorded or changed: the audit log, taps_all
                if value.tzinfo is not None:
                    value = value.astimezone(self.zone).replace(tzinfo=None)
                xml = self._when(value, dt.datetime)
            else:
                xml = self._other(value)
                if xml is None:
                    continue
            if col >= len(columns):
                if col >= _EXCEL_MAX_COLUMNS:
                    break  # XlsxWriter leaves out what lies beyond the last column, too
                self._more_columns(col)
            cells.append(f'<c r="{columns[col]}{number}"{xml}')
            if first is None:
                first = col
            last = col
        if cells:
            sheet = self.sheet
            sheet.fh.write(f'<row r="{number}">{"".join(cells)}</row>')
            # What XlsxWriter's `_check_dimensions` keeps for the <dimension> element.
            if sheet.dim_rowmin is None:
                sheet.dim_rowmin = self.row
            sheet.dim_rowmax = self.row
            if sheet.dim_colmin is None or first < sheet.dim_colmin:
                sheet.dim_colmin = first
            if sheet.dim_colmax is None or last > sheet.dim_colmax:
                sheet.dim_colmax = last
        self.row += 1

    def _other(self, value) -> str | None:
        value = excel_cell(value, self.zone)
        if isinstance(value, float) and math.isinf(value):
            value = csv_cell(value)  # "inf", as in the CSV file: a workbook holds no infinity
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, bool):
            return f' t="b"><v>{1 if value else 0}</v></c>'
        if isinstance(value, (int, float)):
            return f"><v>{value:.16G}</v></c>"
        return self._when(value, next(k for k, _ in _DATE_FORMATS if isinstance(value, k)))

    def _when(self, value, kind: type) -> str:
        """A date, time or duration: Excel's serial number in `kind`'s number format."""
        style = self.formats[kind]._get_xf_index()
        return f' s="{style}"><v>{self.sheet._convert_date_time(value):.16G}</v></c>'


_EXCEL_MAX_COLUMNS = 16_384


def _inline_string_xml(value: str) -> str:
    """A text cell's XML after its reference, as XlsxWriter writes an inline string:
    guarded and cleaned (`excel_cell`), line ends as \\n (a bare carriage return would be
    written as the escape _x000D_, shown as such by readers other than Excel),
    truncated at Excel's 32,767 characters, its escapes, whitespace kept."""
    from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate
    from xlsxwriter.xmlwriter import XMLwriter

    text = excel_cell(value).replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return ""
    if len(text) > _EXCEL_MAX_CHARS // 2 and _utf16_len(text) > _EXCEL_MAX_CHARS:
        text = _utf16_truncate(text, _EXCEL_MAX_CHARS)
    text = XMLwriter._escape_control_characters(text)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    return f' t="inlineStr"><is><t{preserve}>{_escape_xml(text)}</t></is></c>'


_EXCEL_MAX_CHARS = 32_767


def _escape_xml(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def prism_cell(value, outcome: str, method: str) -> float | str:
    """A Prism table cell at the precision the value was measured with: a target force is
    a filament's force, written as on the filament set (0.008, 26, 300); a computed
    threshold (up-down, SUDO) has 3 significant figures, since the evaluator sizes it
    comes from have two decimals; %MPE one decimal. Empty when there is no value.

    A number, not text, so the writers keep it numeric (a %MPE of -4 is the number -4 in
    the CSV and the workbook, not text guarded against formulas)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return ""
    value = float(value)
    if outcome == "pct_mpe":
        return round(value, 1) + 0.0  # + 0.0: no "-0"
    if method == "first_response" or value == 0:
        return value
    digits = 2 - math.floor(math.log10(abs(value)))
    return round(value, digits) + 0.0


def _natural(code: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", str(code))]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(header: list[str] | None, rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text in chunks of a few hundred rows, for a streaming response.

    Lines end in "\n". The writer is given "\r\n" as its line end, which it then quotes
    inside a cell: with "\n" alone it would leave a carriage return in a note bare, and
    every reader would split the row there (PostgreSQL's COPY quotes it too)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    zone = timezone.get_current_timezone()  # once per file: Django's lookup takes ~20 µs
    lines = []
    if header is not None:
        lines.append(writer.writerow(header)[:-2] + "\n")
    for n, row in enumerate(rows, start=1):
        lines.append(writer.writerow([csv_cell(v, zone) for v in row])[:-2] + "\n")
        if n % CHUNK_ROWS == 0:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _copy_available() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


# --------------------------------------------------------------------------- study data


class StudyExport:
    """One study's exports with a threshold method; derived frames are computed once."""

    def __init__(self, study, *, method: str | None = None):
        self.study = study
        self.method = method or study.threshold_method
        if self.method not in thresholds.METHODS:
            raise ValueError(f"unknown threshold method '{self.method}'")
        self.notes: list[str] = []

    # names -------------------------------------------------------------------
    def file_name(self, what: str, ext: str = "csv") -> str:
        return file_name(self.study, what, ext, method=self.method)

    @property
    def stem(self) -> str:
        return file_stem(self.study, "publication", method=self.method)

    # derived frames: all from `analysis.inputs`, as the dashboard's ------------
    @cached_property
    def inputs(self) -> AnalysisInputs:
        return analysis_inputs(self.study, method=self.method)

    @property
    def sessions(self) -> pd.DataFrame:
        return self.inputs.sessions

    @property
    def group_order(self) -> dict[str, int]:
        return self.inputs.group_order

    def long(self, value: str) -> pd.DataFrame:
        """The stats input of `value` ("threshold_g" or "pct_mpe") in study order."""
        return self.inputs.long(value)

    @property
    def design(self) -> tuple[str | None, str | None]:
        """(control group, baseline timepoint) of `inputs.reference`, for older callers."""
        return self.inputs.control, self.inputs.baseline

    @cached_property
    def statistics(self) -> pd.DataFrame:
        parts = []
        for value, label in OUTCOMES:
            computed = study_statistics(self.inputs, value)
            if computed.problem:
                self.notes.append(f"statistics on {label} not computed: {computed.problem}")
                continue
            parts.append(computed.table.assign(outcome=value))
        if not parts:
            return pd.DataFrame(columns=STATS_COLUMNS)
        return pd.concat(parts, ignore_index=True)[STATS_COLUMNS]

    # tables ------------------------------------------------------------------
    def header(self, what: str) -> list[str] | None:
        return {
            "stimuli": STIMULI_COLUMNS,
            "thresholds": THRESHOLD_COLUMNS,
            "summary": SUMMARY_COLUMNS,
            "stats": STATS_COLUMNS,
            "auc": AUC_COLUMNS,
            "prism": None,  # blocks carry their own header rows
            "dictionary": DICTIONARY_COLUMNS,
            "doses": DOSE_COLUMNS,
            "weights": WEIGHT_COLUMNS,
            "observations": OBSERVATION_COLUMNS,
            "audit_log": AUDIT_COLUMNS,
            "taps_all": TAPS_ALL_COLUMNS,
        }[what]

    def rows(self, what: str) -> Iterator[tuple]:
        if what not in TABLE_KEYS:
            raise ValueError(f"unknown export '{what}'; one of {', '.join(TABLE_KEYS)}")
        return getattr(self, f"_rows_{what}")()

    def _copied(self, what: str) -> bool:
        """Whether table `what`'s CSV comes from PostgreSQL's COPY (`_copy_stimuli`)."""
        return what == "stimuli" and _copy_available()

    def csv_chunks(self, what: str) -> Iterator[str]:
        if self._copied(what):
            return self._copy_stimuli()
        return csv_chunks(self.header(what), self.rows(what))

    def write_csv(self, what: str, out: IO[str]) -> None:
        for chunk in self.csv_chunks(what):
            out.write(chunk)

    def _stimuli_queryset(self):
        from sessions.models import Stimulus, TestSession

        return (
            Stimulus.objects.filter(session__animal__study=self.study, voided=False)
            .exclude(session__status=TestSession.Status.VOIDED)
            .order_by(*STIMULI_ORDER)
            .values_list(*STIMULI_FIELDS)
        )

    def _rows_stimuli(self) -> Iterator[tuple]:
        rows = self._stimuli_queryset()
        for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
            row = list(row)
            row[1] = row[1] or ""
            row[8] = 1 if row[8] else 0
            row[10] = row[10] or ""
            row[15] = 1 if row[15] else 0
            row[17] = row[17] or ""
            yield tuple(row)

    def _copy_stimuli(self) -> Iterator[str]:
        """The stimuli CSV from PostgreSQL's COPY, formatted in SQL exactly as `csv_cell`
        formats each cell, text guarded by `safe_cells.guard_sql` (checked against the
        row-by-row path in the tests): the largest table, whose million rows would
        otherwise mean 14 million cells formatted in Python."""
        from django.db import connection

        from sessions.models import Filament

        sql, params = self._stimuli_queryset().query.sql_with_params()
        n = len(STIMULI_FIELDS)
        at = {name: i for i, name in enumerate(STIMULI_FIELDS)}
        grams = sorted(
            set(
                Filament.objects.filter(filament_set_id=self.study.filament_set_id).values_list(
                    "grams", flat=True
                )
            )
        )
        cells = []
        for i, name in enumerate(STIMULI_FIELDS):
            column = f"s.c{i}"
            if name == "filament__grams":  # Python's shortest text of each filament's grams
                cases = " ".join(f"WHEN {g!r}::float8 THEN '{csv_cell(g)}'" for g in grams)
                cells.append(f"CASE {column} {cases} ELSE {column}::text END" if grams else column)
            elif name in ("withdrew", "is_override"):
                cells.append(f"CASE WHEN {column} THEN 1 ELSE 0 END")
            elif name == "recorded_at":  # local time, ISO 8601 to the second, with offset
                cells.append(
                    """to_char(s.local, 'YYYY-MM-DD"T"HH24:MI:SS') """
                    "|| CASE WHEN s.off < interval '0' THEN '-' ELSE '+' END "
                    "|| to_char(CASE WHEN s.off < interval '0' THEN -s.off ELSE s.off END, "
                    "'HH24:MI')"
                )
            elif name in ("order", "session__timepoint__day", "session_id"):
                cells.append(column)
            else:  # text, guarded as csv_cell does; '' and NULL both as an empty cell
                cells.append(f"NULLIF({safe_cells.guard_sql(column)}, '')")
        order = ", ".join(f"s.c{at[name]}" for name in STIMULI_ORDER)
        # The session's time zone stays UTC (Django reads timestamps assuming it): the
        # local time and its UTC offset are computed per row instead.
        zone = "'" + timezone.get_current_timezone_name().replace("'", "''") + "'"
        when = f"s0.c{at['recorded_at']}"
        copy_sql = (
            f"COPY (SELECT {', '.join(cells)} FROM (SELECT s0.*, {when} AT TIME ZONE {zone} "
            f"AS local, ({when} AT TIME ZONE {zone}) - ({when} AT TIME ZONE 'UTC') AS off "
            f"FROM ({sql}) AS s0("
            + ", ".join(f"c{i}" for i in range(n))
            + f")) AS s ORDER BY {order}) TO STDOUT WITH (FORMAT csv)"
        )
        head = io.StringIO()
        csv.writer(head, lineterminator="\n").writerow(self.header("stimuli"))
        yield head.getvalue()
        decode = codecs.getincrementaldecoder("utf-8")().decode
        with connection.cursor() as cursor:
            buffer, size = [], 0
            with cursor.cursor.copy(connection.ops.compose_sql(copy_sql, params)) as copy:
                for block in copy:
                    text = decode(bytes(block))
                    buffer.append(text)
                    size += len(text)
                    if size >= COPY_CHUNK_CHARS:
                        yield "".join(buffer)
                        buffer, size = [], 0
            if buffer:
                yield "".join(buffer)

    def _rows_thresholds(self) -> Iterator[tuple]:
        frame = self.sessions[THRESHOLD_COLUMNS]
        frame = frame.assign(method=frame["method"].map(thresholds.method_name))
        yield from frame.itertuples(index=False, name=None)

    def _rows_summary(self) -> Iterator[tuple]:
        yield from self.summary().itertuples(index=False, name=None)

    def summary(self) -> pd.DataFrame:
        thr = group_summary(self.inputs, "threshold_g")
        if thr.empty:
            return pd.DataFrame(columns=SUMMARY_COLUMNS)
        mpe = group_summary(self.inputs, "pct_mpe")
        mpe = mpe[["group", "timepoint", "mean", "sem"]].rename(
            columns={"mean": "mpe_mean", "sem": "mpe_sem"}
        )
        table = thr.merge(mpe, on=["group", "timepoint"], how="left")
        # Of the n animals summarised (`inputs.usable`), those whose threshold was imported.
        usable = self.inputs.usable("threshold_g")
        legacy = usable[usable["source"] == SOURCE_LEGACY]
        counts = legacy.groupby(["group", "timepoint"])["animal"].nunique()
        keys = zip(table["group"], table["timepoint"], strict=True)
        table["n_legacy"] = [int(counts.get(key, 0)) for key in keys]
        return self.inputs.ordered(table)[SUMMARY_COLUMNS]

    def _rows_stats(self) -> Iterator[tuple]:
        yield from self.statistics.itertuples(index=False, name=None)

    def _rows_auc(self) -> Iterator[tuple]:
        yield from self.auc().itertuples(index=False, name=None)

    def auc(self) -> pd.DataFrame:
        """`stats.auc_per_animal` of thresholds, then of %MPE: the values the `auc_*` rows
        of the stats export compare, in study group order, then animal."""
        parts = []
        for value, _label in OUTCOMES:
            aucs = self.inputs.auc(value)
            if aucs is None:
                continue
            long = self.long(value)
            labels = set(long["timepoint"])
            days = long.drop_duplicates("timepoint").set_index("timepoint")["day"]
            span = [tp for tp in days.sort_values().index if tp in labels]
            complete = aucs["complete"].astype(bool)
            aucs = aucs.assign(
                outcome=value,
                unit=AUC_UNITS[value],
                from_timepoint=span[0],
                to_timepoint=span[-1],
                from_day=days[span[0]],
                to_day=days[span[-1]],
                auc=aucs["auc"].where(complete),
                complete=complete,
            )
            parts.append(self.inputs.ordered(aucs)[AUC_COLUMNS])
        if not parts:
            return pd.DataFrame(columns=AUC_COLUMNS)
        return pd.concat(parts, ignore_index=True)

    def _rows_prism(self) -> Iterator[tuple]:
        """One paste-ready Prism grouped table per outcome (threshold g, %MPE).

        Each section: a title line, a blank line, the table (a row of group titles, each
        spanning its animals' subcolumns, then one row per timepoint titled in column 1),
        a blank line, a line naming the days and the animal of each subcolumn, a blank
        line. Prism gives every data set the same number of subcolumns, so a group with
        fewer animals than the largest leaves its last subcolumns empty."""
        label_ = method_label(self.method)
        method = label_[:1].lower() + label_[1:]
        cut = f"{self.study.ceiling_g:g}"
        days = self.sessions.drop_duplicates("timepoint").set_index("timepoint")["day"]
        legacy = int((self.sessions["source"] == SOURCE_LEGACY).sum()) if len(self.sessions) else 0
        flag = f"; includes {legacy} imported thresholds (legacy_thresholds)" if legacy else ""
        for value, label in OUTCOMES:
            wide = self.inputs.wide(value)
            if wide.empty:
                continue
            animals: dict[str, list[str]] = {}
            for group, animal in sorted(
                wide.index, key=lambda key: (self.group_order.get(key[0], 1_000), key[0])
            ):
                animals.setdefault(group, []).append(animal)
            for codes in animals.values():
                codes.sort(key=_natural)
            width = max(len(codes) for codes in animals.values())
            yield (f"{label}: {method}, cut-off {cut} g{flag}",)
            yield ()
            titles: list[str] = [""]
            for group in animals:
                titles += [group] + [""] * (width - 1)
            yield tuple(titles)
            # Each animal's values by position: `wide.at` per cell took seconds for a
            # thousand animals.
            at = {key: i for i, key in enumerate(wide.index)}
            table = wide.to_numpy()
            for j, tp in enumerate(wide.columns):
                row: list = [tp]
                for group, codes in animals.items():
                    cells = [prism_cell(table[at[group, a], j], value, self.method) for a in codes]
                    row += cells + [""] * (width - len(codes))
                yield tuple(row)
            yield ()
            listing = "; ".join(f"{g}: {', '.join(codes)}" for g, codes in animals.items())
            timeline = ", ".join(f"{tp} = day {days.get(tp)}" for tp in wide.columns)
            yield (f"Rows: {timeline}. Subcolumns, in order: {listing}",)
            yield ()

    def _rows_dictionary(self) -> Iterator[tuple]:
        yield from dictionary_entries(self.study)

    def _rows_doses(self) -> Iterator[tuple]:
        from animals.models import DOSE_VOIDED, DoseAdministration

        rows = (
            DoseAdministration.objects.filter(animal__study=self.study)
            .order_by("scheduled_date", "animal__code")
            .values_list(
                "animal__code",
                "animal__group__code",
                "study_day",
                "scheduled_date",
                "animal__group__dose_mg_kg",
                "dose_mg_kg",
                "volume_ml",
                "route",
                "status",
                "given_at",
                "given_by__username",
                "reason",
                "voided",
                "void_reason",
            )
        )
        for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
            *row, voided, void_reason = row
            row[1] = row[1] or ""
            row[10] = row[10] or ""
            if voided:  # the file contract: a voided dose's status is "voided", its reason why
                row[8], row[11] = DOSE_VOIDED, void_reason
            yield tuple(row)

    def _rows_weights(self) -> Iterator[tuple]:
        from animals.models import BodyWeight

        day0 = self.study.day0_date
        rows = (
            BodyWeight.objects.filter(animal__study=self.study, voided=False)
            .order_by("date", "animal__code")
            .values_list("animal__code", "animal__group__code", "date", "grams")
        )
        for animal, group, date, grams in rows.iterator(chunk_size=ITERATOR_CHUNK):
            yield (animal, group or "", date, (date - day0).days, grams)

    def _rows_observations(self) -> Iterator[tuple]:
        from animals.models import Observation

        day0 = self.study.day0_date
        rows = (
            Observation.objects.filter(animal__study=self.study, voided=False)
            .order_by("date", "animal__code")
            .values_list(
                "animal__code", "animal__group__code", "date", "kind", "term", "severity", "notes"
            )
        )
        for animal, group, date, kind, term, severity, notes in rows.iterator(
            chunk_size=ITERATOR_CHUNK
        ):
            yield (animal, group or "", date, (date - day0).days, kind, term, severity, notes)

    def _rows_taps_all(self) -> Iterator[tuple]:
        """Every stimulus of the study, undone and voided ones and those of voided sessions
        too, with who recorded it and who voided it, when and why (from the audit trail)."""
        from sessions.models import Stimulus

        voids = audit.stimulus_voids(self.study)
        session_voids = audit.session_voids(self.study)
        rows = (
            Stimulus.objects.filter(session__animal__study=self.study)
            .order_by(*STIMULI_ORDER, "pk")
            .values_list(
                "pk", "session__animal__code", "session__animal__group__code",
                "session__timepoint__label", "session__timepoint__day", "session__paw",
                "session_id", "order", "filament__size", "filament__grams", "withdrew",
                "is_override", "note", "recorded_at", "recorded_by__username", "voided",
                "void_reason", "session__status", "session__void_reason",
                "session__minutes_after_dose",
            )
        )  # fmt: skip
        for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
            (pk, animal, group, timepoint, day, paw, session, order, size, grams, withdrew,
             override, note, recorded_at, recorded_by, voided, void_reason, session_status,
             session_void_reason, minutes_after_dose) = row  # fmt: skip
            session_voided = session_status == "voided"
            if voided:
                state = "undone" if void_reason == "undo" else "voided"
            else:
                state = "session_voided" if session_voided else "live"
            by, at = voids.get(pk, ("", None)) if voided else ("", None)
            s_by, s_at = session_voids.get(session, ("", None)) if session_voided else ("", None)
            yield (
                animal, group or "", timepoint, day, paw, session, order, size, grams,
                1 if withdrew else 0, 1 if override else 0, note, recorded_at,
                recorded_by or "", state, void_reason if voided else "", by or "", at,
                session_status, session_void_reason if session_voided else "", s_by or "",
                s_at, minutes_after_dose,
            )  # fmt: skip

    def _rows_audit_log(self) -> Iterator[tuple]:
        zone = timezone.get_current_timezone()
        for entry in audit.study_history(self.study, chunk_size=ITERATOR_CHUNK):
            record = "; ".join(f"{name}={_cell_text(value, zone)}" for name, value in entry.fields)
            yield (
                entry.when, entry.model, entry.object_id, entry.action, entry.user or "",
                entry.reason, record,
            )  # fmt: skip

    # package -----------------------------------------------------------------
    def write_workbook(self, target: IO[bytes]) -> None:
        """One sheet per table (plus README and methods), typed cells, via XlsxWriter,
        row by row to temporary files (constant memory), so a large study's workbook
        does not sit in memory."""
        workbook = _Workbook(self, target)
        for spec in TABLES:
            sheet = workbook.table(spec.key)
            for row in self.rows(spec.key):
                sheet.add(row)
            sheet.finish()
        workbook.close()

    def write_package(self, target: IO[bytes]) -> list[str]:
        """The publication package: README, methods, every table as CSV, the workbook.

        Each table's rows are made once and go both to its CSV member and to its sheet
        of the workbook, written alongside into a temporary file, then deflated into the
        ZIP once more (that takes a 1,000-animal workbook from 7.0 to 5.3 MB for 0.4 s of
        CPU). The stimuli CSV comes from PostgreSQL's COPY where it can (`_copied`), its
        sheet from the rows."""
        folder = self.stem
        names = []
        with (
            zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            tempfile.TemporaryFile() as book,
        ):
            workbook = _Workbook(self, book)
            for spec in TABLES:
                name = self.file_name(spec.key)
                sheet = workbook.table(spec.key)
                with archive.open(_entry(f"{folder}/{name}"), "w") as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                    if self._copied(spec.key):
                        chunks = self._copy_stimuli()
                        rows = self.rows(spec.key)
                    else:
                        chunks = csv_chunks(self.header(spec.key), _tee(self.rows(spec.key), sheet))
                        rows = ()
                    for chunk in chunks:
                        text.write(chunk)
                    text.flush()
                    text.detach()
                for row in rows:
                    sheet.add(row)
                sheet.finish()
                names.append(name)
            workbook.close()
            book.seek(0)
            name = self.file_name("tables", "xlsx")
            with archive.open(_entry(f"{folder}/{name}"), "w") as raw:
                shutil.copyfileobj(book, raw)
            names.append(name)
            methods = self.file_name("methods", "txt")
            archive.writestr(_entry(f"{folder}/{methods}"), self.methods_text())
            names.append(methods)
            archive.writestr(_entry(f"{folder}/README.txt"), self.readme_text(files=names))
            names.insert(0, "README.txt")
        return [f"{folder}/{name}" for name in names]

    # texts -------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return methods_text.data_counts(self.sessions)

    def methods_text(self) -> str:
        return methods_text.methods_paragraph(self.inputs, statistics=self.statistics)

    def readme_text(self, files: list[str] | None = None) -> str:
        return readme(self, files or [])


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=timezone.localtime().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _tee(rows: Iterable[tuple], sheet: _SheetWriter) -> Iterator[tuple]:
    """`rows`, each also added to `sheet` on its way through."""
    for row in rows:
        sheet.add(row)
        yield row


class _Workbook:
    """The export's workbook in XlsxWriter's constant_memory mode (each sheet's rows go
    to a temporary file as they come, so sheets may be written side by side): README
    and methods sheets, then `table` gives a sheet per table in `TABLES` order."""

    def __init__(self, export: StudyExport, target: IO[bytes]):
        import xlsxwriter

        self.export = export
        options = {
            "constant_memory": True,
            "tmpdir": tempfile.gettempdir(),
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        }
        self.book = xlsxwriter.Workbook(target, options)
        self.formats = {kind: self.book.add_format({"num_format": f}) for kind, f in _DATE_FORMATS}
        self.texts: dict[str, str] = {}
        about = _SheetWriter(self.book, "README", self.formats, self.texts)
        for line in export.readme_text().splitlines():
            about.append([line])
        methods = _SheetWriter(self.book, "methods", self.formats, self.texts)
        for line in export.methods_text().splitlines():
            methods.append([line])

    def table(self, what: str) -> _SheetWriter:
        """The sheet of table `what`, its header row written."""
        sheet = _SheetWriter(self.book, what, self.formats, self.texts)
        header = self.export.header(what)
        if header is not None:
            sheet.append(header)
        return sheet

    def close(self) -> None:
        self.book.close()


def methods_paragraph(export: StudyExport) -> str:
    """The methods paragraph of `export` (`analysis.methods_text.methods_paragraph`)."""
    return export.methods_text()


def readme(export: StudyExport, files: list[str]) -> str:
    study = export.study
    counts = export.counts()
    control, baseline = export.design
    _ = export.statistics  # fills export.notes
    describe = {spec.key: spec.description for spec in TABLES}
    lines = [
        f"Publication package: {study.title}",
        "",
        f"Study:            {study.title} ({study.slug})",
        f"Threshold method: {thresholds.method_name(export.method)} — "
        f"{method_label(export.method)}",
        f"Cut-off:          {study.cutoff_g:g} g",
        f"Filament set:     {study.filament_set.name}",
        f"Baseline:         {baseline or '—'} (for %MPE and within-group comparisons)",
        f"Control group:    {control or '—'}",
        f"Significance:     alpha = {study.alpha:g}; between-group post-hoc: {study.posthoc}",
        f"Generated:        {timezone.localtime().isoformat(timespec='seconds')}",
        f"Data:             {counts['sessions']} sessions, {counts['stimuli']} stimuli"
        + (f", {counts['legacy']} imported thresholds without stimuli" if counts["legacy"] else ""),
        "",
        "Every file name carries the study, the threshold method and the cut-off. CSV files",
        "are UTF-8 with a header row, one observation per row, ISO dates, '.' as decimal",
        "point and an empty cell for a missing value. Text a spreadsheet would run as a",
        "formula (a cell starting with =, +, -, @, a tab or a carriage return) begins with",
        "' so that it shows as text; numbers are unchanged; the import removes that ' again.",
        "",
        "Files:",
    ]
    for name in files:
        key = next((k for k in TABLE_KEYS if f"_{k}_" in name), None)
        if name.endswith(".xlsx"):
            what = "the tables above as one Excel workbook, a sheet per table"
        elif name.endswith(".txt") and "_methods_" in name:
            what = "methods paragraph with this study's numbers"
        else:
            what = describe.get(key, "")
        lines.append(f"  {name}" + (f" — {what}" if what else ""))
    if counts["legacy"]:
        lines += [
            "",
            "Imported thresholds: rows with source = legacy_thresholds came from spreadsheets",
            "that recorded only thresholds; they keep the method they were recorded with and",
            "cannot be recomputed from responses.",
        ]
    if export.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in dict.fromkeys(export.notes)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- helpers


def export_to_path(study, what: str, path, *, method: str | None = None) -> list[str]:
    """Write one export (or the package, the workbook, the methods text) to `path`."""
    from pathlib import Path

    export = StudyExport(study, method=method)
    target = Path(path)
    writers: dict[str, tuple[str, Callable]] = {
        "package": ("zip", export.write_package),
        "xlsx": ("xlsx", export.write_workbook),
    }
    if target.is_dir():
        if what in writers:
            stem = export.stem if what == "package" else file_stem(study, "tables", method=method)
            target = target / f"{stem}.{writers[what][0]}"
        elif what == "methods":
            target = target / export.file_name("methods", "txt")
        else:
            target = target / export.file_name(what)
    if what in writers:
        with open(target, "wb") as out:
            writers[what][1](out)
    elif what == "methods":
        target.write_text(export.methods_text(), encoding="utf-8")
    else:
        with open(target, "w", encoding="utf-8", newline="") as out:
            export.write_csv(what, out)
    return [str(target)]
