"""The set-up pages' writes as services: the rows of one page are saved all or none, each
with the reason in its history (labstudy.services); the settings save moves the doses'
study days with Day 0 in the same transaction (front.services)."""

import datetime as dt

import pytest
from django.db import IntegrityError

from animals.models import Animal, DoseAdministration
from front.services import save_study_settings
from labstudy import services


@pytest.mark.django_db
def test_set_up_rows_are_saved_all_or_none_with_the_reason(study, people):
    dan = people["data_manager"]
    t0, t1 = study.timepoints.order_by("day")[:2]
    t0.label, t1.label = "Baseline", "Pre"
    services.save_setup_rows(rows=[t0, t1], user=dan, reason="clearer labels")
    stored = list(study.timepoints.order_by("day").values_list("label", flat=True)[:2])
    assert stored == ["Baseline", "Pre"]
    latest = t0.history.latest()
    assert (latest.history_change_reason, latest.history_user) == ("clearer labels", dan)

    t0.label, t1.label = "Day 7", "Day 7"  # the second breaks the one-label-per-study rule
    with pytest.raises(IntegrityError):
        services.save_setup_rows(rows=[t0, t1], user=dan, reason="")
    stored = list(study.timepoints.order_by("day").values_list("label", flat=True)[:2])
    assert stored == ["Baseline", "Pre"]  # the first row's change went with the second's


@pytest.mark.django_db
def test_moving_day_0_moves_the_doses_study_days_in_the_same_save(study, people):
    animal = Animal.objects.create(study=study, code="R01")
    dose = DoseAdministration.objects.create(
        animal=animal, scheduled_date=dt.date(2026, 9, 8), study_day=7
    )
    study.day0_date = dt.date(2026, 9, 2)
    save_study_settings(
        study=study, user=people["data_manager"], reason="surgery a day late", day0_moved=True
    )
    dose.refresh_from_db()
    assert dose.study_day == 6
    assert study.history.latest().history_change_reason == "surgery a day late"
    assert dose.history.latest().history_change_reason == "Day 0 moved: surgery a day late"
