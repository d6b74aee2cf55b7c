"""A bench day to practise on: a small copy of the demo design where today is T3.

The demo study itself is fixed in time (day 0 on 1 Sep 2026) so that its numbers stay
reproducible; by the time someone runs `make run` its testing days are over. This study
starts 28 days before the day it is made, so today is study day 28: T3 von Frey testing,
a dosing day in phase A and a weekly weighing, all still to do. T0-T2, the weights up to
day 21 and the doses up to yesterday are recorded, simulated as in the demo.

One practice study is made per calendar day (its slug carries the date); older ones stay,
because nothing recorded is ever deleted.
"""

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from animals.models import Animal, BodyWeight, DoseAdministration, Surgery
from animals.services import dose_volume_ml, is_dosed
from labstudy import services
from labstudy.demo import (
    ANIMAL_SPREAD_LOG10,
    DEMO_ACCOUNTS,
    SEED,
    TRUE_THRESHOLD_G,
    _accounts,
    _money,
    simulate_series,
)
from labstudy.models import Membership, Study
from sessions.models import Filament, Stimulus, TestSession
from sessions.services import filament_specs

TODAY_IS_DAY = 28  # T3, in phase A (daily injections), a weekly weighing
ANIMALS_PER_GROUP = 2


@dataclass(frozen=True)
class PracticeSummary:
    study: Study
    created: bool
    sessions_due: int
    doses_due: int


def practice_slug(today: dt.date) -> str:
    return f"bench-practice-{today:%Y%m%d}"


@transaction.atomic
def load_practice_study(today: dt.date | None = None) -> PracticeSummary:
    """Make today's practice study (once per day) with the demo accounts as members."""
    today = today or timezone.localdate()
    users = _accounts()
    existing = Study.objects.filter(slug=practice_slug(today)).first()
    if existing is not None:
        return _summary(existing, created=False)
    manager, technician = users["datamanager"], users["technician"]
    study = services.create_study(
        template_key="psnl-vf-3x8",
        slug=practice_slug(today),
        title=f"Bench practice for {today:%-d %b %Y} (demo)",
        day0_date=today - dt.timedelta(days=TODAY_IS_DAY),
        user=manager,
        status=Study.Status.RUNNING,
        description=(
            "A day at the bench to practise on: today is study day 28 (T3), with von Frey "
            "testing, injections and weighing still to do. Earlier days are simulated."
        ),
    )
    for username, role, _name in DEMO_ACCOUNTS:
        Membership.objects.update_or_create(
            user=users[username], study=study, defaults={"role": role, "created_by": manager}
        )

    rng = random.Random(SEED + today.toordinal())
    groups = {g.code: g for g in study.groups.all()}
    order = [code for code in ("control", "K5", "K10") for _ in range(ANIMALS_PER_GROUP)]
    rng.shuffle(order)  # the group cannot be read from the animal code or cage
    animals = [
        Animal(
            study=study,
            code=f"P{number:02d}",
            cage=f"C{(number + 1) // 2}",
            sex=Animal.Sex.MALE,
            age_at_arrival_weeks=7,
            group=groups[code],
            created_by=manager,
        )
        for number, code in enumerate(order, start=1)
    ]
    bulk_create_with_history(animals, Animal, default_user=manager)
    animals = list(study.animals.select_related("group").order_by("code"))
    Surgery.objects.bulk_create(
        Surgery(
            animal=a,
            date=study.date_of_day(0),
            procedure="PSNL",
            side=Surgery.Side.RIGHT,
            surgeon="Demo surgeon",
            created_by=manager,
        )
        for a in animals
    )
    weights = _weights(study, animals, rng, technician)
    _doses(study, animals, weights, technician)
    _sessions(study, animals, rng, technician)
    return _summary(study, created=True)


