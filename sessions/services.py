"""Writes for von Frey sessions: start a session, record a tap, undo, void.

Every function runs in one transaction. `record_stimulus` is idempotent on the tablet's
client UUID so a tap re-sent after a dropped connection is stored once.
"""

import datetime as dt
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_migrate
from django.utils import timezone

from analysis import thresholds
from animals.models import Animal
from animals.selectors import dose_given_on
from labstudy.locks import lock_timepoint
from labstudy.models import Study, Timepoint
from labstudy.voiding import AlreadyVoided, void_reason, void_record
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


@dataclass(frozen=True)
class FilamentTable:
    """A filament set as the bench needs it: engine specs plus size <-> row id maps."""

    specs: tuple[thresholds.Filament, ...]
    id_by_size: dict[str, int]
    size_by_id: dict[int, str]

    def id_of(self, size: str) -> int | None:
        """The row id of a size; "6.1" matches "6.10" as in the threshold engine."""
        found = self.id_by_size.get(size)
        if found is None:
            try:
                wanted = float(size)
            except (TypeError, ValueError):
                return None
            found = next((i for s, i in self.id_by_size.items() if float(s) == wanted), None)
        return found


# Filament sets are immutable once made (by the data migration or `stoelting_set`), so
# each process reads a set once. A flush (tests) empties the cache via post_migrate.
_FILAMENT_TABLES: dict[int, FilamentTable] = {}


def _clear_filament_cache(**_kwargs) -> None:
    _FILAMENT_TABLES.clear()


post_migrate.connect(_clear_filament_cache, dispatch_uid="vf_sessions_filament_cache")


def filament_table(filament_set_id: int) -> FilamentTable:
    """The cached table of one filament set (one query the first time in a process)."""
    table = _FILAMENT_TABLES.get(filament_set_id)
    if table is None:
        rows = list(
            Filament.objects.filter(filament_set_id=filament_set_id)
            .order_by("order")
            .values_list("pk", "size", "grams")
        )
        table = FilamentTable(
            specs=tuple(thresholds.Filament(size=size, grams=grams) for _pk, size, grams in rows),
            id_by_size={size: pk for pk, size, _grams in rows},
            size_by_id={pk: size for pk, size, _grams in rows},
        )
        if rows:
            _FILAMENT_TABLES[filament_set_id] = table
    return table


def filament_specs(filament_set: FilamentSet) -> tuple[thresholds.Filament, ...]:
    """The set as the pure threshold engine sees it, in order."""
    return filament_table(filament_set.pk).specs


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
    """The live session for animal × timepoint × paw, created when there is none.

    Two requests may both find none and both create one (a tablet re-sending the first
    tap of a series while the original is still in flight): the partial unique index
    lets one win, and the other returns the winner's session instead of failing.
    """
    return _start_session(animal=animal, timepoint=timepoint, paw=paw, user=user)


def _start_session(
    *,
    animal: Animal,
    timepoint: Timepoint,
    paw: str,
    user: AbstractBaseUser | None,
    none_live: bool = False,
) -> TestSession:
    """start_session's body, for a caller already in a transaction (no savepoint of its
    own: on an error the caller's transaction is rolled back whole). `none_live`: the
    caller has just looked for a live session in this transaction and found none, so
    the first look is skipped (the one after the timepoint's lock is still made)."""
    if animal.study_id != timepoint.study_id:
        raise ValidationError({"timepoint": "The timepoint belongs to another study."})
    _check_can_start(animal, timepoint)
    live = TestSession.objects.filter(animal=animal, timepoint=timepoint, paw=paw).exclude(
        status=TestSession.Status.VOIDED
    )
    session = None if none_live else live.first()
    if session is None:
        # A sign-off committed since the caller read the timepoint must win: lock the
        # row sign-off locks, then look again. (Only when creating: a tap locks session
        # then timepoint, and taking them in the other order here for an existing
        # session could deadlock with another tablet's tap.)
        timepoint.locked_at = lock_timepoint(timepoint.pk).locked_at
        _check_can_start(animal, timepoint)
        session = live.first()
    if session is None:
        now = timezone.now()
        try:
            with transaction.atomic():  # a savepoint, so the outer transaction survives
                session = TestSession(
                    animal=animal,
                    timepoint=timepoint,
                    paw=paw,
                    method=animal.study.threshold_method,
                    tester=user,
                    created_by=user,
                    tested_at=now,
                    minutes_after_dose=_minutes_after_dose(animal, timepoint, now),
                )
                session._history_user = user  # the audit trail names them outside a request too
                session.save(force_insert=True)
        except IntegrityError:
            session = live.first()
            if session is None:
                raise
    return session


