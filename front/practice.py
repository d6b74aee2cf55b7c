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
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from animals.models import Animal, DoseAdministration
from animals.services import is_dosed
from front import simulation
from front.demo import SEED, add_demo_members, demo_accounts
from labstudy import services
from labstudy.models import Study
from sessions.models import TestSession

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
    users = demo_accounts()
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
    add_demo_members(study, users, manager)

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
    simulation.record_surgeries(study, animals, manager)
    # Everything up to yesterday, as in the demo: weekly weights to day 21, the doses of
    # days 7-27, T0-T2 tested. Today's T3, doses and weighing are left to do.
    weights = simulation.simulate_weights(study, animals, rng, technician, until=TODAY_IS_DAY - 1)
    simulation.simulate_doses(study, animals, weights, technician, until=TODAY_IS_DAY - 1)
    simulation.simulate_sessions(study, animals, rng, technician, until=TODAY_IS_DAY - 1)
    return _summary(study, created=True)


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
