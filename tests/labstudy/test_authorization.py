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
from django.urls import reverse

from tests.worlds import client_as, project_urls, route_url

ROLES = ("anonymous", "outsider", "technician", "investigator", "data_manager")


def _row(anonymous, outsider, technician, investigator, data_manager):
    return dict(
        zip(ROLES, (anonymous, outsider, technician, investigator, data_manager), strict=True)
    )


A = 302  # anonymous: redirected to the login page
# Notes on the less obvious rows:
# - bench_service_worker is served to members only, like the pages it keeps offline.
# - Bench POST endpoints answer a non-htmx POST with a redirect back to the screen.
# - A member using the wrong method gets 405; a non-member gets 404 whatever the method.
# - The demo's sessions are all on past days: a blinded technician gets 404 on every
#   von Frey session URL of another day (issue 18: past results are hidden while blinded).
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
    "bench_next": (_row(A, 404, 404, 302, 302), _row(A, 404, 405, 405, 405)),
    "bench_observation_void": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_observations": (_row(A, 404, 200, 200, 200), _row(A, 404, 200, 200, 200)),
    "bench_service_worker": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "bench_session": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "bench_tap": (_row(A, 404, 405, 405, 405), _row(A, 404, 404, 302, 302)),
    "bench_today": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "bench_undo": (_row(A, 404, 405, 405, 405), _row(A, 404, 404, 302, 302)),
    "bench_void": (_row(A, 404, 405, 405, 405), _row(A, 404, 404, 302, 302)),
    "bench_weight_record": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_weight_void": (_row(A, 404, 405, 405, 405), _row(A, 404, 302, 302, 302)),
    "bench_weights": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "cage_cards": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
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
    # Connect a tablet: anyone signed in. The certificate is public, and absent in tests
    # (tests/conftest.py points LABSTUDY_LAN_DIR at an empty place; tests/lan serves one).
    "connect_tablet": (_row(A, 200, 200, 200, 200), _row(A, 405, 405, 405, 405)),
    "lan_ca_certificate": (_row(404, 404, 404, 404, 404), _row(405, 405, 405, 405, 405)),
    "import_confirm": (_row(A, 404, 405, 405, 405), _row(A, 404, 404, 404, 302)),
    "import_upload": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    # A scanned card with one thing left to do today goes straight to it: R01's weight.
    "scan_animal": (_row(A, 404, 302, 302, 302), _row(A, 404, 405, 405, 405)),
    "scan_cage": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    "session_history": (_row(A, 404, 404, 200, 200), _row(A, 404, 405, 405, 405)),
    "study_add_animals": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_allocation": (_row(A, 404, 404, 200, 200), _row(A, 404, 404, 404, 200)),
    "study_members": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_new": (_row(A, 403, 403, 403, 200), _row(A, 403, 403, 403, 200)),
    "study_overview": (_row(A, 404, 200, 200, 200), _row(A, 404, 405, 405, 405)),
    # An empty POST is a form with errors (400); `pk` here is a session's, never a plan of
    # the study: 404 for everyone (tests/labstudy/test_planning_views.py opens real plans).
    "study_planning": (_row(A, 404, 404, 200, 200), _row(A, 404, 404, 400, 400)),
    "study_planning_plan": (_row(A, 404, 404, 404, 404), _row(A, 404, 405, 405, 405)),
    "study_planning_progress": (_row(A, 404, 404, 404, 404), _row(A, 404, 405, 405, 405)),
    "study_setup": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_setup_rows": (_row(A, 404, 404, 404, 200), _row(A, 404, 404, 404, 200)),
    "study_unblind": (_row(A, 404, 404, 200, 404), _row(A, 404, 404, 200, 404)),
    "timepoint_signoff": (_row(A, 404, 404, 200, 404), _row(A, 404, 404, 200, 404)),
}


def test_every_url_has_an_expectation():
    missing = sorted(set(project_urls()) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(project_urls()))
    assert missing == [], f"add these URL names to EXPECTED: {missing}"
    assert stale == [], f"these EXPECTED entries have no URL any more: {stale}"


# The split bench roles (issue 18) get what a technician gets, except: a tester never
# reaches the dosing worksheet (it shows solution letters), and a dosing technician never
# reaches a von Frey session (on the demo those are 404 for a technician anyway: past days).
SPLIT_ROLE_EXCEPTIONS = {
    "tester": {
        ("GET", "bench_doses"): 404,
        ("POST", "bench_dose_record"): 404,
        ("POST", "bench_dose_void"): 404,
    },
    "dosing_technician": {},
}


