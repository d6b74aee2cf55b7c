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

The package, one module per step, each importing only the ones above it:

* `result` — `Problem` and `ImportResult`, what every step reports;
* `table` — reading the table (CSV encodings and separators, .xlsx sheets);
* `parsing` — each row's values (codes, numbers, filaments, paws, statuses);
* `checks` — rows against each other, against the study and the options given;
* `preview` — what would be created, and the notes the preview shows;
* `writing` — the write, with history (`labstudy.bulk_history`);
* `service` — `import_study_csv`, which runs them: the one entry point.

Only the names below are the package's interface; import them from `sessions.importing`.
"""

from labstudy.bulk_history import BATCH_SIZE, insert_with_history
from sessions.importing.parsing import (
    ANIMAL_STATUSES,
    KIND_STIMULI,
    KIND_THRESHOLDS,
    METHODS,
    PAWS,
    SEXES,
    STATUSES,
    STIMULI_OPTIONAL,
    STIMULI_REQUIRED,
    THRESHOLDS_OPTIONAL,
    THRESHOLDS_REQUIRED,
)
from sessions.importing.preview import GROUP_FIELDS, IGNORED_KNOWN
from sessions.importing.result import ImportResult, Problem
from sessions.importing.service import import_study_csv
from sessions.importing.table import SAVE_AS, XLSX, Table, read_table, size_problem

__all__ = [
    "ANIMAL_STATUSES",
    "BATCH_SIZE",
    "GROUP_FIELDS",
    "IGNORED_KNOWN",
    "KIND_STIMULI",
    "KIND_THRESHOLDS",
    "METHODS",
    "PAWS",
    "SAVE_AS",
    "SEXES",
    "STATUSES",
    "STIMULI_OPTIONAL",
    "STIMULI_REQUIRED",
    "THRESHOLDS_OPTIONAL",
    "THRESHOLDS_REQUIRED",
    "XLSX",
    "ImportResult",
    "Problem",
    "Table",
    "import_study_csv",
    "insert_with_history",
    "read_table",
    "size_problem",
]
