"""Store an allocation and apply it to the animals, in one transaction.

A stratified allocation needs each animal's baseline threshold; the caller reads them
(analysis.frames.baseline_thresholds) and passes them in, so the animals app never imports
the analysis app above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from animals import allocation
from animals.models import Allocation, AllocationEntry, Animal
from labstudy.models import Study


@transaction.atomic
def allocate(
    *,
    study: Study,
    method: str,
    seed: int,
    user: AbstractBaseUser | None,
    block_size: int | None = None,
    baselines_g: Mapping[str, float] | None = None,
    reallocate: bool = False,
    reason: str = "",
    notes: str = "",
) -> Allocation:
    """Allocate every active, unallocated animal of the study; record method, seed, table.

    `baselines_g` (animal code -> baseline threshold in g, from
    analysis.frames.baseline_thresholds) is required for the stratified method and unused
    by the others; an animal missing from it is named in the refusal.
    With `reallocate`, every active animal is allocated afresh: only while the study is in
    planning and with a reason; the earlier allocations stay, marked superseded.
    """
    if method == "stratified" and baselines_g is None:
        raise TypeError("a stratified allocation needs baselines_g from its caller")
    reason = reason.strip()
    animals = Animal.objects.select_for_update().filter(study=study, status=Animal.Status.ACTIVE)
    if reallocate:
        if study.status != Study.Status.PLANNING:
            raise ValidationError(
                {
                    "reason": f"Re-allocation is closed: the study is "
                    f"{study.get_status_display().lower()}. Animals can be re-allocated only "
                    "while the study is in planning, before any are treated."
                }
            )
        if not reason:
            raise ValidationError(
                {"reason": "Say why the animals are re-allocated: it is kept in the history."}
            )
    else:
        animals = animals.filter(group__isnull=True)
    animals = list(animals.order_by("code"))
    groups = list(study.groups.order_by("order", "code"))
    if not animals:
        raise ValidationError({"method": "Every active animal is already allocated."})
    baselines = dict(baselines_g or {}) if method == "stratified" else {}
    codes = [a.code for a in animals]
    try:
        table = allocation.derive(
            method,
            seed,
            codes,
            [g.code for g in groups],
            block_size=block_size,
            baselines_g={c: baselines.get(c) for c in codes} if method == "stratified" else None,
        )
    except ValueError as exc:
        field = "block_size" if "block size" in str(exc) else "method"
        raise ValidationError({field: str(exc)}) from None
    baseline_tp = study.timepoints.filter(is_baseline=True).first()
    record = Allocation.objects.create(
        study=study,
        method=method,
        seed=seed,
        block_size=block_size if method == "block" else None,
        baseline_timepoint=baseline_tp.label if (baseline_tp and method == "stratified") else "",
        group_codes=[g.code for g in groups],
        animal_codes=codes,
        baselines_g={c: baselines[c] for c in codes} if method == "stratified" else {},
        reason=reason if reallocate else "",
        notes=notes,
        created_by=user,
    )
    if reallocate:
        earlier = study.allocations.filter(superseded_at__isnull=True).exclude(pk=record.pk)
        for old in earlier.select_for_update():
            old.superseded_at = record.created_at
            old.superseded_by = record
            old._change_reason = f"superseded by allocation #{record.pk}: {reason}"
            old._history_user = user
            old.save(update_fields=["superseded_at", "superseded_by", "updated_at"])
    by_code = {g.code: g for g in groups}
    entries = []
    why = f"re-allocation #{record.pk}" if reallocate else f"allocation #{record.pk}"
    for animal in animals:
        group_code, stratum = table[animal.code]
        animal.group = by_code[group_code]
        animal._change_reason = f"{why} ({method}, seed {seed})" + (
            f": {reason}" if reallocate else ""
        )
        animal._history_user = user
        animal.save(update_fields=["group", "updated_at"])
        entries.append(
            AllocationEntry(
                allocation=record,
                animal=animal,
                group=by_code[group_code],
                stratum=stratum,
                baseline_g=baselines.get(animal.code),
            )
        )
    AllocationEntry.objects.bulk_create(entries)
    return record


@dataclass(frozen=True)
class GroupSizes:
    """How many animals an allocation put in each group (in the procedure's group order),
    and, when they differ, why."""

    sizes: tuple[tuple[str, int], ...]
    note: str

    @property
    def equal(self) -> bool:
        return not self.note

    @property
    def shown(self) -> str:
        return ", ".join(f"{code} {n}" for code, n in self.sizes)


def group_sizes(record: Allocation) -> GroupSizes:
    counted = dict(record.entries.values_list("group__code").annotate(n=Count("pk")).order_by())
    sizes = tuple((code, counted.get(code, 0)) for code in record.group_codes)
    note = allocation.size_note(
        record.method, [n for _code, n in sizes], block_size=record.block_size
    )
    return GroupSizes(sizes=sizes, note=note)


@dataclass(frozen=True)
class AllocationCheck:
    """What re-deriving an allocation found.

    `table_matches`: the stored table is what the method and seed give. `moved`: one
    (animal code, allocated group code, current group code or None) per animal whose group
    is no longer the one it was allocated to.
    """

    table_matches: bool
    moved: tuple[tuple[str, str, str | None], ...]

    @property
    def ok(self) -> bool:
        return self.table_matches and not self.moved


def check(record: Allocation) -> AllocationCheck:
    """Re-derive the table from the stored procedure; compare it with the stored entries and
    every entry with its animal's group today (one query for the entries)."""
    table = allocation.derive(
        record.method,
        record.seed,
        record.animal_codes,
        record.group_codes,
        block_size=record.block_size,
        baselines_g=record.baselines_g or None,
    )
    rows = record.entries.values_list(
        "animal__code", "group__code", "stratum", "animal__group__code"
    ).order_by("animal__code")
    stored = {code: (group, stratum) for code, group, stratum, _now in rows}
    moved = tuple((code, group, now) for code, group, _stratum, now in rows if now != group)
    return AllocationCheck(table_matches=stored == table, moved=moved)


def verify(record: Allocation) -> bool:
    """True when re-deriving the stored procedure gives the stored table and every animal is
    still in the group it was allocated to."""
    return check(record).ok
