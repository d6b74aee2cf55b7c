"""Worlds several test modules build on (a test module never imports another one)."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from animals.models import Animal, BodyWeight
from labstudy.models import Study


def make_bench_study(study: Study, *, day: int = 28, method: str | None = None) -> SimpleNamespace:
    """Shift the reference study so today is study day `day` (T3 = 28, dosed, weighed a
    week ago) and give it four animals in cages C2, C10, C1, C2 across the groups."""
    today = timezone.localdate()
    study.day0_date = today - dt.timedelta(days=day)
    study.status = Study.Status.RUNNING
    if method:
        study.threshold_method = method
    study.save()
    groups = {g.code: g for g in study.groups.all()}
    animals = {}
    for code, cage, group in (
        ("R01", "C2", "control"),
        ("R02", "C10", "K5"),
        ("R03", "C1", "K10"),
        ("R04", "C2", "K10"),
    ):
        animal = Animal.objects.create(study=study, code=code, cage=cage, group=groups[group])
        BodyWeight.objects.create(
            animal=animal, date=today - dt.timedelta(days=7), grams=Decimal("300.0")
        )
        animals[code] = animal
    return SimpleNamespace(
        study=study,
        today=today,
        tp=study.timepoints.get(day=day) if study.timepoints.filter(day=day).exists() else None,
        animals=animals,
    )
