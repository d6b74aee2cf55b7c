"""Blinding that holds (issue 18): split bench roles, one audited route to unblinding,
throttled password re-checks, and dosing volumes that do not give the groups away."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from animals.models import Animal, BodyWeight
from labstudy import services
from labstudy.forms import StudyForm
from labstudy.models import Membership, PasswordRecheckFailure, Role, Study
from tests.conftest import PASSWORD

T0_DATE = dt.date(2026, 9, 8)  # day 7 of the reference study: T0 testing, first dose
LETTER = re.compile(r"Solution [A-C]\b")


@pytest.fixture
def bench_day(study, people, make_user, monkeypatch):
    """The reference study running on T0, with one animal per group, a tester and a dosing
    technician besides tess (technician)."""
    study.status = Study.Status.RUNNING
    study.save()
    for number, group in enumerate(study.groups.order_by("order"), start=1):
        animal = Animal.objects.create(study=study, code=f"R0{number}", cage="C1", group=group)
        BodyWeight.objects.create(animal=animal, date=T0_DATE, grams=Decimal("300"))
    people["tester"] = make_user("theo")
    people["dosing_technician"] = make_user("dora")
    for role in (Role.TESTER, Role.DOSING_TECHNICIAN):
        Membership.objects.create(user=people[role], study=study, role=role)
    monkeypatch.setattr(timezone, "localdate", lambda *args: T0_DATE)
    return study


def _session_url(study):
    animal = study.animals.order_by("code").first()
    t0 = study.timepoints.get(label="T0")
    return reverse("bench_session", args=[study.slug, animal.pk, t0.pk, study.paw_tested])


# --- Split bench roles ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tester_tests_but_never_sees_a_letter(bench_day, client_for):
    study = bench_day
    client = client_for("tester")
    assert client.get(reverse("bench_doses", args=[study.slug])).status_code == 404
    assert client.get(_session_url(study)).status_code == 200
    doses = reverse("bench_doses", args=[study.slug])
    for name in ("bench_today", "bench_weights", "bench_observations", "study_overview"):
        html = client.get(reverse(name, args=[study.slug])).content.decode()
        assert not LETTER.search(html), name
        assert doses not in html, name  # no link to the worksheet
    today = client.get(reverse("bench_today", args=[study.slug])).content.decode()
    assert "R01" in today and "von Frey" in today


@pytest.mark.django_db
def test_a_dosing_technician_doses_by_letter_but_does_not_test(bench_day, client_for):
    study = bench_day
    client = client_for("dosing_technician")
    assert client.get(_session_url(study)).status_code == 404
    doses = client.get(reverse("bench_doses", args=[study.slug])).content.decode()
    letters = {g.coded_letter for g in study.groups.all() if g.dose_mg_kg or g.volume_ml_kg}
    assert set(LETTER.findall(doses)) == {f"Solution {letter}" for letter in letters}
    assert "0.3 ml" in doses or "0.30" in doses  # 1 ml/kg for a 300 g rat
    today = client.get(reverse("bench_today", args=[study.slug])).content.decode()
    assert "Dosing worksheet" in today and 'id="vf-heading"' not in today
    overview = client.get(reverse("study_overview", args=[study.slug])).content.decode()
    assert not LETTER.search(overview)


@pytest.mark.django_db
def test_the_people_page_offers_the_split_roles_with_what_they_do(study, client_for, people):
    client = client_for("data_manager")
    html = client.get(reverse("study_members", args=[study.slug])).content.decode()
    assert '<option value="tester">Tester</option>' in html
    assert '<option value="dosing_technician">Dosing technician</option>' in html
    assert "never sees a solution letter or a past result" in html
    response = client.post(
        reverse("study_members", args=[study.slug]),
        {"action": "add", "add-username": "olly", "add-role": "tester"},
        follow=True,
    )
    assert "olly added as tester." in response.content.decode()
    membership = Membership.objects.get(study=study, user=people["outsider"])
    assert membership.role == Role.TESTER
    assert membership.history.first().history_change_reason == "added as tester"


# --- One audited route to unblinding -----------------------------------------------------


def _settings_post(study, **changes) -> dict:
    form = StudyForm(instance=study, prefix="study")
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[f"study-{name}"] = "on"
        elif value is not None:
            data[f"study-{name}"] = value
    for name, value in changes.items():
        if value is False:
            data.pop(f"study-{name}", None)
        else:
            data[f"study-{name}"] = value
    return data


def _record_a_weight(study):
    animal = Animal.objects.create(study=study, code="R99", cage="C9")
    BodyWeight.objects.create(animal=animal, date=study.day0_date, grams=Decimal("250"))


@pytest.mark.django_db
def test_settings_cannot_take_a_running_study_with_data_back_to_planning(study, client_for):
    study.status = Study.Status.RUNNING
    study.save()
    _record_a_weight(study)
    url = reverse("study_setup", args=[study.slug])
    data = _settings_post(study, status="planning", change_reason="unblind it")
    html = client_for("data_manager").post(url, data).content.decode()
    assert "cannot go back to planning" in html
    study.refresh_from_db()
    assert (study.status, study.blinded) == (Study.Status.RUNNING, True)


@pytest.mark.django_db
def test_settings_cannot_untick_blinded_once_data_exist_even_in_planning(study, client_for):
    _record_a_weight(study)  # the study is still in planning
    url = reverse("study_setup", args=[study.slug])
    html = client_for("data_manager").post(url, _settings_post(study, blinded=False))
    assert "unblinded only on its Unblind page" in html.content.decode()
    study.refresh_from_db()
    assert study.blinded


@pytest.mark.django_db
def test_settings_may_untick_blinded_while_planning_with_nothing_recorded(study, client_for):
    url = reverse("study_setup", args=[study.slug])
    response = client_for("data_manager").post(url, _settings_post(study, blinded=False))
    assert response.status_code == 302
    study.refresh_from_db()
    assert not study.blinded


@pytest.mark.django_db
def test_the_admin_cannot_clear_blinded_or_go_back_to_planning(study, people):
    study.status = Study.Status.RUNNING
    study.save()
    _record_a_weight(study)
    model_admin = admin.site._registry[Study]
    request = RequestFactory().get("/")
    request.user = people["data_manager"]
    form_class = model_admin.get_form(request, study)
    initial = {name: form_class(instance=study)[name].value() for name in form_class.base_fields}
    for change, message in (
        ({"blinded": False}, "unblinded only on its Unblind page"),
        ({"status": "planning"}, "cannot go back to planning"),
    ):
        form = form_class({**initial, **change}, instance=Study.objects.get(pk=study.pk))
        assert not form.is_valid()
        assert message in str(form.errors)
    study.refresh_from_db()
    assert (study.status, study.blinded) == (Study.Status.RUNNING, True)


@pytest.mark.django_db
def test_a_plain_save_from_any_route_is_refused(study):
    """Shell, management commands and the history's revert all end in Study.save()."""
    study.status = Study.Status.RUNNING
    study.save()
    _record_a_weight(study)
    for field, value in (("blinded", False), ("status", Study.Status.PLANNING)):
        stale = Study.objects.get(pk=study.pk)
        setattr(stale, field, value)
        with pytest.raises(ValidationError):
            stale.save()
    study.refresh_from_db()
    assert (study.status, study.blinded) == (Study.Status.RUNNING, True)


