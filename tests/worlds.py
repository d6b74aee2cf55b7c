"""The worlds the tests build, each declared once: a test module imports its builders from
here (or takes them as fixtures from tests/conftest.py) and never from another test module.

- `series_to` / `responder_series`: the series a rat with a sharp threshold gives.
- `add_animals`, `record`, `bulk_study`: hand-made studies for frames, dashboard, charts.
- `build_small_study`: the small study of tests/analysis/test_exports.py, recorded through
  the bench services (fixture `small_study`, written from `take_small_snapshot`'s rows,
  taken once per worker).
- `make_bench_study`: the reference study running on day 28 with four animals, and the
  bench helpers `session_url`, `tap`, `state_of`.
- `make_lan_world`: the same bench day and its people in the database of a server started
  by `manage.py serve_lan` (tests/browser/test_lan.py runs it in that process).
- `rows_for`, `base_rows`, `to_csv`, `counts`: hand-written import files and what a refused
  import must leave unchanged.
- `project_urls`, `route_url`, `client_as`: every URL of the project, for the crawls.
- `DemoSnapshot`: the demo study, loaded once per worker (fixture `demo_study`).
- `manage`: `python manage.py ...` as a person runs it, on a database of its own (the
  fixture `migrated_sqlite` is one such run of `migrate`, shared by the whole test run).
- `qr_pixels`, `read_qr`, `y4m_video`: a cage card's QR code as pixels, read back with
  zxing-cpp, and a still picture as a fake camera's video file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from analysis import exports, thresholds
from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from labstudy import services
from labstudy.models import Membership, Role, Study, Timepoint, TreatmentGroup
from sessions import services as session_services
from sessions.models import Filament, LegacyThreshold, Stimulus, TestSession

ROOT = Path(__file__).resolve().parents[1]


def manage_env(**extra: str) -> dict:
    """The environment of a command run as a person starts it: none of this process's
    LABSTUDY_ settings or DJANGO_SETTINGS_MODULE, `extra` (e.g. DATABASE_URL) on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def manage(*args: str, database_url: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python manage.py *args` in a process of its own on `database_url`."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=manage_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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


def make_lan_world(*, password: str) -> dict[str, str]:
    """A data manager (dan) and a technician (tess) with `password`, and the reference
    study "lan" on day 28 (make_bench_study). Returns the paths the browser test opens."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    manager = users.create_user("dan", password=password, first_name="Dan")
    technician = users.create_user("tess", password=password, first_name="Tess")
    study = services.create_study(
        template_key="psnl-vf-3x8",
        slug="lan",
        title="PSNL on the lab network",
        day0_date=timezone.localdate(),
        user=manager,
    )
    Membership.objects.create(user=technician, study=study, role=Role.TECHNICIAN)
    bench = make_bench_study(study)
    return {"session": session_url(bench, "R03"), "today": reverse("bench_today", args=["lan"])}


def browser_value(html: str, name: str) -> str:
    """What a browser posts for an <input type="date">: its value when it is an ISO date,
    and nothing otherwise (a browser drops a value like 01/09/2026)."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    assert 'type="date"' in tag
    value = re.search(r'value="([^"]*)"', tag)
    try:
        return dt.date.fromisoformat(value.group(1)).isoformat() if value else ""
    except ValueError:
        return ""


def settings_as_posted(client, url: str, **changes) -> dict:
    """The study settings form as a browser posts it untouched (no disabled or unticked
    field; Day 0 as the date input shows it), with `changes` (field names unprefixed)."""
    response = client.get(url)
    form, html = response.context["form"], response.content.decode()
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or value is False or field.disabled:
            continue
        data[f"study-{name}"] = value
    data["study-day0_date"] = browser_value(html, "study-day0_date")
    data.update({f"study-{k}": v for k, v in changes.items()})
    return data


# ----------------------------------------------------------------------------- hand-made series
# `series_to(target_g)` is the series a rat gives when it withdraws from every filament at
# or above `target_g` and from none below, stepped by the study's own rule
# (`thresholds.next_filament`). Its target force (lowest withdrawal) is therefore exactly
# `target_g`, so every threshold, mean and %MPE in a test can be worked out by hand.

NEVER = 10_000.0  # a rat that withdraws from no filament: target force = cut-off


def series_to(
    target_g: float, *, method: str = "first_response", start: str = "4.31"
) -> list[tuple[str, bool]]:
    series: list[tuple[str, bool]] = []
    grams = {f.size: f.grams for f in thresholds.STOELTING_20}
    while (size := thresholds.next_filament(series, method=method, start=start)) is not None:
        series.append((size, grams[size] >= target_g))
    return series


# The name the export and import tests use: the series the bench guidance produces for a
# rat with a sharp threshold (math.inf: a rat that never withdraws).
responder_series = series_to


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


# ----------------------------------------------------------------------------- the small study
# Described in tests/analysis/test_exports.py, whose values were worked out on paper.

TRUE_G = {
    "A1": ("control", (26, 15, 26)),
    "A2": ("control", (15, 15, 10)),
    "B1": ("K10", (26, 100, math.inf)),
    "B2": ("K10", (15, 60, 180)),
}
TIMEPOINTS = (("T0", 7, True), ("T1", 14, False), ("T2", 21, False))
SMALL_DAY0 = dt.date(2026, 9, 1)


def build_small_study(people, *, slug: str = "small"):
    """The small hand-made study (tests/analysis/test_exports.py), recorded through the
    same services as the bench."""
    manager = people["data_manager"]
    study = services.create_study(
        template_key="blank",
        slug=slug,
        title="Small hand-made study",
        day0_date=SMALL_DAY0,
        user=manager,
        strain="Wistar",
        first_day=0,
        last_day=28,
    )
    for role in (Role.TECHNICIAN, Role.INVESTIGATOR):
        Membership.objects.create(user=people[role], study=study, role=role)
    groups = {
        "control": TreatmentGroup.objects.create(
            study=study, code="control", name="Control (PSNL only)", is_control=True, order=1,
            coded_letter="A",
        ),
        "K10": TreatmentGroup.objects.create(
            study=study, code="K10", name="Ketamine 10 mg/kg", drug="ketamine", dose_mg_kg=10,
            order=2, coded_letter="B",
        ),
    }  # fmt: skip
    tps = [
        Timepoint.objects.create(study=study, label=label, day=day, is_baseline=base, order=i)
        for i, (label, day, base) in enumerate(TIMEPOINTS, start=1)
    ]
    technician = people["technician"]
    for number, (code, (group, values)) in enumerate(TRUE_G.items(), start=1):
        animal = Animal.objects.create(
            study=study, code=code, cage=f"C{number}", group=groups[group], sex="male"
        )
        for tp, true_g in zip(tps, values, strict=True):
            session = session_services.start_session(
                animal=animal, timepoint=tp, paw="right", user=technician
            )
            for size, withdrew in responder_series(true_g):
                session_services.record_stimulus(
                    session=session, filament_size=size, withdrew=withdrew, user=technician
                )
    b1 = Animal.objects.get(study=study, code="B1")
    BodyWeight.objects.create(animal=b1, date=SMALL_DAY0, grams="251.5")
    DoseAdministration.objects.create(
        animal=b1,
        scheduled_date=SMALL_DAY0 + dt.timedelta(days=7),
        study_day=7,
        dose_mg_kg=10,
        volume_ml="0.25",
        route="i.p.",
        status="missed",
        reason="escaped during restraint",
    )
    Observation.objects.create(
        animal=b1,
        date=SMALL_DAY0 + dt.timedelta(days=15),
        kind="adverse_event",
        term="hematuria",
        severity="mild",
    )
    return study


def export_text(study, what: str, **kwargs) -> str:
    out = io.StringIO()
    exports.StudyExport(study, **kwargs).write_csv(what, out)
    return out.getvalue()


def as_dicts(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ----------------------------------------------------------------------------- the bench


def session_url(bench, code="R03", name="bench_session", paw="right"):
    args = [bench.study.slug, bench.animals[code].pk, bench.tp.pk, paw]
    return reverse(name, args=args)


def tap(client, bench, *, withdrew, size, code="R03", session="", after=None, tap_uuid=None):
    data = {
        "client_uuid": str(tap_uuid or uuid.uuid4()),
        "withdrew": "1" if withdrew else "0",
        "filament": size,
        "session": session,
    }
    if after is not None:
        data["after"] = after
    return client.post(session_url(bench, code, "bench_tap"), data, HTTP_HX_REQUEST="true")


def state_of(response) -> dict:
    match = re.search(
        r'<script id="bench-state" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match.group(1))


# ----------------------------------------------------------------------------- import files
# A base file of two rats at T0: A1 (control; withdraws from 26 g, 11 stimuli on lines
# 2-12) and A2 (K10; withdraws from 15 g, 10 stimuli on lines 13-22).

HEADER = "animal,group,timepoint,day,paw,order,filament_size,response"
GRAMS = {"4.31": "2", "4.56": "4", "4.74": "6", "4.93": "8", "5.07": "10", "5.18": "15",
         "5.46": "26", "4.17": "1.4", "4.08": "1", "3.84": "0.6"}  # fmt: skip


def rows_for(animal: str, group: str, true_g: float, *, tp="T0", day=7) -> list[list[str]]:
    return [
        [animal, group, tp, str(day), "right", str(order), size, "1" if withdrew else "0"]
        for order, (size, withdrew) in enumerate(responder_series(true_g), start=1)
    ]


def base_rows() -> list[list[str]]:
    return rows_for("A1", "control", 26) + rows_for("A2", "K10", 15)


def to_csv(rows: list[list[str]], header: str = HEADER, sep: str = ",") -> bytes:
    lines = [header.replace(",", sep)] + [sep.join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def counts() -> dict[str, int]:
    models = (Study, TreatmentGroup, Timepoint, Animal, TestSession, Stimulus, LegacyThreshold)
    out = {m.__name__: m.objects.count() for m in models}
    out["history"] = Stimulus.history.count() + TestSession.history.count()
    return out


# ----------------------------------------------------------------------------- every URL

SKIP_PREFIXES = ("admin/", "accounts/")  # Django's own apps, covered by their tests


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def project_urls() -> dict[str, str]:
    return {
        name: route
        for route, name in _walk(get_resolver().url_patterns)
        if not route.startswith(SKIP_PREFIXES)
    }


def route_url(name, route, kwargs):
    needed = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
    names = [a or b for a, b in needed]
    return reverse(name, kwargs={k: kwargs[k] for k in names})


def client_as(users, role):
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    return client


# ----------------------------------------------------------------------------- the demo study

# The demo's rows are stored with their primary keys moved up by this much, so they never
# meet the rows a test made before it asked for the demo (the people, the reference study).
DEMO_PK_OFFSET = 1_000_000


class DemoSnapshot:
    """The demo study as `front.demo.load_demo_study` writes it, read back once per
    test worker and written again into each test that asks for it, in a few bulk inserts
    instead of the simulation, the allocation and the history (about 2 s of CPU each).

    Rows outside the demo that its rows point at (the Stoelting set, the "add study"
    permission) are found again by their natural keys, because a test that flushes the
    database (a browser test) gives them new keys. tests/labstudy/test_demo.py checks
    that a written snapshot exports the same files as a fresh load. The small study's
    snapshot (`take_small_snapshot`) is one of these too.
    """

    def __init__(self, offset: int = DEMO_PK_OFFSET) -> None:
        self.rows: list[tuple[type, list[str], list[tuple]]] = []
        self.outside: dict[tuple[type, int], tuple] = {}
        self.offset = offset

    @classmethod
    def take(cls, load=None, *, given=None, offset: int = DEMO_PK_OFFSET) -> DemoSnapshot:
        """Load the demo (or call `load`) in a transaction, read every row it made, roll
        it all back. `given()`, called first, makes rows a test makes for itself before it
        asks for the snapshot (the `people` accounts); they are not in the snapshot, the
        loaded rows that point at them find them again by natural key, and `load` gets
        what `given` returned. `offset` keeps two snapshots' keys apart."""
        from django.apps import apps
        from django.db import transaction
        from django.test import override_settings

        from front.demo import load_demo_study
        from sessions.services import stoelting_set

        snapshot = cls(offset)
        models = [
            m
            for m in apps.get_models(include_auto_created=True)
            if m._meta.managed and not m._meta.proxy and not m._meta.swapped
        ]
        with transaction.atomic():
            stoelting_set()
            # The autouse test_settings fixture is function-scoped; this runs before it.
            with override_settings(PASSWORD_HASHERS=[MD5_HASHER]):
                made_first = given() if given else None
                before = {m: set(m._base_manager.values_list("pk", flat=True)) for m in models}
                if load is None:
                    load_demo_study()
                else:
                    load(made_first)
            made: dict[type, set] = {}
            for model in models:
                fields = [f.attname for f in model._meta.concrete_fields]
                rows = [
                    r
                    for r in model._base_manager.order_by("pk").values_list(*fields)
                    if r[fields.index(model._meta.pk.attname)] not in before[model]
                ]
                if rows:
                    snapshot.rows.append((model, fields, rows))
                    made[model] = {r[fields.index(model._meta.pk.attname)] for r in rows}
            snapshot._note_outside_rows(made)
            snapshot._move_keys(made)
            snapshot._prepare()
            transaction.set_rollback(True)
        return snapshot

    def _note_outside_rows(self, made: dict[type, set]) -> None:
        from sessions.models import Filament, FilamentSet

        for model, fields, rows in self.rows:
            for field in model._meta.concrete_fields:
                if not field.is_relation:
                    continue
                target = field.related_model._meta.concrete_model
                i = fields.index(field.attname)
                for value in {r[i] for r in rows} - made.get(target, set()) - {None}:
                    if target is Filament:
                        f = Filament.objects.select_related("filament_set").get(pk=value)
                        key = (f.filament_set.slug, f.size)
                    elif target is FilamentSet:
                        key = (FilamentSet.objects.get(pk=value).slug,)
                    elif hasattr(target, "natural_key"):
                        key = target._base_manager.get(pk=value).natural_key()
                    else:
                        raise ValueError(f"demo row points outside the demo: {target} {value}")
                    self.outside[target, value] = key

    def _move_keys(self, made: dict[type, set]) -> None:
        """Primary keys and keys pointing at snapshot rows go up by the offset; a history
        row's copy of its object's key too."""
        moved = []
        for model, fields, rows in self.rows:
            shift = []
            for field in model._meta.concrete_fields:
                target = None
                if field.primary_key and not field.is_relation:
                    target = model
                elif field.is_relation:
                    target = field.related_model._meta.concrete_model
                instance_type = getattr(model, "instance_type", None)  # simple_history
                if instance_type and field.attname == instance_type._meta.pk.attname:
                    target = instance_type
                if target in made:
                    shift.append((fields.index(field.attname), made[target]))
            new_rows = []
            for row in rows:
                row = list(row)
                for i, keys in shift:
                    if row[i] in keys:
                        row[i] += self.offset
                new_rows.append(tuple(row))
            moved.append((model, fields, new_rows))
        self.rows = moved

    def _prepare(self) -> None:
        """Each row as the database adapter takes it, so writing it is one executemany
        per table (the ORM's insert compiler would cost as much as the loader)."""
        from django.db import connection

        tables = []
        for model, fields, rows in self.rows:
            by_name = {f.attname: f for f in model._meta.concrete_fields}
            columns = [by_name[name] for name in fields]
            outside = [
                (i, field.related_model._meta.concrete_model)
                for i, field in enumerate(columns)
                if field.is_relation
                and any(
                    target is field.related_model._meta.concrete_model for target, _ in self.outside
                )
            ]
            prepared = [
                tuple(f.get_db_prep_save(v, connection) for f, v in zip(columns, row, strict=True))
                for row in rows
            ]
            tables.append((model, [f.column for f in columns], outside, prepared))
        self.tables = tables

    def install(self) -> None:
        """Write the demo into the current test's database."""
        from django.core.management.color import no_style
        from django.db import connection, transaction

        from sessions.models import Filament, FilamentSet
        from sessions.services import stoelting_set

        stoelting_set()
        found = {}
        for (target, value), key in self.outside.items():
            if target is Filament:
                found[target, value] = Filament.objects.get(
                    filament_set__slug=key[0], size=key[1]
                ).pk
            elif target is FilamentSet:
                found[target, value] = FilamentSet.objects.get(slug=key[0]).pk
            else:
                found[target, value] = target._default_manager.get_by_natural_key(*key).pk
        quote = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            for model, columns, outside, rows in self.tables:
                if outside:
                    rows = [list(row) for row in rows]
                    for row in rows:
                        for i, target in outside:
                            row[i] = found.get((target, row[i]), row[i])
                sql = "INSERT INTO {} ({}) VALUES ({})".format(
                    quote(model._meta.db_table),
                    ", ".join(quote(c) for c in columns),
                    ", ".join(["%s"] * len(columns)),
                )
                cursor.executemany(sql, rows)
            for sql in connection.ops.sequence_reset_sql(no_style(), [t[0] for t in self.tables]):
                cursor.execute(sql)


# The small study's snapshot sits above the demo's, so a test may ask for both.
SMALL_PK_OFFSET = 2_000_000
PASSWORD = "correct-horse-battery"
PEOPLE = {"technician": "tess", "investigator": "ivy", "data_manager": "dan", "outsider": "olly"}


def make_people() -> dict:
    """The four accounts around the reference study (fixture `people`)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return {
        role: User.objects.create_user(username=name, password=PASSWORD)
        for role, name in PEOPLE.items()
    }


def take_small_snapshot() -> DemoSnapshot:
    """`build_small_study` once, as rows to write into each test that asks for
    `small_study` (0.35 s of CPU a build, in about a hundred tests). The people are the
    test's own; tests/analysis/test_exports.py checks that the written study exports the
    same files as a fresh build."""
    return DemoSnapshot.take(build_small_study, given=make_people, offset=SMALL_PK_OFFSET)


# The reference study's snapshot sits above the small study's.
REFERENCE_PK_OFFSET = 3_000_000


def build_reference_study(people) -> Study:
    """The reference design (3 groups, phases A/B/C, T0-T7), blinded, day 0 on 1 Sep 2026,
    made by the data manager, with the technician and the investigator as members (fixture
    `study`, written from `take_reference_snapshot`'s rows)."""
    study = services.create_study(
        template_key="psnl-vf-3x8",
        slug="psnl",
        title="PSNL allodynia study",
        day0_date=dt.date(2026, 9, 1),
        user=people["data_manager"],
    )
    for role in (Role.TECHNICIAN, Role.INVESTIGATOR):
        Membership.objects.create(user=people[role], study=study, role=role)
    return study


def take_reference_snapshot() -> DemoSnapshot:
    """`build_reference_study` once per worker, as rows to write into each test that asks
    for `study` (about 0.15 s of CPU a build, in some 650 tests). Its solution letters are
    drawn once per worker and run; tests/labstudy/test_models.py checks that the written
    study holds the rows of a fresh build."""
    return DemoSnapshot.take(build_reference_study, given=make_people, offset=REFERENCE_PK_OFFSET)


MD5_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


# ----------------------------------------------------------------------------- QR codes

_SVG_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')
_SVG_PATH = re.compile(r'<path[^>]* d="([^"]+)"')
_PATH_STEP = re.compile(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?")


def qr_pixels(svg: str, *, scale: int = 6):
    """The black/white pixels of a QR code as segno draws it inline (one <path> of
    horizontal strokes, each one module high, centred half a module below its row), as
    a uint8 image (0 black, 255 white) for a barcode reader."""
    import numpy as np

    width, height = (int(v) for v in _SVG_VIEWBOX.search(svg).groups())
    modules = np.zeros((height, width), dtype=bool)
    x = y = 0.0
    for op, a, b in _PATH_STEP.findall(_SVG_PATH.search(svg).group(1)):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            row, start = math.floor(y), round(x)
            modules[row, start : start + round(float(a))] = True
            x += float(a)
    image = np.where(modules, 0, 255).astype(np.uint8)
    return np.kron(image, np.ones((scale, scale), dtype=np.uint8))


def read_qr(pixels) -> list[str]:
    """The texts of the QR codes zxing-cpp finds in a greyscale image."""
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormat.QRCode)]


def y4m_video(grey, *, width: int = 640, height: int = 480, frames: int = 10) -> bytes:
    """A still greyscale picture (uint8, white = 255) centred on a white 4:2:0 video, the
    file Chromium's --use-file-for-fake-video-capture plays as the camera, in a loop."""
    import numpy as np

    h, w = grey.shape
    factor = min(1, (width - 40) / w, (height - 40) / h)
    if factor < 1:  # shrink by whole-pixel sampling: a QR module stays a block of pixels
        rows = (np.arange(int(h * factor)) / factor).astype(int)
        cols = (np.arange(int(w * factor)) / factor).astype(int)
        grey = grey[rows][:, cols]
        h, w = grey.shape
    luma = np.full((height, width), 235, dtype=np.uint8)
    top, left = (height - h) // 2, (width - w) // 2
    luma[top : top + h, left : left + w] = 16 + (grey.astype(np.uint16) * 219 // 255)
    chroma = np.full((height // 2) * (width // 2), 128, dtype=np.uint8).tobytes()
    frame = b"FRAME\n" + luma.tobytes() + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    return header + frame * frames
