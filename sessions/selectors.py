"""Reads that feed the bench screens: the day's von Frey list and one session's panel.

Nothing here writes. Pages built from these reads never name a treatment group, drug or
dose: the bench works with animal codes, cages, timepoints and filaments only.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from itertools import takewhile

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from analysis import thresholds
from animals.models import Animal
from animals.ordering import bench_order
from animals.selectors import since_label
from labstudy.models import BLOCK_METHODS, Study, ThresholdMethod, Timepoint
from sessions.forms import NOTE_PICKS
from sessions.models import TestSession
from sessions.services import (
    FilamentTable,
    SessionState,
    filament_table,
    suggested_filament,
    undo_allowed,
)


def grams_label(grams: float | None) -> str:
    """Grams the way the bench reads them: 0.008, 2, 4.32, 21.6, 300."""
    if grams is None:
        return ""
    if grams >= 10:
        return f"{grams:.1f}".rstrip("0").rstrip(".")
    return f"{grams:.3g}"


def paw_label(paw: str) -> str:
    return TestSession.Paw(paw).label


def session_url(study: Study, animal_pk: int, timepoint_pk: int, paw: str) -> str:
    return reverse("bench_session", args=[study.slug, animal_pk, timepoint_pk, paw])


@dataclass(frozen=True)
class BenchSlot:
    """One von Frey session due: animal x timepoint x paw, and how far it got."""

    animal: Animal
    timepoint: Timepoint
    paw: str
    session: TestSession | None
    n_taps: int
    url: str

    @property
    def status(self) -> str:
        if self.session is None or (self.n_taps == 0 and self.session.status != "complete"):
            return "todo"
        return "done" if self.session.status == TestSession.Status.COMPLETE else "in_progress"

    @property
    def paw_label(self) -> str:
        return paw_label(self.paw)

    @property
    def key(self) -> str:
        return f"{self.animal.pk}/{self.timepoint.pk}/{self.paw}"


@dataclass(frozen=True)
class BenchDay:
    date: dt.date
    study_day: int
    timepoints: list[Timepoint]
    slots: list[BenchSlot]
    next_timepoint: Timepoint | None

    def count(self, status: str) -> int:
        return sum(1 for s in self.slots if s.status == status)

    @property
    def done(self) -> int:
        return self.count("done")

    @property
    def left(self) -> int:
        return len(self.slots) - self.done

    @property
    def in_progress(self) -> int:
        return self.count("in_progress")


def bench_day(study: Study, date: dt.date) -> BenchDay:
    """The von Frey sessions due on `date`, in bench order; four queries."""
    day = study.day_of_date(date)
    timepoints = list(study.timepoints.filter(day=day))
    slots: list[BenchSlot] = []
    if timepoints:
        animals = bench_order(
            study, list(Animal.objects.filter(study=study, status=Animal.Status.ACTIVE)), day
        )
        sessions = {
            (s.animal_id, s.timepoint_id, s.paw): s
            for s in TestSession.objects.filter(timepoint__in=timepoints)
            .exclude(status=TestSession.Status.VOIDED)
            .annotate(n_taps=Count("stimuli", filter=Q(stimuli__voided=False)))
        }
        for tp in timepoints:
            for animal in animals:
                for paw in study.paws:
                    session = sessions.get((animal.pk, tp.pk, paw))
                    slots.append(
                        BenchSlot(
                            animal=animal,
                            timepoint=tp,
                            paw=paw,
                            session=session,
                            n_taps=session.n_taps if session else 0,
                            url=session_url(study, animal.pk, tp.pk, paw),
                        )
                    )
    next_tp = study.timepoints.filter(day__gt=day).order_by("day").first()
    return BenchDay(date, day, timepoints, slots, next_tp)


def live_session(study: Study, animal_pk: int, timepoint_pk: int, paw: str) -> TestSession | None:
    return (
        TestSession.objects.filter(
            animal_id=animal_pk, timepoint_id=timepoint_pk, paw=paw, animal__study=study
        )
        .exclude(status=TestSession.Status.VOIDED)
        .first()
    )


def last_voided_session(
    study: Study, animal_pk: int, timepoint_pk: int, paw: str
) -> TestSession | None:
    return (
        TestSession.objects.filter(
            animal_id=animal_pk,
            timepoint_id=timepoint_pk,
            paw=paw,
            animal__study=study,
            status=TestSession.Status.VOIDED,
        )
        .order_by("-updated_at")
        .first()
    )


# ---------------------------------------------------------------------------
# One session's panel


RESULT_STATUS = {
    "ok": "OK",
    "cutoff_high": "at the cut-off (no withdrawal low enough)",
    "cutoff_low": "withdrew at the lowest filament",
    "incomplete": "incomplete",
}


@dataclass(frozen=True)
class Chip:
    order: int
    size: str
    grams: float
    withdrew: bool
    is_override: bool
    note: str
    client_uuid: str

    @property
    def grams_label(self) -> str:
        return grams_label(self.grams)


@dataclass(frozen=True)
class Panel:
    """Everything the guided session screen shows, from one session state."""

    study: Study
    animal: Animal
    timepoint: Timepoint
    paw: str
    session: TestSession | None
    method: str
    chips: list[Chip]
    next_size: str | None
    next_grams: float | None
    result: thresholds.Threshold | None
    table: FilamentTable
    conflict: dict | None = None
    voided_notice: str = ""
    urls: dict = field(default_factory=dict)
    can_undo: bool = False  # the last live tap is recent enough for Undo (UNDO_WINDOW)
    dose_given_at: dt.datetime | None = None  # the animal's injection on the test day
    # When the series shown was read (time.time()), for a page that only reads: stamped
    # before its read, so a copy that missed a tap committed meanwhile is older than that
    # tap's answer (the tablet keeps the newest state it has seen). None: stamped when
    # drawn, for the answer to a tap or undo, drawn after its commit.
    read_at: float | None = None

    @property
    def dose_note(self) -> str:
        """The time since the animal's injection, on a day with both dosing and testing."""
        minutes = self.session.minutes_after_dose if self.session else None
        given = self.dose_given_at
        at = f" (given at {timezone.localtime(given):%H:%M})" if given else ""
        if minutes is not None:
            return f"Session started {since_label(minutes)} after today's injection{at}."
        if given is None:
            return ""
        if self.session is not None and self.session.tested_at and given > self.session.tested_at:
            return f"Injected at {timezone.localtime(given):%H:%M}, after this session started."
        ago = int((timezone.now() - given).total_seconds() // 60)
        return f"Injected today at {timezone.localtime(given):%H:%M}, {since_label(ago)} ago."

    @property
    def complete(self) -> bool:
        return bool(self.chips) and self.next_size is None

    @property
    def paw_label(self) -> str:
        return paw_label(self.paw)

    @property
    def method_label(self) -> str:
        return ThresholdMethod(self.method).label

    @property
    def block_rule(self) -> str:
        """The rule of an ascending / percent-response series, as the technician reads it."""
        if self.method not in BLOCK_METHODS:
            return ""
        n, k = self.study.method_applications, self.study.method_withdrawals
        if self.method == "ascending":
            times = "once" if n == 1 else f"up to {n} times"
            return (
                f"Ascending: each filament {times}, lowest first; the first filament with "
                f"{k} withdrawal{'s' if k != 1 else ''} of {n} ends the series."
            )
        return f"Percent response: every filament {n} times, lowest first."

    @property
    def application_label(self) -> str:
        """Which application of the suggested filament comes next: "Application 2 of 5"."""
        if self.method not in BLOCK_METHODS or not self.next_size:
            return ""
        sizes = [c.size for c in self.chips]
        if self.method == "ascending":  # the run of this filament at the end
            done = sum(1 for _ in takewhile(lambda s: s == self.next_size, reversed(sizes)))
        else:
            done = sizes.count(self.next_size)
        return f"Application {done + 1} of {self.study.method_applications}"

    @property
    def result_status_label(self) -> str:
        return RESULT_STATUS.get(self.result.status, self.result.status) if self.result else ""

    @property
    def note_picks(self) -> tuple[str, ...]:
        return NOTE_PICKS

    @property
    def fresh_uuid(self) -> str:
        """A new tap UUID for the form (used when the page's script is not running)."""
        return str(uuid.uuid4())

    @property
    def last_uuid(self) -> str:
        return self.chips[-1].client_uuid if self.chips else ""

    @property
    def filaments(self) -> list[tuple[str, str]]:
        """(size, grams label) for the 'different filament' picker."""
        return [(f.size, grams_label(f.grams)) for f in self.table.specs]

    @property
    def next_grams_label(self) -> str:
        return grams_label(self.next_grams)

    @property
    def result_grams_label(self) -> str:
        return grams_label(self.result.grams) if self.result else ""

    @property
    def key(self) -> str:
        return f"{self.study.slug}/{self.animal.pk}/{self.timepoint.pk}/{self.paw}"

    def state(self) -> dict:
        """What the tablet's script needs to keep guiding offline (no treatment data)."""
        return {
            "key": self.key,
            "session": self.session.pk if self.session else None,
            "status": self.session.status if self.session else "new",
            "series": [
                {
                    "uuid": c.client_uuid,
                    "size": c.size,
                    "withdrew": c.withdrew,
                    "override": c.is_override,
                    "note": c.note,
                }
                for c in self.chips
            ],
            "conflict": self.conflict,
            "can_undo": self.can_undo,
            "rendered_at": self.read_at if self.read_at is not None else time.time(),
        }


def panel(
    study: Study,
    *,
    animal: Animal,
    timepoint: Timepoint,
    paw: str,
    state: SessionState | None,
    conflict: dict | None = None,
    voided_notice: str = "",
    dose_given_at: dt.datetime | None = None,
    read_at: float | None = None,
) -> Panel:
    """The panel for a session state (or a session not started yet); no queries.

    `read_at`: when a page that only reads took the time before reading `state` (see
    Panel.read_at)."""
    table = filament_table(study.filament_set_id)
    grams = {f.size: f.grams for f in table.specs}
    session = state.session if state else None
    method = session.method if session else study.threshold_method
    chips = (
        [
            Chip(
                order=s.order,
                size=table.size_by_id[s.filament_id],
                grams=grams[table.size_by_id[s.filament_id]],
                withdrew=s.withdrew,
                is_override=s.is_override,
                note=s.note,
                client_uuid=str(s.client_uuid),
            )
            for s in state.live
        ]
        if state
        else []
    )
    series = [(c.size, c.withdrew) for c in chips]
    if session is not None:
        next_size = suggested_filament(session, series)
    else:
        next_size = thresholds.next_filament(
            [], table.specs, method=method, start=study.start_filament, **study.method_params
        )
    result = (
        thresholds.compute_threshold(
            series, table.specs, method=method, cutoff_g=study.cutoff_g, **study.method_params
        )
        if series
        else None
    )
    args = [study.slug, animal.pk, timepoint.pk, paw]
    live = state.live if state else []
    return Panel(
        read_at=read_at,
        can_undo=bool(live) and undo_allowed(live[-1]),
        study=study,
        animal=animal,
        timepoint=timepoint,
        paw=paw,
        session=session,
        method=method,
        chips=chips,
        next_size=next_size,
        next_grams=grams.get(next_size) if next_size else None,
        result=result,
        table=table,
        conflict=conflict,
        voided_notice=voided_notice,
        dose_given_at=dose_given_at,
        urls={
            "tap": reverse("bench_tap", args=args),
            "undo": reverse("bench_undo", args=args),
            "void": reverse("bench_void", args=args),
            "next": reverse("bench_next", args=args),
            "page": reverse("bench_session", args=args),
        },
    )
