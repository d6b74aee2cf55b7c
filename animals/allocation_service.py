"""Store an allocation and apply it to the animals, in one transaction."""

from __future__ import annotations

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


def verify(record: Allocation) -> bool:
    """True when re-deriving the stored procedure gives the stored table."""
    table = allocation.derive(
        record.method,
        record.seed,
        record.animal_codes,
        record.group_codes,
        block_size=record.block_size,
        baselines_g=record.baselines_g or None,
    )
    stored = {
        code: (group, stratum)
        for code, group, stratum in record.entries.values_list(
            "animal__code", "group__code", "stratum"
        )
    }
    return stored == table
