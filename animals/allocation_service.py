"""Store an allocation and apply it to the animals, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from animals import allocation
from animals.models import Allocation, AllocationEntry, Animal
from labstudy.models import Study


def baseline_thresholds(study: Study) -> dict[str, float]:
    """Each animal's threshold (g) at the study's baseline timepoint, by the study method."""
    from analysis import frames

    sessions = frames.session_frame(study)
    base = sessions[sessions["is_baseline"] & sessions["threshold_g"].notna()]
    base = base.sort_values(["animal", "paw"]).drop_duplicates("animal")
    return dict(zip(base["animal"], base["threshold_g"].astype(float), strict=True))


@transaction.atomic
def allocate(
    *,
    study: Study,
    method: str,
    seed: int,
    user: AbstractBaseUser | None,
    block_size: int | None = None,
) -> Allocation:
    """Allocate every active, unallocated animal of the study; record method, seed, table."""
    animals = list(
        Animal.objects.select_for_update()
        .filter(study=study, status=Animal.Status.ACTIVE, group__isnull=True)
        .order_by("code")
    )
    groups = list(study.groups.order_by("order", "code"))
    if not animals:
        raise ValidationError({"method": "Every active animal is already allocated."})
    baselines = baseline_thresholds(study) if method == "stratified" else {}
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
        created_by=user,
    )
    by_code = {g.code: g for g in groups}
    entries = []
    for animal in animals:
        group_code, stratum = table[animal.code]
        animal.group = by_code[group_code]
        animal._change_reason = f"allocation #{record.pk} ({method}, seed {seed})"
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