def _weights(study, animals, rng, technician) -> dict[int, object]:
    """Weekly weights up to a week ago; today's weighing is left to do."""
    rows, latest = [], {}
    for animal in animals:
        start = rng.gauss(250, 12)
        for day in range(0, TODAY_IS_DAY, 7):
            grams = _money(start + 3.8 * day + rng.gauss(0, 4), "0.1")
            latest[animal.pk] = grams
            rows.append(
                BodyWeight(
                    animal=animal, date=study.date_of_day(day), grams=grams, created_by=technician
                )
            )
    bulk_create_with_history(rows, BodyWeight, default_user=technician)
    return latest


def _doses(study, animals, weights, technician) -> None:
    """Every dose of phase A up to yesterday, given at 10:00; today's are left to do."""
    phase = study.phases.get(dosed=True, first_day__lte=TODAY_IS_DAY, last_day__gte=TODAY_IS_DAY)
    rows = []
    for animal in animals:
        if not is_dosed(animal.group):
            continue
        for day in range(phase.first_day, TODAY_IS_DAY):
            rows.append(
                DoseAdministration(
                    animal=animal,
                    scheduled_date=study.date_of_day(day),
                    study_day=day,
                    dose_mg_kg=animal.group.dose_mg_kg,
                    volume_ml=dose_volume_ml(animal.group, weights[animal.pk]),
                    route=animal.group.route,
                    status=DoseAdministration.Status.GIVEN,
                    given_at=timezone.make_aware(
                        dt.datetime.combine(study.date_of_day(day), dt.time(10, 0))
                    ),
                    given_by=technician,
                    created_by=technician,
                )
            )
    bulk_create_with_history(rows, DoseAdministration, default_user=technician)


def _sessions(study, animals, rng, technician) -> None:
    """T0-T2 tested with the study's stepping rule on simulated rats; T3 (today) is not."""
    filaments = filament_specs(study.filament_set)
    db_filaments = {f.size: f for f in Filament.objects.filter(filament_set=study.filament_set)}
    offset = {a.pk: rng.gauss(0, ANIMAL_SPREAD_LOG10) for a in animals}
    done = list(study.timepoints.filter(day__lt=TODAY_IS_DAY).order_by("day"))
    for index, tp in enumerate(done):
        for slot, animal in enumerate(animals):
            median = TRUE_THRESHOLD_G[animal.group.code][index]
            series = simulate_series(
                rng,
                10 ** (math.log10(median) + offset[animal.pk]),
                filaments,
                method=study.threshold_method,
                start=study.start_filament,
            )
            tested_at = timezone.make_aware(
                dt.datetime.combine(tp.date, dt.time(9, 0)) + dt.timedelta(minutes=6 * slot)
            )
            session = TestSession.objects.create(
                animal=animal,
                timepoint=tp,
                paw="right",
                tested_at=tested_at,
                tester=technician,
                method=study.threshold_method,
                status=TestSession.Status.COMPLETE,
                created_by=technician,
            )
            bulk_create_with_history(
                [
                    Stimulus(
                        session=session,
                        order=order,
                        filament=db_filaments[size],
                        withdrew=withdrew,
                        recorded_at=tested_at + dt.timedelta(seconds=20 * order),
                        recorded_by=technician,
                        client_uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                    )
                    for order, (size, withdrew) in enumerate(series, start=1)
                ],
                Stimulus,
                default_user=technician,
            )


def _summary(study: Study, *, created: bool) -> PracticeSummary:
    today_tp = study.timepoints.filter(day=study.day_of_date(timezone.localdate())).first()
    tested = TestSession.objects.filter(animal__study=study, timepoint=today_tp).exclude(
        status=TestSession.Status.VOIDED
    )
    dosed_today = DoseAdministration.objects.filter(
        animal__study=study, scheduled_date=timezone.localdate()
    )
    animals = study.animals.filter(status=Animal.Status.ACTIVE)
    return PracticeSummary(
        study=study,
        created=created,
        sessions_due=(animals.count() - tested.count()) if today_tp else 0,
        doses_due=sum(1 for a in animals.select_related("group") if is_dosed(a.group))
        - dosed_today.count(),
    )
