"""Invariants of the study design models: what the database and the forms refuse."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labstudy import services
from labstudy.models import Membership, Phase, Role, Study, Timepoint, TreatmentGroup


@pytest.mark.django_db
def test_template_creates_the_reference_design(study, people):
    assert [g.code for g in study.groups.order_by("order")] == ["control", "K5", "K10"]
    k10 = study.groups.get(code="K10")
    assert (k10.drug, float(k10.dose_mg_kg), k10.route) == ("ketamine", 10.0, "i.p.")
    assert study.groups.get(code="control").is_control
    phases = {p.code: (p.first_day, p.last_day, p.dosed) for p in study.phases.all()}
    assert phases == {"A": (7, 34, True), "B": (35, 48, False), "C": (49, 55, True)}
    days = list(study.timepoints.order_by("order").values_list("label", "day", "is_baseline"))
    assert days == [("T0", 7, True)] + [(f"T{i}", 7 + 7 * i, False) for i in range(1, 8)]
    assert study.threshold_method == "first_response"
    assert study.cutoff_g == 300.0
    assert study.filament_set.filaments.count() == 20
    # The creator runs the study as its data manager.
    assert (
        Membership.objects.get(study=study, user=people["data_manager"]).role == Role.DATA_MANAGER
    )


def _what_the_reference_study_holds(study) -> dict:
    """Every row the study's build leaves, without keys, times and the solution letters'
    seed (a fresh build draws its own): the study, its design, members and history."""
    from django.apps import apps

    skip = {"id", "history_id", "history_date", "created_at", "updated_at", "letter_seed"}

    def values(queryset):
        rows = []
        for row in queryset.values():
            rows.append({k: v for k, v in row.items() if k not in skip and not k.endswith("_id")})
        return sorted(rows, key=repr)

    held = {
        "study": values(Study.objects.filter(pk=study.pk)),
        "users": sorted(
            (m.user.username, m.role, m.created_by and m.created_by.username)
            for m in Membership.objects.filter(study=study)
        ),
        "letters_follow_the_seed": [g.coded_letter for g in study.groups.order_by("order")]
        == services.solution_letters(seed=study.letter_seed, count=study.groups.count()),
    }
    for model in (TreatmentGroup, Phase, Timepoint):
        held[model.__name__] = values(model.objects.filter(study=study))
        held[model.__name__ + " history"] = values(model.history.filter(study_id=study.pk))
    held["study history"] = values(Study.history.filter(id=study.pk))
    held["counts"] = {
        m._meta.label: m._base_manager.count()
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }
    return held


@pytest.mark.django_db
def test_the_reference_study_snapshot_holds_what_a_fresh_build_writes(people, reference_snapshot):
    """`study` is written from a snapshot taken once per worker (tests/conftest.py): the
    rows it leaves are those of a fresh build (the solution letters aside, which a fresh
    build draws again)."""
    from tests.worlds import build_reference_study

    with transaction.atomic():
        built = _what_the_reference_study_holds(build_reference_study(people))
        transaction.set_rollback(True)
    reference_snapshot.install()
    written = _what_the_reference_study_holds(Study.objects.get(slug="psnl"))
    for rows in ("TreatmentGroup", "TreatmentGroup history"):  # the letters' draw
        for held in (built, written):
            for row in held[rows]:
                row.pop("coded_letter")
            held[rows].sort(key=repr)
    assert written == built
    assert built["letters_follow_the_seed"] is True
    assert len(built["TreatmentGroup"]) == 3 and len(built["Timepoint history"]) == 8
    assert built["counts"]["labstudy.Membership"] == 3


@pytest.mark.django_db
def test_timepoint_calendar_date_follows_day0(study):
    t7 = study.timepoints.get(label="T7")
    assert t7.date.isoformat() == "2026-10-27"  # 1 Sep 2026 + 56 days


@pytest.mark.django_db
def test_timepoint_outside_study_days_is_refused_naming_day(study):
    tp = Timepoint(study=study, label="T99", day=study.last_day + 1, order=99)
    with pytest.raises(ValidationError) as err:
        tp.full_clean()
    assert "day" in err.value.message_dict
    assert "outside the study's days" in err.value.message_dict["day"][0]


@pytest.mark.django_db
def test_two_timepoints_on_the_same_day_are_refused(study):
    with pytest.raises(IntegrityError), transaction.atomic():
        Timepoint.objects.create(study=study, label="T0b", day=7, order=20)


@pytest.mark.django_db
def test_phase_ending_before_it_starts_is_refused(study):
    phase = Phase(study=study, code="D", name="Wrong", first_day=40, last_day=30)
    with pytest.raises(ValidationError) as err:
        phase.full_clean()
    assert "last_day" in err.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        phase.save()


@pytest.mark.django_db
def test_group_codes_and_solution_letters_are_unique_in_a_study(study):
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentGroup.objects.create(study=study, code="K10", name="again")
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentGroup.objects.create(study=study, code="K20", name="K20", coded_letter="C")
    # Empty letters do not clash with each other.
    TreatmentGroup.objects.create(study=study, code="X1", name="x1")
    TreatmentGroup.objects.create(study=study, code="X2", name="x2")


@pytest.mark.django_db
def test_start_filament_must_be_in_the_set(study):
    study.start_filament = "4.32"
    with pytest.raises(ValidationError) as err:
        study.full_clean()
    assert "start_filament" in err.value.message_dict


@pytest.mark.django_db
def test_one_membership_per_user_and_study(study, people):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=people["technician"], study=study, role=Role.INVESTIGATOR)


@pytest.mark.django_db
def test_study_changes_are_kept_in_history_with_reason(study):
    study.cutoff_g = 180.0
    study._change_reason = "lab switched to a 180 g cut-off"
    study.save()
    latest = Study.history.filter(id=study.pk).first()
    assert latest.cutoff_g == 180.0
    assert latest.history_change_reason == "lab switched to a 180 g cut-off"
    assert Study.history.filter(id=study.pk).count() == 2
