"""Invariants of animals and their records."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from animals.models import Animal, BodyWeight, DoseAdministration


@pytest.fixture
def animal(study):
    return Animal.objects.create(study=study, code="R01", cage="C1")


@pytest.mark.django_db
def test_duplicate_animal_code_in_a_study_is_refused(study, animal):
    dup = Animal(study=study, code="R01")
    with pytest.raises(ValidationError) as err:
        dup.full_clean()
    assert "Code" in " ".join(err.value.messages)
    with pytest.raises(IntegrityError), transaction.atomic():
        dup.save()


@pytest.mark.django_db
def test_same_code_in_another_study_is_fine(study, animal, people):
    from labstudy import services

    other = services.create_study(
        template_key="blank",
        slug="other",
        title="Other",
        day0_date=dt.date(2026, 1, 1),
        user=people["data_manager"],
    )
    Animal.objects.create(study=other, code="R01")
    assert Animal.objects.filter(code="R01").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("grams", [Decimal("0"), Decimal("-5")])
def test_weight_of_zero_or_less_is_refused_naming_grams(animal, grams):
    weight = BodyWeight(animal=animal, date=dt.date(2026, 9, 1), grams=grams)
    with pytest.raises(ValidationError) as err:
        weight.full_clean()
    assert "grams" in err.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        weight.save()
    assert BodyWeight.objects.count() == 0


@pytest.mark.django_db
def test_group_from_another_study_is_refused(study, animal, people):
    from labstudy import services

    other = services.create_study(
        template_key="psnl-vf-3x8",
        slug="other",
        title="Other",
        day0_date=dt.date(2026, 1, 1),
        user=people["data_manager"],
    )
    animal.group = other.groups.get(code="K10")
    with pytest.raises(ValidationError) as err:
        animal.full_clean()
    assert "group" in err.value.message_dict


@pytest.mark.django_db
def test_leaving_the_study_needs_a_date_and_a_reason(animal):
    animal.status = Animal.Status.EUTHANISED
    with pytest.raises(ValidationError) as err:
        animal.full_clean()
    assert {"status_date", "status_reason"} <= set(err.value.message_dict)
    animal.status_date = dt.date(2026, 9, 20)
    animal.status_reason = "autotomy, humane end point"
    animal.full_clean()


@pytest.mark.django_db
def test_missed_dose_needs_a_reason_and_given_dose_a_time(animal):
    missed = DoseAdministration(
        animal=animal,
        scheduled_date=dt.date(2026, 9, 8),
        study_day=7,
        status=DoseAdministration.Status.MISSED,
    )
    with pytest.raises(ValidationError) as err:
        missed.full_clean()
    assert "reason" in err.value.message_dict
    given = DoseAdministration(
        animal=animal,
        scheduled_date=dt.date(2026, 9, 8),
        study_day=7,
        status=DoseAdministration.Status.GIVEN,
    )
    with pytest.raises(ValidationError) as err:
        given.full_clean()
    assert "given_at" in err.value.message_dict


@pytest.mark.django_db
def test_one_live_dose_per_animal_and_day_but_voided_ones_stay(animal):
    kwargs = {"animal": animal, "scheduled_date": dt.date(2026, 9, 8), "study_day": 7}
    DoseAdministration.objects.create(voided=True, void_reason="entered twice", **kwargs)
    DoseAdministration.objects.create(**kwargs)
    with pytest.raises(IntegrityError), transaction.atomic():
        DoseAdministration.objects.create(**kwargs)
    assert DoseAdministration.objects.count() == 2


@pytest.mark.django_db
def test_animal_history_records_who_changed_what(animal, people):
    animal.cage = "C9"
    animal._history_user = people["data_manager"]
    animal._change_reason = "moved after fighting"
    animal.save()
    record = animal.history.first()
    assert (record.cage, record.history_user, record.history_change_reason) == (
        "C9",
        people["data_manager"],
        "moved after fighting",
    )
    assert record.prev_record.cage == "C1"
