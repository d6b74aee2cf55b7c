"""Reads for the pages that gather several apps: what the bench has to do today (home and
overview), the study's animals, and what a change of Day 0 or of timepoint days would move.

Reads only; nothing here writes.
"""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from animals.models import Animal, BodyWeight, DoseAdministration, Observation, Surgery
from animals.selectors import dose_sheet
from labstudy.models import Study, Timepoint
from sessions.models import TestSession


@dataclass(frozen=True)
class DueToday:
    date: dt.date
    study_day: int
    timepoints: list[Timepoint]
    sessions_due: int
    sessions_done: int
    sessions_in_progress: int
    doses_due: int
    doses_done: int

    @property
    def sessions_left(self) -> int:
        return self.sessions_due - self.sessions_done

    @property
    def doses_left(self) -> int:
        return self.doses_due - self.doses_done

    @property
    def anything(self) -> bool:
        return bool(self.sessions_due or self.doses_due)


def due_today(study: Study, today: dt.date) -> DueToday:
    """What the bench has to do on `today`: sessions at today's timepoints and doses."""
    day = study.day_of_date(today)
    timepoints = list(study.timepoints.filter(day=day))
    active = Animal.objects.filter(study=study, status=Animal.Status.ACTIVE)
    n_active = active.count()
    sessions_due = n_active * len(timepoints) * len(study.paws)
    counts = TestSession.objects.filter(timepoint__in=timepoints, animal__in=active).aggregate(
        done=Count("pk", filter=Q(status=TestSession.Status.COMPLETE)),
        progress=Count("pk", filter=Q(status=TestSession.Status.IN_PROGRESS)),
    )
    # The bench's worksheet decides what is due (dosed phases x injected groups).
    doses = dose_sheet(study, today)
    return DueToday(
        date=today,
        study_day=day,
        timepoints=timepoints,
        sessions_due=sessions_due,
        sessions_done=counts["done"],
        sessions_in_progress=counts["progress"],
        doses_due=doses.due,
        doses_done=doses.done,
    )


def animals_with_groups(study: Study):
    return Animal.objects.filter(study=study).select_related("group").order_by("cage", "code")


@dataclass(frozen=True)
class MovedDate:
    """Records of one calendar date touched by a change of Day 0 or of a timepoint's day.

    `off_day`: (timepoint label, its day after the change, whether that day changed,
    sessions of it recorded on this date) for every timepoint whose sessions of this date
    would no longer be on its day.
    """

    date: dt.date
    old_day: int
    new_day: int
    sessions: int
    doses: int
    weights: int
    observations: int
    surgeries: int
    off_day: tuple[tuple[str, int, bool, int], ...]

    @property
    def off_day_sessions(self) -> int:
        return sum(n for *_rest, n in self.off_day)

    @property
    def sentence(self) -> str:
        counts = _listing(
            [
                _count(self.sessions, "session"),
                _count(self.doses, "dose"),
                _count(self.weights, "weight"),
                _count(self.observations, "observation"),
                _count(self.surgeries, "surgery"),
            ]
        )
        when = f"{self.date.day} {self.date:%b %Y}"
        if self.new_day != self.old_day:
            text = f"{counts} recorded on {when} would fall on day {self.new_day}"
            text += f" (day {self.old_day} now)"
        else:
            text = f"{counts} recorded on {when} stay on day {self.old_day}"
        for label, day, moved, _n in self.off_day:
            text += f"; {label} {'would be' if moved else 'is'} day {day}"
        return text + "."


@dataclass(frozen=True)
class DayChange:
    """What a change of Day 0 or of timepoint days does to data already recorded."""

    day0_moves: bool
    rows: tuple[MovedDate, ...]

    @property
    def moves_records(self) -> bool:
        return bool(self.rows)

    @property
    def off_day_sessions(self) -> int:
        return sum(row.off_day_sessions for row in self.rows)

    @property
    def off_day_sentence(self) -> str:
        n = self.off_day_sessions
        return (
            f"{_count(n, 'recorded session')} would no longer be on {'its' if n == 1 else 'their'} "
            "timepoint's day: the overview, the bench and the exports place a session by its "
            "timepoint, not by the date it was recorded."
        )


def day_change_effects(
    study: Study,
    *,
    day0_date: dt.date | None = None,
    timepoint_days: dict[int, int] | None = None,
) -> DayChange:
    """What would move if the study's Day 0 became `day0_date` and/or the timepoints
    (by pk) got the days in `timepoint_days`, compared with what is saved.

    Recorded data keep their calendar dates, so a new Day 0 gives every record another study
    day; a timepoint's new day leaves its recorded sessions where they were. One query per
    kind of record.
    """
    saved_day0 = Study.objects.values_list("day0_date", flat=True).get(pk=study.pk)
    new_day0 = day0_date or saved_day0
    saved = {
        pk: (label, day)
        for pk, label, day in Timepoint.objects.filter(study=study).values_list(
            "pk", "label", "day"
        )
    }
    wanted = timepoint_days or {}
    new_days = {pk: wanted.get(pk, day) for pk, (_label, day) in saved.items()}
    retimed = {pk for pk, (_label, day) in saved.items() if new_days[pk] != day}
    day0_moves = new_day0 != saved_day0
    if not day0_moves and not retimed:
        return DayChange(day0_moves=False, rows=())

    counts: dict[dt.date, Counter] = defaultdict(Counter)
    by_timepoint: dict[dt.date, Counter] = defaultdict(Counter)
    sessions = TestSession.objects.filter(animal__study=study, tested_at__isnull=False).exclude(
        status=TestSession.Status.VOIDED
    )
    if not day0_moves:
        sessions = sessions.filter(timepoint_id__in=retimed)
    for tested_at, timepoint_id in sessions.values_list("tested_at", "timepoint_id"):
        date = timezone.localtime(tested_at).date()
        counts[date]["sessions"] += 1
        by_timepoint[date][timepoint_id] += 1
    if day0_moves:
        recorded = {
            "doses": DoseAdministration.objects.filter(animal__study=study)
            .exclude(
                status__in=[DoseAdministration.Status.SCHEDULED, DoseAdministration.Status.VOIDED]
            )
            .values_list("scheduled_date"),
            "weights": BodyWeight.objects.filter(animal__study=study, voided=False).values_list(
                "date"
            ),
            "observations": Observation.objects.filter(
                animal__study=study, voided=False
            ).values_list("date"),
            "surgeries": Surgery.objects.filter(animal__study=study).values_list("date"),
        }
        for kind, dates in recorded.items():
            for date, n in dates.annotate(n=Count("pk")).order_by():
                counts[date][kind] += n

    rows = []
    for date in sorted(counts):
        new_day = (date - new_day0).days
        off_day = tuple(
            (saved[pk][0], new_days[pk], pk in retimed, n)
            for pk, n in sorted(by_timepoint[date].items(), key=lambda item: new_days[item[0]])
            if new_days[pk] != new_day
        )
        rows.append(
            MovedDate(
                date=date,
                old_day=(date - saved_day0).days,
                new_day=new_day,
                sessions=counts[date]["sessions"],
                doses=counts[date]["doses"],
                weights=counts[date]["weights"],
                observations=counts[date]["observations"],
                surgeries=counts[date]["surgeries"],
                off_day=off_day,
            )
        )
    return DayChange(day0_moves=day0_moves, rows=tuple(rows))


def _count(n: int, noun: str) -> str:
    if not n:
        return ""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1] + 'ies' if noun.endswith('ry') else noun + 's'}"


def _listing(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
