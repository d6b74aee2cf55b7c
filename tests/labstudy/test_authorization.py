"""The authorisation matrix and the blinding crawl, over every URL of the project.

URL patterns are read from the URLconf, so a new URL without an entry in EXPECTED fails
`test_every_url_has_an_expectation`. Statuses are the policy: anonymous users are sent
to sign in, non-members get 404 on every study URL, technicians never reach set-up or
(on a blinded study) results, investigators read everything and sign off, data managers
set up, import and export.
"""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from sessions.services import void_session

ROLES = ("anonymous", "outsider", "technician", "investigator", "data_manager")
SKIP_PREFIXES = ("admin/", "accounts/")  # Django's own apps, covered by their tests


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def project_urls() -> dict[str, str]:
    return {
        name: route
        for route, name in _walk(get_resolver().url_patterns)
        if not route.startswith(SKIP_PREFIXES)
    }


def _row(anonymous, outsider, technician, investigator, data_manager):
    return dict(
        zip(ROLES, (anonymous, outsider, technician, investigator, data_manager), strict=True)
    )


A = 302  # anonymous: redirected to the login page
# Notes on the less obvious rows:
# - bench_service_worker is the same generic script for any slug (it must be fetchable
#   to install the offline worker), so anonymous users get it; outsiders still get 404.
# - Bench POST endpoints answer a non-htmx POST with a redirect back to the screen.
# - A member using the wrong method gets 405; a non-member gets 404 whatever the method.
# name: (GET statuses, POST statuses) for anonymous, outsider, technician, investigator,
# data manager, on the blinded demo study. POST bodies are empty: an allowed POST answers
# with the form and its errors (200/400/422) or a redirect, never 404/500.
EXPECTED = {
    "animal_history": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "animal_status": (_row(A, 404, 404, 200, 200), _row(A, 404, 404, 200, 200)),
    "arrive_report": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "bench_dose_record": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_dose_void": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_doses": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "bench_next": (_row(A, 404, 302, 302, 302), _row(A, 404, 405, 405, 405)),
    "bench_observation_void": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_observations": (_row(A, 404, 200, 200, 200), _row(A, 404, 200, 200, 200)),
    "bench_service_worker": (_row(200, 404, 200, 200, 200), _row(405, 404, 405, 405, 405)),
    "bench_session": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "bench_tap": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_today": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "bench_undo": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_void": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_weight_record": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_weight_void": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_weights": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "dashboard": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "dashboard_animal": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "dashboard_completeness": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "dashboard_figure": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "dashboard_mixed_model": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "export_index": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "export_methods": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "export_package": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "export_table": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "export_workbook": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    # /favicon.ico sends every browser, signed in or not, to the static icon.
    "favicon": (_row(302, 302, 302, 302, 302), _row(405, 405, 405, 405, 405)),
    "home": (_row(A, 200, 200, 200, 200), _row(A, 405, 405, 405, 405)),
    "import_confirm": (_row(A, 404, 405, 405, 405), _row(A, 404, 404, 404, 302)),
    "import_upload": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "session_history": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "study_add_animals": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_allocation": (_row(A, 404, 404, 200, 200), _row(A, 404, 404, 404, 200)),
    "study_members": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_new": (_row(A, 403, 403, 403, 200), _row(A, 403, 403, 403, 200)),
    "study_overview": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "study_setup": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_setup_rows": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_unblind": (_row(A, 404, 404, 200, 404), _row(A, 404, 404, 200, 404)),
    "timepoint_signoff": (_row(A, 404, 404, 200, 404), _row(A, 404, 404, 200, 404)),
}


def _url(name, route, kwargs):
    needed = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
    names = [a or b for a, b in needed]
    return reverse(name, kwargs={k: kwargs[k] for k in names})


def _client(users, role):
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    return client


def test_every_url_has_an_expectation():
    missing = sorted(set(project_urls()) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(project_urls()))
    assert missing == [], f"add these URL names to EXPECTED: {missing}"
    assert stale == [], f"these EXPECTED entries have no URL any more: {stale}"


@pytest.mark.django_db
def test_authorisation_matrix(world):
    """Every URL x role x method; one demo load for all, every mismatch listed."""
    study, users, kwargs = world
    clients = {role: _client(users, role) for role in ROLES}
    mismatches = []
    for name in sorted(EXPECTED):
        url = _url(name, project_urls()[name], kwargs)
        for method, expected in zip(("GET", "POST"), EXPECTED[name], strict=True):
            for role in ROLES:
                client = clients[role]
                response = client.get(url) if method == "GET" else client.post(url, {})
                got, want = response.status_code, expected[role]
                if got != want:
                    mismatches.append(f"{method} {url} as {role}: {got}, expected {want}")
    assert mismatches == []


