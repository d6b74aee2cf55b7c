"""Shared tablets: a sign-in ends with the browser or after LABSTUDY_SESSION_HOURS, and
signing out tells the browser to drop what the site kept (Clear-Site-Data), its storage
only when the page vouched that no tap is waiting in it."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD


def _signed_in(username: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.django_db
def test_sign_out_with_nothing_waiting_clears_cache_and_storage(people):
    client = _signed_in("tess")
    signed_in = client.session.session_key
    response = client.post(reverse("logout"), {"offline_data": "clear"})
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert "_auth_user_id" not in client.session
    assert not Session.objects.filter(session_key=signed_in).exists()


@pytest.mark.parametrize("said", [{"offline_data": "keep"}, {}])
@pytest.mark.django_db
def test_sign_out_with_taps_waiting_or_no_script_keeps_storage(people, said):
    client = _signed_in("tess")
    response = client.post(reverse("logout"), said)
    assert response.status_code == 302
    # The HTTP cache goes; localStorage (and the taps waiting in it) stays.
    assert response["Clear-Site-Data"] == '"cache"'
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_out_is_post_only(people):
    client = _signed_in("tess")
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_every_page_has_the_guarded_sign_out_form(people, study, client_for):
    html = client_for("technician").get(reverse("study_overview", args=[study.slug])).content
    html = html.decode()
    assert 'id="sign-out" data-user="tess"' in html
    assert '<input type="hidden" name="offline_data" value="keep">' in html  # safe default
    assert "js/offline-data.js" in html


@pytest.mark.django_db
def test_a_sign_in_ends_with_the_browser_and_after_the_session_hours(people, study, settings):
    client = _signed_in("tess")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # gone when the browser closes
    session = Session.objects.get(session_key=cookie.value)
    hours = (session.expire_date - timezone.now()) / dt.timedelta(hours=1)
    assert settings.LABSTUDY_SESSION_HOURS - 0.1 < hours <= settings.LABSTUDY_SESSION_HOURS
    bench = reverse("bench_today", args=[study.slug])
    assert client.get(bench).status_code == 200
    # The shift is over: the same tablet is asked to sign in again.
    session.expire_date = timezone.now() - dt.timedelta(seconds=1)
    session.save()
    response = client.get(bench)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
