"""Synthetic studies for the benchmarks, written with bulk inserts.

A study comes from the reference template (phases A/B/C, T0-T7 weekly, right hind paw,
first-response method), widened to `n_groups` groups. Each tested animal x timepoint
gets one complete session whose series follows the study's own stepping rule
(`analysis.thresholds.next_filament`) for a rat withdrawing from every filament at or
above a target force drawn around its group's time course, so the statistics have real
effects to find. About 7 stimuli per session.

Rows go in with COPY on PostgreSQL (executemany elsewhere) with ids chosen here, then
the id sequences are moved past them, so a million stimuli take seconds, not minutes.
History rows are not written: these are benchmark data, not records anyone audits.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PASSWORD = "labstudy-bench"
SPREAD_LOG = 0.5  # animal-to-animal spread of the target force, natural log units
COLOURS = (
    "#4d4d4d", "#2b8cbe", "#d7301f", "#31a354", "#756bb1", "#e6550d", "#636363", "#c51b8a",
    "#1b9e77", "#7570b3",
)  # fmt: skip


@dataclass
class World:
    study: object
    animals: list  # (pk, code) in code order
    timepoints: list  # Timepoint objects in day order
    technician: object
    investigator: object
    n_sessions: int = 0
    n_stimuli: int = 0


def users() -> tuple[object, object]:
    """The benchmark's technician and investigator (created once per database)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    made = []
    for name in ("bench-technician", "bench-investigator"):
        user = User.objects.filter(username=name).first()
        if user is None:
            user = User.objects.create_user(username=name, password=PASSWORD)
        made.append(user)
    return made[0], made[1]


def make_study(slug: str, *, n_animals: int, n_groups: int = 8, blinded: bool = True) -> World:
    """A study with `n_groups` groups and `n_animals` allocated animals, no sessions yet."""
    from django.utils import timezone

    from animals.models import Animal
    from labstudy import services
    from labstudy.models import Membership, Role, TreatmentGroup

    technician, investigator = users()
    study = services.create_study(
        template_key="psnl-vf-3x8",
        slug=slug,
        title=f"Benchmark study {slug}",
        day0_date=dt.date.today() - dt.timedelta(days=60),
        user=None,
        blinded=blinded,
    )
    Membership.objects.create(user=technician, study=study, role=Role.TECHNICIAN)
    Membership.objects.create(user=investigator, study=study, role=Role.INVESTIGATOR)
    existing = list(study.groups.order_by("order"))
    TreatmentGroup.objects.bulk_create(
        TreatmentGroup(
            study=study,
            order=i + 1,
            code=f"G{i + 1}",
            name=f"Treatment {i + 1}",
            drug="drug X",
            dose_mg_kg=i,
            concentration_mg_ml=max(1, i),
            volume_ml_kg=1,
            colour=COLOURS[i % len(COLOURS)],
            coded_letter=chr(ord("A") + i) if i < 26 else "",
        )
        for i in range(len(existing), n_groups)
    )
    groups = list(study.groups.order_by("order"))[:n_groups]
    start = _next_id(Animal)
    now = timezone.now()
    rows = [
        (
            start + i,
            now,
            now,
            study.pk,
            f"R{i + 1:05d}",
            f"C{i // 4 + 1:04d}",
            "male",
            groups[i % len(groups)].pk,
            "active",
            "",
            "",
        )
        for i in range(n_animals)
    ]
    insert(
        Animal,
        [
            "id",
            "created_at",
            "updated_at",
            "study_id",
            "code",
            "cage",
            "sex",
            "group_id",
            "status",
            "status_reason",
            "notes",
        ],  # fmt: skip
        rows,
    )
    return World(
        study=study,
        animals=[(r[0], r[4]) for r in rows],
        timepoints=list(study.timepoints.order_by("day")),
        technician=technician,
        investigator=investigator,
    )


def group_course(n_groups: int, n_timepoints: int) -> list[list[float]]:
    """Median target force (g) per group and timepoint: group 1 stays allodynic (3 g),
    the others rise after baseline (up to 15 g for the last group) and fall back by the
    last timepoint. With the spread below a series is about 7 stimuli long."""
    course = []
    for g in range(n_groups):
        rise = g / max(1, n_groups - 1)
        row = []
        for t in range(n_timepoints):
            shape = math.sin(math.pi * min(t, n_timepoints - 1) / max(1, n_timepoints - 1))
            row.append(3.0 * (1 + rise * 4 * shape))
        course.append(row)
    return course