# --- Blinding crawl ---------------------------------------------------------------


class _Text(HTMLParser):
    """Visible text and attribute values, except class names (CSS says "form-control")."""

    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        self.parts.extend(v for k, v in attrs if v and k != "class")


def _secrets(study) -> list[re.Pattern]:
    words = set()
    for group in study.groups.all():
        words |= {group.code, group.name}
        if group.drug:
            words.add(group.drug)
    patterns = [re.compile(rf"(?<![\w-]){re.escape(w)}(?![\w-])", re.I) for w in words if w]
    patterns.append(re.compile(r"\d+(?:[.,]\d+)?\s*mg\s*/\s*kg", re.I))  # any dose
    return patterns


def _leaks(content: str, patterns) -> list[str]:
    parser = _Text()
    parser.feed(content)
    text = " ".join(parser.parts)
    return sorted({m.group(0) for p in patterns for m in p.finditer(text)})


@pytest.mark.django_db
def test_blinded_technician_never_sees_group_drug_or_dose(world):
    """Every page a technician can open, on today's date and on a day of the demo when
    there was testing, dosing and weighing (so the sheets are full, not empty), and every
    htmx partial and JSON answer the bench returns for a valid change."""
    study, users, kwargs = world
    assert study.blinded
    patterns = _secrets(study)
    client = _client(users, "technician")
    busy_day = study.date_of_day(28).isoformat()  # T3, dosed, weighed
    reached = []

    def check(response, url):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code < 500, url
        assert _leaks(body.decode("utf-8", "replace"), patterns) == [], url
        return body.decode("utf-8", "replace")

    for name, route in sorted(project_urls().items()):
        if EXPECTED[name][0]["technician"] != 200:
            continue
        url = _url(name, route, kwargs)
        check(client.get(url), url)
        check(client.get(url, {"date": busy_day}), f"{url}?date={busy_day}")
        reached.append(name)
    doses = check(
        client.get(_url("bench_doses", project_urls()["bench_doses"], kwargs), {"date": busy_day}),
        "doses",
    )
    assert doses.count("Solution ") >= 15  # a full sheet was checked, not an empty one

    htmx = {"HTTP_HX_REQUEST": "true"}
    animal = study.animals.get(pk=kwargs["animal_pk"])
    t3 = study.timepoints.get(day=28)
    # Void one T3 session first, so the crawl's tap starts a new one (a real panel).
    tested = animal.test_sessions.select_related("animal__study", "timepoint").get(timepoint=t3)
    void_session(session=tested, user=users["investigator"], reason="crawl: retest")
    left = dict(kwargs, timepoint_pk=t3.pk, paw=tested.paw)
    first = "6f1c7a52-0000-4000-8000-000000000001"
    posts = [
        ("bench_tap", left, {"filament": "4.31", "withdrew": "1", "client_uuid": first}),
        (
            "bench_tap",
            kwargs,
            {"filament": "4.31", "withdrew": "1", "client_uuid": first[:-1] + "2"},
        ),
        ("bench_undo", left, {"target": first}),
        ("bench_weight_record", kwargs, {"grams": "330", "date": busy_day, "confirmed": "1"}),
        ("bench_dose_record", kwargs, {"status": "given", "date": busy_day}),
        ("bench_dose_void", kwargs, {"reason": "crawl", "date": busy_day}),
        ("bench_weight_void", kwargs, {"reason": "crawl", "date": busy_day}),
        ("bench_observation_void", kwargs, {"reason": "crawl", "date": busy_day}),
    ]
    for name, args, data in posts:
        url = _url(name, project_urls()[name], args)
        check(client.post(url, data, **htmx), url)
        reached.append(name)
    assert animal.test_sessions.filter(timepoint=t3, status="in_progress").exists()
    page = client.get(
        _url("bench_session", project_urls()["bench_session"], kwargs),
        HTTP_ACCEPT="application/json",
    )
    check(page, "session json")
    assert {"study_overview", "bench_today", "bench_session", "bench_doses"} <= set(reached)


@pytest.mark.django_db
def test_the_crawl_would_catch_a_leak(world):
    """The secret patterns match what an unblinded page shows (so the crawl can fail)."""
    study, users, kwargs = world
    html = _client(users, "investigator").get(reverse("study_overview", args=[study.slug]))
    leaks = _leaks(html.content.decode(), _secrets(study))
    assert {"K10", "K5", "ketamine", "10 mg/kg"} <= set(leaks)
