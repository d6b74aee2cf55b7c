"""A simulated technician at a tablet: von Frey series tapped over HTTP, as the bench
screen posts them.

Each animal x timepoint x paw is a series stepped by the study's own rule
(`analysis.thresholds.next_filament`) for a rat with a true 50 % threshold and a
logistic response curve. Every tap is what the screen's form sends (client UUID made on
the tablet, filament, session, the last tap seen, withdrawal or not) with the htmx
headers, and the panel that comes back must suggest the same next filament.
"""

from __future__ import annotations

import math
import random
import re
import time
import uuid
from dataclasses import dataclass, field

from analysis import thresholds

_SESSION = re.compile(r'name="session" value="(\d*)"')
_NEXT = re.compile(r'name="filament" value="([^"]*)"')
RESPONSE_SPREAD_LOG10 = 0.12


@dataclass
class Tap:
    fields: dict
    size: str
    withdrew: bool
    client_uuid: str


@dataclass
class Series:
    """One animal x timepoint x paw being tested, as the tablet sees it."""

    slug: str
    animal_pk: int
    timepoint_pk: int
    paw: str
    method: str
    start: str
    true_g: float
    session: str = ""
    stimuli: list[tuple[str, bool]] = field(default_factory=list)
    last_uuid: str = ""

    @property
    def url(self) -> str:
        return f"/s/{self.slug}/bench/vf/{self.animal_pk}/{self.timepoint_pk}/{self.paw}/tap/"

    def next_size(self) -> str | None:
        return thresholds.next_filament(self.stimuli, method=self.method, start=self.start)

    def make_tap(self, rng: random.Random) -> Tap | None:
        size = self.next_size()
        if size is None:
            return None
        grams = next(f.grams for f in thresholds.STOELTING_20 if f.size == size)
        z = (math.log10(grams) - math.log10(self.true_g)) / RESPONSE_SPREAD_LOG10
        withdrew = rng.random() < 1 / (1 + math.exp(-z))
        client_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        fields = {
            "client_uuid": client_uuid,
            "withdrew": "1" if withdrew else "0",
            "filament": size,
            "session": self.session,
            "after": self.last_uuid,
        }
        return Tap(fields, size, withdrew, client_uuid)

    def accept(self, tap: Tap, panel: bytes) -> str:
        """Take the server's answer to `tap`; returns a problem, or "" when all agrees."""
        text = panel.decode()
        found = _SESSION.search(text)
        if found and found.group(1):
            self.session = found.group(1)
        self.stimuli.append((tap.size, tap.withdrew))
        self.last_uuid = tap.client_uuid
        suggested = _NEXT.search(text)
        mine = self.next_size() or ""
        if suggested is None and mine:
            return "the panel suggests no filament"
        if suggested is not None and mine and suggested.group(1) != mine:
            return f"server suggests {suggested.group(1)}, the stepping rule {mine}"
        return ""


HTMX = {"HX-Request": "true", "HX-Target": "bench-panel"}


def send(browser, series: Series, tap: Tap) -> tuple[float, int, str, bytes]:
    """POST one tap: (seconds, status, X-Bench-Result, panel)."""
    t0 = time.perf_counter()
    status, headers, body = browser.request("POST", series.url, tap.fields, HTMX)
    return time.perf_counter() - t0, status, headers.get("X-Bench-Result", ""), body


def series_for(world, keys, rng: random.Random) -> list[Series]:
    """A series per (animal pk, timepoint pk) key, each rat with its own true threshold."""
    study = world.study
    return [
        Series(
            slug=study.slug,
            animal_pk=animal_pk,
            timepoint_pk=timepoint_pk,
            paw="right",
            method=study.threshold_method,
            start=study.start_filament,
            true_g=10 ** rng.uniform(math.log10(0.6), math.log10(100)),
        )
        for animal_pk, timepoint_pk in keys
    ]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); no interpolation, so p95 is a real request."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
