"""Worlds several test modules build on (a test module never imports another one)."""

from __future__ import annotations

import datetime as dt
import re
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


# ----------------------------------------------------------------------------- the demo study

# The demo's rows are stored with their primary keys moved up by this much, so they never
# meet the rows a test made before it asked for the demo (the people, the reference study).
DEMO_PK_OFFSET = 1_000_000


class DemoSnapshot:
    """The demo study as `labstudy.demo.load_demo_study` writes it, read back once per
    test worker and written again into each test that asks for it, in a few bulk inserts
    instead of the simulation, the allocation and the history (about 2 s of CPU each).

    Rows outside the demo that its rows point at (the Stoelting set, the "add study"
    permission) are found again by their natural keys, because a test that flushes the
    database (a browser test) gives them new keys. tests/labstudy/test_demo.py checks
    that a written snapshot exports the same files as a fresh load.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[type, list[str], list[tuple]]] = []
        self.outside: dict[tuple[type, int], tuple] = {}

    @classmethod
    def take(cls) -> DemoSnapshot:
        """Load the demo in a transaction, read every row it made, roll it all back."""
        from django.apps import apps
        from django.db import transaction
        from django.test import override_settings

        from labstudy.demo import load_demo_study
        from sessions.services import stoelting_set

        snapshot = cls()
        models = [
            m
            for m in apps.get_models(include_auto_created=True)
            if m._meta.managed and not m._meta.proxy and not m._meta.swapped
        ]
        with transaction.atomic():
            stoelting_set()
            before = {m: set(m._base_manager.values_list("pk", flat=True)) for m in models}
            # The autouse test_settings fixture is function-scoped; this runs before it.
            with override_settings(PASSWORD_HASHERS=[MD5_HASHER]):
                load_demo_study()
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
        """Primary keys and keys pointing at demo rows go up by DEMO_PK_OFFSET; a history
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
                        row[i] += DEMO_PK_OFFSET
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


MD5_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