@pytest.mark.django_db
def test_split_bench_roles_reach_what_a_technician_does_less_their_exceptions(demo_people_and_urls):
    from labstudy.models import Membership, Role

    study, users, kwargs = demo_people_and_urls
    for role, username in (("tester", "theo"), ("dosing_technician", "dora")):
        user = type(users["outsider"]).objects.create_user(username, password="x")
        Membership.objects.create(user=user, study=study, role=Role(role))
        client = client_as({role: user}, role)
        mismatches = []
        for name in sorted(EXPECTED):
            url = route_url(name, project_urls()[name], kwargs)
            for method, expected in zip(("GET", "POST"), EXPECTED[name], strict=True):
                want = SPLIT_ROLE_EXCEPTIONS[role].get((method, name), expected["technician"])
                response = client.get(url) if method == "GET" else client.post(url, {})
                if response.status_code != want:
                    mismatches.append(f"{method} {url}: {response.status_code}, expected {want}")
        assert mismatches == [], role


@pytest.mark.django_db
def test_authorisation_matrix(demo_people_and_urls):
    """Every URL x role x method; one demo load for all, every mismatch listed."""
    study, users, kwargs = demo_people_and_urls
    clients = {role: client_as(users, role) for role in ROLES}
    mismatches = []
    for name in sorted(EXPECTED):
        url = route_url(name, project_urls()[name], kwargs)
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
def test_blinded_technician_never_sees_group_drug_or_dose(demo_people_and_urls):
    """Every page a technician can open, on today's date and on a day of the demo when
    there was testing, dosing and weighing (which a blinded technician is now refused:
    the practice crawl below covers full sheets), and every htmx partial the bench returns
    for a valid change."""
    study, users, kwargs = demo_people_and_urls
    assert study.blinded
    patterns = _secrets(study)
    client = client_as(users, "technician")
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
        url = route_url(name, route, kwargs)
        check(client.get(url), url)
        check(client.get(url, {"date": busy_day}), f"{url}?date={busy_day}")
        reached.append(name)
    doses = check(
        client.get(
            route_url("bench_doses", project_urls()["bench_doses"], kwargs), {"date": busy_day}
        ),
        "doses",
    )
    # Every demo day is past: the technician is shown today instead, and told why.
    assert "Past results are hidden while the study is blinded" in doses
    assert f'value="{busy_day}"' not in doses

    htmx = {"HTTP_HX_REQUEST": "true"}
    animal = study.animals.get(pk=kwargs["animal_pk"])
    t3 = study.timepoints.get(day=28)
    tested = animal.test_sessions.get(timepoint=t3)
    taps_before = tested.stimuli.count()
    posts = [
        ("bench_weight_record", kwargs, {"grams": "330", "date": busy_day, "confirmed": "1"}),
        ("bench_dose_record", kwargs, {"status": "given", "date": busy_day}),
        ("bench_dose_void", kwargs, {"reason": "crawl", "date": busy_day}),
        ("bench_weight_void", kwargs, {"reason": "crawl", "date": busy_day}),
        ("bench_observation_void", kwargs, {"reason": "crawl", "date": busy_day}),
    ]
    for name, args, data in posts:
        url = route_url(name, project_urls()[name], args)
        check(client.post(url, data, **htmx), url)
        reached.append(name)
    # The demo's days are all past: its sessions are closed to a blinded technician, so a
    # tap on one is refused and stores nothing (the practice crawl below taps today's).
    left = dict(kwargs, timepoint_pk=t3.pk, paw=tested.paw)
    tap = route_url("bench_tap", project_urls()["bench_tap"], left)
    data = {"filament": "4.31", "withdrew": "1", "client_uuid": "6f1c7a52-0000-4000-8000-0000"}
    assert client.post(tap, data, **htmx).status_code == 404
    assert tested.stimuli.count() == taps_before
    page = client.get(
        route_url("bench_session", project_urls()["bench_session"], kwargs),
        HTTP_ACCEPT="application/json",
    )
    assert page.status_code == 404
    check(page, "session json")
    assert {"study_overview", "bench_today", "bench_doses"} <= set(reached)


@pytest.mark.django_db
def test_the_crawl_would_catch_a_leak(demo_people_and_urls):
    """The secret patterns match what an unblinded page shows (so the crawl can fail)."""
    study, users, kwargs = demo_people_and_urls
    html = client_as(users, "investigator").get(reverse("study_overview", args=[study.slug]))
    leaks = _leaks(html.content.decode(), _secrets(study))
    assert {"K10", "K5", "ketamine", "10 mg/kg"} <= set(leaks)


# --- Blinding crawl, today's practice study: letters and past results -------------------

LETTER = re.compile(r"\bSolution\s+[A-Z]\b")
HIDDEN = "Past results are hidden while the study is blinded"