def add_sessions(
    world: World,
    *,
    timepoints: Sequence[int] | None = None,
    seed: int = 2022,
    uuids: bool = True,
) -> None:
    """One complete session per animal at each timepoint (indices), with its stimuli."""
    from django.utils import timezone

    from analysis import thresholds
    from sessions.models import Filament, Stimulus, TestSession

    study = world.study
    rng = random.Random(seed)
    tps = [world.timepoints[i] for i in (timepoints or range(len(world.timepoints)))]
    filaments = list(Filament.objects.filter(filament_set=study.filament_set).order_by("order"))
    ids = {f.size: f.pk for f in filaments}
    grams = [f.grams for f in filaments]
    series_cache: dict[int, list[tuple[str, bool]]] = {}

    def series_for(target_index: int) -> list[tuple[str, bool]]:
        if target_index not in series_cache:
            series: list[tuple[str, bool]] = []
            target = grams[target_index] if target_index < len(grams) else math.inf
            while (
                size := thresholds.next_filament(
                    series, method=study.threshold_method, start=study.start_filament
                )
            ) is not None:
                series.append((size, grams[[f.size for f in filaments].index(size)] >= target))
            series_cache[target_index] = series
        return series_cache[target_index]

    group_of = dict(study.animals.values_list("pk", "group__order"))
    n_groups = max(group_of.values(), default=1)
    course = group_course(n_groups, len(world.timepoints))
    log_grams = [math.log(g) for g in grams]
    now = timezone.now()
    session_id = _next_id(TestSession)
    stimulus_id = _next_id(Stimulus)
    sessions, stimuli = [], []
    for animal_pk, _code in world.animals:
        g = (group_of.get(animal_pk) or 1) - 1
        for tp in tps:
            median = course[g][world.timepoints.index(tp)]
            wanted = math.log(median) + rng.gauss(0, SPREAD_LOG)
            target = min(range(len(grams) + 1), key=lambda i: _distance(i, log_grams, wanted))
            tested_at = now - dt.timedelta(days=60 - tp.day)
            sessions.append(
                (session_id, now, now, animal_pk, tp.pk, "right", tested_at,
                 study.threshold_method, "complete", "", "")
            )  # fmt: skip
            for order, (size, withdrew) in enumerate(series_for(target), start=1):
                stimuli.append(
                    (stimulus_id, session_id, order, ids[size], withdrew,
                     tested_at + dt.timedelta(seconds=20 * order),
                     uuid.uuid4() if uuids else _fake_uuid(stimulus_id), False, "", False, "")
                )  # fmt: skip
                stimulus_id += 1
            session_id += 1
    insert(
        TestSession,
        ["id", "created_at", "updated_at", "animal_id", "timepoint_id", "paw", "tested_at",
         "method", "status", "notes", "void_reason"],
        sessions,
    )  # fmt: skip
    insert(
        Stimulus,
        ["id", "session_id", "order", "filament_id", "withdrew", "recorded_at", "client_uuid",
         "is_override", "note", "voided", "void_reason"],
        stimuli,
    )  # fmt: skip
    world.n_sessions += len(sessions)
    world.n_stimuli += len(stimuli)


def _distance(i: int, log_grams: list[float], wanted: float) -> float:
    if i == len(log_grams):  # "never withdrew": beyond the strongest filament
        return abs(log_grams[-1] + 0.7 - wanted)
    return abs(log_grams[i] - wanted)


def _fake_uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n | (0xBE7C << 112))


def _next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def insert(model, columns: list[str], rows: Iterable[tuple], *, batch: int = 5000) -> None:
    """Insert raw rows (ids included) and move the table's id sequence past them."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(
                f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN"
            ) as copy:  # noqa: E501
                for row in rows:
                    copy.write_row(row)
            for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
                cursor.execute(sql)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({marks})"
            by_column = {f.column: f for f in model._meta.concrete_fields}
            fields = [by_column[c] for c in columns]
            rows = [
                tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True))
                for row in rows
            ]
            for i in range(0, len(rows), batch):
                cursor.executemany(sql, rows[i : i + batch])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
