"""The demo study: shaped like Kim et al. 2022 (ketamine in PSNL rats), with synthetic data.

Every response is simulated from a seeded model of a rat with a true 50 % threshold,
tested with the study's own stepping rule (`analysis.thresholds.next_filament`), so the
demo exercises exactly the code path a technician's taps take.
"""

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from analysis import frames, thresholds
from animals import allocation_service
from animals.models import (
    Allocation,
    Animal,
    BodyWeight,
    DoseAdministration,
    Observation,
    Surgery,
)
from animals.services import dose_volume_ml, is_dosed
from labstudy import services
from labstudy.models import Membership, Role, Study
from sessions.models import Filament, Stimulus, TestSession
from sessions.services import filament_specs

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

# True median 50 % thresholds (g) per timepoint T0..T7, after the reference paper's
# figures: K10 rises to the cut-off by T3-T4, decays after discontinuation and is low
# again at T7; K5 sits in between; control stays allodynic. T0 (day 7) comes before the
# first dose and before allocation, so it is the same for every group.
BASELINE_THRESHOLD_G = 18
TRUE_THRESHOLD_G = {
    "control": (BASELINE_THRESHOLD_G, 17, 16, 15, 16, 15, 16, 17),
    "K5": (BASELINE_THRESHOLD_G, 26, 45, 90, 120, 60, 35, 30),
    "K10": (BASELINE_THRESHOLD_G, 40, 110, 420, 450, 160, 70, 28),
}
# Slope of the psychometric curve in log10(g): a 10x force change spans ~ 0 to 1.
RESPONSE_SPREAD_LOG10 = 0.12
ANIMAL_SPREAD_LOG10 = 0.10
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


def simulate_series(
    rng: random.Random,
    true_threshold_g: float,
    filaments: tuple[thresholds.Filament, ...],
    *,
    method: str,
    start: str,
) -> list[tuple[str, bool]]:
    """Apply filaments by the method's stepping rule to a simulated rat until complete."""
    series: list[tuple[str, bool]] = []
    centre = math.log10(true_threshold_g)
    while True:
        size = thresholds.next_filament(series, filaments, method=method, start=start)
        if size is None:
            return series
        grams = next(f.grams for f in filaments if f.size == size)
        z = (math.log10(grams) - centre) / RESPONSE_SPREAD_LOG10
        p_withdraw = 1 / (1 + math.exp(-z))
        series.append((size, rng.random() < p_withdraw))
        if len(series) > 60:  # next_filament always terminates; this guards the demo only
            raise RuntimeError("stepping rule did not terminate")


def _accounts() -> dict[str, object]:
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


def _money(value: float, places: str = "0.01") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


@transaction.atomic
def load_demo_study() -> DemoSummary:
    """Create the demo study and accounts; a second call changes nothing."""
    users = _accounts()
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
    _add_members(study, users, manager)

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
    _surgeries(study, animals, manager)
    weights = _weights(study, animals, rng, technician)
    offsets = _animal_offsets(animals, rng)
    baseline_day = study.timepoints.get(is_baseline=True).day
    _sessions(study, animals, rng, technician, until=baseline_day, offsets=offsets)
    _allocate(study, manager, baseline_day)
    animals = list(study.animals.select_related("group").order_by("code"))

    _doses(study, animals, weights, technician)
    Observation.objects.create(
        animal=next(a for a in animals if a.group.code == HEMATURIA[0]),
        date=study.date_of_day(HEMATURIA[1]),
        kind=Observation.Kind.ADVERSE_EVENT,
        term="hematuria",
        severity=Observation.Severity.MILD,
        notes="Blood in urine after 25 days of injections; monitored, resolved without action.",
        created_by=technician,
    )
    _sessions(study, animals, rng, technician, after=baseline_day, offsets=offsets)
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


def _add_members(study, users, manager) -> None:
    """The demo accounts, each in their role."""
    for username, role, _name in DEMO_ACCOUNTS:
        Membership.objects.update_or_create(
            user=users[username], study=study, defaults={"role": role, "created_by": manager}
        )


def _surgeries(study, animals, manager) -> None:
    """PSNL on the right on day 0 for every animal."""
    Surgery.objects.bulk_create(
        Surgery(
            animal=a,
            date=study.date_of_day(0),
            procedure="PSNL",
            side=Surgery.Side.RIGHT,
            surgeon="Demo surgeon",
            anaesthesia="isoflurane 2-3 % in O2",
            created_by=manager,
        )
        for a in animals
    )


def _weights(
    study, animals, rng, technician, *, until: int | None = None
) -> dict[tuple[int, int], Decimal]:
    """Weekly weights from day 0 to `until` (default the last day): about 250 g at
    surgery, gaining ~4 g/day."""
    rows, by_day = [], {}
    last = study.last_day if until is None else until
    for animal in animals:
        start = rng.gauss(250, 12)
        for day in range(0, last + 1, 7):
            grams = _money(start + 3.8 * day + rng.gauss(0, 4), "0.1")
            by_day[(animal.pk, day)] = grams
            rows.append(
                BodyWeight(
                    animal=animal, date=study.date_of_day(day), grams=grams, created_by=technician
                )
            )
    bulk_create_with_history(rows, BodyWeight, default_user=technician)
    return by_day


