"""Hand-made studies for the frames, dashboard and browser tests.

`series_to(target_g)` is the series a rat gives when it withdraws from every filament at
or above `target_g` and from none below, stepped by the study's own rule
(`thresholds.next_filament`). Its target force (lowest withdrawal) is therefore exactly
`target_g`, so every threshold, mean and %MPE in a test can be worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from analysis import thresholds
from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from sessions.models import Filament, Stimulus, TestSession

NEVER = 10_000.0  # a rat that withdraws from no filament: target force = cut-off


def series_to(target_g: float, *, method: str = "first_response", start: str = "4.31"):
    series: list[tuple[str, bool]] = []
    grams = {f.size: f.grams for f in thresholds.STOELTING_20}
    while (size := thresholds.next_filament(series, method=method, start=start)) is not None:
        series.append((size, grams[size] >= target_g))
    return series


def add_animals(study, spec: dict[str, str | None]) -> dict[str, Animal]:
    """{code: group code or None} -> animals, one cage per animal."""
    groups = {g.code: g for g in study.groups.all()}
    animals = [
        Animal(study=study, code=code, cage=f"C-{code}", group=groups.get(group) if group else None)
        for code, group in spec.items()
    ]
    Animal.objects.bulk_create(animals)
    return {a.code: a for a in Animal.objects.filter(study=study, code__in=list(spec))}


def record(
    animal: Animal,
    timepoint,
    series,
    *,
    status: str = TestSession.Status.COMPLETE,
    paw: str = "right",
    void_reason: str = "",
) -> TestSession:
    """A session with its stimuli, as the bench would have stored them."""
    filaments = {f.size: f for f in Filament.objects.filter(filament_set=animal.study.filament_set)}
    tested_at = timezone.make_aware(dt.datetime.combine(timepoint.date, dt.time(9, 0)))
    session = TestSession.objects.create(
        animal=animal,
        timepoint=timepoint,
        paw=paw,
        tested_at=tested_at,
        method=animal.study.threshold_method,
        status=status,
        void_reason=void_reason,
    )
    Stimulus.objects.bulk_create(
        Stimulus(
            session=session,
            order=order,
            filament=filaments[size],
            withdrew=withdrew,
            recorded_at=tested_at + dt.timedelta(seconds=20 * order),
        )
        for order, (size, withdrew) in enumerate(series, start=1)
    )
    return session


def bulk_study(study, n_animals: int, *, timepoints: int = 3) -> None:
    """`n_animals` animals spread over the study's groups, each tested at the first
    `timepoints` timepoints, with a dose, a weight and (every tenth) an adverse event;
    all written with bulk_create so a 200-animal study builds in a second."""
    groups = list(study.groups.order_by("order"))
    tps = list(study.timepoints.order_by("day"))[:timepoints]
    filaments = {f.size: f for f in Filament.objects.filter(filament_set=study.filament_set)}
    targets = (1.0, 2.0, 4.0, 8.0, 15.0, 26.0, 60.0, 100.0, NEVER)
    cached = {t: series_to(t) for t in targets}
    Animal.objects.bulk_create(
        Animal(study=study, code=f"B{i:04d}", cage=f"C{i // 2}", group=groups[i % len(groups)])
        for i in range(n_animals)
    )
    animals = list(Animal.objects.filter(study=study, code__startswith="B").order_by("code"))
    now = timezone.now()
    sessions = TestSession.objects.bulk_create(
        TestSession(
            animal=animal,
            timepoint=tp,
            method=study.threshold_method,
            status=TestSession.Status.COMPLETE,
            tested_at=now,
        )
        for animal in animals
        for tp in tps
    )
    if any(s.pk is None for s in sessions):
        sessions = list(TestSession.objects.filter(animal__study=study).order_by("pk"))
    stimuli = []
    for i, session in enumerate(sessions):
        series = cached[targets[(i * 7 + i // len(tps)) % len(targets)]]
        stimuli.extend(
            Stimulus(
                session=session,
                order=order,
                filament=filaments[size],
                withdrew=withdrew,
                recorded_at=now,
                client_uuid=uuid.uuid4(),
            )
            for order, (size, withdrew) in enumerate(series, start=1)
        )
    Stimulus.objects.bulk_create(stimuli, batch_size=2000)
    DoseAdministration.objects.bulk_create(
        DoseAdministration(
            animal=animal,
            scheduled_date=study.date_of_day(7),
            study_day=7,
            status=DoseAdministration.Status.GIVEN,
            given_at=now,
        )
        for animal in animals
    )
    BodyWeight.objects.bulk_create(
        BodyWeight(animal=animal, date=study.date_of_day(0), grams=250) for animal in animals
    )
    Observation.objects.bulk_create(
        Observation(
            animal=animal,
            date=study.date_of_day(20),
            kind=Observation.Kind.ADVERSE_EVENT,
            term="hematuria",
        )
        for animal in animals[::10]
    )
