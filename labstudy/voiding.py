"""The one way a recorded row is voided: weights, doses, observations and sessions.

Nothing recorded is deleted: a wrong entry is voided with a reason. `void_record` is the
pattern every app's void service follows: the reason is required and fits its column,
the row is locked and read again, a second void is refused with when, by whom and why
the first happened (so the first reason is never overwritten), and the reason goes into
the record's history with the user. Each app keeps its own words (`missing`, `what`) and
its own checks (study open, timepoint signed off), passed in.

Must not: decide who may void (labstudy.access), nor know any app's models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models

from labstudy.audit import already_voided

VOID_REASON_MAX_CHARS = 300  # the void_reason columns hold 300 characters
VOIDED_FLAG: Mapping[str, object] = {"voided": True}

Record = TypeVar("Record", bound=models.Model)


class AlreadyVoided(ValidationError):
    """A second void, refused; `.text` is 'already voided on 03 Dec 2026 14:02 by tess:
    wrong rat', for a caller that words the refusal its own way."""

    def __init__(self, message: str, *, text: str) -> None:
        super().__init__(message)
        self.text = text


def void_reason(reason: str | None, *, missing: str) -> str:
    """The reason stripped; refused (under the form's "reason" field) when blank, with
    `missing` as the message, or longer than the column holds."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": missing})
    if len(reason) > VOID_REASON_MAX_CHARS:
        raise ValidationError(
            {
                "reason": f"The reason is {len(reason):,} characters; keep it to "
                f"{VOID_REASON_MAX_CHARS}. Nothing was voided."
            }
        )
    return reason


def void_record(
    record: Record,
    *,
    by: AbstractBaseUser | None,
    reason: str,
    what: str,
    missing: str,
    state: Mapping[str, object] = VOIDED_FLAG,
    check: Callable[[], None] | None = None,
    locked: bool = False,
) -> Record:
    """Void `record` with `reason`, once; call it inside the caller's transaction.

    `state` is the field values that mean voided ({"voided": True}, or a session's
    {"status": "voided"}); `void_reason` holds the reason. In order: the reason is
    checked (`missing` when blank); the row is locked and read again (unless the caller
    holds the lock: `locked`); a voided row is refused with AlreadyVoided ("{what} was
    already voided on ... by ...: reason."), so "already voided" is what a second tablet
    hears even once the study is locked; `check()` runs (the study is open, the timepoint
    not signed off); then the void is written with its reason in the history. Two voids
    at once queue on the lock and the second is refused. Returns `record`, updated.
    """
    reason = void_reason(reason, missing=missing)
    current = record if locked else type(record).objects.select_for_update().get(pk=record.pk)
    if all(getattr(current, name) == value for name, value in state.items()):
        text = already_voided(current, **state)
        raise AlreadyVoided(f"{what} was {text}.", text=text)
    if check is not None:
        check()
    for name, value in state.items():
        setattr(record, name, value)
    record.void_reason = reason
    record._change_reason = reason
    record._history_user = by
    fields = [*state, "void_reason"]
    if any(f.name == "updated_at" for f in record._meta.concrete_fields):
        fields.append("updated_at")
    record.save(update_fields=fields)
    return record
