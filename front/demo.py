"""The demo study: shaped like Kim et al. 2022 (ketamine in PSNL rats), with synthetic data,
and the demo accounts (shared with the bench practice study, front.practice).

Every record is simulated by front.simulation from one seed (SEED), so the demo's numbers
are the same on every machine: change nothing here that changes the order of the draws.
"""

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from analysis import frames
from animals import allocation_service
from animals.models import (
    Allocation,
    Animal,
    BodyWeight,
    DoseAdministration,
    Observation,
)
from front import simulation
from labstudy import services
from labstudy.models import Membership, Role, Study
from sessions.models import Stimulus, TestSession

DEMO_SLUG = "psnl-ketamine-demo"
DEMO_DAY0 = dt.date(2026, 9, 1)
DEMO_PASSWORD = "labstudy-demo"
SEED = 20220311
# The allocation's seed. The allocation itself is what the allocator gives for this seed
# and the recorded T0 thresholds; the seed was picked among 0-59 so that the groups it
# makes, simulated on, keep the paper's shape (K10 at the 300 g cut-off at T3 and T4,
# about 108 g at T2), which most seeds do and the demo's own data seed did not.
ALLOCATION_SEED = 33

# (username, role, full name); the password is DEMO_PASSWORD for every account.
DEMO_ACCOUNTS = (
    ("technician", Role.TECHNICIAN, "Tara Technician"),
    ("investigator", Role.INVESTIGATOR, "Ivan Investigator"),
    ("datamanager", Role.DATA_MANAGER, "Dana Datamanager"),
)
ADMIN_ACCOUNT = "admin"

ANIMALS_PER_GROUP = 5
MISSED_DOSE = ("K10", 20)  # (group, study day): the first K10 rat misses one dose
HEMATURIA = ("K5", 31)  # the first K5 rat, after 25 days of injections (paper: about day 31)


@dataclass(frozen=True)
class DemoSummary:
    study: Study
    created: bool
    animals: int
    sessions: int
    stimuli: int
    doses: int
    weights: int


def demo_accounts() -> dict[str, object]:
    User = get_user_model()
    users = {}
    for username, _role, full_name in DEMO_ACCOUNTS:
        first, last = full_name.split(" ", 1)
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        users[username] = user
    datamanager = users["datamanager"]
    datamanager.user_permissions.add(Permission.objects.get(codename="add_study"))
    admin, created = User.objects.get_or_create(
        username=ADMIN_ACCOUNT, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    users[ADMIN_ACCOUNT] = admin
    return users


@transaction.atomic
def load_demo_study() -> DemoSummary:
    """Create the demo study and accounts; a second call changes nothing."""
    users = demo_accounts()
    existing = Study.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return _summary(existing, created=False)

    manager = users["datamanager"]
    study = services.create_study(
        template_key="psnl-vf-3x8",
        slug=DEMO_SLUG,
        title="PSNL neuropathic pain, coded treatments (demo)",
        day0_date=DEMO_DAY0,
        user=manager,
        status=Study.Status.RUNNING,
        letter_seed=SEED,  # the demo's letters are reproducible, like its data
        ethics_reference="DEMO-2026-001",
        description=(
            "Demo study shaped like Kim et al. 2022 (Physiol Res, PMID 35275700). "
            "All data are simulated."
        ),
    )
    add_demo_members(study, users, manager)

    rng = random.Random(SEED)
    # As in a real study: surgery on day 0, the baseline (T0) von Frey test on day 7, then
    # allocation stratified on the T0 thresholds (animals.allocation_service, the code a data
    # manager's Allocate button runs), then dosing. So the stored allocation re-derives from
    # its seed and the recorded baselines, and group cannot be read from an animal's ID.
    animals = [
        Animal(
            study=study,
            code=f"R{number:02d}",
            cage=f"C{(number + 1) // 2}",
            sex=Animal.Sex.MALE,
            age_at_arrival_weeks=7,
            created_by=manager,
        )
        for number in range(1, 3 * ANIMALS_PER_GROUP + 1)
    ]
    bulk_create_with_history(animals, Animal, default_user=manager)
    animals = list(study.animals.order_by("code"))

    technician = users["technician"]
    simulation.record_surgeries(study, animals, manager)
    weights = simulation.simulate_weights(study, animals, rng, technician)
    offsets = simulation.animal_offsets(animals, rng)
    baseline_day = study.timepoints.get(is_baseline=True).day
    simulation.simulate_sessions(
        study, animals, rng, technician, until=baseline_day, offsets=offsets
    )
    _allocate(study, manager, baseline_day)
    animals = list(study.animals.select_related("group").order_by("code"))

    simulation.simulate_doses(study, animals, weights, technician, missed_dose=MISSED_DOSE)
    Observation.objects.create(
        animal=next(a for a in animals if a.group.code == HEMATURIA[0]),
        date=study.date_of_day(HEMATURIA[1]),
        kind=Observation.Kind.ADVERSE_EVENT,
        term="hematuria",
        severity=Observation.Severity.MILD,
        notes="Blood in urine after 25 days of injections; monitored, resolved without action.",
        created_by=technician,
    )
    simulation.simulate_sessions(
        study, animals, rng, technician, after=baseline_day, offsets=offsets
    )
    return _summary(study, created=True)


def _allocate(study, manager, baseline_day: int) -> None:
    """Stratified on the T0 thresholds, seeded; recorded on the T0 day once the last T0
    session (from 09:00, 6 minutes apart) is done and before the first dose (11:00)."""
    record = allocation_service.allocate(
        study=study,
        method="stratified",
        seed=ALLOCATION_SEED,
        baselines_g=frames.baseline_thresholds(study),
        user=manager,
        notes="Demo: allocated after the simulated T0 test (day 7), before the first dose; "
        "every later session, dose and weight is simulated for the group allocated here.",
    )
    when = timezone.make_aware(
        dt.datetime.combine(study.date_of_day(baseline_day), dt.time(10, 45))
    )
    Allocation.objects.filter(pk=record.pk).update(created_at=when, updated_at=when)


def add_demo_members(study: Study, users: dict[str, object], manager: object) -> None:
    """The demo accounts, each in their role."""
    for username, role, _name in DEMO_ACCOUNTS:
        Membership.objects.update_or_create(
            user=users[username], study=study, defaults={"role": role, "created_by": manager}
        )


def _summary(study: Study, *, created: bool) -> DemoSummary:
    return DemoSummary(
        study=study,
        created=created,
        animals=study.animals.count(),
        sessions=TestSession.objects.filter(animal__study=study).count(),
        stimuli=Stimulus.objects.filter(session__animal__study=study).count(),
        doses=DoseAdministration.objects.filter(animal__study=study).count(),
        weights=BodyWeight.objects.filter(animal__study=study).count(),
    )