@pytest.mark.django_db
def test_the_unblind_page_is_the_audited_route(study, client_for, people):
    study.status = Study.Status.RUNNING
    study.save()
    _record_a_weight(study)
    url = reverse("study_unblind", args=[study.slug])
    client = client_for("investigator")
    refused = client.post(url, {"reason": "", "password": PASSWORD})
    assert refused.status_code == 200
    study.refresh_from_db()
    assert study.blinded
    client.post(url, {"reason": "final analysis done", "password": PASSWORD})
    study.refresh_from_db()
    assert not study.blinded and study.status == Study.Status.RUNNING
    last = study.history.first()
    assert last.history_change_reason == "unblinded: final analysis done"
    assert last.history_user == people["investigator"]


# --- Password re-checks are throttled like sign-in ---------------------------------------


@pytest.mark.django_db
def test_five_wrong_passwords_lock_sign_off_and_unblinding_for_an_hour(study, client_for, people):
    ivy = people["investigator"]
    client = client_for("investigator")
    signoff = reverse("timepoint_signoff", args=[study.slug, "T0"])
    unblind = reverse("study_unblind", args=[study.slug])
    for attempt in range(5):
        html = client.post(signoff, {"password": "wrong"}).content.decode()
        assert "That is not your password." in html, attempt
    assert PasswordRecheckFailure.objects.filter(user=ivy).count() == 5

    html = client.post(signoff, {"password": PASSWORD}).content.decode()
    assert "Too many wrong passwords" in html
    html = client.post(unblind, {"reason": "analysis", "password": PASSWORD}).content.decode()
    assert "Too many wrong passwords" in html
    study.refresh_from_db()
    assert study.blinded and not study.timepoints.get(label="T0").is_locked

    # An hour later the right password works again, and the count starts afresh.
    PasswordRecheckFailure.objects.filter(user=ivy).update(
        failed_at=timezone.now() - dt.timedelta(hours=1, minutes=1)
    )
    response = client.post(signoff, {"password": PASSWORD})
    assert response.status_code == 302
    assert study.timepoints.get(label="T0").is_locked
    assert not PasswordRecheckFailure.objects.filter(user=ivy).exists()


