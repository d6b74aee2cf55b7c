"""Publication exports: tidy CSV tables, one Excel workbook, a methods paragraph and the
publication package (ZIP) that holds them all.

Reads only; this module never writes to the database. Raw tables (stimuli, doses,
weights, observations, audit log) are read with server-side iterators and written row
by row, so memory stays flat however large the study; derived tables (thresholds,
summary, statistics, Prism) come from `analysis.frames` and `analysis.stats`, the same
functions the dashboard uses. Every file name carries the study's short name, the
threshold method's name and the cut-off, e.g. ``psnl-ketamine-demo_stimuli_target_force_300g.csv``
(the target force is stored as ``first_response``; files name it for what it is).

Who may export is decided by the caller (`analysis.export_views`, the `export_study`
command): exports show treatment groups, so never to a blinded technician.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import heapq
import io
import math
import platform
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from importlib import metadata
from typing import IO

import pandas as pd
from django.utils import timezone

from analysis import frames, safe_cells, stats, thresholds

# --------------------------------------------------------------------------- contracts

# animal_status is appended so that an excluded (died, euthanised) animal stays so after
# the file is imported into another study, and its statistics come out the same.
STIMULI_COLUMNS = [*frames.STIMULI_COLUMNS, "animal_status"]
THRESHOLD_COLUMNS = [
    "animal", "group", "timepoint", "day", "method", "threshold_g", "status", "pattern",
    "pct_mpe", "paw", "n_stimuli", "source", "reason", "mpe_reason",
]  # fmt: skip
SUMMARY_COLUMNS = [*stats.SUMMARY_COLUMNS, "mpe_mean", "mpe_sem", "n_legacy"]
STATS_COLUMNS = [*stats.COLUMNS, "outcome"]
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
GUARD_NOTE = (
    "a text cell that starts with =, +, -, @, a tab or a carriage return is written with a "
    "leading ' (in the CSV files and the workbook) so that a spreadsheet shows it as text "
    "and does not run it as a formula; the import removes that ' again. Numbers are not "
    "changed: a negative %MPE stays a number"
)

OUTCOMES = (("threshold_g", "threshold (g)"), ("pct_mpe", "%MPE"))
SOURCE_STIMULI = "stimuli"
SOURCE_LEGACY = "legacy_thresholds"
EXCEL_MAX_ROWS = 1_048_576
CHUNK_ROWS = 500
ITERATOR_CHUNK = 5000
COPY_CHUNK_CHARS = 64 * 1024
STIMULI_FIELDS = (
    "session__animal__code", "session__animal__group__code", "session__timepoint__label",
    "session__timepoint__day", "session__paw", "order", "filament__size", "filament__grams",
    "withdrew", "recorded_at", "session__tester__username", "session__animal__cage",
    "session__animal__sex", "session_id", "session__animal__status",
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
)
TABLE_KEYS = tuple(t.key for t in TABLES)


def _flag_legacy(result: pd.DataFrame, usable: pd.DataFrame) -> list[str]:
    """Each stats row's note, plus how many imported thresholds without stimuli its test
    took in: the values of its group (within-group tests and mixed models) or of its
    timepoint (between-group tests; a mixed model's fit takes every timepoint), less the
    animals the test dropped. Post-hoc rows count their whole family, whose ranks they use."""
    legacy = usable.loc[usable["source"] == SOURCE_LEGACY, ["animal", "group", "timepoint"]]
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
            f"unknown method '{text}' (target_force, first_response, up_down or sudo)"
        )
    return key


def method_label(method: str) -> str:
    from labstudy.models import ThresholdMethod

    return ThresholdMethod(method).label


# --------------------------------------------------------------------------- cells


def csv_cell(value) -> str:
    """One CSV cell: empty for missing, shortest faithful text for numbers, ISO dates;
    text a spreadsheet would run as a formula gets a leading ' (`safe_cells.guard`)."""
    if isinstance(value, str):
        return safe_cells.guard(value)
    return _cell_text(value)


def _cell_text(value) -> str:
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
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _cell_text(value.item())
    return str(value)


def excel_cell(value):
    """The typed value openpyxl should store: numbers as numbers, naive local times, text
    guarded as in the CSV files (`safe_cells.guard`), without the control characters a
    workbook cannot hold."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return _openpyxl_text_rules()[1].sub("\ufffd", safe_cells.guard(value))
    if hasattr(value, "item") and not isinstance(value, bytes):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.make_naive(timezone.localtime(value))
    return value


@cache
def _openpyxl_text_rules():
    """openpyxl's error values ('#N/A', ...) and the characters a worksheet cannot hold;
    imported on first use, as openpyxl itself is, so pages that never write a workbook
    do not load it."""
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

    return ERROR_CODES, ILLEGAL_CHARACTERS_RE


def excel_row(sheet, row: Iterable) -> list:
    """One worksheet row of `excel_cell` values. openpyxl turns a string that starts with
    '=' into a formula and one such as '#N/A' into an error value; the guard leaves no
    text starting with '=', and any text openpyxl would not store as text is given as an
    explicit text cell, so no text ever becomes a formula."""
    from openpyxl.cell import WriteOnlyCell

    error_codes = _openpyxl_text_rules()[0]
    cells = []
    for value in row:
        value = excel_cell(value)
        if isinstance(value, str) and (value.startswith("=") or value in error_codes):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            value = cell
        cells.append(value)
    return cells


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
    lines = []
    if header is not None:
        lines.append(writer.writerow(header)[:-2] + "\n")
    for n, row in enumerate(rows, start=1):
        lines.append(writer.writerow([csv_cell(v) for v in row])[:-2] + "\n")
        if n % CHUNK_ROWS == 0:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _copy_available() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


# --------------------------------------------------------------------------- study data


def control_group(study, codes: Iterable[str] | None = None) -> str | None:
    """The study's control group code; else its first group (with data, when given)."""
    groups = list(study.groups.order_by("order", "code").values_list("code", "is_control"))
    available = set(codes) if codes is not None else {c for c, _ in groups}
    for code, is_control in groups:
        if is_control and code in available:
            return code
    for code, _ in groups:
        if code in available:
            return code
    return None


def baseline_label(study, labels: Iterable[str] | None = None) -> str | None:
    rows = list(study.timepoints.order_by("day").values_list("label", "is_baseline"))
    available = set(labels) if labels is not None else {label for label, _ in rows}
    for label, is_baseline in rows:
        if is_baseline and label in available:
            return label
    for label, _ in rows:
        if label in available:
            return label
    return None


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

    # derived frames ----------------------------------------------------------
    @cached_property
    def sessions(self) -> pd.DataFrame:
        return frames.session_frame(self.study, method=self.method)

    @cached_property
    def group_order(self) -> dict[str, int]:
        codes = self.study.groups.order_by("order", "code").values_list("code", flat=True)
        return {code: i for i, code in enumerate(codes)}

    def long(self, value: str) -> pd.DataFrame:
        """The stats input in study group order, then day and animal, as the dashboard
        orders it, so the statistics rows come out in the same order on both."""
        frame = frames.analysis_frame(self.sessions, value)
        rank = frame["group"].map(self.group_order).fillna(len(self.group_order))
        ordered = frame.assign(_rank=rank).sort_values(["_rank", "day", "animal"], kind="stable")
        return ordered.drop(columns="_rank").reset_index(drop=True)

    @cached_property
    def design(self) -> tuple[str | None, str | None]:
        long = self.long("threshold_g")
        control = control_group(self.study, long["group"].unique())
        baseline = baseline_label(self.study, long["timepoint"].unique())
        return control, baseline

    @cached_property
    def statistics(self) -> pd.DataFrame:
        control, baseline = self.design
        parts = []
        for value, label in OUTCOMES:
            long = self.long(value)
            if long.empty or control is None or baseline is None:
                self.notes.append(f"statistics on {label} not computed: no usable data")
                continue
            try:
                labels = set(long["timepoint"].tolist())
                result = stats.study_statistics(
                    long,
                    baseline=baseline,
                    control_group=control,
                    alpha=self.study.alpha,
                    posthoc=self.study.posthoc,
                    pairs=[p for p in self.study.chosen_pairs() if set(p) <= labels],
                )
            except ValueError as error:
                self.notes.append(f"statistics on {label} not computed: {error}")
                continue
            result["note"] = _flag_legacy(result, frames.usable(self.sessions, value))
            result["outcome"] = value
            parts.append(result)
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
        }[what]

    def rows(self, what: str) -> Iterator[tuple]:
        if what not in TABLE_KEYS:
            raise ValueError(f"unknown export '{what}'; one of {', '.join(TABLE_KEYS)}")
        return getattr(self, f"_rows_{what}")()

    def csv_chunks(self, what: str) -> Iterator[str]:
        if what == "stimuli" and _copy_available():
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
            elif name == "withdrew":
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
        thr = stats.group_summary(self.long("threshold_g"))
        if thr.empty:
            return pd.DataFrame(columns=SUMMARY_COLUMNS)
        mpe = stats.group_summary(self.long("pct_mpe"))
        mpe = mpe[["group", "timepoint", "mean", "sem"]].rename(
            columns={"mean": "mpe_mean", "sem": "mpe_sem"}
        )
        table = thr.merge(mpe, on=["group", "timepoint"], how="left")
        sessions = self.sessions
        legacy = sessions[
            (sessions["source"] == SOURCE_LEGACY)
            & (sessions["group"] != "")
            & sessions["threshold_g"].notna()
        ]
        counts = legacy.groupby(["group", "timepoint"])["animal"].nunique()
        keys = zip(table["group"], table["timepoint"], strict=True)
        table["n_legacy"] = [int(counts.get(key, 0)) for key in keys]
        table["_order"] = table["group"].map(self.group_order).fillna(len(self.group_order))
        table = table.sort_values(["_order", "day"], kind="stable")
        return table[SUMMARY_COLUMNS].reset_index(drop=True)

    def _rows_stats(self) -> Iterator[tuple]:
        yield from self.statistics.itertuples(index=False, name=None)

    def _rows_auc(self) -> Iterator[tuple]:
        yield from self.auc().itertuples(index=False, name=None)

    def auc(self) -> pd.DataFrame:
        """`stats.auc_per_animal` of thresholds, then of %MPE: the values the `auc_*` rows
        of the stats export compare, in study group order, then animal."""
        parts = []
        for value, _label in OUTCOMES:
            long = self.long(value)
            if long.empty:
                continue
            aucs = stats.auc_per_animal(long)
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
                _order=aucs["group"].map(self.group_order).fillna(len(self.group_order)),
            )
            parts.append(aucs.sort_values(["_order", "animal"], kind="stable")[AUC_COLUMNS])
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
        cut = f"{self.study.cutoff_g:g}"
        days = self.sessions.drop_duplicates("timepoint").set_index("timepoint")["day"]
        legacy = int((self.sessions["source"] == SOURCE_LEGACY).sum()) if len(self.sessions) else 0
        flag = f"; includes {legacy} imported thresholds (legacy_thresholds)" if legacy else ""
        for value, label in OUTCOMES:
            wide = frames.wide_frame(self.sessions, value)
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
            for tp in wide.columns:
                row: list = [tp]
                for group, codes in animals.items():
                    cells = [prism_cell(wide.at[(group, a), tp], value, self.method) for a in codes]
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
        from animals.models import DoseAdministration

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
            )
        )
        for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
            row = list(row)
            row[1] = row[1] or ""
            row[10] = row[10] or ""
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

    def _rows_audit_log(self) -> Iterator[tuple]:
        streams = [_history_rows(name, qs) for name, qs in _history_sources(self.study)]
        for _key, row in heapq.merge(*streams, key=lambda item: item[0]):
            yield row

    # package -----------------------------------------------------------------
    def write_workbook(self, target: IO[bytes]) -> None:
        """One sheet per table (plus README and methods), typed cells, via openpyxl."""
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        about = book.create_sheet("README")
        for line in self.readme_text().splitlines():
            about.append(excel_row(about, [line]))
        methods = book.create_sheet("methods")
        for line in self.methods_text().splitlines():
            methods.append(excel_row(methods, [line]))
        for spec in TABLES:
            sheet = book.create_sheet(spec.key)
            header = self.header(spec.key)
            written = 0
            if header is not None:
                sheet.append(excel_row(sheet, header))
                written = 1
            rows = self.rows(spec.key)
            for row in rows:
                if written >= EXCEL_MAX_ROWS - 1:
                    more = 1 + sum(1 for _ in rows)
                    sheet.append([f"… {more} more rows: Excel's row limit; see the CSV file"])
                    break
                sheet.append(excel_row(sheet, row))
                written += 1
        book.save(target)

    def write_package(self, target: IO[bytes]) -> list[str]:
        """The publication package: README, methods, every table as CSV, the workbook."""
        folder = self.stem
        names = []
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for spec in TABLES:
                name = self.file_name(spec.key)
                with archive.open(_entry(f"{folder}/{name}"), "w") as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                    self.write_csv(spec.key, text)
                    text.flush()
                    text.detach()
                names.append(name)
            with tempfile.TemporaryFile() as book:
                self.write_workbook(book)
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
        sessions = self.sessions
        legacy = int((sessions["source"] == SOURCE_LEGACY).sum()) if len(sessions) else 0
        return {
            "sessions": int((sessions["source"] == SOURCE_STIMULI).sum()) if len(sessions) else 0,
            "stimuli": int(sessions["n_stimuli"].sum()) if len(sessions) else 0,
            "legacy": legacy,
        }

    def methods_text(self) -> str:
        return methods_paragraph(self)

    def readme_text(self, files: list[str] | None = None) -> str:
        return readme(self, files or [])


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=timezone.localtime().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


