"""Worlds several test modules build on (a test module never imports another one)."""

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
