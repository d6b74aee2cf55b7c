"""Randomised allocation: seeded, balanced, recorded, re-derivable."""

import uuid
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from analysis import frames
from animals import allocation, allocation_service
from animals.models import Allocation, Animal
from sessions import services as session_services

GROUPS = ["control", "K5", "K10"]
CODES = [f"R{i:02d}" for i in range(1, 16)]


def test_same_seed_same_table_and_another_seed_another():
    a = allocation.derive("simple", 42, CODES, GROUPS)
    assert a == allocation.derive("simple", 42, list(reversed(CODES)), GROUPS)
    assert a != allocation.derive("simple", 43, CODES, GROUPS)


@given(n=st.integers(1, 40), seed=st.integers(0, 2**32), k=st.integers(2, 5))
def test_simple_allocation_keeps_group_sizes_within_one(n, seed, k):
    groups = [f"G{i}" for i in range(k)]
    table = allocation.derive("simple", seed, [f"A{i}" for i in range(n)], groups)
    sizes = Counter(g for g, _ in table.values())
    assert len(table) == n
    assert max(sizes.values()) - min(sizes.get(g, 0) for g in groups) <= 1


@given(seed=st.integers(0, 2**32), blocks=st.integers(1, 6))
def test_every_full_block_holds_each_group_equally(seed, blocks):
    codes = [f"A{i:02d}" for i in range(6 * blocks)]
    table = allocation.derive("block", seed, codes, GROUPS, block_size=6)
    by_block = {}
    for group, block in table.values():
        by_block.setdefault(block, Counter())[group] += 1
    assert all(counts == Counter(dict.fromkeys(GROUPS, 2)) for counts in by_block.values())


def test_block_size_must_be_a_multiple_of_the_groups():
    with pytest.raises(ValueError, match="block size 4 is not a multiple of the 3 groups"):
        allocation.derive("block", 1, CODES, GROUPS, block_size=4)


@given(seed=st.integers(0, 2**32))
def test_stratified_puts_one_animal_per_group_in_each_baseline_stratum(seed):
    baselines = {code: float(i % 7) * 3 + 1 for i, code in enumerate(CODES)}
    table = allocation.derive("stratified", seed, CODES, GROUPS, baselines_g=baselines)
    strata = {}
    for code, (group, stratum) in table.items():
        strata.setdefault(stratum, []).append((baselines[code], group))
    assert len(strata) == 5
    for members in strata.values():
        assert sorted(g for _, g in members) == sorted(GROUPS)
    # Strata are consecutive in baseline order: every value in stratum i <= stratum i+1.
    ordered = [strata[f"stratum {i}"] for i in range(1, 6)]
    for low, high in zip(ordered, ordered[1:], strict=False):
        assert max(b for b, _ in low) <= min(b for b, _ in high)


def test_stratified_needs_every_baseline():
    with pytest.raises(ValueError, match="no baseline threshold for R02"):
        allocation.derive(
            "stratified", 1, ["R01", "R02", "R03"], GROUPS, baselines_g={"R01": 1, "R03": 2}
        )


def _record_baseline(study, animal, lowest_withdrawal_size):
    """A finished up-down series whose lowest withdrawal is the given filament."""
    session = session_services.start_session(
        animal=animal, timepoint=study.timepoints.get(is_baseline=True), paw="right", user=None
    )
    sizes = [f.size for f in study.filament_set.filaments.order_by("order")]
    i = sizes.index(lowest_withdrawal_size)
    series = [
        (sizes[i], True),
        (sizes[i - 1], False),
        (sizes[i], True),
        (sizes[i - 1], False),
        (sizes[i], True),
        (sizes[i - 1], False),
    ]
    for size, withdrew in series:
        session_services.record_stimulus(
            session=session,
            filament_size=size,
            withdrew=withdrew,
            client_uuid=uuid.uuid4(),
            user=None,
        )


@pytest.fixture
def animals(study):
    return [Animal.objects.create(study=study, code=c) for c in CODES[:6]]


@pytest.mark.django_db
def test_stratified_allocation_of_a_study_is_stored_and_verifiable(study, animals, people):
    for animal, size in zip(animals, ["4.31", "4.56", "4.74", "4.93", "5.07", "5.18"], strict=True):
        _record_baseline(study, animal, size)
    record = allocation_service.allocate(
        study=study,
        method="stratified",
        seed=7,
        baselines_g=frames.baseline_thresholds(study),
        user=people["data_manager"],
    )
    assert record.baselines_g == {
        "R01": 2.0,
        "R02": 4.0,
        "R03": 6.0,
        "R04": 8.0,
        "R05": 10.0,
        "R06": 15.0,
    }
    groups = dict(Animal.objects.filter(study=study).values_list("code", "group__code"))
    assert sorted(groups[c] for c in ["R01", "R02", "R03"]) == sorted(GROUPS)
    assert sorted(groups[c] for c in ["R04", "R05", "R06"]) == sorted(GROUPS)
    assert allocation_service.verify(record)
    animal = Animal.objects.get(code="R01")
    assert animal.history.first().history_change_reason.startswith(f"allocation #{record.pk}")
    # Tampering with the stored table is detected.
    entry = record.entries.get(animal__code="R01")
    entry.group = study.groups.exclude(pk=entry.group_id).first()
    entry.save()
    assert not allocation_service.verify(record)


@pytest.mark.django_db
def test_stratified_without_baselines_names_the_animals_and_changes_nothing(study, animals):
    with pytest.raises(ValidationError) as err:
        allocation_service.allocate(
            study=study,
            method="stratified",
            seed=1,
            baselines_g=frames.baseline_thresholds(study),
            user=None,
        )
    assert "no baseline threshold for R01, R02" in err.value.message_dict["method"][0]
    assert not Allocation.objects.exists()
    assert not Animal.objects.filter(group__isnull=False).exists()


@pytest.mark.django_db
def test_allocation_page_for_data_manager_and_investigator_only(client_for, study, animals):
    url = reverse("study_allocation", args=[study.slug])
    assert client_for("technician").get(url).status_code == 404
    investigator = client_for("investigator")
    assert investigator.get(url).status_code == 200
    assert investigator.post(url, {"method": "simple", "seed": 3}).status_code == 404
    assert not Animal.objects.filter(group__isnull=False).exists()
    manager = client_for("data_manager")
    response = manager.post(url, {"method": "block", "seed": 3, "block_size": 3})
    assert response.status_code == 302
    assert Counter(Animal.objects.values_list("group__code", flat=True)) == Counter(GROUPS * 2)
    page = manager.get(url).content.decode()
    assert "Re-derived: matches" in page and "seed <code>3</code>" in page
    response = manager.post(url, {"method": "block", "seed": 4, "block_size": 3})
    assert "Every active animal is already allocated." in response.content.decode()
    assert Allocation.objects.count() == 1