# --------------------------------------------------------------------------- audit log


def _history_sources(study) -> list[tuple[str, object]]:
    from animals import models as animal_models
    from labstudy import models as study_models
    from sessions import models as session_models

    by_study = ("TreatmentGroup", "Phase", "Timepoint", "Membership", "Animal", "Allocation")
    by_animal = (
        "Surgery",
        "BodyWeight",
        "DoseAdministration",
        "Observation",
        "TestSession",
        "LegacyThreshold",
    )
    sources = [("Study", study_models.Study.history.filter(id=study.pk))]
    for name in by_study:
        model = getattr(study_models, name, None) or getattr(animal_models, name, None)
        if model is not None and hasattr(model, "history"):
            sources.append((name, model.history.filter(study_id=study.pk)))
    for name in by_animal:
        model = getattr(animal_models, name, None) or getattr(session_models, name, None)
        if model is not None and hasattr(model, "history"):
            sources.append((name, model.history.filter(animal__study_id=study.pk)))
    sources.append(
        ("Stimulus", session_models.Stimulus.history.filter(session__animal__study_id=study.pk))
    )
    return sources


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _history_rows(name: str, queryset) -> Iterator[tuple]:
    model = queryset.model
    fields = [
        f.attname
        for f in model._meta.concrete_fields
        if not f.name.startswith("history_") and f.attname != "id"
    ]
    values = queryset.order_by("history_date", "history_id").values_list(
        "history_date", "id", "history_type", "history_user__username", "history_change_reason",
        *fields,
    )  # fmt: skip
    for when, pk, kind, user, reason, *record in values.iterator(chunk_size=ITERATOR_CHUNK):
        text = "; ".join(f"{f}={_cell_text(v)}" for f, v in zip(fields, record, strict=True))
        yield (when, name, pk), (when, name, pk, _ACTIONS.get(kind, kind), user or "", reason, text)


