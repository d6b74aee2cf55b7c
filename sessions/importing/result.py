"""What an import reports: each problem (line, column, message) and the result a dry run
or a write returns, with the summary lines the command and the preview page print.

Plain data and wording only: no reading of files, no queries, no writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis import thresholds
from labstudy.models import Study


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
