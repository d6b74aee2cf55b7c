"""Once a study has left planning, its design changes only with a reason kept in the
history; blinding is no longer a settings checkbox; a signed-off timepoint cannot change."""

import pytest
from django.urls import reverse
from django.utils import timezone

from labstudy.models import Study
from tests.worlds import settings_as_posted


def rows_data(client, url, section):
    formset = client.get(url).context["formset"]
    data = {f"{section}-{k}": v for k, v in formset.management_form.initial.items()}
    for i, form in enumerate(formset.forms):  # what the browser posts, the empty row too
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:  # (0 is a value: an order of 0)
                continue
            data[f"{section}-{i}-{name}"] = value.pk if hasattr(value, "pk") else value
    return data


@pytest.fixture
def running(study):
    study.status = Study.Status.RUNNING
    study.save()
    return study


@pytest.mark.django_db
def test_a_running_studys_cut_off_changes_only_with_a_reason(client_for, running):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[running.slug])
    data = settings_as_posted(client, url) | {"study-cutoff_g": "180"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors["change_reason"] == [
        "Say why cut-off (g) changed: the study is running."
    ]
    running.refresh_from_db()
    assert running.cutoff_g == 300

    data["study-change_reason"] = "the lab's cut-off is 180 g (SOP v3)"
    assert client.post(url, data).status_code == 302
    running.refresh_from_db()
    assert running.cutoff_g == 180
    latest = running.history.latest()
    assert latest.history_change_reason == "the lab's cut-off is 180 g (SOP v3)"
    assert latest.history_user.username == "dan"


@pytest.mark.django_db
def test_blinding_is_not_a_checkbox_once_the_study_runs(client_for, running):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[running.slug])
    page = client.get(url)
    assert page.context["form"].fields["blinded"].disabled
    data = settings_as_posted(client, url) | {"study-change_reason": "try to unblind"}
    data.pop("study-blinded", None)  # an unticked box
    client.post(url, data)
    running.refresh_from_db()
    assert running.blinded  # unblinding is the investigator's audited action only


@pytest.mark.django_db
def test_group_rows_of_a_running_study_need_a_reason(client_for, running):
    client = client_for("data_manager")
    url = reverse("study_setup_rows", args=[running.slug, "groups"])
    data = rows_data(client, url, "groups")
    k10 = next(k for k, v in data.items() if v == "K10" and k.endswith("-code"))
    prefix = k10[: -len("code")]
    data[f"{prefix}name"] = "Ketamine 10 mg/kg (racemic)"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Say why the treatment groups changed: the study is running." in (
        response.content.decode()
    )
    group = running.groups.get(code="K10")
    assert group.name != "Ketamine 10 mg/kg (racemic)"
    data["change_reason"] = "supplier label says racemic"
    assert client.post(url, data).status_code == 302
    group.refresh_from_db()
    assert group.name == "Ketamine 10 mg/kg (racemic)"
    assert group.history.latest().history_change_reason == "supplier label says racemic"


@pytest.mark.django_db
def test_a_signed_off_timepoint_cannot_be_edited(client_for, running, people):
    t0 = running.timepoints.get(label="T0")
    t0.locked_at = timezone.now()
    t0.locked_by = people["investigator"]
    t0.save()
    client = client_for("data_manager")
    url = reverse("study_setup_rows", args=[running.slug, "timepoints"])
    page = client.get(url).content.decode()
    assert "T0 is signed off: read-only until an investigator unlocks it." in page
    data = rows_data(client, url, "timepoints")
    index = next(k for k, v in data.items() if v == "T0" and k.endswith("-label")).split("-")[1]
    data[f"timepoints-{index}-day"] = "-3"
    data["change_reason"] = "baseline was really on day -3"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "T0 is signed off, so it cannot change." in response.content.decode()
    t0.refresh_from_db()
    assert t0.day != -3


@pytest.mark.django_db
def test_a_reason_too_long_for_the_history_is_refused_not_cut(client_for, running):
    """A 100,000-character reason used to be cut to 300 without a word (attack probe F7);
    like the settings page, the rows pages refuse it and save nothing."""
    client = client_for("data_manager")
    url = reverse("study_setup_rows", args=[running.slug, "groups"])
    data = rows_data(client, url, "groups")
    k10 = next(k for k, v in data.items() if v == "K10" and k.endswith("-code"))
    data[f"{k10[: -len('code')]}name"] = "Ketamine 10 mg/kg (racemic)"
    data["change_reason"] = "x" * 100_000
    response = client.post(url, data)
    assert response.status_code == 200
    assert "The reason is 100,000 characters; keep it to 300. Nothing was saved." in (
        response.content.decode()
    )
    assert running.groups.get(code="K10").name != "Ketamine 10 mg/kg (racemic)"
