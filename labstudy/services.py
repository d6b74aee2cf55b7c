"""Writes that shape a study: creating one from a template, saving its settings and its
set-up rows (groups, phases, timepoints), adding animals in bulk.

Each function validates everything first and writes in one transaction, so a refused
request leaves the database as it was.
"""

import datetime as dt
import functools
import random
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import asdict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from animals import services as animal_services
from animals.models import Animal
from labstudy.models import (
    Membership,
    PasswordRecheckFailure,
    Phase,
    Role,
    Study,
    Timepoint,
    TreatmentGroup,
)
from labstudy.study_templates import TEMPLATES
from labstudy.validators import code_problem, shown
from sessions.services import lock_timepoint, stoelting_set


@transaction.atomic
def create_study(
    *,
    template_key: str,
    slug: str,
    title: str,
    day0_date: dt.date,
    user: AbstractBaseUser | None,
    **fields,
) -> Study:
    """Create a study, its groups, phases and timepoints from a template.

    The creating user becomes the study's data manager. Groups get their solution letters
    in a random order drawn from `letter_seed` (random unless given), so "A" is not the
    control in every study.
    """
    try:
        template = TEMPLATES[template_key]
    except KeyError:
        raise ValidationError({"template": f"Unknown study template '{template_key}'."}) from None
    values = {**template.study, **fields}
    if "filament_set" not in values:
        values["filament_set"] = stoelting_set()
    values.setdefault("letter_seed", secrets.randbelow(2**31))
    study = Study(slug=slug, title=title, day0_date=day0_date, created_by=user, **values)
    study.full_clean()
    study.save()
    letters = solution_letters(seed=study.letter_seed, count=len(template.groups))
    for order, (spec, letter) in enumerate(zip(template.groups, letters, strict=True), start=1):
        group = TreatmentGroup(study=study, order=order, **{**asdict(spec), "coded_letter": letter})
        group.full_clean()
        group.save()
    for spec in template.phases:
        phase = Phase(study=study, **asdict(spec))
        phase.full_clean()
        phase.save()
    for order, spec in enumerate(template.timepoints, start=1):
        timepoint = Timepoint(study=study, order=order, **asdict(spec))
        timepoint.full_clean()
        timepoint.save()
    if user is not None and not user.is_superuser:
        Membership.objects.create(user=user, study=study, role=Role.DATA_MANAGER, created_by=user)
    return study


@transaction.atomic
def save_study_settings(
    *, study: Study, user: AbstractBaseUser | None, reason: str, day0_moved: bool = False
) -> Study:
    """Save the study's settings (validated by the caller's form) with `reason` in its
    history; when Day 0 moved, every dose keeps its calendar date and takes that date's
    study day (animals.services.restate_dose_days), in the same transaction."""
    study._change_reason = reason or None
    study._history_user = user
    study.save()
    if day0_moved:
        animal_services.restate_dose_days(study=study, user=user, reason=reason)
    return study


SetupRow = TreatmentGroup | Phase | Timepoint


@transaction.atomic
def save_setup_rows(
    *, rows: Sequence[SetupRow], user: AbstractBaseUser | None, reason: str
) -> list[SetupRow]:
    """Save the set-up rows a page changed (one study's groups, phases or timepoints,
    validated by the caller's formset) in one transaction: all or none. Each row's
    history keeps `reason` (none when it is empty, as in planning)."""
    for row in rows:
        row._change_reason = reason or None
        row._history_user = user
        row.save()
    return list(rows)


def solution_letters(*, seed: int, count: int) -> list[str]:
    """The coded letters for `count` groups in template order: a seeded shuffle of A, B, ...

    The same seed always gives the same letters, so a study's coding can be re-derived
    from its stored `letter_seed`.
    """
    letters = list(string.ascii_uppercase[:count])
    random.Random(seed).shuffle(letters)
    return letters


_SPLIT = re.compile(r"\s*[\t,;]\s*")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AGE_WEEKS = re.compile(r"^(\d+)\s*(?:w|wk|wks|week|weeks)?\.?$", re.IGNORECASE)
MAX_AGE_WEEKS = 200
BORN_COLUMN = "column 4 (date of birth or age)"


