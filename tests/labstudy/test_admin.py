"""Every admin list page works on the demo study, and recorded data cannot be deleted."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from labstudy.admin import study_of

RECORDED = {
    "animals.animal",
    "animals.surgery",
    "animals.bodyweight",
    "animals.doseadministration",
    "animals.observation",
    "vf_sessions.testsession",
    "vf_sessions.stimulus",
}


@pytest.fixture
def admin_client_with_demo(client, django_user_model, demo_study):
    client.force_login(django_user_model.objects.get(username="admin"))
    return client


def _models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label_lower)


@pytest.mark.django_db
@pytest.mark.parametrize("model", _models(), ids=lambda m: m._meta.label_lower)
def test_every_admin_list_and_change_page_renders(admin_client_with_demo, model):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = admin_client_with_demo.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count()
    obj = model.objects.order_by("pk").first()
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert admin_client_with_demo.get(change).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(RECORDED))
def test_recorded_data_cannot_be_deleted_in_admin(admin_client_with_demo, label):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model.objects.order_by("pk").first()
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    response = admin_client_with_demo.post(url, {"post": "yes"})
    assert response.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_admin_lists_filter_by_study(admin_client_with_demo, study):
    from animals.models import Animal
    from front.demo import DEMO_SLUG
    from sessions.models import Stimulus

    Animal.objects.create(study=study, code="OTHER-1")
    demo = Animal.objects.filter(study__slug=DEMO_SLUG)
    response = admin_client_with_demo.get(
        reverse("admin:animals_animal_changelist"), {"study__id__exact": demo[0].study_id}
    )
    shown = list(response.context["cl"].result_list)
    assert len(shown) == demo.count() == 15
    assert {a.study.slug for a in shown} == {DEMO_SLUG}
    response = admin_client_with_demo.get(
        reverse("admin:vf_sessions_stimulus_changelist"),
        {"session__animal__study__id__exact": study.pk},
    )
    assert response.context["cl"].result_count == 0
    assert Stimulus.objects.count() > 0


@pytest.mark.django_db
def test_a_filament_set_in_use_is_read_only_in_admin(admin_client_with_demo):
    from sessions.models import Filament

    filament = Filament.objects.get(filament_set__slug="stoelting-20", size="4.31")
    url = reverse("admin:vf_sessions_filament_change", args=[filament.pk])
    response = admin_client_with_demo.post(
        url, {"size": "4.31", "grams": "20", "order": filament.order, "filament_set": 1}
    )
    filament.refresh_from_db()
    assert filament.grams == 2.0  # unchanged: every stored stimulus points to it
    assert response.status_code == 403
    delete = reverse("admin:vf_sessions_filament_delete", args=[filament.pk])
    assert admin_client_with_demo.post(delete, {"post": "yes"}).status_code == 403
    page = admin_client_with_demo.get(
        reverse("admin:vf_sessions_filamentset_change", args=[filament.filament_set_id])
    )
    assert page.status_code == 200
    assert 'name="filaments-0-grams"' not in page.content.decode()


def _change_form_data(admin_client, url):
    """The change form's own initial values, as the browser would post them back."""
    form = admin_client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = value
    return data


@pytest.mark.django_db
def test_changing_a_weight_in_admin_needs_a_reason_kept_in_its_history(admin_client_with_demo):
    from animals.models import BodyWeight
    from labstudy.models import Study

    # Only while its study is in planning (afterwards the admin only shows it).
    Study.objects.update(status=Study.Status.PLANNING)
    weight = BodyWeight.objects.filter(voided=False).order_by("pk").first()
    url = reverse("admin:animals_bodyweight_change", args=[weight.pk])
    data = _change_form_data(admin_client_with_demo, url) | {"grams": "301.5"}
    data.pop("change_reason", None)
    response = admin_client_with_demo.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["change_reason"]
    weight.refresh_from_db()
    assert str(weight.grams) != "301.5"

    data["change_reason"] = "scale read 301.5, typed 310.5"
    assert admin_client_with_demo.post(url, data).status_code == 302
    weight.refresh_from_db()
    assert str(weight.grams) == "301.5"
    latest = weight.history.latest()
    assert latest.history_change_reason == "scale read 301.5, typed 310.5"
    assert latest.history_user.username == "admin"


