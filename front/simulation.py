"""The seeded simulation of a PSNL/ketamine study's bench records, shared by the demo study
(front.demo) and the bench practice study (front.practice).

A simulated rat has a true 50 % threshold per timepoint (TRUE_THRESHOLD_G, after the
reference paper's figures) and responds to a filament along a logistic curve in log10(g);
it is tested with the study's own stepping rule (`analysis.thresholds.next_filament`), so the
simulation exercises exactly the code path a technician's taps take. Surgeries, weights and
doses are simulated alongside. Every function takes the random generator it draws from, so a
seed gives the same records every time: keep the order of draws when changing anything here.

It writes only the records it is asked for (with history); it creates no study, account or
membership, and is never used outside the demo and practice loaders.
"""

import datetime as dt
import math
import random
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from analysis import thresholds
from animals.models import Animal, BodyWeight, DoseAdministration, Surgery
from animals.services import dose_volume_ml, is_dosed
from labstudy.models import Study
from sessions.models import Filament, Stimulus, TestSession
from sessions.services import filament_specs

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


def simulate_series(
    rng: random.Random,
    true_threshold_g: float,
    filaments: tuple[thresholds.Filament, ...],
    *,
    method: str,
    start: str,
    params: dict | None = None,
) -> list[tuple[str, bool]]:
    """Apply filaments by the method's stepping rule to a simulated rat until complete.

    `params`: a study's ascending / percent-response settings (Study.method_params)."""
    params = params or {}
    series: list[tuple[str, bool]] = []
    centre = math.log10(true_threshold_g)
    bound = thresholds.series_bound(filaments, method=method, start=start, **params)
    while True:
        size = thresholds.next_filament(series, filaments, method=method, start=start, **params)
        if size is None:
            return series
        grams = next(f.grams for f in filaments if f.size == size)
        z = (math.log10(grams) - centre) / RESPONSE_SPREAD_LOG10
        p_withdraw = 1 / (1 + math.exp(-z))
        series.append((size, rng.random() < p_withdraw))
        if len(series) > bound:  # next_filament always terminates; this guards the demo only
            raise RuntimeError("stepping rule did not terminate")


def _money(value: float, places: str = "0.01") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def record_surgeries(study: Study, animals: list[Animal], manager: AbstractBaseUser) -> None:
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


def simulate_weights(
    study: Study,
    animals: list[Animal],
    rng: random.Random,
    technician: AbstractBaseUser,
    *,
    until: int | None = None,
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


def simulate_doses(
    study: Study,
    animals: list[Animal],
    weights: dict[tuple[int, int], Decimal],
    technician: AbstractBaseUser,
    *,
    until: int | None = None,
    missed_dose: tuple[str, int] | None = None,
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


def animal_offsets(animals: list[Animal], rng: random.Random) -> dict[int, float]:
    """Each rat's own shift of its threshold (log10 g), kept across timepoints."""
    return {a.pk: rng.gauss(0, ANIMAL_SPREAD_LOG10) for a in animals}


def simulate_sessions(
    study: Study,
    animals: list[Animal],
    rng: random.Random,
    technician: AbstractBaseUser,
    *,
    until: int | None = None,
    after: int | None = None,
    offsets: dict[int, float] | None = None,
) -> None:
    """Every animal tested at every timepoint after day `after` up to day `until` (default
    all); an animal not yet allocated is tested at its pre-treatment threshold."""
    filaments = filament_specs(study.filament_set)
    db_filaments = {f.size: f for f in Filament.objects.filter(filament_set=study.filament_set)}
    animal_offset = offsets if offsets is not None else animal_offsets(animals, rng)
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
                rng,
                true_g,
                filaments,
                method=study.threshold_method,
                start=study.start_filament,
                params=study.method_params,
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
