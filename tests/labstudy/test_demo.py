"""The demo study: shaped like Kim et al. 2022 and loadable twice without change."""

import csv
import io
import statistics

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction

from analysis import exports
from analysis.arrive import arrive_report
from analysis.thresholds import first_response_threshold, next_filament
from animals import allocation_service
from animals.models import DoseAdministration, Observation
from front.demo import ALLOCATION_SEED, DEMO_SLUG, load_demo_study
from labstudy.models import Membership, Study
from sessions.models import Stimulus, TestSession
from sessions.services import filament_specs, live_series


@pytest.fixture
def demo(demo_study):
    """The demo as the tests get it: tests/conftest.py writes it from a snapshot taken
    once per worker; test_the_snapshot_holds_what_the_loader_writes keeps it honest."""
    return demo_study


@pytest.fixture
def fresh_demo(db):
    """The demo as `load_demo_study` writes it, for the tests of the loader itself."""
    return load_demo_study()


def _what_the_demo_holds(study) -> dict:
    """The raw-data export tables of the study (the derived ones follow from them), with
    session keys counted from the first, and the number of rows of every model."""
    tables = {}
    for what in ("stimuli", "thresholds", "doses", "weights", "observations"):
        out = io.StringIO()
        exports.StudyExport(study).write_csv(what, out)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        if "session" in rows[0]:
            first = min(int(r["session"]) for r in rows)
            for r in rows:
                r["session"] = int(r["session"]) - first
        tables[what] = rows
    counts = {m._meta.label: m._base_manager.count() for m in apps.get_models()}
    return {"tables": tables, "counts": counts}


@pytest.mark.django_db
def test_the_snapshot_holds_what_the_loader_writes(demo_snapshot, client):
    with transaction.atomic():
        loaded = _what_the_demo_holds(load_demo_study().study)
        transaction.set_rollback(True)
    demo_snapshot.install()
    summary = load_demo_study()
    assert summary.created is False and summary.animals == 15
    assert _what_the_demo_holds(summary.study) == loaded
    assert client.login(username="datamanager", password="labstudy-demo")
    assert client.get(f"/s/{DEMO_SLUG}/").status_code == 200


@pytest.mark.django_db
def test_demo_counts(demo):
    study = Study.objects.get(slug=DEMO_SLUG)
    assert demo.animals == 15
    assert sorted(study.groups.values_list("code", flat=True)) == ["K10", "K5", "control"]
    for group in study.groups.all():
        assert group.animals.count() == 5
    assert study.phases.count() == 3 and study.timepoints.count() == 8
    assert demo.sessions == 15 * 8
    assert TestSession.objects.filter(animal__study=study, status="complete").count() == 120
    assert demo.weights == 15 * 9  # weekly, days 0..56
    # daily injections (controls get the vehicle) over phases A (28 days) and C (7 days)
    assert demo.doses == 15 * 35
    vehicle = DoseAdministration.objects.filter(animal__group__code="control")
    assert vehicle.count() == 5 * 35 and not vehicle.exclude(dose_mg_kg=None).exists()
    assert (
        study.animals.filter(surgeries__procedure="PSNL", surgeries__date=study.day0_date).count()
        == 15
    )
    assert set(Membership.objects.filter(study=study).values_list("user__username", "role")) == {
        ("technician", "technician"),
        ("investigator", "investigator"),
        ("datamanager", "data_manager"),
    }


@pytest.mark.django_db
def test_demo_has_one_missed_dose_with_reason(demo):
    missed = DoseAdministration.objects.filter(status="missed")
    assert missed.count() == 1
    assert missed.get().reason
    assert missed.get().given_at is None


@pytest.mark.django_db
def test_demo_has_the_k5_hematuria_after_25_days_of_injections(demo):
    event = Observation.objects.get(term="hematuria")
    study = event.animal.study
    assert event.kind == "adverse_event"
    assert event.animal.group.code == "K5"
    injections_before = DoseAdministration.objects.filter(
        animal=event.animal, status="given", scheduled_date__lte=event.date
    ).count()
    assert injections_before == 25
    assert study.day_of_date(event.date) == 31


@pytest.mark.django_db
def test_every_demo_session_is_a_complete_series_by_the_study_rule(demo):
    study = Study.objects.get(slug=DEMO_SLUG)
    filaments = filament_specs(study.filament_set)
    for session in TestSession.objects.filter(animal__study=study):
        series = live_series(session)
        assert series[0][0] == study.start_filament
        assert next_filament(series, filaments, method=study.threshold_method) is None


@pytest.mark.django_db
def test_demo_k10_rises_to_cutoff_and_falls_back(demo):
    study = Study.objects.get(slug=DEMO_SLUG)
    filaments = filament_specs(study.filament_set)

    def mean_force(group, label):
        values = []
        for session in TestSession.objects.filter(
            animal__study=study, animal__group__code=group, timepoint__label=label
        ):
            values.append(first_response_threshold(live_series(session), filaments).grams)
        return statistics.mean(values)

    assert mean_force("K10", "T0") < 40
    assert mean_force("K10", "T4") > 200
    assert mean_force("K10", "T4") > mean_force("K5", "T4") > mean_force("control", "T4")
    assert mean_force("K10", "T7") < mean_force("K10", "T4") / 2
    assert mean_force("control", "T3") < 40


@pytest.mark.django_db
def test_loading_twice_changes_nothing(fresh_demo, capsys):
    call_command("load_demo_study")  # adds today's bench practice study
    assert "Created bench practice study" in capsys.readouterr().out
    before = (Stimulus.objects.count(), DoseAdministration.objects.count(), Study.objects.count())
    call_command("load_demo_study")
    out = capsys.readouterr().out
    assert "Already present: demo study" in out
    assert "Already present: bench practice study" in out
    assert "technician    / labstudy-demo" in out and "investigator" in out and "datamanager" in out
    after = (Stimulus.objects.count(), DoseAdministration.objects.count(), Study.objects.count())
    assert before == after


@pytest.mark.django_db
def test_demo_accounts_can_sign_in(fresh_demo, client):
    for username in ("technician", "investigator", "datamanager", "admin"):
        assert client.login(username=username, password="labstudy-demo"), username


@pytest.mark.django_db
def test_demo_groups_come_from_a_recorded_stratified_allocation_on_t0(demo):
    study = Study.objects.get(slug=DEMO_SLUG)
    record = study.allocations.get()
    assert (record.method, record.seed, record.baseline_timepoint) == (
        "stratified",
        ALLOCATION_SEED,
        "T0",
    )
    assert record.created_at.date() == study.date_of_day(7)  # after the T0 test, before dosing
    assert record.entries.count() == 15
    assert allocation_service.verify(record)  # re-derives from seed and baselines; none moved
    assert allocation_service.group_sizes(record).shown == "control 5, K5 5, K10 5"
    item = next(i for i in arrive_report(study).items if i.number == 4)
    allocation = next(f.text for f in item.recorded if f.label == "Allocation")
    assert f"seed {ALLOCATION_SEED}" in allocation and "stratified on T0 thresholds" in allocation
    assert not any("allocated" in text for text in item.to_write)
    # No dose before the allocation: T0 (day 7) is tested first.
    first_dose = DoseAdministration.objects.filter(animal__study=study).order_by("study_day")
    assert first_dose.first().study_day >= 7