@pytest.mark.django_db
@pytest.mark.parametrize("label", ["vf_sessions.stimulus", "vf_sessions.testsession"])
def test_taps_and_sessions_are_view_only_in_admin(admin_client_with_demo, label):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model.objects.order_by("pk").first()
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    page = admin_client_with_demo.get(url)
    assert page.status_code == 200  # inspection stays possible
    assert 'name="_save"' not in page.content.decode()
    before = model.objects.filter(pk=obj.pk).values().get()
    assert admin_client_with_demo.post(url, {"change_reason": "x"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    assert admin_client_with_demo.get(add).status_code == 403


@pytest.mark.django_db
def test_a_locked_studys_records_are_read_only_in_admin(admin_client_with_demo):
    from animals.models import Observation
    from labstudy.models import Study

    Study.objects.update(status=Study.Status.LOCKED)
    observation = Observation.objects.order_by("pk").first()
    url = reverse("admin:animals_observation_change", args=[observation.pk])
    response = admin_client_with_demo.post(
        url, {"term": "changed", "change_reason": "tidying up after lock"}
    )
    assert response.status_code == 403
    observation.refresh_from_db()
    assert observation.term != "changed"


DESIGNED = {
    "labstudy.study",
    "labstudy.treatmentgroup",
    "labstudy.phase",
    "labstudy.timepoint",
    "labstudy.membership",
}


def _admin_for(label):
    return next(m for m in admin.site._registry if m._meta.label_lower == label)


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(DESIGNED))
def test_the_design_cannot_be_deleted_in_admin(admin_client_with_demo, label):
    model = _admin_for(label)
    obj = model.objects.order_by("pk").first()
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    assert admin_client_with_demo.get(url).status_code == 403
    assert admin_client_with_demo.post(url, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_a_phase_of_a_running_study_stays_whatever_the_admin_posts(admin_client_with_demo):
    from labstudy.models import Phase, Study

    phase = Phase.objects.filter(study__status=Study.Status.RUNNING).order_by("pk").first()
    count = Phase.objects.count()
    delete = reverse("admin:labstudy_phase_delete", args=[phase.pk])
    assert admin_client_with_demo.post(delete, {"post": "yes"}).status_code == 403
    # The list's bulk "Delete selected" is gone, and posting it anyway deletes nothing.
    changelist = reverse("admin:labstudy_phase_changelist")
    page = admin_client_with_demo.get(changelist)
    assert "delete_selected" not in page.content.decode()
    admin_client_with_demo.post(
        changelist, {"action": "delete_selected", "_selected_action": [phase.pk], "post": "yes"}
    )
    # The study page offers no "Delete" box on its phases, groups or timepoints.
    study_page = admin_client_with_demo.get(
        reverse("admin:labstudy_study_change", args=[phase.study_id])
    ).content.decode()
    assert 'name="phases-0-DELETE"' not in study_page
    assert 'name="timepoints-0-DELETE"' not in study_page
    assert 'name="groups-0-DELETE"' not in study_page
    assert Phase.objects.count() == count and Phase.objects.filter(pk=phase.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(RECORDED | DESIGNED))
def test_no_bulk_delete_action_on_any_list(admin_client_with_demo, label):
    model = _admin_for(label)
    assert model.objects.exists()  # an empty list shows no actions at all
    opts = model._meta
    page = admin_client_with_demo.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    )
    assert page.status_code == 200
    assert 'value="delete_selected"' not in page.content.decode()


def _revert_form_data(admin_client, url):
    """What the history page's form would post to revert to that version."""
    import datetime as dt

    form = admin_client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        if isinstance(value, dt.datetime):
            data[f"{name}_0"], data[f"{name}_1"] = value.date(), value.time()
        else:
            data[name] = value
    return data


@pytest.mark.django_db
def test_reverting_an_undone_tap_from_its_history_is_refused(admin_client_with_demo):
    from labstudy.models import Study
    from sessions.models import Stimulus

    Study.objects.update(status=Study.Status.LOCKED)
    stimulus = Stimulus.objects.filter(voided=False).order_by("pk").first()
    stimulus.save()  # a historical version with the tap live
    live_version = stimulus.history.latest().history_id
    stimulus.voided, stimulus.void_reason = True, "undo"
    stimulus.save()
    url = reverse("admin:vf_sessions_stimulus_simple_history", args=[stimulus.pk, live_version])
    page = admin_client_with_demo.get(url)
    assert page.status_code == 200  # the old version can still be looked at
    assert "Revert" not in page.context["title"]
    versions = stimulus.history.count()
    response = admin_client_with_demo.post(url, _revert_form_data(admin_client_with_demo, url))
    assert response.status_code == 403
    stimulus.refresh_from_db()
    assert (stimulus.voided, stimulus.void_reason) == (True, "undo")
    assert stimulus.history.count() == versions


@pytest.mark.django_db
def test_reverting_a_voided_session_from_its_history_is_refused(admin_client_with_demo):
    from sessions.models import TestSession

    session = TestSession.objects.exclude(status="voided").order_by("pk").first()
    session.save()
    live_version = session.history.latest().history_id
    before = session.status
    session.status, session.void_reason = "voided", "wrong rat"
    session.save()
    url = reverse("admin:vf_sessions_testsession_simple_history", args=[session.pk, live_version])
    response = admin_client_with_demo.post(url, _revert_form_data(admin_client_with_demo, url))
    assert response.status_code == 403
    session.refresh_from_db()
    assert (session.status, session.void_reason) == ("voided", "wrong rat") != (before, "")


@pytest.mark.django_db
def test_reverting_a_weight_from_its_history_is_refused(admin_client_with_demo):
    from animals.models import BodyWeight

    weight = BodyWeight.objects.order_by("pk").first()
    weight.save()
    old_version = weight.history.latest().history_id
    old_grams = weight.grams
    weight.voided, weight.void_reason = True, "scale not tared"
    weight.save()
    url = reverse("admin:animals_bodyweight_simple_history", args=[weight.pk, old_version])
    data = _revert_form_data(admin_client_with_demo, url) | {"change_reason": "revert"}
    assert admin_client_with_demo.post(url, data).status_code == 403
    weight.refresh_from_db()
    assert (weight.voided, weight.void_reason, weight.grams) == (True, "scale not tared", old_grams)


# --- The admin is for inspection once a study has left planning (issue 18) -------------


def _post_data(admin_client, url):
    """Everything the change page's forms (and its inlines) would post back unchanged."""
    page = admin_client.get(url)
    data = {}
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        forms.append(formset.management_form)
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            key = form.add_prefix(name)
            if isinstance(value, dt.datetime):  # the admin's split date/time widget
                data[f"{key}_0"], data[f"{key}_1"] = value.date(), value.time()
            else:
                data[key] = "on" if value is True else value
    return data


def _in_planning(study_id, then):
    """The change page's own data, read while the study was still in planning."""
    from labstudy.models import Study

    status = Study.objects.get(pk=study_id).status
    Study.objects.filter(pk=study_id).update(status=Study.Status.PLANNING)
    try:
        return then()
    finally:
        Study.objects.filter(pk=study_id).update(status=status)


def _running_demo_row(label):
    from front.demo import DEMO_SLUG
    from labstudy.models import Study

    model = _admin_for(label)
    path = {
        "labstudy.study": "slug",
        "labstudy.treatmentgroup": "study__slug",
        "labstudy.phase": "study__slug",
        "labstudy.timepoint": "study__slug",
        "labstudy.membership": "study__slug",
    }.get(label, "animal__study__slug" if label != "animals.animal" else "study__slug")
    obj = model.objects.filter(**{path: DEMO_SLUG}).order_by("pk").first()
    assert Study.objects.get(slug=DEMO_SLUG).status == Study.Status.RUNNING
    return model, obj


# A post that changes what the attack probe changed: letters, doses, days, labels, codes.
CHANGES = {
    "labstudy.study": {"day0_date": "2026-01-01", "status": "running"},
    "labstudy.treatmentgroup": {"coded_letter": "Z", "dose_mg_kg": "99"},
    "labstudy.phase": {"first_day": "40", "last_day": "41"},
    "labstudy.timepoint": {"label": "T99", "day": "55"},
    "labstudy.membership": {"role": "investigator"},
    "animals.animal": {"code": "RENAMED-1"},
    "animals.bodyweight": {"grams": "999"},
    "animals.doseadministration": {"dose_mg_kg": "99"},
    "animals.observation": {"term": "changed in the admin"},
    "animals.surgery": {"surgeon": "someone else"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(CHANGES))
def test_a_running_studys_design_and_records_are_read_only_in_admin(admin_client_with_demo, label):
    model, obj = _running_demo_row(label)
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    study_id = obj.pk if label == "labstudy.study" else study_of(obj).pk
    data = _in_planning(study_id, lambda: _post_data(admin_client_with_demo, url))
    data |= CHANGES[label] | {"change_reason": "because the admin can"}
    before = model.objects.filter(pk=obj.pk).values().get()
    page = admin_client_with_demo.get(url)
    assert page.status_code == 200  # inspection stays possible
    assert 'name="_save"' not in page.content.decode()
    assert "This study has left planning" in page.content.decode()
    assert admin_client_with_demo.post(url, data).status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before


@pytest.mark.django_db
def test_a_study_in_planning_can_still_be_changed_in_admin(admin_client_with_demo, study):
    from labstudy.models import Study, TreatmentGroup

    assert study.status == Study.Status.PLANNING
    url = reverse("admin:labstudy_study_change", args=[study.pk])
    page = admin_client_with_demo.get(url).content.decode()
    assert 'name="_save"' in page and "This study has left planning" not in page
    data = _post_data(admin_client_with_demo, url) | {"day0_date": "2026-09-08"}
    assert TreatmentGroup.objects.get(pk=data["groups-0-id"]).dose_mg_kg != Decimal("7.5")
    data["groups-0-dose_mg_kg"] = "7.5"
    response = admin_client_with_demo.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    study.refresh_from_db()
    assert str(study.day0_date) == "2026-09-08"
    group = TreatmentGroup.objects.get(pk=data["groups-0-id"])
    assert group.dose_mg_kg == Decimal("7.5")


@pytest.mark.django_db
def test_no_group_is_added_to_a_running_study_in_admin(admin_client_with_demo, study):
    from front.demo import DEMO_SLUG
    from labstudy.models import Study, TreatmentGroup

    running = Study.objects.get(slug=DEMO_SLUG)
    add = reverse("admin:labstudy_treatmentgroup_add")
    form = admin_client_with_demo.get(add).context["adminform"].form
    assert list(form.fields["study"].queryset) == [study]  # only the study in planning
    count = TreatmentGroup.objects.filter(study=running).count()
    data = {"study": running.pk, "code": "X", "name": "Extra", "coded_letter": "X"}
    response = admin_client_with_demo.post(add, data)
    assert response.status_code == 200
    assert "study" in response.context["adminform"].form.errors
    assert TreatmentGroup.objects.filter(study=running).count() == count
    # Nor as an extra row on the running study's own page.
    page = admin_client_with_demo.get(reverse("admin:labstudy_study_change", args=[running.pk]))
    for inline in page.context["inline_admin_formsets"]:
        assert not inline.has_add_permission and not inline.has_change_permission


@pytest.mark.django_db
def test_a_timepoints_sign_off_is_never_set_in_admin(admin_client_with_demo, study):
    from labstudy.models import Timepoint

    timepoint = Timepoint.objects.filter(study=study).order_by("order").first()
    url = reverse("admin:labstudy_timepoint_change", args=[timepoint.pk])
    data = _post_data(admin_client_with_demo, url)
    data |= {"locked_at_0": "2026-09-01", "locked_at_1": "10:00:00", "locked_by": 1}
    data["description"] = "seen in the admin"
    assert admin_client_with_demo.post(url, data).status_code == 302
    timepoint.refresh_from_db()
    assert timepoint.description == "seen in the admin"  # the post was taken...
    assert (timepoint.locked_at, timepoint.locked_by) == (None, None)  # ...but not the sign-off
    # Nor through the study page's timepoint rows.
    study_url = reverse("admin:labstudy_study_change", args=[study.pk])
    data = _post_data(admin_client_with_demo, study_url)
    prefix = next(k for k in data if k.endswith("-label") and data[k] == timepoint.label)
    row = prefix.removesuffix("-label")
    data |= {f"{row}-locked_at_0": "2026-09-01", f"{row}-locked_at_1": "10:00:00"}
    data[f"{row}-locked_by"] = 1
    assert admin_client_with_demo.post(study_url, data).status_code == 302
    timepoint.refresh_from_db()
    assert timepoint.locked_at is None


@pytest.mark.django_db
def test_a_void_is_neither_undone_nor_set_in_admin(admin_client_with_demo):
    from animals import services
    from animals.models import BodyWeight, DoseAdministration
    from labstudy.models import Study

    Study.objects.update(status=Study.Status.PLANNING)  # even where records can be changed
    weights = BodyWeight.objects.filter(voided=False).order_by("pk")
    voided, live = weights[0], weights[1]
    url = reverse("admin:animals_bodyweight_change", args=[voided.pk])
    data = _post_data(admin_client_with_demo, url) | {"change_reason": "un-void"}
    data.pop("voided", None)
    services.void_weight(weight=voided, user=None, reason="scale not tared")
    page = admin_client_with_demo.get(url).content.decode()
    assert 'name="_save"' not in page and "This record is voided" in page
    assert admin_client_with_demo.post(url, data | {"void_reason": ""}).status_code == 403
    voided.refresh_from_db()
    assert (voided.voided, voided.void_reason) == (True, "scale not tared")

    # A live weight cannot be voided here either (the app voids, with its checks).
    url = reverse("admin:animals_bodyweight_change", args=[live.pk])
    data = _post_data(admin_client_with_demo, url)
    data |= {"voided": "on", "void_reason": "x", "change_reason": "void it"}
    admin_client_with_demo.post(url, data)
    live.refresh_from_db()
    assert (live.voided, live.void_reason) == (False, "")

    # A voided dose stays voided; a live one cannot be set to voided.
    dose = DoseAdministration.objects.filter(voided=False).order_by("pk").first()
    url = reverse("admin:animals_doseadministration_change", args=[dose.pk])
    data = _post_data(admin_client_with_demo, url) | {"change_reason": "void it"}
    response = admin_client_with_demo.post(url, data | {"status": "voided", "reason": "x"})
    assert response.status_code == 200 and "status" in response.context["adminform"].form.errors
    admin_client_with_demo.post(url, data | {"voided": "on", "void_reason": "x"})
    dose.refresh_from_db()
    assert (dose.voided, dose.void_reason) == (False, "")
    marked = dose.status
    services.void_dose(dose=dose, user=None, reason="wrong rat")
    data |= {"status": "given", "reason": ""}
    assert admin_client_with_demo.post(url, data).status_code == 403
    dose.refresh_from_db()
    assert (dose.voided, dose.void_reason, dose.status) == (True, "wrong rat", marked)