# --------------------------------------------------------------------------- dictionary


def dictionary_entries(study) -> list[tuple[str, str, str, str]]:
    cut = f"{study.cutoff_g:g}"
    entries = [
        ("(every table)", "(text cells)", "", GUARD_NOTE),
        ("stimuli", "animal", "", "animal ID, unique within the study"),
        ("stimuli", "group", "", "treatment group code (empty before allocation)"),
        ("stimuli", "timepoint", "", "timepoint label, e.g. T0"),
        ("stimuli", "day", "study day", "days after day 0 (surgery)"),
        ("stimuli", "paw", "", "right or left hind paw"),
        ("stimuli", "order", "", "1 for the first filament applied in the session"),
        ("stimuli", "filament_size", "evaluator size", "log10(10 x force in mg), as on the handle"),
        ("stimuli", "filament_g", "g", "nominal bending force of the filament"),
        ("stimuli", "response", "0/1", "1 = paw withdrawal (X), 0 = no withdrawal (O)"),
        ("stimuli", "tested_at", "ISO 8601 date-time", "when the filament was applied"),
        ("stimuli", "tester", "", "user who ran the session"),
        ("stimuli", "cage", "", "cage of the animal"),
        ("stimuli", "sex", "", "male or female"),
        ("stimuli", "session", "", "session id in this database (not stable across systems)"),
        ("stimuli", "animal_status", "", "active, excluded, died or euthanised; excluded "
         "animals are left out of the statistics (kept when the file is imported)"),
        ("thresholds", "animal", "", "animal ID"),
        ("thresholds", "group", "", "treatment group code"),
        ("thresholds", "timepoint", "", "timepoint label"),
        ("thresholds", "day", "study day", "days after day 0"),
        ("thresholds", "method", "", "threshold method: target_force (lowest withdrawal; "
         "older files say first_response), up_down (Chaplan 50 %) or sudo"),
        ("thresholds", "threshold_g", "g", f"withdrawal threshold; {cut} g = cut-off"),
        ("thresholds", "status", "", "ok, cutoff_high (no withdrawal up to the top filament: "
         "cut-off given), cutoff_low (withdrawal at the lowest filament), incomplete"),
        ("thresholds", "pattern", "X/O", "the series used: X = withdrawal, O = none"),
        ("thresholds", "pct_mpe", "%", f"(threshold - baseline) / ({cut} - baseline) x 100, "
         "baseline = the animal's own baseline-timepoint threshold on the same paw"),
        ("thresholds", "paw", "", "right or left hind paw"),
        ("thresholds", "n_stimuli", "", "filament applications used for the threshold"),
        ("thresholds", "source", "", "stimuli (computed from the raw responses) or "
         "legacy_thresholds (imported from a spreadsheet without the responses)"),
        ("thresholds", "reason", "", "why the status is not ok, or where an imported value "
         "came from"),
        ("thresholds", "mpe_reason", "", "why pct_mpe is empty (no baseline threshold, baseline "
         f"at the {cut} g cut-off, no threshold at this timepoint); empty when it has a value"),
        ("summary", "group", "", "treatment group code"),
        ("summary", "timepoint", "", "timepoint label"),
        ("summary", "day", "study day", "days after day 0"),
        ("summary", "n", "animals", "animals with a threshold"),
        ("summary", "mean", "g", "mean threshold"),
        ("summary", "sd", "g", "standard deviation (n - 1)"),
        ("summary", "sem", "g", "standard error of the mean, SD / sqrt(n)"),
        ("summary", "median", "g", "median threshold"),
        ("summary", "q1", "g", "first quartile (R quantile type 7)"),
        ("summary", "q3", "g", "third quartile (R quantile type 7)"),
        ("summary", "mpe_mean", "%", "mean %MPE"),
        ("summary", "mpe_sem", "%", "SEM of %MPE"),
        ("summary", "n_legacy", "animals", "of n, thresholds imported without stimuli "
         "(legacy_thresholds)"),
        ("stats", "test", "", "friedman, nemenyi_friedman, wilcoxon, rm_anova(_gg/_hf), "
         "mauchly, mixed_anova(_gg/_hf), kruskal, nemenyi_kruskal, dunn_kruskal, "
         "mann_whitney, auc_*, mixed_model (docs/statistics.md)"),
        ("stats", "group", "", "set for tests within one group across timepoints"),
        ("stats", "timepoint", "", "set for tests between groups at one timepoint"),
        ("stats", "a", "", "pairwise rows: the first of the two compared (or the ANOVA effect)"),
        ("stats", "b", "", "pairwise rows: the reference (baseline timepoint or control group)"),
        ("stats", "statistic", "", "test statistic (chi-squared, q, z, F, V, W)"),
        ("stats", "df", "", "degrees of freedom (numerator for F)"),
        ("stats", "p", "", "p-value"),
        ("stats", "p_adj", "", "p-value to compare with alpha (adjusted where the test is)"),
        ("stats", "n", "animals", "animals in the test"),
        ("stats", "note", "", "caveats: ties, all equal, animals dropped or kept; 'includes "
         "N imported thresholds without stimuli (legacy)' when the test took in "
         "legacy_thresholds values"),
        ("stats", "sentence", "", "the result as a sentence"),
        ("stats", "df2", "", "denominator degrees of freedom of F"),
        ("stats", "epsilon", "", "Greenhouse-Geisser or Huynh-Feldt epsilon"),
        ("stats", "role", "", "vs baseline, vs first treated, chosen pair, vs control"),
        ("stats", "dropped", "", "animals left out for a missing timepoint"),
        ("stats", "outcome", "", "threshold_g or pct_mpe: which values were tested"),
        ("auc", "animal", "", "animal ID"),
        ("auc", "group", "", "treatment group code"),
        ("auc", "outcome", "", "threshold_g or pct_mpe: the values under the curve"),
        ("auc", "auc", "g·day or %·day", "area under the animal's time course, trapezoid rule "
         "over study days from from_day to to_day; empty when the animal misses a timepoint"),
        ("auc", "unit", "", "g·day (thresholds) or %·day (%MPE)"),
        ("auc", "from_timepoint", "", "first timepoint with data in the study"),
        ("auc", "to_timepoint", "", "last timepoint with data in the study"),
        ("auc", "from_day", "study day", "day of from_timepoint"),
        ("auc", "to_day", "study day", "day of to_timepoint"),
        ("auc", "complete", "true/false", "the animal has a value at every timepoint of the "
         "span, so it has an AUC and is in the auc_* tests of the stats table"),
        ("prism", "(block)", "", "one Prism grouped table per outcome (threshold g, %MPE): a "
         "title line and a blank line, then the table to copy: a row of group titles (each "
         "spanning one subcolumn per animal; smaller groups end in empty subcolumns), then "
         "one row per timepoint, titled in the first column; after a blank line, the days "
         "of the rows and the animal of each subcolumn. Target forces as on the filament "
         "set, computed thresholds to 3 significant figures, %MPE to 0.1"),
        ("dictionary", "table", "", "export the column belongs to"),
        ("dictionary", "column", "", "column name"),
        ("dictionary", "unit", "", "unit of the values"),
        ("dictionary", "meaning", "", "what the column holds"),
        ("doses", "animal", "", "animal ID"),
        ("doses", "group", "", "treatment group code"),
        ("doses", "study_day", "study day", "planned day of the dose"),
        ("doses", "scheduled_date", "ISO date", "planned date"),
        ("doses", "planned_dose_mg_kg", "mg/kg", "the group's dose"),
        ("doses", "dose_mg_kg", "mg/kg", "dose recorded for this administration"),
        ("doses", "volume_ml", "ml", "volume injected"),
        ("doses", "route", "", "i.p., s.c., p.o., i.v."),
        ("doses", "status", "", "scheduled, given, missed, refused, voided"),
        ("doses", "given_at", "ISO 8601 date-time", "when it was given"),
        ("doses", "given_by", "", "user who gave it"),
        ("doses", "reason", "", "why a dose was missed, refused or voided"),
        ("weights", "animal", "", "animal ID"),
        ("weights", "group", "", "treatment group code"),
        ("weights", "date", "ISO date", "date weighed"),
        ("weights", "day", "study day", "days after day 0"),
        ("weights", "grams", "g", "body weight"),
        ("observations", "animal", "", "animal ID"),
        ("observations", "group", "", "treatment group code"),
        ("observations", "date", "ISO date", "date observed"),
        ("observations", "day", "study day", "days after day 0"),
        ("observations", "kind", "", "adverse_event, clinical_sign or note"),
        ("observations", "term", "", "what was observed, e.g. hematuria"),
        ("observations", "severity", "", "mild, moderate, severe (empty if not graded)"),
        ("observations", "notes", "", "free text"),
        ("audit_log", "when", "ISO 8601 date-time", "when the change was saved"),
        ("audit_log", "model", "", "kind of record (Stimulus, TestSession, Animal, ...)"),
        ("audit_log", "object_id", "", "record id in this database"),
        ("audit_log", "action", "", "created, changed or deleted"),
        ("audit_log", "user", "", "who made the change"),
        ("audit_log", "reason", "", "reason given (void reason, import file, sign-off)"),
        ("audit_log", "record", "", "the record's fields after the change"),
    ]  # fmt: skip
    return entries


