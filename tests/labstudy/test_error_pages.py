"""Pages for when something cannot be shown say why, keep the navigation and lead
somewhere: 404 and 403 (as in production, DEBUG off), a form sent after its session
ended (CSRF failure), and the sign-in page that stands in for another page."""

import html

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse


def text_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture(autouse=True)
def production_like(settings):
    settings.DEBUG = False  # Django's technical 404 page would hide ours


@pytest.mark.django_db
def test_a_study_page_a_person_may_not_open_is_a_styled_404_with_the_likely_cause(
    client_for, study
):
    response = client_for("outsider").get(reverse("study_overview", args=[study.slug]))
    assert response.status_code == 404
    page = text_of(response)
    assert "You may not be a member of this study" in page
    assert "ask the study's data manager" in page
    assert 'class="navbar-brand"' in page and "Sign out" in page  # the navigation is there
    assert f'href="{reverse("home")}">Your studies' in page
    assert study.title not in page  # nothing about the study is disclosed


@pytest.mark.django_db
def test_a_technician_on_a_set_up_page_reads_that_the_role_cannot_open_it(client_for, study):
    response = client_for("technician").get(reverse("study_setup", args=[study.slug]))
    assert response.status_code == 404
    page = text_of(response)
    assert "your role on it may not open this page" in page
    assert "This page is not available to your role." in page


@pytest.mark.django_db
def test_an_address_that_does_not_exist_says_so(client_for):
    response = client_for("data_manager").get("/no-such-page/")
    assert response.status_code == 404
    page = text_of(response)
    assert "There is no page at this address" in page
    assert "Resolver404" not in page and "member of this study" not in page


@pytest.mark.django_db
def test_403_says_what_was_refused_and_that_nothing_changed(client_for, study):
    response = client_for("investigator").post(
        reverse("study_new"), {"slug": "x", "title": "X", "template": "psnl-vf-3x8"}
    )
    assert response.status_code == 403
    page = text_of(response)
    assert "Only data managers can create studies. Nothing was changed." in page
    assert "Sign out" in page


@pytest.mark.django_db
def test_a_form_sent_after_the_session_changed_says_nothing_was_saved_and_leads_back(people, study):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["data_manager"])
    form_page = reverse("study_setup", args=[study.slug])
    response = client.post(
        form_page,
        {"study-title": "Changed without a token"},
        HTTP_REFERER=f"http://testserver{form_page}",
    )
    assert response.status_code == 403
    page = text_of(response)
    assert "Your session expired: nothing was saved" in page
    assert f'<a class="btn btn-primary" href="{form_page}">Back to the form</a>' in page
    study.refresh_from_db()
    assert study.title == "PSNL allodynia study"


@pytest.mark.django_db
def test_signed_out_csrf_failure_offers_sign_in_that_returns_to_the_form(study):
    client = Client(enforce_csrf_checks=True)
    form_page = reverse("study_setup", args=[study.slug])
    response = client.post(
        reverse("login"),
        {"username": "dan", "password": "x"},
        HTTP_REFERER=f"http://testserver{form_page}",
    )
    assert response.status_code == 403
    page = text_of(response)
    assert "You were signed out" in page and "nothing was saved" in page
    assert 'href="/accounts/login/?next=%2Fs%2Fpsnl%2Fsetup%2F">Sign in again</a>' in page


@pytest.mark.django_db
def test_a_foreign_referer_is_not_offered_as_the_way_back(people, study):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["data_manager"])
    response = client.post(
        reverse("study_setup", args=[study.slug]), {}, HTTP_REFERER="https://evil.example/x"
    )
    assert response.status_code == 403
    assert "evil.example" not in text_of(response)
    assert "Back to the form" not in text_of(response)


@pytest.mark.django_db
def test_the_sign_in_page_says_why_it_appeared(client, study):
    wanted = reverse("study_overview", args=[study.slug])
    response = client.get(wanted)
    assert response.status_code == 302 and "next=" in response["Location"]

    fresh = text_of(client.get(response["Location"]))
    assert "Sign in to continue to the page you asked for." in fresh
    assert "You were signed out" not in fresh

    client.cookies["sessionid"] = "a-session-that-has-ended"
    expired = text_of(client.get(response["Location"]))
    assert "You were signed out (your session ended)" in expired
    assert f'name="next" value="{wanted}"' in expired

    plain = text_of(Client().get(reverse("login")))
    assert "why-sign-in" not in plain


@pytest.mark.django_db
def test_favicon_is_linked_and_answered(client_for):
    page = text_of(client_for("data_manager").get(reverse("home")))
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert finders.find("favicon.svg")
    response = Client().get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"


@pytest.mark.django_db
def test_package_download_tells_the_page_it_has_started(client_for, study):
    client = client_for("data_manager")
    url = reverse("export_package", args=[study.slug])
    response = client.get(url, {"download_token": "17332123"})
    assert response.status_code == 200
    cookie = response.cookies["labstudy_download"]
    assert cookie.value == "17332123" and not cookie["httponly"]
    odd = client.get(url, {"download_token": "<script>"})
    assert "labstudy_download" not in odd.cookies
