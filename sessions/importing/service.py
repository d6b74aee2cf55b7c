"""`import_study_csv`, the import's one entry point: read, parse and check the file
(reading only, outside any transaction), then, unless a dry run or on any error, check
what the study holds again under its lock and write, all in one transaction.

The `import_study` command and the import pages (sessions/import_views.py) call it the
same way. Nothing is written when any problem is found.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labstudy.models import Study, Timepoint
from sessions.importing.checks import (
    Plan,
    analysis_settings,
    check_against_study,
    check_pairs,
    check_rows,
    check_study_arguments,
    default_paw_for,
    settle_design,
)
from sessions.importing.checks import method_settings as checks_method_settings
from sessions.importing.parsing import Filaments, detect_kind, missing_columns, parse_rows
from sessions.importing.preview import describe, group_details
from sessions.importing.result import ImportResult, Problem
from sessions.importing.table import Table, read_table
from sessions.importing.writing import write_import
from sessions.services import stoelting_set


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
    method_settings: dict | None = None,
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
    `method_settings` gives a new ascending / percent-response study its
    ``applications_per_filament``, ``withdrawals_needed`` and ``method_filaments``.
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
    kind = detect_kind(table.header)
    result.kind = kind or ""
    header_problems = missing_columns(table.header, kind, _header_line(table))
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
        posthoc=posthoc, pairs=pairs, groups=groups, method_settings=method_settings,
    )  # fmt: skip
    if checked is None or dry_run:
        return result
    plan, analysis, filaments, details = checked
    try:
        with transaction.atomic():
            # The write is short; only what the study holds is checked again, under its
            # lock, in case it changed while the file was being checked.
            study = Study.objects.select_for_update().filter(slug=slug).first()
            errors = check_study_arguments(study, slug, title, method, cutoff_g)
            errors += analysis_settings(study, alpha, posthoc, pairs)[1]
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
                errors += check_against_study(study, plan, kind)
            if errors:
                result.errors = sorted(errors, key=lambda p: (p.line or 0, p.column))
                return result
            plan.study = study
            result.study = write_import(
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
    method_settings: dict | None = None,
) -> tuple[Plan, dict, Filaments, dict] | None:
    """Every check of the file against itself and the study, reading only. Fills in
    `result` (what would be created, notes, errors); None when there are errors."""
    study = Study.objects.filter(slug=slug).first()
    result.study_exists = study is not None
    errors = list(problems)
    errors += check_study_arguments(study, slug, title, method, cutoff_g)
    analysis, analysis_problems = analysis_settings(study, alpha, posthoc, pairs)
    errors += analysis_problems
    settings, settings_problems = checks_method_settings(study, method, method_settings)
    analysis.update(settings)
    errors += settings_problems
    if errors and any(p.line is None for p in errors):
        result.errors = errors
        return None
    result.method = study.threshold_method if study else (method or "first_response")
    result.cutoff_g = study.cutoff_g if study else (cutoff_g or 300.0)
    filament_set = study.filament_set if study else stoelting_set()
    filaments = Filaments(filament_set)
    default_paw, paw_note = default_paw_for(study, table.header)
    if default_paw is None and paw_note:
        errors.append(Problem(_header_line(table), "", paw_note))
    elif paw_note:
        result.notes.append(paw_note)
    rows, row_problems = parse_rows(table, kind, filaments, default_paw, result.method)
    errors += row_problems
    plan, cross = check_rows(rows, kind)
    errors += cross
    plan.study = study
    if study is not None:
        errors += check_against_study(study, plan, kind)
    errors += settle_design(plan, result, baseline=baseline, control=control, day0=day0)
    errors += check_pairs(analysis, plan, result)
    describe(result, table, plan, kind, study)
    details, detail_problems = group_details(groups or {}, result)
    errors += detail_problems
    if errors:
        result.errors = sorted(errors, key=lambda p: (p.line or 0, p.column))
        return None
    return plan, analysis, filaments, details


def _header_line(table: Table) -> int:
    return table.rows[0][0] - 1 if table.rows else 1
