"""Reads that feed the bench's dosing worksheet, weights and observations screens.

Rows carry a `solution` label built here, so a blinded technician's page can only ever
show the coded solution letter: group names, drugs and doses are added to the label
only for people who see treatments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery

from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from animals.ordering import bench_order
from animals.services import WEIGHT_STALE_DAYS, dose_volume_ml, is_dosed
from labstudy.models import Study, TreatmentGroup


def solution_label(group: TreatmentGroup | None, *, sees_treatment: bool) -> str:
    """'Solution B' for the blinded bench; 'Solution B · K5 ketamine 5 mg/kg i.p.' otherwise."""
    if group is None:
        return "not allocated"
    letter = f"Solution {group.coded_letter}" if group.coded_letter else "Coded solution"
    if not sees_treatment:
        return letter
    treatment = f"{group.drug} {group.dose_mg_kg.normalize():f} mg/kg" if group.drug else "vehicle"
    return f"{letter} · {group.code} {treatment} {group.route}"


def _latest_weights(animals: list[Animal], date: dt.date, *, before: bool) -> dict[int, BodyWeight]:
    """The latest live weight of each animal up to `date` (strictly before it with `before`)."""
    weights = BodyWeight.objects.filter(animal=OuterRef("pk"), voided=False)
    weights = weights.filter(date__lt=date) if before else weights.filter(date__lte=date)
    latest = weights.order_by("-date", "-created_at").values("pk")[:1]
    ids = (
        Animal.objects.filter(pk__in=[a.pk for a in animals])
        .annotate(w=Subquery(latest))
        .values_list("w", flat=True)
    )
    return {w.animal_id: w for w in BodyWeight.objects.filter(pk__in=[i for i in ids if i])}


# ---------------------------------------------------------------------------
# Dosing worksheet


@dataclass(frozen=True)
class DoseRow:
    animal: Animal
    solution: str
    route: str
    dose: DoseAdministration | None
    weight: BodyWeight | None
    weight_age_days: int | None
    volume_ml: Decimal | None
    problem: str

    @property
    def status(self) -> str:
        return self.dose.status if self.dose else "due"

    @property
    def done(self) -> bool:
        return self.status != "due" and self.status != DoseAdministration.Status.SCHEDULED

    @property
    def stale(self) -> bool:
        return self.weight_age_days is not None and self.weight_age_days > WEIGHT_STALE_DAYS


@dataclass(frozen=True)
class DoseSheet:
    date: dt.date
    study_day: int
    dosing_day: bool
    rows: list[DoseRow]

    @property
    def due(self) -> int:
        return len(self.rows)

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows if r.done)

    @property
    def left(self) -> int:
        return self.due - self.done

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


def dose_row(
    animal: Animal,
    date: dt.date,
    *,
    dose: DoseAdministration | None,
    weight: BodyWeight | None,
    sees_treatment: bool,
) -> DoseRow:
    group = animal.group
    problem = ""
    volume = None
    if dose is not None and dose.status == DoseAdministration.Status.GIVEN:
        volume = dose.volume_ml  # what was drawn up, as recorded
    elif weight is None:
        problem = "No weight yet: weigh the animal first."
    else:
        try:
            volume = dose_volume_ml(group, weight.grams)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
    return DoseRow(
        animal=animal,
        solution=solution_label(group, sees_treatment=sees_treatment),
        route=group.route if group else "",
        dose=dose,
        weight=weight,
        weight_age_days=(date - weight.date).days if weight else None,
        volume_ml=volume,
        problem=problem,
    )


def dose_sheet(study: Study, date: dt.date, *, sees_treatment: bool = False) -> DoseSheet:
    """Doses due on `date`: animals of injected groups on a day of a dosed phase, plus
    any dose already recorded for that day. In bench order; four queries."""
    day = study.day_of_date(date)
    dosing_day = study.phases.filter(dosed=True, first_day__lte=day, last_day__gte=day).exists()
    records = {
        d.animal_id: d
        for d in DoseAdministration.objects.filter(
            animal__study=study, scheduled_date=date, voided=False
        ).select_related("given_by")
    }
    animals = [
        a
        for a in Animal.objects.filter(study=study).select_related("group")
        if a.pk in records
        or (dosing_day and a.status == Animal.Status.ACTIVE and is_dosed(a.group))
    ]
    weights = _latest_weights(animals, date, before=False) if animals else {}
    rows = [
        dose_row(
            a, date, dose=records.get(a.pk), weight=weights.get(a.pk), sees_treatment=sees_treatment
        )
        for a in bench_order(study, animals, day)
    ]
    return DoseSheet(date=date, study_day=day, dosing_day=dosing_day, rows=rows)


# ---------------------------------------------------------------------------
# Weights


@dataclass(frozen=True)
class WeightRow:
    animal: Animal
    last: BodyWeight | None  # latest live weight before the day
    today: list[BodyWeight]  # live weights recorded on the day
    date: dt.date

    @property
    def last_age_days(self) -> int | None:
        return (self.date - self.last.date).days if self.last else None

    @property
    def done(self) -> bool:
        return bool(self.today)

    @property
    def due(self) -> bool:
        """Weighed on the day, or the last weight is a week old (or there is none)."""
        return self.done or self.last is None or self.last_age_days >= WEIGHT_STALE_DAYS


@dataclass(frozen=True)
class WeightSheet:
    date: dt.date
    rows: list[WeightRow]

    @property
    def due(self) -> int:
        return sum(1 for r in self.rows if r.due)

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows if r.done)

    @property
    def left(self) -> int:
        return self.due - self.done


def weight_rows(study: Study, animals: list[Animal], date: dt.date) -> list[WeightRow]:
    last = _latest_weights(animals, date, before=True) if animals else {}
    today: dict[int, list[BodyWeight]] = {}
    for w in BodyWeight.objects.filter(animal__in=animals, date=date, voided=False).order_by(
        "created_at"
    ):
        today.setdefault(w.animal_id, []).append(w)
    return [WeightRow(a, last.get(a.pk), today.get(a.pk, []), date) for a in animals]


def dose_given_on(animal_pk: int, date: dt.date) -> DoseAdministration | None:
    """The animal's live dose given on `date` (the latest, if two), for the time since
    injection on a day with both dosing and testing."""
    return (
        DoseAdministration.objects.filter(
            animal_id=animal_pk,
            scheduled_date=date,
            status=DoseAdministration.Status.GIVEN,
            voided=False,
            given_at__isnull=False,
        )
        .order_by("-given_at")
        .first()
    )


def since_label(minutes: int) -> str:
    """'45 min', '1 h 25 min', '3 h'."""
    hours, rest = divmod(max(minutes, 0), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


WEIGHT_LOSS_FLAG = Decimal("0.15")
"""A loss of more than this fraction from the animal's previous weight is flagged: the
bench offers the matching observation and the study overview marks the animal."""


@dataclass(frozen=True)
class WeightLoss:
    animal_id: int
    grams: Decimal
    date: dt.date
    previous_grams: Decimal
    previous_date: dt.date

    @property
    def percent(self) -> int:
        """The loss in whole percent, rounded down: 15.4 % says 15, never more than it is."""
        return int((self.previous_grams - self.grams) / self.previous_grams * 100)


def _loss(weight: BodyWeight, previous: BodyWeight | None) -> WeightLoss | None:
    if previous is None or previous.grams <= 0:
        return None
    if (previous.grams - weight.grams) / previous.grams <= WEIGHT_LOSS_FLAG:
        return None
    return WeightLoss(weight.animal_id, weight.grams, weight.date, previous.grams, previous.date)


def weight_loss_after(weight: BodyWeight) -> WeightLoss | None:
    """`weight` against the animal's live weight just before it, when it lost over 15 %."""
    previous = (
        BodyWeight.objects.filter(animal_id=weight.animal_id, voided=False)
        .exclude(pk=weight.pk)
        .filter(date__lte=weight.date)
        .exclude(date=weight.date, created_at__gt=weight.created_at)
        .order_by("-date", "-created_at")
        .first()
    )
    return _loss(weight, previous)


