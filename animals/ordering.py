"""The order animals are worked through at the bench: by cage, or in the study's seeded
random order for the day.

One rule for every bench list (von Frey, dosing, weights). Pure ordering of animals already
read; it queries nothing and must not import the sessions app.
"""

from __future__ import annotations

import random
import re

from animals.models import Animal
from labstudy.models import Study

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that puts cage C2 before C10."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(text))


def bench_order(study: Study, animals: list[Animal], day: int) -> list[Animal]:
    """Animals in cage order, or in the study's seeded random order for that study day.

    The random order is reproducible: the same study, seed and day give the same list.
    """
    ordered = sorted(animals, key=lambda a: (natural_key(a.cage), natural_key(a.code)))
    if study.randomise_test_order:
        random.Random(f"{study.order_seed}:{day}").shuffle(ordered)
    return ordered