@pytest.mark.django_db
def test_the_lock_is_per_person(study, people):
    """Ivy's wrong passwords do not lock the data manager out (service level)."""
    for _ in range(5):
        with pytest.raises(ValidationError):
            services.unlock_timepoint(
                timepoint=study.timepoints.get(label="T0"),
                user=people["investigator"],
                password="wrong",
                reason="x",
            )
    timepoint = services.sign_off_timepoint(
        timepoint=study.timepoints.get(label="T1"), user=people["data_manager"], password=PASSWORD
    )
    assert timepoint.is_locked


# --- Dosing volumes that would reveal the groups ----------------------------------------


@pytest.mark.django_db
def test_groups_page_warns_when_volumes_per_kg_differ_and_offers_equal_ones(study, client_for):
    study.groups.filter(code="K10").update(concentration_mg_ml=20)  # 0.5 ml/kg; K5 1 ml/kg
    client = client_for("data_manager")
    html = client.get(reverse("study_setup_rows", args=[study.slug, "groups"])).content.decode()
    assert "The injection volumes give the groups away" in html
    assert "<strong>K5</strong> 1 ml/kg" in html and "<strong>K10</strong> 0.5 ml/kg" in html
    assert "0.30 ml (K5)" in html and "0.15 ml (K10)" in html  # a 300 g rat
    assert "To give every group 1 ml/kg, make K5 at 5 mg/ml and K10 at 10 mg/ml" in html
    settings_page = client.get(reverse("study_setup", args=[study.slug])).content.decode()
    assert "0.15 ml (K10)" in settings_page


@pytest.mark.django_db
def test_no_volume_warning_when_volumes_are_equal_or_the_study_is_open(study, client_for):
    client = client_for("data_manager")
    url = reverse("study_setup_rows", args=[study.slug, "groups"])
    assert "give the groups away" not in client.get(url).content.decode()  # template: 1 ml/kg
    study.groups.filter(code="K10").update(concentration_mg_ml=20)
    Study.objects.filter(pk=study.pk).update(blinded=False)
    assert "give the groups away" not in client.get(url).content.decode()
