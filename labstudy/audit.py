"""The audit trail: every reading of django-simple-history's historical tables.

Built on django-simple-history: every recorded-data model keeps a historical table.
This module turns consecutive historical records into one row per changed field (the
animal and session pages, through front.trails), streams a study's whole history (the
audit-log export), lists the study's unblinding events (the ARRIVE report) and says
when a record was voided. Reads only. Study core: it reads any model's history it is
handed, or finds the study's models in the app registry by label, and must not import
the recording apps' models (it finds them in the app registry by label, as the trails of
one animal or session and the study's history do).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

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
    reason is the record's `void_reason`.
    """
    start = None
    for past in record.history.select_related("history_user").order_by(
        "-history_date", "-history_id"
    ):
        if any(getattr(past, name) != value for name, value in voided.items()):
            break
        start = past
    reason = record.void_reason or "no reason"
    if start is None:
        return f"already voided (when and by whom is not recorded): {reason}"
    who = start.history_user.get_username() if start.history_user else "system"
    when = timezone.localtime(start.history_date)
    return f"already voided on {when:%d %b %Y %H:%M} by {who}: {reason}"


def _void_moments(history, key: str) -> dict[int, tuple[str, datetime]]:
    """{record id: (username, when)} of each record's latest change into the voided state,
    from its historical rows (read in one query)."""
    moments: dict[int, tuple[str, datetime]] = {}
    before: dict[int, bool] = {}
    rows = history.order_by(key, "history_date", "history_id").values_list(
        key, "history_date", "history_user__username", "voided_flag"
    )
    for record_id, when, who, voided in rows.iterator(chunk_size=5000):
        if voided and not before.get(record_id, False):
            moments[record_id] = (who or "system", when)
        before[record_id] = voided
    return moments


def stimulus_voids(study, *, animal=None) -> dict[int, tuple[str, datetime]]:
    """Who voided each voided stimulus (an Undo or a void) of the study, and when."""
    from django.db.models import F

    stimulus = _model("vf_sessions", "Stimulus")
    voided = stimulus.objects.filter(session__animal__study=study, voided=True)
    if animal is not None:
        voided = voided.filter(session__animal=animal)
    history = stimulus.history.filter(id__in=voided.values("pk")).annotate(voided_flag=F("voided"))
    return _void_moments(history, "id")


