"""Cage cards and what a scanned card opens: the reads behind the printable card sheet and
the page a card's QR code leads to.

A card is one cage (or one animal without a cage); its QR code holds a link into this
study (`scan_cage` / `scan_animal`), never a group. What a card says about treatment is
`animals.selectors.solution_label` with the study's blinding: the coded letter only on a
blinded study, whoever prints it. Today's work for a scanned cage comes from the bench's
own selectors (von Frey day list, dosing worksheet, weights), filtered to its animals, so a
card opens exactly what the bench lists show.

Nothing here writes, and nothing here decides who may print or scan (labstudy.access).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import segno
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from animals import selectors as animal_selectors
from animals.models import Animal, Surgery
from animals.ordering import natural_key
from labstudy.access import StudyAccess
from labstudy.models import Study
from sessions import selectors as session_selectors

# A stored cage or code is at most 30 characters (Animal.cage, Animal.code); a longer
# address, or one with control characters (a NUL the database would refuse), names none.
LONGEST_KEY = 30


def plausible_key(text: str) -> bool:
    """Could `text` be a stored cage or animal code? (Checked before any query.)"""
    return 0 < len(text) <= LONGEST_KEY and text.isprintable()


def scan_path(study: Study, animal: Animal) -> str:
    """The address a card's QR code holds: the cage, or the animal when it has no cage."""
    if animal.cage:
        return reverse("scan_cage", args=[study.slug, animal.cage])
    return reverse("scan_animal", args=[study.slug, animal.code])


def qr_svg(link: str) -> SafeString:
    """The link as an inline SVG QR code (error correction M: a scuffed card still reads).

    segno writes only the module paths, never the link text, so the markup is safe."""
    code = segno.make(link, error="m", micro=False)
    return mark_safe(code.svg_inline(scale=1, border=4, omitsize=True, svgclass="cage-qr-svg"))


@dataclass(frozen=True)
class CardAnimal:
    code: str
    sex: str
    surgery_side: str
    date_of_birth: dt.date | None
    solution: str


@dataclass(frozen=True)
class CageCard:
    cage: str  # "" for an animal without a cage (its card is the animal's)
    animals: list[CardAnimal]
    link: str
    qr: SafeString


def _surgery_sides(animals: list[Animal]) -> dict[int, str]:
    sides: dict[int, list[str]] = {}
    for surgery in Surgery.objects.filter(animal__in=animals).order_by("date", "pk"):
        sides.setdefault(surgery.animal_id, []).append(surgery.get_side_display())
    return {pk: ", ".join(dict.fromkeys(s)) for pk, s in sides.items()}


def cage_cards(study: Study, *, absolute) -> list[CageCard]:
    """One card per cage of active animals (and one per active animal without a cage), in
    cage order. `absolute(path)` makes the full link the QR code holds (the address the
    sheet was opened at, so tablets on the same address can open it)."""
    animals = sorted(
        Animal.objects.filter(study=study, status=Animal.Status.ACTIVE).select_related("group"),
        key=lambda a: (natural_key(a.cage), natural_key(a.code)),
    )
    sides = _surgery_sides(animals)
    cards: dict[str, list[Animal]] = {}
    for animal in animals:
        cards.setdefault(animal.cage or f"\0{animal.code}", []).append(animal)
    result = []
    for members in cards.values():
        link = absolute(scan_path(study, members[0]))
        result.append(
            CageCard(
                cage=members[0].cage,
                animals=[
                    CardAnimal(
                        code=a.code,
                        sex=a.get_sex_display(),
                        surgery_side=sides.get(a.pk, ""),
                        date_of_birth=a.date_of_birth,
                        solution=animal_selectors.solution_label(
                            a.group, sees_treatment=not study.blinded
                        ),
                    )
                    for a in members
                ],
                link=link,
                qr=qr_svg(link),
            )
        )
    return result


# ---------------------------------------------------------------------------
# What a scanned card opens


@dataclass(frozen=True)
class Work:
    """One thing to do for an animal today, as a button: where it leads and whether done."""

    label: str
    url: str
    done: bool
    state: str


@dataclass(frozen=True)
class AnimalWork:
    animal: Animal
    items: list[Work]

    @property
    def open_items(self) -> list[Work]:
        return [w for w in self.items if not w.done]


def _dated(url_name: str, study: Study, date: dt.date, anchor: str) -> str:
    return f"{reverse(url_name, args=[study.slug])}?date={date.isoformat()}#{anchor}"


def todays_work(access: StudyAccess, animals: list[Animal], date: dt.date) -> list[AnimalWork]:
    """For each animal, in bench order: its von Frey sessions (for those who test), its dose
    row (for those who dose) and its weight row when a weight is due, on `date`. Read from
    the same selectors as the bench lists, so a card opens what the lists show."""
    study = access.study
    wanted = {a.pk for a in animals}
    work: dict[int, list[Work]] = {a.pk: [] for a in animals}
    if access.can_test:
        day = session_selectors.bench_day(study, date)
        several = len(day.timepoints) > 1
        for slot in day.slots:
            if slot.animal.pk not in wanted:
                continue
            label = f"von Frey, {slot.paw_label.lower()}"
            if several:
                label += f" · {slot.timepoint.label}"
            state = {"done": "done", "in_progress": f"{slot.n_taps} taps so far"}.get(
                slot.status, "to do"
            )
            work[slot.animal.pk].append(Work(label, slot.url, slot.status == "done", state))
    if access.can_dose:
        for row in animal_selectors.dose_sheet(study, date).rows:
            if row.animal.pk in wanted:
                state = "to do" if not row.done else row.dose.get_state_display().lower()
                url = _dated("bench_doses", study, date, f"dose-{row.animal.pk}")
                work[row.animal.pk].append(Work("Dose", url, row.done, state))
    for row in animal_selectors.weight_rows(study, animals, date):
        if row.due:
            url = _dated("bench_weights", study, date, f"weight-{row.animal.pk}")
            state = "weighed" if row.done else "to do"
            work[row.animal.pk].append(Work("Weight", url, row.done, state))
    ordered = animal_selectors.active_animals(study, date)
    order = {a.pk: i for i, a in enumerate(ordered)}
    animals = sorted(animals, key=lambda a: order.get(a.pk, len(order)))
    return [AnimalWork(a, work[a.pk]) for a in animals]