def _minutes_after_dose(animal: Animal, timepoint: Timepoint, now: dt.datetime) -> int | None:
    """Minutes since the animal's injection on the test day (a day with both dosing and
    testing), or None when it had none before now."""
    dose = dose_given_on(animal.pk, animal.study.date_of_day(timepoint.day))
    if dose is None or dose.given_at > now:
        return None
    return int((now - dose.given_at).total_seconds() // 60)


def _check_can_start(animal: Animal, timepoint: Timepoint) -> None:
    """Refuse a new session in a signed-off timepoint, a closed study, before its day, or
    after the day the animal died or was euthanised (its data end that day)."""
    study = animal.study
    _refuse_closed(timepoint, study)
    day = study.date_of_day(timepoint.day)
    if (ended := animal.ended_on) is not None and day > ended:
        raise ValidationError(
            {
                "animal": f"{animal.code} was marked {animal.get_status_display().lower()} "
                f"on {ended:%-d %b %Y}: no test session can be started for it at "
                f"{timepoint.label} ({day:%-d %b %Y}), after that day."
            }
        )
    if day > timezone.localdate():
        raise ValidationError(
            {
                "timepoint": f"{timepoint.label} is on {day:%-d %b %Y} (study day "
                f"{timepoint.day}); its sessions cannot be recorded before that day."
            }
        )


class TapConflict(ValidationError):
    """The session changed under the tablet: the tap or undo is refused, the server wins.

    `code` is "voided" (the session was voided), "locked" (timepoint signed off or study
    locked), "changed" (the series on the server is not the one the tablet extended) or
    "complete" (the series had already ended). The message says so in the lab's words.
    """

    def __init__(self, code: str, message: str):
        super().__init__({"session": [ValidationError(message, code=code)]})
        self.code = code
        self.message = message


UNCHECKED = object()
"""`expected_last` default: record without checking what the tablet last saw."""


@dataclass(frozen=True)
class SessionState:
    """A session with its stimuli, read in one query (two when it has none yet)."""

    session: TestSession
    rows: list[Stimulus]  # every stimulus, voided ones too, in order

    @property
    def live(self) -> list[Stimulus]:
        return [s for s in self.rows if not s.voided]

    def series(self, table: FilamentTable) -> list[tuple[str, bool]]:
        return [(table.size_by_id[s.filament_id], s.withdrew) for s in self.live]

    @property
    def last_order(self) -> int:
        return self.rows[-1].order if self.rows else 0


def session_state(
    session_pk: int, *, lock: bool = False, study: Study | None = None
) -> SessionState:
    """The session (with animal, study and timepoint) and all its stimuli: two queries.

    With `lock`, the session row is locked first, so the stimuli read next include every
    tap committed before ours (on PostgreSQL a locking read that had to wait would still
    see its old snapshot of the other tables, hence two statements). The second
    statement also takes a share lock on the timepoint's row and reads its `locked_at`
    afresh: a sign-off (which locks that row exclusively) either committed before, and
    is seen, or waits until this transaction ends. Taps share the lock, so tablets on
    one timepoint do not wait for each other.

    `study`, the request's study when the caller has it, is attached instead of read.
    """
    state, _ = _session_state(session_pk, lock=lock, study=study)
    return state


def _stimuli_sql(*, with_uuid: bool, share: bool) -> str:
    """The stimuli of a session (and any stimulus holding the tap's UUID), joined to the
    session's timepoint row so that one row comes back even when there are none, with
    the timepoint's `locked_at`; `share` locks that timepoint row FOR SHARE.

    Raw SQL because the ORM cannot lock one table of a query FOR SHARE.
    """
    qn = connection.ops.quote_name
    columns = ", ".join(f"s.{qn(f.column)}" for f in Stimulus._meta.concrete_fields)
    match = f"s.{qn('session_id')} = %s"
    if with_uuid:
        match += f" OR s.{qn('client_uuid')} = %s"
    sql = (
        f"SELECT {columns}, t.{qn('locked_at')} AS timepoint_locked_at "
        f"FROM {qn(Timepoint._meta.db_table)} t "
        f"LEFT JOIN {qn(Stimulus._meta.db_table)} s ON ({match}) "
        f"WHERE t.{qn('id')} = %s ORDER BY s.{qn('order')}"
    )
    return sql + " FOR SHARE OF t" if share else sql


def _session_state(
    session_pk: int,
    *,
    lock: bool,
    tap_uuid: uuid.UUID | None = None,
    study: Study | None = None,
) -> tuple[SessionState, Stimulus | None]:
    """As session_state; also finds a stimulus of another session holding `tap_uuid`
    (in the same query), so a UUID reused elsewhere is refused without an insert error.

    With `study` (the request's, read by study_access a moment before), the session's
    study is not read again: that join's 36 columns cost a tap about a millisecond of
    Python. Nothing orders a study's status against taps with a lock, so a read inside
    the transaction was no stronger a guarantee than the request's own."""
    sessions = TestSession.objects.select_related(
        "animal" if study is not None else "animal__study", "timepoint"
    )
    if lock:
        # Every locking read of a session takes the session's row, then (next statement)
        # its timepoint's: the same order everywhere, so no two writers deadlock.
        sessions = sessions.select_for_update(no_key=True, of=("self",))
    session = sessions.get(pk=session_pk)
    if study is not None and session.animal.study_id == study.pk:
        session.animal.study = session.timepoint.study = study
    share = lock and connection.features.has_select_for_update
    params: list = [session_pk]
    if tap_uuid is not None:
        uuid_field = Stimulus._meta.get_field("client_uuid")
        params.append(uuid_field.get_db_prep_value(tap_uuid, connection))
    params.append(session.timepoint_id)
    sql = _stimuli_sql(with_uuid=tap_uuid is not None, share=share)
    rows, elsewhere = [], None
    for row in Stimulus.objects.raw(sql, params):
        if share:  # read after the share lock: newer than the session query's
            session.timepoint.locked_at = row.timepoint_locked_at
        if row.pk is None:  # the timepoint's row alone: no stimuli
            continue
        if row.session_id == session_pk:
            row.session = session
            rows.append(row)
        else:
            elsewhere = row
    return SessionState(session, rows), elsewhere


Slot = tuple[int, int, str]
"""(animal pk, timepoint pk, paw): the animal x timepoint x paw a bench URL names."""


def _check_study(session: TestSession, study: Study | None, slot: Slot | None = None) -> None:
    """Refuse a session of another study, or of another animal, timepoint or paw than
    the `slot` the request was made for (a tablet posting a stale or foreign id)."""
    if study is not None and session.animal.study_id != study.pk:
        raise ValidationError({"session": "This session belongs to another study."})
    if slot is None:
        return
    animal_pk, timepoint_pk, paw = slot
    if (session.animal_id, session.timepoint_id, session.paw) != (animal_pk, timepoint_pk, paw):
        # The message does not say whose the session is: a blinded technician could map
        # session ids to animals and past timepoints with it.
        raise TapConflict(
            "wrong_session",
            f"Session {session.pk} is not the session of this screen's animal, timepoint "
            "and paw; nothing was recorded. Reload the page to continue this animal.",
        )


def check_writable(session: TestSession) -> None:
    """Raise TapConflict when nothing more may be recorded in this session."""
    if session.status == TestSession.Status.VOIDED:
        why = f" ({session.void_reason})" if session.void_reason else ""
        raise TapConflict(
            "voided", f"This session was voided{why}; nothing more can be recorded in it."
        )
    _refuse_closed(session.timepoint, session.animal.study)


def _refuse_closed(timepoint: Timepoint, study: Study) -> None:
    """TapConflict "locked" when the timepoint is signed off or the study closed."""
    refusal = timepoint.recording_refusal() or study.recording_refusal()
    if refusal:
        raise TapConflict("locked", refusal)


def suggested_filament(session: TestSession, series: list[tuple[str, bool]]) -> str | None:
    """What to apply next in this session (None when its series is complete)."""
    study = session.animal.study
    return thresholds.next_filament(
        series,
        filament_table(study.filament_set_id).specs,
        method=session.method,
        start=study.start_filament,
        **study.method_params,
    )


@dataclass(frozen=True)
class TapResult:
    stimulus: Stimulus
    created: bool
    state: SessionState | None = None


def tap_slot(
    *,
    study: Study,
    slot: Slot,
    session_pk: int | None,
    filament_size: str,
    withdrew: bool,
    client_uuid: uuid.UUID | str | None,
    user: AbstractBaseUser | None,
    note: str = "",
    expected_last: uuid.UUID | str | None | object = UNCHECKED,
    slot_objects: Callable[[], tuple[Animal, Timepoint]],
) -> TapResult:
    """The bench's tap on a slot (animal, timepoint, paw): into the session the tablet
    names; when it names none (it has not seen one yet), into the slot's live session;
    when there is none, the first tap starts one (start_session). One transaction, so a
    refused first tap leaves no empty session behind.

    `slot_objects()` gives the slot's animal and timepoint, read only when a session is
    started (the bench view answers a wrong address with 404 there).

    A tap into a session the tablet names (every tap after a series' first) is
    record_stimulus's own transaction; only the first tap, which may start the session,
    runs in an outer one. A savepoint around every tap would cost two more round trips
    to the database, a fifth of a tap's.
    """
    record = functools.partial(
        record_stimulus,
        filament_size=filament_size,
        withdrew=withdrew,
        client_uuid=client_uuid,
        user=user,
        note=note,
        expected_last=expected_last,
        study=study,
        slot=slot,
    )
    if session_pk is not None:
        return record(session=TestSession(pk=session_pk))
    animal_pk, timepoint_pk, paw = slot
    with transaction.atomic():  # a refused first tap leaves no empty session behind
        session = (
            TestSession.objects.filter(
                animal_id=animal_pk, timepoint_id=timepoint_pk, paw=paw, animal__study=study
            )
            .exclude(status=TestSession.Status.VOIDED)
            .first()
        )
        if session is None:
            animal, timepoint = slot_objects()
            # In this transaction: a refusal rolls it back whole, so no savepoint (two
            # round trips), and the live session was looked for just above.
            session = _start_session(
                animal=animal, timepoint=timepoint, paw=paw, user=user, none_live=True
            )
        return record(session=session)


def record_stimulus(
    *,
    session: TestSession,
    filament_size: str,
    withdrew: bool,
    client_uuid: uuid.UUID | str | None = None,
    user: AbstractBaseUser | None,
    is_override: bool = False,
    note: str = "",
    expected_last: uuid.UUID | str | None | object = UNCHECKED,
    study: Study | None = None,
    slot: Slot | None = None,
) -> TapResult:
    """Record one filament application; a repeated client UUID returns the stored tap.

    `expected_last` is the client UUID of the last live tap the tablet saw (None for
    none): when the server's series ends differently the tap is refused with
    TapConflict("changed") rather than appended to a series nobody looked at. A tap
    with a filament other than the suggested one is stored as an override.

    One transaction and at most five queries: the session with its study (locked), its
    stimuli with the timepoint's sign-off state (share-locked, so a sign-off cannot
    overtake the tap), the insert and its history row, and the session's status when
    the series ends. With
    `study`, a session of another study is refused before anything is written; with
    `slot` (the URL's animal, timepoint and paw), a session of another slot too.
    """
    client_uuid = uuid.UUID(str(client_uuid)) if client_uuid else uuid.uuid4()
    if not isinstance(withdrew, bool):
        raise ValidationError({"withdrew": "The response must be withdrawal or no response."})
    if expected_last not in (UNCHECKED, None):
        expected_last = uuid.UUID(str(expected_last))
    for attempt in range(2):
        try:
            return _record(
                session_pk=session.pk,
                filament_size=filament_size,
                withdrew=withdrew,
                client_uuid=client_uuid,
                user=user,
                is_override=is_override,
                note=note,
                expected_last=expected_last,
                study=study,
                slot=slot,
            )
        except IntegrityError:
            # A concurrent request stored the same UUID (or, on a database without row
            # locks, took this order number) between our read and our insert: look again.
            existing = Stimulus.objects.filter(client_uuid=client_uuid).first()
            if existing is not None:
                if existing.session_id != session.pk:
                    raise ValidationError(
                        {"client_uuid": "This tap belongs to another session."}
                    ) from None
                return TapResult(existing, created=False, state=session_state(session.pk))
            if attempt:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _record(
    *,
    session_pk: int,
    filament_size: str,
    withdrew: bool,
    client_uuid: uuid.UUID,
    user: AbstractBaseUser | None,
    is_override: bool,
    note: str,
    expected_last,
    study: Study | None,
    slot: Slot | None,
) -> TapResult:
    state, elsewhere = _session_state(session_pk, lock=True, tap_uuid=client_uuid, study=study)
    _check_study(state.session, study, slot)
    if elsewhere is not None:
        raise ValidationError({"client_uuid": "This tap belongs to another session."})
    for row in state.rows:
        if row.client_uuid == client_uuid:
            return TapResult(row, created=False, state=state)
    locked = state.session
    check_writable(locked)
    live = state.live
    if expected_last is not UNCHECKED:
        seen = live[-1].client_uuid if live else None
        if seen != expected_last:
            raise TapConflict(
                "changed",
                "The series on the server changed since this tablet last saw it "
                "(another device tapped or undid a tap); this tap was not recorded.",
            )
    study = locked.animal.study
    table = filament_table(study.filament_set_id)
    filament_id = table.id_of(filament_size)
    if filament_id is None:
        raise ValidationError(
            {"filament_size": f"Filament '{filament_size}' is not in the study's filament set."}
        )
    size = table.size_by_id[filament_id]
    series = state.series(table)
    suggested = suggested_filament(locked, series)
    if series and suggested is None:
        raise TapConflict("complete", "This series was already complete; the tap was not added.")
    stimulus = Stimulus(
        session=locked,
        order=state.last_order + 1,
        filament_id=filament_id,
        withdrew=withdrew,
        recorded_at=timezone.now(),
        recorded_by=user,
        client_uuid=client_uuid,
        is_override=is_override or size != suggested,
        note=note[:200],
    )
    stimulus._history_user = user  # the audit trail names them outside a request too
    stimulus.save(force_insert=True)
    state.rows.append(stimulus)
    _set_status(locked, state.series(table))
    return TapResult(stimulus, created=True, state=state)


def _set_status(session: TestSession, series: list[tuple[str, bool]]) -> None:
    """Keep the session's status in step with its series.

    The status is derived from the stimuli, whose every change is in their history, so
    it is written with a plain UPDATE and no history row of its own (that keeps a tap at
    five queries). Voiding a session is a decision and goes through save() and history.
    """
    done = bool(series) and suggested_filament(session, series) is None
    status = TestSession.Status.COMPLETE if done else TestSession.Status.IN_PROGRESS
    if session.status != status:
        session.status = status
        session.updated_at = timezone.now()
        TestSession.objects.filter(pk=session.pk).update(
            status=status, updated_at=session.updated_at
        )


UNDO_WINDOW = dt.timedelta(minutes=30)
"""How long after a tap the bench's Undo may void it; later corrections are voids with a
reason (the session's "Void session"), so a finished session cannot be unpicked tap by
tap weeks later."""


def undo_allowed(stimulus: Stimulus, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) - stimulus.recorded_at <= UNDO_WINDOW


@dataclass(frozen=True)
class UndoResult:
    stimulus: Stimulus | None  # the tap voided (or already voided), None when none was live
    state: SessionState


@transaction.atomic
def undo_tap(
    *,
    session: TestSession,
    user: AbstractBaseUser | None,
    reason: str = "undo",
    client_uuid: uuid.UUID | str | None = None,
    study: Study | None = None,
    slot: Slot | None = None,
) -> UndoResult:
    """Void the last live stimulus of a session; the bench's Undo. At most five queries.

    With `client_uuid` (the tap the tablet means to undo) the call is idempotent: an
    already voided tap is returned as it is, and a tap that is no longer the last live
    one raises TapConflict("changed"). The voided row stays, with its reason, in the
    database and in its history.
    """
    state = session_state(session.pk, lock=True, study=study)
    _check_study(state.session, study, slot)
    target = uuid.UUID(str(client_uuid)) if client_uuid else None
    if target is not None:
        row = next((s for s in state.rows if s.client_uuid == target), None)
        if row is None:
            raise TapConflict("changed", "That tap is not in this session; nothing was undone.")
        if row.voided:
            return UndoResult(row, state)
    check_writable(state.session)
    live = state.live
    if not live:
        return UndoResult(None, state)
    last = live[-1]
    if target is not None and last.client_uuid != target:
        raise TapConflict(
            "changed", "Other taps were recorded after that one on the server; nothing was undone."
        )
    if not undo_allowed(last):
        raise TapConflict(
            "stale",
            f"Undo is for a tap just made; this one was recorded at "
            f"{timezone.localtime(last.recorded_at):%d %b %H:%M}. To correct an older "
            "session, void it with a reason.",
        )
    last.voided = True
    last.void_reason = reason
    last._change_reason = reason
    last._history_user = user
    last.save(update_fields=["voided", "void_reason"])
    table = filament_table(state.session.animal.study.filament_set_id)
    _set_status(state.session, state.series(table))
    return UndoResult(last, state)


def undo_last_stimulus(
    *,
    session: TestSession,
    user: AbstractBaseUser | None,
    reason: str = "undo",
    client_uuid: uuid.UUID | str | None = None,
) -> Stimulus | None:
    """Void the last live stimulus of a session (kept, with its reason, in the audit trail)."""
    return undo_tap(session=session, user=user, reason=reason, client_uuid=client_uuid).stimulus


@transaction.atomic
def void_session(
    *,
    session: TestSession,
    user: AbstractBaseUser | None,
    reason: str,
    study: Study | None = None,
    slot: Slot | None = None,
) -> TestSession:
    """Void a whole session with a reason; its stimuli stay in the database.

    The session and its timepoint are locked and read again first, so a sign-off that
    committed meanwhile refuses the void; a session voided already keeps its reason.
    """
    missing = "Give the reason the session is voided."
    reason = void_reason(reason, missing=missing)
    locked = session_state(session.pk, lock=True, study=study).session
    _check_study(locked, study, slot)
    try:
        void_record(
            locked,
            by=user,
            reason=reason,
            what="This session",
            missing=missing,
            state={"status": TestSession.Status.VOIDED},
            check=lambda: check_writable(locked),
            locked=True,
        )
    except AlreadyVoided as refused:
        raise TapConflict(
            "voided", f"This session was {refused.text}; its reason is kept as it was."
        ) from None
    for name in ("status", "void_reason", "updated_at"):
        setattr(session, name, getattr(locked, name))
    return session
