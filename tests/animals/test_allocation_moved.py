"""Re-deriving an allocation also checks each animal's group today, not only the stored table."""

import pytest
from django.urls import reverse

from animals import allocation_service
from animals.models import Animal


@pytest.fixture
def allocated(study, people):
    for number in range(1, 7):
        Animal.objects.create(study=study, code=f"R{number:02d}")
    return allocation_service.allocate(
        study=study, method="block", seed=3, block_size=3, user=people["data_manager"]
    )


@pytest.mark.django_db
def test_an_animal_moved_after_allocation_is_reported(study, allocated):
    assert allocation_service.verify(allocated)
    animal = Animal.objects.get(study=study, code="R04")
    allocated_code = animal.group.code
    other = study.groups.exclude(pk=animal.group_id).order_by("code").first()
    animal.group = other
    animal.save()
    result = allocation_service.check(allocated)
    assert result.table_matches  # the stored table itself is untouched
    assert result.moved == (("R04", allocated_code, other.code),)
    assert not allocation_service.verify(allocated)


@pytest.mark.django_db
def test_an_animal_taken_out_of_its_group_is_reported(study, allocated):
    Animal.objects.filter(study=study, code="R02").update(group=None)
    result = allocation_service.check(allocated)
    assert [(code, now) for code, _allocated, now in result.moved] == [("R02", None)]


@pytest.mark.django_db
def test_allocation_page_names_the_moved_animal(client_for, study, allocated):
    url = reverse("study_allocation", args=[study.slug])
    page = client_for("data_manager").get(url).content.decode()
    assert "no longer in the allocated group" not in page
    animal = Animal.objects.get(study=study, code="R05")
    allocated_code = animal.group.code
    animal.group = study.groups.exclude(pk=animal.group_id).order_by("code").first()
    animal.save()
    page = client_for("investigator").get(url).content.decode()
    assert "1 animal no longer in the allocated group" in page
    assert f"R05: allocated to {allocated_code}, now in {animal.group.code}" in page
    assert "Re-derived: matches" in page  # the table is fine; the animal moved
