"""The People page: data managers add members, change roles and remove members (with a
reason, kept in the history); the study always keeps a data manager."""

import pytest
from django.urls import reverse

from labstudy.models import Membership, Role

pytestmark = pytest.mark.django_db


def _url(study):
    return reverse("study_members", args=[study.slug])


def _post(client, study, **data):
    return client.post(_url(study), data, follow=True)


def _role_of(study, username):
    member = Membership.objects.filter(study=study, user__username=username).first()
    return member.role if member else None


@pytest.mark.parametrize("who", ["technician", "investigator", "outsider"])
def test_only_data_managers_reach_the_page(client_for, study, who):
    client = client_for(who)
    assert client.get(_url(study)).status_code == 404
    response = client.post(
        _url(study), {"action": "add", "add-username": "olly", "add-role": "data_manager"}
    )
    assert response.status_code == 404
    assert _role_of(study, "olly") is None


def test_data_manager_adds_an_existing_user_who_then_sees_the_study(client_for, study, people):
    page = _post(
        client_for("data_manager"),
        study,
        action="add",
        **{"add-username": "olly", "add-role": "technician"},
    )
    assert "olly added as technician." in page.content.decode()
    member = Membership.objects.get(study=study, user=people["outsider"])
    assert member.role == Role.TECHNICIAN and member.created_by == people["data_manager"]
    record = member.history.first()
    assert record.history_user == people["data_manager"]
    assert record.history_change_reason == "added as technician"
    assert (
        client_for("outsider").get(reverse("study_overview", args=[study.slug])).status_code == 200
    )


def test_an_unknown_username_or_an_existing_member_is_refused(client_for, study):
    client = client_for("data_manager")
    html = _post(
        client, study, action="add", **{"add-username": "nobody", "add-role": "technician"}
    ).content.decode()
    assert "There is no active user called &#x27;nobody&#x27;." in html
    html = _post(
        client, study, action="add", **{"add-username": "tess", "add-role": "investigator"}
    ).content.decode()
    assert "tess is already technician in this study" in html
    assert _role_of(study, "tess") == Role.TECHNICIAN
    assert Membership.objects.filter(study=study).count() == 3


def test_data_manager_changes_a_role_and_the_history_says_so(client_for, study, people):
    member = Membership.objects.get(study=study, user=people["technician"])
    page = _post(
        client_for("data_manager"), study, action="role", membership=member.pk, role="investigator"
    )
    assert "tess is now investigator." in page.content.decode()
    assert _role_of(study, "tess") == Role.INVESTIGATOR
    record = member.history.first()
    assert record.history_change_reason == "role changed from technician to investigator"
    assert record.history_user == people["data_manager"]


def test_removal_needs_a_reason_and_keeps_it(client_for, study, people):
    client = client_for("data_manager")
    member = Membership.objects.get(study=study, user=people["investigator"])
    html = _post(
        client, study, action="remove", membership=member.pk, reason="   "
    ).content.decode()
    assert "alert-danger" in html and _role_of(study, "ivy") == Role.INVESTIGATOR
    html = _post(
        client, study, action="remove", membership=member.pk, reason="left the lab"
    ).content.decode()
    assert "ivy removed from the study." in html
    assert _role_of(study, "ivy") is None
    removal = Membership.history.get(id=member.pk, history_type="-")
    assert removal.history_change_reason == "left the lab"
    assert removal.history_user == people["data_manager"]
    assert "left the lab" in html  # the Removed list on the page
    overview = reverse("study_overview", args=[study.slug])
    assert client_for("investigator").get(overview).status_code == 404


def test_a_data_manager_cannot_remove_or_demote_themselves(client_for, study, people):
    # Even with a second data manager present: another one must do it.
    Membership.objects.filter(study=study, user=people["investigator"]).update(
        role=Role.DATA_MANAGER
    )
    own = Membership.objects.get(study=study, user=people["data_manager"])
    client = client_for("data_manager")
    html = _post(client, study, action="remove", membership=own.pk, reason="done").content.decode()
    assert "You cannot remove yourself as data manager" in html
    html = _post(
        client, study, action="role", membership=own.pk, role="technician"
    ).content.decode()
    assert "You cannot demote yourself as data manager" in html
    assert _role_of(study, "dan") == Role.DATA_MANAGER
    # The other data manager can.
    response = _post(
        client_for("investigator"),
        study,
        action="remove",
        membership=own.pk,
        reason="moved to another study",
    )
    assert "dan removed from the study." in response.content.decode()
    assert _role_of(study, "dan") is None


def test_the_last_data_manager_stays(client, study, people, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x")  # not a member
    client.force_login(admin)
    own = Membership.objects.get(study=study, user=people["data_manager"])
    html = _post(client, study, action="remove", membership=own.pk, reason="gone").content.decode()
    assert "dan is the study&#x27;s last data manager" in html
    html = _post(
        client, study, action="role", membership=own.pk, role="investigator"
    ).content.decode()
    assert "dan is the study&#x27;s last data manager" in html
    assert _role_of(study, "dan") == Role.DATA_MANAGER
    # With a second data manager, the first may go.
    tess = Membership.objects.get(study=study, user=people["technician"])
    _post(client, study, action="role", membership=tess.pk, role="data_manager")
    _post(client, study, action="remove", membership=own.pk, reason="gone")
    assert _role_of(study, "dan") is None and _role_of(study, "tess") == Role.DATA_MANAGER


def test_a_membership_of_another_study_cannot_be_touched(client_for, study, people):
    import datetime as dt

    from labstudy import services

    other = services.create_study(
        template_key="blank",
        slug="other",
        title="Other",
        day0_date=dt.date(2026, 1, 1),
        user=people["investigator"],
    )
    theirs = Membership.objects.get(study=other)
    html = _post(
        client_for("data_manager"), study, action="remove", membership=theirs.pk, reason="x"
    ).content.decode()
    assert "That person is not a member of this study." in html
    assert Membership.objects.filter(pk=theirs.pk).exists()
