"""Writes that shape a study: creating one from a template, signing timepoints off,
unblinding. (Animals are added by animals.services.add_animals.)

Each function validates everything first and writes in one transaction, so a refused
request leaves the database as it was.
"""

import datetime as dt
import functools
import random
import secrets
import string
from dataclasses import asdict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from labstudy.locks import lock_timepoint
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
from sessions.services import stoelting_set


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


def solution_letters(*, seed: int, count: int) -> list[str]:
    """The coded letters for `count` groups in template order: a seeded shuffle of A, B, ...

    The same seed always gives the same letters, so a study's coding can be re-derived
    from its stored `letter_seed`.
    """
    letters = list(string.ascii_uppercase[:count])
    random.Random(seed).shuffle(letters)
    return letters


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