def parse_birth(text: str, *, today: dt.date) -> dict:
    """The optional 4th column: a date of birth (YYYY-MM-DD) or an age at arrival in whole
    weeks ('8', '8 wk', '8 weeks'). Returns the Animal fields to set; raises ValueError
    with the reason, which the caller prefixes with the line and column."""
    text = text.strip()
    if not text:
        return {}
    if _ISO_DATE.match(text):
        try:
            born = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a real date") from None
        if born > today:
            raise ValueError(f"date of birth {text} is in the future")
        return {"date_of_birth": born}
    age = _AGE_WEEKS.match(text)
    if age is None:
        raise ValueError(
            f"'{text}' is neither a date of birth (YYYY-MM-DD, e.g. 2026-06-15) "
            "nor an age in whole weeks (e.g. 8 wk)"
        )
    weeks = int(age.group(1))
    if not 1 <= weeks <= MAX_AGE_WEEKS:
        raise ValueError(f"age {weeks} weeks is outside 1–{MAX_AGE_WEEKS} weeks")
    return {"age_at_arrival_weeks": weeks}


# Column titles a spreadsheet's header row carries; a pasted line made of them is a header,
# not an animal called "Animal".
_HEADER_WORDS = {
    "animal", "animals", "animal id", "animal_id", "animal code", "animal_code", "id", "code",
    "rat", "rat id", "mouse", "mouse id", "subject", "subject id", "ear tag", "tag",
    "cage", "cage id", "cage no", "cage number", "box",
    "sex", "gender",
    "dob", "date of birth", "birth date", "birthdate", "born", "age", "age (weeks)",
    "age (wk)", "age in weeks", "age on arrival", "weeks",
}  # fmt: skip


_HEADER_CHARS = re.compile(r"[^a-z ()_]")


def _looks_like_header(parts: list[str]) -> bool:
    cells = [_HEADER_CHARS.sub("", p.lower()).strip() for p in parts if p.strip()]
    return (
        bool(cells)
        and cells[0] in _HEADER_WORDS
        and (len(cells) == 1 or any(cell in _HEADER_WORDS for cell in cells[1:]))
    )


def parse_animal_lines(text: str) -> list[dict]:
    """Parse pasted lines 'code[, cage[, sex[, date of birth or age]]]' (tab, comma or
    semicolon separated).

    Blank lines are skipped; every problem is reported with its line number.
    """
    rows, errors = [], []
    seen: dict[str, int] = {}
    today = timezone.localdate()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = _SPLIT.split(line)
        if _looks_like_header(parts):
            titles = ", ".join(p.strip() for p in parts if p.strip())
            errors.append(
                f"line {number} looks like a header row ({titles}): remove it or keep it "
                "out of the selection"
            )
            continue
        code = parts[0].strip()
        cage = parts[1].strip() if len(parts) > 1 else ""
        sex = parts[2].strip().lower() if len(parts) > 2 else ""
        if len(parts) > 4:
            errors.append(
                f"line {number}: expected at most 4 values (code, cage, sex, date of birth "
                f"or age) but found {len(parts)}"
            )
            continue
        if not code:
            errors.append(f"line {number}: the animal code is empty")
            continue
        if len(code) > 30:
            errors.append(f"line {number}: animal code '{code[:30]}…' is longer than 30 characters")
            continue
        problem = code_problem(code, what="animal code")
        if problem:
            errors.append(f"line {number}, animal code '{shown(code)}': {problem}")
            continue
        if len(cage) > 30:
            errors.append(f"line {number}: cage '{cage[:30]}…' is longer than 30 characters")
            continue
        if sex and sex not in ("male", "female", "m", "f"):
            errors.append(f"line {number}: sex '{sex}' must be male or female")
            continue
        try:
            born = parse_birth(parts[3], today=today) if len(parts) > 3 else {}
        except ValueError as exc:
            errors.append(f"line {number}, {BORN_COLUMN}: {exc}")
            continue
        if code in seen:
            errors.append(f"line {number}: animal code '{code}' repeats line {seen[code]}")
            continue
        seen[code] = number
        rows.append(
            {
                "line": number,
                "code": code,
                "cage": cage,
                "sex": {"m": "male", "f": "female"}.get(sex, sex),
                **born,
            }
        )
    if errors:
        raise ValidationError({"codes": errors})
    if not rows:
        raise ValidationError({"codes": ["Paste at least one animal code."]})
    return rows


@transaction.atomic
def add_animals(*, study: Study, text: str, user: AbstractBaseUser | None) -> list[Animal]:
    """Add the animals pasted as text; all or nothing."""
    rows = parse_animal_lines(text)
    existing = set(
        Animal.objects.filter(study=study, code__in=[r["code"] for r in rows]).values_list(
            "code", flat=True
        )
    )
    clashes = [
        f"line {r['line']}: animal code '{r['code']}' already exists in this study"
        for r in rows
        if r["code"] in existing
    ]
    if clashes:
        raise ValidationError({"codes": clashes})
    default_sex = study.sex if study.sex in ("male", "female") else "male"
    animals = [
        Animal(
            study=study,
            code=r["code"],
            cage=r["cage"],
            sex=r["sex"] or default_sex,
            date_of_birth=r.get("date_of_birth"),
            age_at_arrival_weeks=r.get("age_at_arrival_weeks"),
            created_by=user,
        )
        for r in rows
    ]
    for animal in animals:
        animal.save()
    return animals


