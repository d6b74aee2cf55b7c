"""Writes for von Frey sessions: start a session, record a tap, undo, void.

Every function runs in one transaction. `record_stimulus` is idempotent on the tablet's
client UUID so a tap re-sent after a dropped connection is stored once.
"""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from analysis import thresholds
from animals.models import Animal
from labstudy.models import Timepoint
from sessions.models import Filament, FilamentSet, Stimulus, TestSession

STOELTING_SLUG = "stoelting-20"


def stoelting_set() -> FilamentSet:
    """The Stoelting 20-filament set (made by a data migration; rebuilt after a flush)."""
    fset, created = FilamentSet.objects.get_or_create(
        slug=STOELTING_SLUG,
        defaults={"name": "Stoelting 20-filament von Frey set", "manufacturer": "Stoelting"},
    )
    if created:
        Filament.objects.bulk_create(
            Filament(filament_set=fset, size=f.size, grams=f.grams, order=order)
            for order, f in enumerate(thresholds.STOELTING_20, start=1)
        )
    return fset


def filament_specs(filament_set: FilamentSet) -> tuple[thresholds.Filament, ...]:
    """The set as the pure threshold engine sees it, in order."""
    return tuple(
        thresholds.Filament(size=f.size, grams=f.grams)
        for f in filament_set.filaments.order_by("order")
    )


def live_series(session: TestSession) -> list[tuple[str, bool]]:
    """The non-voided stimuli of a session as (size, withdrew), in order."""
    return [
        (size, withdrew)
        for size, withdrew in session.stimuli.filter(voided=False)
        .order_by("order")
        .values_list("filament__size", "withdrew")
    ]


@transaction.atomic
def start_session(
    *, animal: Animal, timepoint: Timepoint, paw: str, user: AbstractBaseUser | None
) -> TestSession:
    """The live session for animal × timepoint × paw, created when there is none."""
    if animal.study_id != timepoint.study_id:
        raise ValidationError({"timepoint": "The timepoint belongs to another study."})
    session = (
        TestSession.objects.filter(animal=animal, timepoint=timepoint, paw=paw)
        .exclude(status=TestSession.Status.VOIDED)
        .first()
    )
    if session is None:
        session = TestSession.objects.create(
            animal=animal,
            timepoint=timepoint,
            paw=paw,
            method=animal.study.threshold_method,
            tester=user,
            created_by=user,
            tested_at=timezone.now(),
        )
    return session


@dataclass(frozen=True)
class TapResult:
    stimulus: Stimulus
    created: bool


@transaction.atomic
def record_stimulus(
    *,
    session: TestSession,
    filament_size: str,
    withdrew: bool,
    client_uuid: uuid.UUID | str | None = None,
    user: AbstractBaseUser | None,
    is_override: bool = False,
    note: str = "",
) -> TapResult:
    """Record one filament application; a repeated client UUID returns the stored tap."""
    client_uuid = uuid.UUID(str(client_uuid)) if client_uuid else uuid.uuid4()
    existing = Stimulus.objects.filter(client_uuid=client_uuid).first()
    if existing is not None:
        if existing.session_id != session.pk:
            raise ValidationError({"client_uuid": "This tap belongs to another session."})
        return TapResult(existing, created=False)
    if not isinstance(withdrew, bool):
        raise ValidationError({"withdrew": "The response must be withdrawal or no response."})
    locked = (
        TestSession.objects.select_for_update().select_related("animal__study").get(pk=session.pk)
    )
    if locked.status == TestSession.Status.VOIDED:
        raise ValidationError({"session": "This session was voided; nothing more can be recorded."})
    study = locked.animal.study
    try:
        filament = Filament.objects.get(filament_set_id=study.filament_set_id, size=filament_size)
    except Filament.DoesNotExist:
        raise ValidationError(
            {"filament_size": f"Filament '{filament_size}' is not in the study's filament set."}
        ) from None
    last = locked.stimuli.aggregate(m=Max("order"))["m"] or 0
    try:
        with transaction.atomic():
            stimulus = Stimulus.objects.create(
                session=locked,
                order=last + 1,
                filament=filament,
                withdrew=withdrew,
                recorded_at=timezone.now(),
                recorded_by=user,
                client_uuid=client_uuid,
                is_override=is_override,
                note=note[:200],
            )
    except IntegrityError:
        # Another request stored the same UUID between our check and insert.
        existing = Stimulus.objects.get(client_uuid=client_uuid)
        return TapResult(existing, created=False)
    _update_status(locked)
    return TapResult(stimulus, created=True)


def _update_status(session: TestSession) -> None:
    study = session.animal.study
    series = live_series(session)
    done = bool(series) and (
        thresholds.next_filament(
            series,
            filament_specs(study.filament_set),
            method=session.method,
            start=study.start_filament,
        )
        is None
    )
    status = TestSession.Status.COMPLETE if done else TestSession.Status.IN_PROGRESS
    if session.status != status:
        session.status = status
        session.save(update_fields=["status", "updated_at"])


@transaction.atomic
def undo_last_stimulus(
    *, session: TestSession, user: AbstractBaseUser | None, reason: str = "undo"
) -> Stimulus | None:
    """Void the last live stimulus of a session (kept, with its reason, in the audit trail)."""
    locked = (
        TestSession.objects.select_for_update().select_related("animal__study").get(pk=session.pk)
    )
    last = locked.stimuli.filter(voided=False).order_by("-order").first()
    if last is None:
        return None
    last.voided = True
    last.void_reason = reason
    last._change_reason = reason
    last.save(update_fields=["voided", "void_reason"])
    _update_status(locked)
    return last


@transaction.atomic
def void_session(
    *, session: TestSession, user: AbstractBaseUser | None, reason: str
) -> TestSession:
    """Void a whole session with a reason; its stimuli stay in the database."""
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason the session is voided."})
    session.status = TestSession.Status.VOIDED
    session.void_reason = reason.strip()
    session._change_reason = reason.strip()
    session.save(update_fields=["status", "void_reason", "updated_at"])
    return session