# --------------------------------------------------------------------------- texts


def software_versions() -> dict[str, str]:
    versions = {"Python": platform.python_version()}
    for name, dist in (
        ("labstudy", None),
        ("Django", "Django"),
        ("pandas", "pandas"),
        ("NumPy", "numpy"),
        ("SciPy", "scipy"),
        ("scikit-posthocs", "scikit-posthocs"),
        ("statsmodels", "statsmodels"),
    ):
        if dist is None:
            versions[name] = _labstudy_version()
            continue
        try:
            versions[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = "?"
    return versions


def _labstudy_version() -> str:
    import tomllib
    from pathlib import Path

    try:
        path = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return tomllib.loads(path.read_text())["project"]["version"]
    except (OSError, KeyError, ValueError):
        return "?"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _method_sentence(study, method: str, filaments) -> str:
    cut = f"{study.cutoff_g:g}"
    if method == "first_response":
        return (
            "The withdrawal threshold was the target force: the force of the lowest filament "
            "that elicited a paw withdrawal anywhere in the series (not the first "
            f"withdrawal), or the cut-off of {cut} g when no filament did."
        )
    delta = thresholds.mean_log_step(filaments)
    if method == "up_down":
        return (
            "The 50 % withdrawal threshold was calculated as 10^(Xf + k·δ)/10 000 g "
            "(Chaplan et al. 1994), where Xf is the evaluator size of the last filament, k "
            "Dixon's tabulated value for the pattern of responses (Dixon 1980) and δ the mean "
            f"step between filaments ({delta:.3f} log units); the series ended six responses "
            f"after the first change of response. Estimates above {cut} g were set to the "
            "cut-off."
        )
    return (
        "The threshold was estimated by the simplified up-down method (SUDO; Bonin et al. "
        "2014): five stimuli, the threshold read from the fifth filament moved half a step "
        f"down after a withdrawal and up after none (cut-off {cut} g)."
    )


def _posthoc_sentence(posthoc: str) -> str:
    if posthoc == "dunn_holm":
        return "Dunn's test with Holm correction"
    return (
        "the Nemenyi test with the studentized-range distribution (as "
        "PMCMRplus::kwAllPairsNemenyiTest)"
    )


def methods_paragraph(export: StudyExport) -> str:
    """The statistics-and-methods paragraph with this study's numbers filled in."""
    study = export.study
    fset = study.filament_set
    filaments = frames.filaments_of(study)
    sessions = export.sessions
    counts = export.counts()
    control, baseline = export.design
    groups = []
    allocated = sessions.drop_duplicates("animal")
    n_by_group = allocated[allocated["group"] != ""].groupby("group")["animal"].nunique()
    for code, name in study.groups.order_by("order", "code").values_list("code", "name"):
        groups.append(f"{name} ({code}, n = {int(n_by_group.get(code, 0))})")
    tps = list(study.timepoints.order_by("day").values_list("label", "day"))
    n_animals = int(sessions["animal"].nunique()) if len(sessions) else 0
    paw = {"right": "right hind paw", "left": "left hind paw", "both": "both hind paws"}[
        study.paw_tested
    ]
    start = next((f for f in filaments if f.size == study.start_filament), None)
    sex = {"male": "male", "female": "female", "mixed": "male and female"}[study.sex]
    species = f"{study.strain} {study.species}".strip()
    parts = [
        f"Mechanical withdrawal thresholds were measured with von Frey filaments ({fset.name}; "
        f"{len(filaments)} filaments, evaluator sizes {filaments[0].size}–{filaments[-1].size}, "
        f"{filaments[0].grams:g}–{filaments[-1].grams:g} g) applied to the plantar surface of "
        f"the {paw}.",
        "Testing started with filament "
        + (f"{start.size} ({start.grams:g} g)" if start else study.start_filament)
        + "; after a withdrawal the next lower filament and after no withdrawal the next "
        "higher one was applied (Dixon's up-down stepping).",
        _method_sentence(study, export.method, filaments),
    ]
    if baseline:
        parts.append(
            "The maximum possible effect was calculated per animal as %MPE = (post-treatment "
            f"threshold − baseline threshold) / ({study.cutoff_g:g} g − baseline threshold) × "
            f"100, with the animal's own {baseline} threshold as baseline."
        )
    parts.append(
        f"{n_animals} {sex} {species}s were studied"
        + (f" in {len(groups)} groups: {_join(groups)}." if groups else ".")
    )
    if tps:
        listing = _join([f"{label} (day {day})" for label, day in tps])
        parts.append(f"Thresholds were measured at {len(tps)} timepoints: {listing}.")
    parts.append(
        f"{counts['sessions']} test sessions with {counts['stimuli']} filament applications "
        "were analysed."
    )
    if counts["legacy"]:
        parts.append(
            f"{counts['legacy']} thresholds were imported from spreadsheets that did not "
            "record the individual responses; they are flagged 'legacy_thresholds' in the data."
        )
    parts.append("Group values are given as mean ± SEM.")
    alpha = f"{study.alpha:g}"
    parts.append(
        "Within each group, thresholds were compared across timepoints with the Friedman "
        "test followed, where significant, by the Nemenyi test (as "
        "PMCMRplus::frdAllPairsNemenyiTest), and with repeated-measures ANOVA "
        "(Greenhouse–Geisser and Huynh–Feldt corrections after Mauchly's test of "
        "sphericity). Between groups, each timepoint was tested with the Kruskal–Wallis test "
        f"followed, where significant, by {_posthoc_sentence(study.posthoc)}"
        + (f", comparing each group with {control}." if control else ".")
        + " A linear mixed model with a random intercept per animal was fitted as well, "
        "because it keeps animals with a missing timepoint."
    )
    dropped = _dropped_animals(export.statistics)
    if dropped:
        parts.append(
            "Animals left out of the Friedman test and ANOVA for a missing timepoint: "
            f"{', '.join(dropped)}."
        )
    parts.append(f"Differences were considered significant at p < {alpha}.")
    versions = software_versions()
    listing = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "labstudy")
    parts.append(f"Analyses were computed with labstudy {versions['labstudy']} ({listing}).")
    title = f"Methods — {study.title} ({study.slug})"
    body = " ".join(parts)
    return f"{title}\n\n{_wrap(body)}\n"


def _dropped_animals(statistics: pd.DataFrame) -> list[str]:
    if statistics.empty or "dropped" not in statistics:
        return []
    names: set[str] = set()
    for text in statistics["dropped"].dropna():
        names.update(a.strip() for a in str(text).split(",") if a.strip())
    return sorted(names)


def _wrap(text: str, width: int = 88) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width=width))


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