def _confirm_password(user: AbstractBaseUser, password: str) -> None:
    """Re-check the password for a signed action, throttled like sign-in: after
    AXES_FAILURE_LIMIT wrong passwords within AXES_COOLOFF_TIME hours, every re-check is
    refused (even with the right password) until the hour is over. Called outside the
    action's transaction, so a refused attempt stays counted."""
    limit = settings.AXES_FAILURE_LIMIT
    window = dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
    recent = PasswordRecheckFailure.objects.filter(user=user, failed_at__gt=timezone.now() - window)
    failures = list(recent.order_by("failed_at").values_list("failed_at", flat=True))
    if len(failures) >= limit:
        until = timezone.localtime(failures[-limit] + window)
        raise ValidationError(
            {
                "password": f"Too many wrong passwords: password confirmation is locked for "
                f"your account until {until:%H:%M}. Try again after that."
            }
        )
    if not user.check_password(password or ""):
        PasswordRecheckFailure.objects.create(user=user)
        left = limit - len(failures) - 1
        warning = f" {left} more wrong and it locks for an hour." if left <= 2 else ""
        raise ValidationError({"password": "That is not your password." + warning})
    # Like sign-in: a right password resets the count (and clears old failures).
    PasswordRecheckFailure.objects.filter(user=user).delete()


def _hold(timepoint: Timepoint) -> Timepoint:
    """Lock the timepoint's row and bring `timepoint` up to date from it.

    Taps, undos and voids share-lock the same row (sessions.services.session_state), so
    a sign-off waits for the taps in flight and every later tap sees `locked_at`
    (nothing is stored after it); two sign-offs, or a sign-off and a reopening, happen
    one after the other.
    """
    current = lock_timepoint(timepoint.pk)
    timepoint.locked_at, timepoint.locked_by_id = current.locked_at, current.locked_by_id
    return timepoint


def _rechecks_password(action):
    """Check the password before the action's transaction opens (see _confirm_password)."""

    @functools.wraps(action)
    def checked(*, user: AbstractBaseUser, password: str, **kwargs):
        _confirm_password(user, password)
        return action(user=user, password=password, **kwargs)

    return checked


@_rechecks_password
@transaction.atomic
def sign_off_timepoint(*, timepoint: Timepoint, user: AbstractBaseUser, password: str) -> Timepoint:
    """Lock a timepoint: its sessions and stimuli become read-only. Needs the password."""
    _hold(timepoint)
    if timepoint.is_locked:
        raise ValidationError({"timepoint": f"{timepoint.label} is already signed off."})
    timepoint.locked_at = timezone.now()  # after the lock: later than every stored tap
    timepoint.locked_by = user
    timepoint._change_reason = "signed off"
    timepoint._history_user = user
    timepoint.save(update_fields=["locked_at", "locked_by", "updated_at"])
    return timepoint


@_rechecks_password
@transaction.atomic
def unlock_timepoint(
    *, timepoint: Timepoint, user: AbstractBaseUser, password: str, reason: str
) -> Timepoint:
    """Reopen a signed-off timepoint; the reason is kept in its history."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Give the reason for reopening this timepoint."})
    _hold(timepoint)
    if not timepoint.is_locked:
        raise ValidationError({"timepoint": f"{timepoint.label} is not signed off."})
    timepoint.locked_at = None
    timepoint.locked_by = None
    timepoint._change_reason = f"unlocked: {reason.strip()}"
    timepoint._history_user = user
    timepoint.save(update_fields=["locked_at", "locked_by", "updated_at"])
    return timepoint


@_rechecks_password
@transaction.atomic
def unblind_study(*, study: Study, user: AbstractBaseUser, password: str, reason: str) -> Study:
    """Reveal the allocation to everyone on the study; audited with who, when and why."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Give the reason for unblinding."})
    if not study.blinded:
        raise ValidationError({"reason": "This study is not blinded."})
    study.blinded = False
    study._audited_unblinding = True  # the one route past Study._check_blinding
    study._change_reason = f"unblinded: {reason.strip()}"
    study._history_user = user
    study.save(update_fields=["blinded", "updated_at"])
    return study