def _doses(
    study, animals, weights, technician, *, until: int | None = None, missed_dose=MISSED_DOSE
) -> int:
    """Daily injections in the dosed phases up to day `until` (default all): controls get
    the saline vehicle, so a blinded technician cannot tell them apart; `missed_dose` is the
    (group, day) of one missed dose, or None."""
    rows = []
    missed_animal = next(
        (a for a in animals if missed_dose and a.group.code == missed_dose[0]), None
    )
    dosed_days = [
        d
        for p in study.phases.filter(dosed=True)
        for d in range(p.first_day, p.last_day + 1)
        if until is None or d <= until
    ]
    for animal in animals:
        group = animal.group
        if not is_dosed(group):
            continue
        for day in dosed_days:
            volume = dose_volume_ml(group, weights[(animal.pk, day - day % 7)])
            missed = animal == missed_animal and day == missed_dose[1]
            given_at = timezone.make_aware(
                dt.datetime.combine(study.date_of_day(day), dt.time(11, 0))
            )
            rows.append(
                DoseAdministration(
                    animal=animal,
                    scheduled_date=study.date_of_day(day),
                    study_day=day,
                    dose_mg_kg=group.dose_mg_kg,
                    volume_ml=volume,
                    route=group.route,
                    status=DoseAdministration.Status.MISSED
                    if missed
                    else DoseAdministration.Status.GIVEN,
                    given_at=None if missed else given_at,
                    given_by=None if missed else technician,
                    reason="animal escaped during restraint; not re-dosed" if missed else "",
                    created_by=technician,
                )
            )
    bulk_create_with_history(rows, DoseAdministration, default_user=technician)
    return len(rows)


def _animal_offsets(animals, rng) -> dict[int, float]:
    """Each rat's own shift of its threshold (log10 g), kept across timepoints."""
    return {a.pk: rng.gauss(0, ANIMAL_SPREAD_LOG10) for a in animals}


def _sessions(
    study,
    animals,
    rng,
    technician,
    *,
    until: int | None = None,
    after: int | None = None,
    offsets: dict[int, float] | None = None,
) -> None:
    """Every animal tested at every timepoint after day `after` up to day `until` (default
    all); an animal not yet allocated is tested at its pre-treatment threshold."""
    filaments = filament_specs(study.filament_set)
    db_filaments = {f.size: f for f in Filament.objects.filter(filament_set=study.filament_set)}
    animal_offset = offsets if offsets is not None else _animal_offsets(animals, rng)
    timepoints = [
        (index, tp)
        for index, tp in enumerate(study.timepoints.order_by("day"))
        if (until is None or tp.day <= until) and (after is None or tp.day > after)
    ]
    sessions, series_by_session = [], []
    for tp_index, tp in timepoints:
        for slot, animal in enumerate(animals):
            if animal.group is None:
                median = BASELINE_THRESHOLD_G
            else:
                median = TRUE_THRESHOLD_G[animal.group.code][tp_index]
            true_g = 10 ** (math.log10(median) + animal_offset[animal.pk])
            series = simulate_series(
                rng, true_g, filaments, method=study.threshold_method, start=study.start_filament
            )
            tested_at = timezone.make_aware(
                dt.datetime.combine(tp.date, dt.time(9, 0)) + dt.timedelta(minutes=6 * slot)
            )
            sessions.append(
                TestSession(
                    animal=animal,
                    timepoint=tp,
                    paw=study.paw_tested if study.paw_tested != "both" else "right",
                    tested_at=tested_at,
                    tester=technician,
                    method=study.threshold_method,
                    status=TestSession.Status.COMPLETE,
                    created_by=technician,
                )
            )
            series_by_session.append((series, tested_at))
    sessions = bulk_create_with_history(sessions, TestSession, default_user=technician)
    if any(s.pk is None for s in sessions):  # SQLite before 3.35 does not return ids
        sessions = list(
            TestSession.objects.filter(
                animal__study=study, timepoint__in=[tp for _index, tp in timepoints]
            ).order_by("pk")
        )
    stimuli = []
    for session, (series, tested_at) in zip(sessions, series_by_session, strict=True):
        for order, (size, withdrew) in enumerate(series, start=1):
            stimuli.append(
                Stimulus(
                    session=session,
                    order=order,
                    filament=db_filaments[size],
                    withdrew=withdrew,
                    recorded_at=tested_at + dt.timedelta(seconds=20 * order),
                    recorded_by=technician,
                    client_uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                )
            )
    bulk_create_with_history(stimuli, Stimulus, default_user=technician)


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
