"""The audit trail as people read it: who changed what, when, old value, new value, why.

Built on django-simple-history: every recorded-data model keeps a historical table;
this module turns consecutive historical records into one row per changed field.
Reads only. Study core: it reads any model's history it is handed and must not import the
recording apps' models; the trail of one animal or session (which gathers animals and
sessions) is front.trails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

IGNORED_FIELDS = {"updated_at", "created_at"}
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass(frozen=True)
class AuditRow:
    when: datetime
    who: str
    record: str
    action: str
    field: str
    old: str
    new: str
    reason: str


def _text(value) -> str:
    if value is None:
        return ""
    return str(value)


def rows_for(history_qs, describe) -> list[AuditRow]:
    """Rows for every historical record in `history_qs` (one model's history manager qs).

    `describe(record)` names the object in words, e.g. "R01 T3 stimulus #4".
    """
    rows: list[AuditRow] = []
    records = list(
        history_qs.select_related("history_user").order_by("id", "history_date", "history_id")
    )
    previous: dict = {}
    for record in records:
        key = record.id
        who = record.history_user.get_username() if record.history_user else "system"
        action = ACTIONS.get(record.history_type, record.history_type)
        reason = record.history_change_reason or ""
        prior = previous.get(key)
        if prior is None or record.history_type != "~":
            rows.append(
                AuditRow(record.history_date, who, describe(record), action, "", "", "", reason)
            )
        else:
            delta = record.diff_against(prior)
            for change in delta.changes:
                if change.field in IGNORED_FIELDS:
                    continue
                rows.append(
                    AuditRow(
                        record.history_date,
                        who,
                        describe(record),
                        action,
                        change.field,
                        _text(change.old),
                        _text(change.new),
                        reason,
                    )
                )
        previous[key] = record
    return rows


def merged(*groups: Iterable[AuditRow]) -> list[AuditRow]:
    """All rows, newest first."""
    return sorted((row for group in groups for row in group), key=lambda r: r.when, reverse=True)


def already_voided(record, **voided) -> str:
    """'already voided on 03 Dec 2026 14:02 by tess: wrong animal': when, by whom and why
    `record` was voided, for refusing a second void that would overwrite the reason.

    `voided` are the field values of the voided state (voided=True, or status="voided");
    the moment is the first historical record of the latest unbroken voided run. The
    reason is the record's `void_reason` (a dose keeps it in `reason`).
    """
    start = None
    for past in record.history.select_related("history_user").order_by(
        "-history_date", "-history_id"
    ):
        if any(getattr(past, name) != value for name, value in voided.items()):
            break
        start = past
    reason = getattr(record, "void_reason", None) or getattr(record, "reason", "") or "no reason"
    if start is None:
        return f"already voided (when and by whom is not recorded): {reason}"
    who = start.history_user.get_username() if start.history_user else "system"
    when = timezone.localtime(start.history_date)
    return f"already voided on {when:%d %b %Y %H:%M} by {who}: {reason}"
