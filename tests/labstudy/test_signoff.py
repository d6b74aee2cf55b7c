"""Sign-off of timepoints and unblinding: investigator actions, password-signed, audited."""

import re

import pytest
from django.urls import reverse

from labstudy.models import Study, Timepoint
from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_investigator_signs_off_and_reopens_with_a_reason(client_for, study, people):
    client = client_for("investigator")
    url = reverse("timepoint_signoff", args=[study.slug, "T0"])
    response = client.post(url, {"password": "wrong"})
    assert "That is not your password." in response.content.decode()
    assert not Timepoint.objects.get(study=study, label="T0").is_locked
    assert client.post(url, {"password": PASSWORD}).status_code == 302
    t0 = Timepoint.objects.get(study=study, label="T0")
    assert t0.is_locked and t0.locked_by == people["investigator"]
    response = client.post(url, {"password": PASSWORD, "reason": ""})
    assert Timepoint.objects.get(pk=t0.pk).is_locked
    assert client.post(url, {"password": PASSWORD, "reason": "R03 retested"}).status_code == 302
    t0.refresh_from_db()
    assert not t0.is_locked
    reasons = list(t0.history.values_list("history_change_reason", "history_user__username"))
    assert reasons[:2] == [("unlocked: R03 retested", "ivy"), ("signed off", "ivy")]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["technician", "data_manager", "outsider"])
def test_only_investigators_sign_off(client_for, study, who):
    url = reverse("timepoint_signoff", args=[study.slug, "T0"])
    assert client_for(who).post(url, {"password": PASSWORD}).status_code == 404
    assert not Timepoint.objects.get(study=study, label="T0").is_locked


@pytest.mark.django_db
def test_unblinding_is_an_audited_investigator_action(client_for, study):
    tech_page = client_for("technician").get(reverse("study_overview", args=[study.slug]))
    # word-bounded: the random CSRF token in the page can contain "K10"
    assert not re.search(r"(?<![\w-])K10(?![\w-])", tech_page.content.decode())
    assert (
        client_for("data_manager")
        .post(reverse("study_unblind", args=[study.slug]), {"password": PASSWORD, "reason": "x"})
        .status_code
        == 404
    )
    client = client_for("investigator")
    response = client.post(
        reverse("study_unblind", args=[study.slug]), {"password": PASSWORD, "reason": ""}
    )
    assert Study.objects.get(pk=study.pk).blinded
    response = client.post(
        reverse("study_unblind", args=[study.slug]),
        {"password": PASSWORD, "reason": "all timepoints signed off; analysis"},
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert not study.blinded
    last = study.history.first()
    assert last.history_change_reason == "unblinded: all timepoints signed off; analysis"
    assert last.history_user.username == "ivy"
    tech_page = client_for("technician").get(reverse("study_overview", args=[study.slug]))
    assert "K10" in tech_page.content.decode()


@pytest.mark.django_db
def test_signed_off_timepoint_refuses_taps_undo_and_void(client_for, study, people):
    import uuid

    from django.core.exceptions import ValidationError

    from animals.models import Animal
    from sessions import services
    from sessions.models import Stimulus

    animal = Animal.objects.create(study=study, code="R01")
    session = services.start_session(
        animal=animal, timepoint=study.timepoints.get(label="T0"), paw="right", user=None
    )
    services.record_stimulus(
        session=session, filament_size="4.31", withdrew=False, client_uuid=uuid.uuid4(), user=None
    )
    url = reverse("timepoint_signoff", args=[study.slug, "T0"])
    assert client_for("investigator").post(url, {"password": PASSWORD}).status_code == 302
    session.refresh_from_db()
    before = list(Stimulus.objects.values_list("pk", "voided"))
    with pytest.raises(ValidationError, match="signed off"):
        services.record_stimulus(
            session=session,
            filament_size="4.56",
            withdrew=True,
            client_uuid=uuid.uuid4(),
            user=people["technician"],
        )
    with pytest.raises(ValidationError, match="signed off"):
        services.undo_last_stimulus(session=session, user=people["technician"])
    with pytest.raises(ValidationError, match="signed off"):
        services.void_session(session=session, user=people["technician"], reason="redo")
    assert list(Stimulus.objects.values_list("pk", "voided")) == before
    session.refresh_from_db()
    assert session.status != "voided"