def _text(content: str) -> str:
    parser = _Text()
    parser.feed(content)
    return " ".join(parser.parts)


@pytest.mark.django_db
def test_blinded_technician_cannot_average_by_letter(practice_world):
    """On the day a technician works (today is T3; T0-T2 are recorded), every page they can
    open shows no solution letter outside the dosing worksheet, no other day's session and
    no threshold but that of the session in hand, whatever date they ask for."""
    import datetime as dt
    import uuid

    from django.utils import timezone

    from analysis import thresholds
    from sessions.models import TestSession
    from sessions.services import filament_specs

    study, technician = practice_world
    assert study.blinded
    client = Client()
    client.force_login(technician)
    today = timezone.localdate()
    today_tp = study.timepoints.get(day=study.day_of_date(today))
    animal = study.animals.order_by("code").first()
    past = list(TestSession.objects.filter(animal__study=study).exclude(timepoint=today_tp))
    assert len(past) == 18  # T0-T2 x 6 animals, all complete
    past_urls = [
        reverse("bench_session", args=[study.slug, s.animal_id, s.timepoint_id, s.paw])
        for s in past
    ]
    kwargs = {
        "slug": study.slug,
        "animal_pk": animal.pk,
        "timepoint_pk": today_tp.pk,
        "paw": study.paw_tested,
        "code": animal.code,
        "cage": animal.cage,
        "pk": past[0].pk,
        "label": today_tp.label,
    }
    dates = [today - dt.timedelta(days=n) for n in (1, 7, 14, 21)] + [today]
    pages = {}
    for name, route in sorted(project_urls().items()):
        opens = EXPECTED[name][0]["technician"] == 200 or name == "bench_session"  # today's
        if not opens or name == "bench_service_worker":
            continue
        url = route_url(name, route, kwargs)
        for date in dates:
            response = client.get(url, {"date": date.isoformat()})
            assert response.status_code == 200, (url, date)
            pages[f"{url}?date={date}"] = (name, response.content.decode())
    assert {"study_overview", "bench_today", "bench_session", "bench_doses"} <= {
        name for name, _ in pages.values()
    }
    for where, (name, html) in pages.items():
        letters = LETTER.findall(_text(html))
        if name == "bench_doses":
            assert len(letters) == 6, where  # the full sheet: every animal's letter
        else:
            assert letters == [], where
        assert not [u for u in past_urls if u in html], where  # no link to another day
        assert "bench-result-grams" not in html, where  # no threshold: nothing in hand is done
    # Asking for an earlier day shows today and says why; there is no "previous day".
    bench = pages[f"{reverse('bench_today', args=[study.slug])}?date={dates[1]}"][1]
    assert HIDDEN in bench and "Previous day" not in bench
    assert f"study day {today_tp.day}" in bench

    # Every session of another day is closed, with a plain message.
    for url in past_urls:
        response = client.get(url)
        assert response.status_code == 404 and HIDDEN in response.content.decode(), url

    # The session in hand: tap a whole series; its own threshold is shown at the end.
    filaments = filament_specs(study.filament_set)
    grams = {f.size: f.grams for f in filaments}
    series = []
    tap = reverse("bench_tap", args=[study.slug, animal.pk, today_tp.pk, study.paw_tested])
    method, start = study.threshold_method, study.start_filament
    while size := thresholds.next_filament(series, filaments, method=method, start=start):
        series.append((size, grams[size] >= 15))
        data = {"filament": size, "withdrew": int(series[-1][1]), "client_uuid": uuid.uuid4()}
        assert client.post(tap, data, HTTP_HX_REQUEST="true").status_code == 200
    stored = TestSession.objects.get(animal=animal, timepoint=today_tp)
    assert stored.stimuli.filter(voided=False).count() == len(series)
    page = client.get(route_url("bench_session", project_urls()["bench_session"], kwargs))
    assert page.status_code == 200 and "bench-result-grams" in page.content.decode()

    # A tester on the same study: the same pages, and no letter on any of them (the
    # dosing worksheet is not theirs), and the finished session in hand keeps its result.
    from django.contrib.auth import get_user_model

    from labstudy.models import Membership, Role

    tester = get_user_model().objects.create_user("theo", password="x")
    Membership.objects.create(user=tester, study=study, role=Role.TESTER)
    client.force_login(tester)
    for where, (name, _html) in pages.items():
        response = client.get(where)
        assert response.status_code == (404 if name == "bench_doses" else 200), where
        assert LETTER.findall(_text(response.content.decode())) == [], where
    assert "bench-result-grams" in client.get(page.request["PATH_INFO"]).content.decode()