def session_voids(study, *, animal=None) -> dict[int, tuple[str, datetime]]:
    """Who voided each voided test session of the study, and when."""
    from django.db.models import BooleanField, Case, Value, When

    session = _model("vf_sessions", "TestSession")
    voided = session.objects.filter(animal__study=study, status="voided")
    if animal is not None:
        voided = voided.filter(animal=animal)
    history = session.history.filter(id__in=voided.values("pk")).annotate(
        voided_flag=Case(
            When(status="voided", then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
    return _void_moments(history, "id")


# ----------------------------------------------------------------------------- a study's history


class HistoryEntry(NamedTuple):
    """One historical record: the record's fields as they were after the change."""

    when: datetime
    model: str
    object_id: int
    action: str
    user: str | None
    reason: str | None
    fields: tuple[tuple[str, object], ...]


# The study and every record kept under it that has a history, as (app label, model,
# path from the model to the study's id). Models are found in the app registry, not
# imported: the study core must not import the recording apps (see the module docstring).
STUDY_HISTORY = (
    ("labstudy", "Study", "id"),
    ("labstudy", "TreatmentGroup", "study_id"),
    ("labstudy", "Phase", "study_id"),
    ("labstudy", "Timepoint", "study_id"),
    ("labstudy", "Membership", "study_id"),
    ("animals", "Animal", "study_id"),
    ("animals", "Allocation", "study_id"),
    ("animals", "Surgery", "animal__study_id"),
    ("animals", "BodyWeight", "animal__study_id"),
    ("animals", "DoseAdministration", "animal__study_id"),
    ("animals", "Observation", "animal__study_id"),
    ("vf_sessions", "TestSession", "animal__study_id"),
    ("vf_sessions", "LegacyThreshold", "animal__study_id"),
    ("vf_sessions", "Stimulus", "session__animal__study_id"),
)


def _study_history_sources(study) -> list[tuple[str, object]]:
    """(model name, historical queryset) of the study and every record kept under it."""
    from django.apps import apps

    sources = []
    for app_label, name, path in STUDY_HISTORY:
        try:
            model = apps.get_model(app_label, name)
        except LookupError:
            continue
        if hasattr(model, "history"):
            sources.append((name, model.history.filter(**{path: study.pk})))
    return sources


def _entries(name: str, queryset, chunk_size: int) -> Iterator[HistoryEntry]:
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
    for when, pk, kind, user, reason, *record in values.iterator(chunk_size=chunk_size):
        values = tuple(zip(fields, record, strict=True))
        yield HistoryEntry(when, name, pk, ACTIONS.get(kind, kind), user, reason, values)


def study_history(study, *, chunk_size: int = 5000) -> Iterator[HistoryEntry]:
    """Every historical record of the study and of everything recorded under it, oldest
    first (then by model name and record id), streamed from server-side cursors so
    memory stays flat however long the history."""
    streams = [_entries(name, qs, chunk_size) for name, qs in _study_history_sources(study)]
    yield from heapq.merge(*streams, key=lambda entry: (entry.when, entry.model, entry.object_id))


def unblinding_events(study) -> list[tuple[datetime, str | None, str]]:
    """(when, who, reason) of each change to the study saved with an "unblinded" reason,
    oldest first."""
    return list(
        study.history.filter(history_change_reason__startswith="unblinded")
        .order_by("history_date")
        .values_list("history_date", "history_user__username", "history_change_reason")
    )


def _model(app_label: str, name: str):
    from django.apps import apps

    return apps.get_model(app_label, name)


def animal_trail(animal) -> list[AuditRow]:
    """The animal and everything recorded about it (surgery, weights, doses, observations,
    sessions and their stimuli), newest first: the animal's history page."""
    code = animal.code
    session_model = _model("vf_sessions", "TestSession")
    sessions = {
        s.pk: s for s in session_model.objects.filter(animal=animal).select_related("timepoint")
    }

    def session_name(session_id) -> str:
        session = sessions.get(session_id)
        return f"{code} {session.timepoint.label} {session.paw}" if session else f"{code} session"

    def of(app_label: str, name: str, **filters):
        return _model(app_label, name).history.filter(**filters)

    return merged(
        rows_for(animal.history.all(), lambda r: f"animal {code}"),
        rows_for(
            of("animals", "Surgery", animal_id=animal.pk), lambda r: f"{code} surgery {r.date}"
        ),
        rows_for(
            of("animals", "BodyWeight", animal_id=animal.pk), lambda r: f"{code} weight {r.date}"
        ),
        rows_for(
            of("animals", "DoseAdministration", animal_id=animal.pk),
            lambda r: f"{code} dose day {r.study_day}",
        ),
        rows_for(
            of("animals", "Observation", animal_id=animal.pk),
            lambda r: f"{code} observation {r.date}",
        ),
        rows_for(
            of("vf_sessions", "TestSession", animal_id=animal.pk),
            lambda r: f"session {session_name(r.id)}",
        ),
        rows_for(
            of("vf_sessions", "Stimulus", session_id__in=list(sessions)),
            lambda r: f"{session_name(r.session_id)} stimulus #{r.order}",
        ),
    )


def session_trail(session) -> list[AuditRow]:
    """One test session and its stimuli, newest first: the session's history page."""
    name = f"{session.animal.code} {session.timepoint.label} {session.paw}"
    return merged(
        rows_for(session.history.all(), lambda r: f"session {name}"),
        rows_for(
            _model("vf_sessions", "Stimulus").history.filter(session_id=session.pk),
            lambda r: f"{name} stimulus #{r.order}",
        ),
    )


def membership_removals(study):
    """Past removals from the study's people, newest first, with who removed whom and why."""
    return (
        _model("labstudy", "Membership")
        .history.filter(study_id=study.pk, history_type="-")
        .select_related("user", "history_user")
        .order_by("-history_date")
    )
