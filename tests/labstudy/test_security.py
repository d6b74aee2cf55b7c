"""Hardening: deploy checks, required production settings, login throttling, CSP, CSRF."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "LABSTUDY_ENV": "production",
    "LABSTUDY_SECRET_KEY": "k3@x!9vQz#Lm2Rt7Yp$Wn5Bc8Hd4Jf6Gs1Ka0Ue-Ti_Ro+Pl=Mq%Nv^Xw&Zy*",
    "LABSTUDY_ALLOWED_HOSTS": "labstudy.example.org",
    "LABSTUDY_CSRF_TRUSTED_ORIGINS": "https://labstudy.example.org",
    "DATABASE_URL": "postgres://labstudy:secret@127.0.0.1:5432/labstudy",
}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
    clean.pop("DATABASE_URL", None)  # CI's PostgreSQL pass sets it; each test says its own
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    clean.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests; deploy check warns
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_with_production_settings_reports_nothing():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "LABSTUDY_SECRET_KEY",
        "LABSTUDY_ALLOWED_HOSTS",
        "LABSTUDY_CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",  # never a silent SQLite file in production
    ],
)
def test_production_refuses_to_start_without_required_settings(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} must be set when LABSTUDY_ENV=production" in result.stderr


@pytest.mark.parametrize(
    "key",
    ["change-me-to-50-random-characters", "a" * 60, "x1y2z3" * 8],  # 33, 1 distinct, 48
)
def test_production_refuses_a_short_or_repetitive_secret_key(key):
    result = _manage("check", env={**PRODUCTION_ENV, "LABSTUDY_SECRET_KEY": key})
    assert result.returncode != 0
    assert "LABSTUDY_SECRET_KEY must be at least 50 random characters" in result.stderr
    assert f"(it has {len(key)})" in result.stderr


def test_production_refuses_a_trusted_origin_without_its_scheme():
    env = {**PRODUCTION_ENV, "LABSTUDY_CSRF_TRUSTED_ORIGINS": "labstudy.example.org"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "'labstudy.example.org' needs its scheme" in result.stderr


@pytest.mark.parametrize("count", ["-1", "one"])
def test_a_proxy_count_that_is_not_a_number_of_proxies_stops_the_process(count):
    result = _manage("check", env={**PRODUCTION_ENV, "LABSTUDY_PROXY_COUNT": count})
    assert result.returncode != 0
    assert "LABSTUDY_PROXY_COUNT must be the number of reverse proxies" in result.stderr


def test_session_hours_set_how_long_a_sign_in_lasts():
    code = "from django.conf import settings as s; print(s.SESSION_COOKIE_AGE)"
    result = _manage("shell", "--no-imports", "-c", code, env={"LABSTUDY_SESSION_HOURS": "8"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(8 * 3600)


@pytest.mark.parametrize("hours", ["0", "twelve", "1000"])
def test_session_hours_that_are_not_a_sensible_length_stop_the_process(hours):
    result = _manage("check", env={**PRODUCTION_ENV, "LABSTUDY_SESSION_HOURS": hours})
    assert result.returncode != 0
    assert "LABSTUDY_SESSION_HOURS must be the hours a sign-in lasts" in result.stderr


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_for_that_address(settings, make_user):
    settings.AXES_ENABLED = True
    make_user("tess")
    client = Client()
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"username": "tess", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    response = client.post(url, {"username": "tess", "password": "wrong"})
    assert response.status_code == 429  # the limit-th failure locks
    response = client.post(url, {"username": "tess", "password": "correct-horse-battery"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failures_across_many_usernames_lock_the_address(settings, make_user):
    settings.AXES_ENABLED = True
    make_user("tess")
    url = reverse("login")
    attacker = Client(REMOTE_ADDR="192.0.2.10")
    for n in range(settings.LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT):
        attacker.post(url, {"username": f"user{n}", "password": "wrong"})
    response = attacker.post(url, {"username": "tess", "password": "correct-horse-battery"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in attacker.session
    colleague = Client(REMOTE_ADDR="192.0.2.11")
    response = colleague.post(url, {"username": "tess", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert "_auth_user_id" in colleague.session


@pytest.mark.django_db
def test_a_correct_login_still_works_below_the_limit(settings, make_user):
    settings.AXES_ENABLED = True
    make_user("tess")
    client = Client()
    client.post(reverse("login"), {"username": "tess", "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": "tess", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts(client_for, study):
    response = client_for("investigator").get(reverse("study_overview", args=[study.slug]))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "unsafe-eval" not in policy


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)
HX_ON = re.compile(r"\shx-on[:-]", re.I)


@pytest.mark.parametrize(
    "template", sorted(ROOT.glob("templates/**/*.html")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_templates_have_no_inline_scripts_or_event_handlers(template):
    html = template.read_text()
    assert not INLINE_SCRIPT.search(html), "inline <script>: the CSP blocks it; use a static file"
    assert not EVENT_HANDLER.search(html), "inline on*= handler: the CSP blocks it"
    assert not HX_ON.search(html), "hx-on evaluates code: the CSP blocks it"


@pytest.mark.django_db
def test_posts_without_a_csrf_token_are_refused(people, study):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["data_manager"])
    response = client.post(reverse("study_add_animals", args=[study.slug]), {"codes": "R01"})
    assert response.status_code == 403
    assert not study.animals.exists()