def weight_loss_flags(study: Study) -> dict[int, WeightLoss]:
    """Active animals whose latest live weight is over 15 % below the one before (one query)."""
    latest: dict[int, list[BodyWeight]] = {}
    rows = BodyWeight.objects.filter(
        animal__study=study, animal__status=Animal.Status.ACTIVE, voided=False
    ).order_by("animal_id", "-date", "-created_at")
    for weight in rows.iterator(chunk_size=2000):
        kept = latest.setdefault(weight.animal_id, [])
        if len(kept) < 2:
            kept.append(weight)
    flags = {}
    for animal_id, (last, *before) in latest.items():
        loss = _loss(last, before[0] if before else None)
        if loss:
            flags[animal_id] = loss
    return flags


def weight_sheet(study: Study, date: dt.date) -> WeightSheet:
    """Active animals in bench order with their last weight and the day's weights."""
    day = study.day_of_date(date)
    animals = bench_order(
        study, list(Animal.objects.filter(study=study, status=Animal.Status.ACTIVE)), day
    )
    return WeightSheet(date=date, rows=weight_rows(study, animals, date))


# ---------------------------------------------------------------------------
# Observations


def active_animals(study: Study, date: dt.date) -> list[Animal]:
    animals = list(Animal.objects.filter(study=study, status=Animal.Status.ACTIVE))
    return bench_order(study, animals, study.day_of_date(date))


def recent_observations(study: Study, date: dt.date, *, days: int = 14) -> list[Observation]:
    return list(
        Observation.objects.filter(
            animal__study=study, date__lte=date, date__gte=date - dt.timedelta(days=days)
        )
        .select_related("animal", "created_by")
        .order_by("-date", "-created_at")
    )
