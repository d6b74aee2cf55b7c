"""Checks of the parsed rows against each other, against the study and against the
options given (method, cut-off, analysis settings, baseline, control group, day 0).

Builds the `Plan` the writer follows, and adds to `ImportResult.notes` every decision the
file left open (baseline, control group, day 0) so the preview shows it. Reads only:
nothing here writes, so a dry run locks nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils import timezone

from analysis import thresholds
from animals.models import Animal
from labstudy.models import Study
from labstudy.pairs import bad_pair_message, parse_pairs, unknown_pair_timepoints
from sessions.importing.parsing import KIND_STIMULI, METHODS, Row, natural_key
from sessions.importing.result import ImportResult, Problem
from sessions.models import LegacyThreshold, TestSession
from sessions.services import stoelting_set

CONTROL_NAMES = re.compile(r"^(control|ctrl|vehicle|saline|sham)\b", re.IGNORECASE)


@dataclass
class Plan:
    study: Study | None
    rows: list[Row]
    groups: dict[str, int]  # code -> first line
    animals: dict[str, Row]  # code -> first row
    timepoints: dict[str, Row]  # label -> first row
    baseline: str | None
    control: str | None
    day0: dt.date | None
    testers: dict[str, AbstractBaseUser | None]


def check_rows(rows: list[Row], kind: str) -> tuple[Plan, list[Problem]]:
    problems: list[Problem] = []
    animals: dict[str, Row] = {}
    timepoints: dict[str, Row] = {}
    days: dict[int, Row] = {}
    groups: dict[str, int] = {}
    seen: dict[tuple, int] = {}
    session_tester: dict[tuple, Row] = {}
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
    plan = Plan(
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


def check_against_study(study: Study, plan: Plan, kind: str) -> list[Problem]:
    """Conflicts with what the study already holds: groups, days, allocations, sessions."""
    problems: list[Problem] = []
    closed = study.recording_refusal()  # locked or archived: as at the bench
    if closed:
        problems.append(Problem(None, "", closed))
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
    signed_off = {
        label: refusal for label, t in existing_tps.items() if (refusal := t.recording_refusal())
    }
    for row in plan.rows:
        if row.timepoint in signed_off:
            refusal = signed_off.pop(row.timepoint)  # once per timepoint, on its first line
            problems.append(
                Problem(row.line, "timepoint", f"{refusal} Reopen it before importing.")
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
    after_death: set[str] = set()  # one problem per animal, on its first such line
    for row in plan.rows:
        animal = animals.get(row.animal)
        ended = animal.ended_on if animal is not None else None
        if ended is None or row.animal in after_death:
            continue
        if (day := study.date_of_day(row.day)) > ended:
            after_death.add(row.animal)
            problems.append(
                Problem(
                    row.line,
                    "day",
                    f"animal {row.animal} was marked "
                    f"{animal.get_status_display().lower()} on {ended:%-d %b %Y} in this "
                    f"study; {row.timepoint} (day {row.day}, {day:%-d %b %Y}) comes after",
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


def check_study_arguments(
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


METHOD_SETTING_NAMES = {
    "applications_per_filament": "applications per filament",
    "withdrawals_needed": "withdrawals needed",
    "method_filaments": "filaments in use",
}


def method_settings(
    study: Study | None, method: str | None, given: dict | None
) -> tuple[dict, list[Problem]]:
    """Ascending / percent-response settings asked for (N, withdrawals needed, filaments
    in use) as Study field values for a new study, and what is wrong with them. An
    existing study keeps its own: a different value is refused (the settings page asks
    for a reason)."""
    given = {k: v for k, v in (given or {}).items() if v not in (None, "")}
    if not given:
        return {}, []
    if study is not None:
        problems = []
        for key, value in given.items():
            if str(getattr(study, key) or "") != str(value):
                problems.append(
                    Problem(
                        None,
                        "",
                        f"study '{study.slug}' has {METHOD_SETTING_NAMES[key]} "
                        f"'{getattr(study, key) or 'default'}', not '{value}'; change it in "
                        "the study settings first",
                    )
                )
        return {}, problems
    probe = Study(
        threshold_method=method or "first_response", filament_set=stoelting_set(), **given
    )
    try:
        for key in given:
            probe._meta.get_field(key).clean(getattr(probe, key), probe)
        probe._check_method_settings()
    except ValidationError as error:
        messages = (
            [m for ms in error.message_dict.values() for m in ms]
            if hasattr(error, "error_dict")
            else error.messages
        )
        return {}, [Problem(None, "", m) for m in messages]
    return {key: getattr(probe, key) for key in given}, []


def analysis_settings(
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


def check_pairs(analysis: dict, plan: Plan, result: ImportResult) -> list[Problem]:
    """Every timepoint of a chosen pair must be in the file (or the study already)."""
    known = set(plan.timepoints)
    if plan.study is not None:
        known |= set(plan.study.timepoints.values_list("label", flat=True))
    problems = []
    pairs = analysis.get("comparison_pairs", "")
    for item, missing in unknown_pair_timepoints(pairs, known):
        listing = ", ".join(sorted(known, key=natural_key)) or "none"
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
            **{k: (lambda v, n=name: f"{n} {v}") for k, name in METHOD_SETTING_NAMES.items()},
        }
        result.notes.append(
            "analysis settings of the study: " + ", ".join(shown[k](v) for k, v in analysis.items())
        )
    return problems


def default_paw_for(study: Study | None, header: list[str]) -> tuple[str | None, str]:
    if "paw" in header:
        return None, ""
    paw = study.paw_tested if study else "right"
    if paw not in ("right", "left"):
        return None, "missing required column 'paw' (the study tests both paws)"
    return paw, f"no paw column: every row is taken as the {paw} hind paw"


def settle_design(
    plan: Plan,
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
    result.file_groups = sorted(codes, key=natural_key)
    result.file_timepoints = [
        r.timepoint for r in sorted(plan.timepoints.values(), key=lambda r: r.day)
    ]
    result.control, result.baseline = plan.control or "", plan.baseline or ""
    result.control_fixed, result.baseline_fixed = has_control, existing_base is not None
    if study is None:
        plan.day0 = day0 or _day0_from_file(plan, result)
    return problems


def _day0_from_file(plan: Plan, result: ImportResult) -> dt.date:
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
