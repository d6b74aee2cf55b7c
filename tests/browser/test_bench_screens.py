"""The bench in Chromium at tablet size, signed in as the demo technician.

The demo study's testing days are in the past, so each test adds a study for the demo
accounts whose day 0 makes today T3 (day 28): a testing day in dosing phase A, with the
animals weighed a week ago. Screenshots of every bench screen go to docs/screenshots/.
"""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from analysis import thresholds
from animals.models import Animal, BodyWeight, DoseAdministration
from front.demo import DEMO_PASSWORD
from labstudy import services as study_services
from labstudy.models import Membership, Role, Study
from sessions import services
from sessions.models import Stimulus, TestSession
from tests.browser.conftest import (
    DESKTOP,
    LANDSCAPE,
    TABLET,
    login,
    screenshot,
    sign_in,
    too_small_targets,
    wait_until,
)

PHONE = {"width": 390, "height": 844}
SLUG = "bench-today"
QUEUE_KEY = "labstudy.bench.queue.v1"
# Word-bounded: a random CSRF token may well contain "K5" inside it.
# The same words as the server-side crawl (tests/sessions/test_bench_views.py), the
# group code "control" included; class attributes ("form-control") are taken out first.
SECRETS = re.compile(
    r"\bK5\b|\bK10\b|ketamine|mg/kg|Control \(PSNL \+ saline vehicle\)|\bcontrol\b", re.I
)


def leaks(html: str) -> list[str]:
    return SECRETS.findall(re.sub(r'class="[^"]*"', "", html))


# O O X O X X O: an up-down series that turns at 4.74 g and completes after 7 taps.
UP_DOWN_RESPONSES = [False, False, True, False, True, True, False]


@pytest.fixture
def bench(transactional_db, demo_study):  # the demo accounts
    users = {u.username: u for u in get_user_model().objects.all()}
    today = timezone.localdate()
    study = study_services.create_study(
        template_key="psnl-vf-3x8",
        slug=SLUG,
        title="PSNL bench day",
        day0_date=today - dt.timedelta(days=28),
        user=users["datamanager"],
        status=Study.Status.RUNNING,
        threshold_method="up_down",
    )
    for username, role in (("technician", Role.TECHNICIAN), ("investigator", Role.INVESTIGATOR)):
        Membership.objects.create(user=users[username], study=study, role=role)
    groups = list(study.groups.order_by("order"))
    animals = []
    for number in range(1, 7):
        animal = Animal.objects.create(
            study=study,
            code=f"R{number:02d}",
            cage=f"C{(number + 1) // 2}",
            group=groups[(number - 1) % 3],  # R01 control, R02 K5, R03 K10, R04 ...
        )
        BodyWeight.objects.create(
            animal=animal,
            date=today - dt.timedelta(days=9 if number == 5 else 7),
            grams=Decimal("300.0") + 4 * number,
        )
        animals.append(animal)
    return {"study": study, "animals": animals, "tp": study.timepoints.get(label="T3")}


def open_as_technician(new_page, viewport=TABLET):
    page = new_page(viewport)
    # The page's clock runs on its own, as a real one, and `press` can move it on.
    page.clock.install()
    sign_in(page, "technician")
    return page


def session_path(bench, animal) -> str:
    return f"/s/{SLUG}/bench/vf/{animal.pk}/{bench['tp'].pk}/right/"


def queue(page) -> list:
    return json.loads(page.evaluate(f"localStorage.getItem('{QUEUE_KEY}') || '[]'"))


def wait_synced(page) -> None:
    page.wait_for_function(
        f"() => JSON.parse(localStorage.getItem('{QUEUE_KEY}') || '[]').length === 0"
    )
    page.wait_for_function("() => !document.querySelector('.bench-chip.is-pending')")


def press(page, withdrew: bool) -> None:
    page.get_by_role("button", name="Withdrawal" if withdrew else "No response", exact=True).click()
    # The screen ignores a second tap within 400 ms (a bounce): a technician's next tap
    # comes later than that, so the page's clock moves on 450 ms instead of the test waiting.
    page.clock.fast_forward(450)


def shown_next(page) -> str:
    return page.locator("#bench-next-size").inner_text().strip()


def chips(page) -> list[str]:
    return [re.sub(r"\s+", " ", c.inner_text()).strip() for c in page.locator(".bench-chip").all()]


def stored(session_or_animal) -> list[tuple[str, bool]]:
    rows = Stimulus.objects.filter(voided=False).order_by("session_id", "order")
    if isinstance(session_or_animal, Animal):
        rows = rows.filter(session__animal=session_or_animal)
    else:
        rows = rows.filter(session=session_or_animal)
    return list(rows.values_list("filament__size", "withdrew"))


# ---------------------------------------------------------------------------


def test_today_page_lists_the_day_with_counts_at_every_size(bench, new_page):
    page = open_as_technician(new_page)
    page.goto(f"/s/{SLUG}/")
    page.get_by_role("link", name="Bench today").click()
    page.wait_for_url(f"**/s/{SLUG}/bench/")
    text = page.locator("main").inner_text()
    assert "study day 28" in text and "T3" in text
    codes = page.locator(".bench-list-item .bench-code").all_inner_texts()
    assert codes == ["R01", "R02", "R03", "R04", "R05", "R06"]
    assert "0 of 6 done" in text  # sessions and weights
    # sessions, doses (control rats get the saline vehicle) and weights
    assert text.count("0 of 6 done") == 3
    assert too_small_targets(page) == []
    screenshot(page, "bench-today")
    for viewport, name in ((PHONE, "bench-today-phone"), (LANDSCAPE, None)):
        page.set_viewport_size(viewport)
        assert too_small_targets(page) == [], viewport
        if name:
            screenshot(page, name)


def test_a_full_up_down_series_tapped_to_completion(bench, new_page):
    page = open_as_technician(new_page)
    page.goto(f"/s/{SLUG}/bench/")
    page.locator(".bench-list-item").first.click()
    page.wait_for_url("**/bench/vf/**")
    animal = bench["animals"][0]
    expect(page.get_by_role("heading", name="R01")).to_be_visible()
    series: list[tuple[str, bool]] = []
    for withdrew in UP_DOWN_RESPONSES:
        expected = thresholds.next_filament(series, method="up_down")
        assert shown_next(page) == expected
        press(page, withdrew)
        series.append((expected, withdrew))
        wait_synced(page)
        if len(series) == 4:
            assert too_small_targets(page) == []
            screenshot(page, "bench-session")
    assert thresholds.next_filament(series, method="up_down") is None
    assert stored(animal) == series
    result = thresholds.up_down_threshold(series)
    panel = page.locator("#bench-result")
    panel.wait_for()
    text = panel.inner_text()
    assert "series complete" in text.lower()
    assert f"{result.grams:.3g} g" in text  # 4.32 g, the engine's up-down threshold
    assert "Up-down 50% threshold (Chaplan/Dixon)" in text and result.pattern in text
    grams = {f.size: f"{f.grams:g}" for f in thresholds.STOELTING_20}
    assert [c.split(" ")[:4] for c in chips(page)] == [
        [size, grams[size], "g", "✓" if withdrew else "✗"] for size, withdrew in series
    ]
    expect(page.get_by_role("button", name="Withdrawal")).to_be_hidden()
    assert too_small_targets(page) == []
    screenshot(page, "bench-session-complete")
    session = TestSession.objects.get(animal=animal)
    assert session.status == TestSession.Status.COMPLETE
    assert session.tester.username == "technician"
    page.get_by_role("link", name="Next animal", exact=True).click()
    page.wait_for_url("**" + session_path(bench, bench["animals"][1]))
    expect(page.get_by_role("heading", name="R02")).to_be_visible()


def test_undo_voids_exactly_one_tap_and_the_guidance_goes_back(bench, new_page):
    page = open_as_technician(new_page)
    animal = bench["animals"][1]
    page.goto(session_path(bench, animal))
    for withdrew in (False, False, True):
        press(page, withdrew)
    wait_synced(page)
    assert shown_next(page) == "4.56"  # 4.31 O, 4.56 O, 4.74 X -> down to 4.56
    page.get_by_role("button", name="Undo").click()
    wait_synced(page)
    page.wait_for_function("() => document.querySelectorAll('.bench-chip').length === 2")
    assert shown_next(page) == "4.74"  # back to the filament that was undone
    rows = list(
        Stimulus.objects.filter(session__animal=animal)
        .order_by("order")
        .values_list("filament__size", "withdrew", "voided", "void_reason")
    )
    assert rows == [
        ("4.31", False, False, ""),
        ("4.56", False, False, ""),
        ("4.74", True, True, "undo"),
    ]
    assert Stimulus.objects.get(voided=True).history.first().history_change_reason == "undo"
    press(page, False)  # the technician re-applies 4.74: no response this time
    wait_synced(page)
    assert shown_next(page) == "4.93"
    assert stored(animal) == [("4.31", False), ("4.56", False), ("4.74", False)]


def test_the_buttons_stay_put_when_the_wifi_drops_and_comes_back(bench, new_page):
    """A badge coming or going must not move what is under a finger: the offline banner,
    two lines on a tablet, moved the panel up 69 px when the Wi-Fi came back, so a tap
    aimed at "No response" could land on "Undo" (seen in a review, 2026-12-04)."""

    def tops(page, selector: str) -> list[float]:
        return page.evaluate(
            "s => [...document.querySelectorAll(s)].map(e => e.getBoundingClientRect().top)",
            selector,
        )

    targets = "#bench-tap button, .bench-tools button, [data-bench-form] button"
    for viewport, animal in ((TABLET, bench["animals"][3]), (PHONE, bench["animals"][5])):
        page = open_as_technician(new_page, viewport)
        page.goto(session_path(bench, animal))
        press(page, False)
        wait_synced(page)
        expect(page.locator("#bench-sync")).to_be_hidden()
        online = tops(page, targets)
        assert len(online) >= 3  # Withdrawal, No response, Undo at least

        page.context.set_offline(True)
        page.evaluate("window.dispatchEvent(new Event('offline'))")
        press(page, True)
        press(page, False)
        # A phone's row has room for a few words: the whole text is the title.
        sync = page.locator("#bench-sync")
        expect(sync).to_have_text("2 waiting" if viewport == PHONE else "2 taps waiting to sync")
        assert sync.get_attribute("title") == "2 taps waiting to sync"
        expect(page.locator("#bench-offline")).to_contain_text("Offline")
        assert tops(page, targets) == online, viewport
        cut = "() => [...document.querySelectorAll('.bench-badge:not([hidden])')]" + (
            ".filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.textContent)"
        )
        assert page.evaluate(cut) == [], viewport  # no badge cut short with an ellipsis

        page.context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        wait_synced(page)
        expect(page.locator("#bench-offline")).to_be_hidden()
        expect(page.locator("#bench-sync")).to_be_hidden()
        assert tops(page, targets) == online, viewport

        # The dosing worksheet's rows stay put too.
        page.goto(f"/s/{SLUG}/bench/doses/")
        rows = tops(page, "[data-bench-form] button")
        assert rows
        page.context.set_offline(True)
        page.evaluate("window.dispatchEvent(new Event('offline'))")
        expect(page.locator("#bench-offline")).to_be_visible()
        assert tops(page, "[data-bench-form] button") == rows, viewport
        page.context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        expect(page.locator("#bench-offline")).to_be_hidden()
        assert tops(page, "[data-bench-form] button") == rows, viewport
        page.context.close()


def test_offline_taps_queue_survive_a_reload_and_sync_once(bench, new_page):
    page = open_as_technician(new_page)
    animal = bench["animals"][2]
    page.goto(session_path(bench, animal))
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # the worker has cached this page for offline reloads
    wait_until(page, "() => caches.match(location.href, {ignoreVary: true}).then(Boolean)")
    press(page, False)  # one tap online: the session exists on the server
    wait_synced(page)
    page.context.set_offline(True)
    for withdrew in (False, True, False):  # 4.56 O, 4.74 X, 4.56 O
        press(page, withdrew)
    badge = page.locator("#bench-sync")
    expect(badge).to_have_text("3 taps waiting to sync")
    assert "Offline" in page.locator("#bench-offline").inner_text()
    assert shown_next(page) == "4.74"  # the JS rule keeps guiding
    assert [c.endswith("NOT SYNCED") for c in chips(page)] == [False, True, True, True]
    assert stored(animal) == [("4.31", False)]
    assert too_small_targets(page) == []
    screenshot(page, "bench-session-offline")
    waiting = queue(page)
    assert len(waiting) == 3

    page.reload()  # served by the service worker; the taps come from the queue
    expect(badge).to_have_text("3 taps waiting to sync")
    assert len(chips(page)) == 4 and shown_next(page) == "4.74"

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_synced(page)
    expected = [("4.31", False), ("4.56", False), ("4.74", True), ("4.56", False)]
    assert stored(animal) == expected
    expect(badge).to_be_hidden()
    uuids = {op["uuid"] for op in waiting}
    rows = Stimulus.objects.filter(session__animal=animal)
    assert {str(u) for u in rows.values_list("client_uuid", flat=True)} >= uuids

    # The same three taps replayed again (a tablet that never heard back): stored once.
    page.evaluate(f"localStorage.setItem('{QUEUE_KEY}', JSON.stringify({json.dumps(waiting)}))")
    page.evaluate("LabstudyBench.flush()")
    wait_synced(page)
    page.evaluate(f"localStorage.setItem('{QUEUE_KEY}', JSON.stringify({json.dumps(waiting)}))")
    page.evaluate("Promise.all([LabstudyBench.flush(), LabstudyBench.flush()])")
    wait_synced(page)
    assert stored(animal) == expected
    assert Stimulus.objects.filter(session__animal=animal).count() == 4
    expect(page.locator(".bench-conflict-note")).to_have_count(0)


def test_a_tap_or_a_note_under_way_when_an_answer_arrives_is_kept(bench, new_page):
    # The server's answer to a tap comes back while the technician is typing a note for
    # the next one, or has a finger on a button (a slow network, or the queue replaying
    # after the Wi-Fi came back): the answer must not take the note away or swallow the
    # tap (a press and its release on two different buttons is no click). The answers are
    # held back here until the finger or the note is under way.
    page = open_as_technician(new_page)
    animal = bench["animals"][4]
    page.goto(session_path(bench, animal))
    press(page, False)  # 4.31 O, stored: the session exists
    wait_synced(page)
    held = []

    def hold(route):
        held.append(route)

    page.route("**/tap/", hold)

    def answer_held_taps():
        while not held:
            page.wait_for_timeout(20)
        held.pop().continue_()
        wait_synced(page)

    press(page, False)  # 4.56 O, its answer held
    page.locator("#bench-notes summary").click()
    page.locator("#bench-note-text").fill("paw lifted")
    answer_held_taps()
    assert stored(animal) == [("4.31", False), ("4.56", False)]
    assert page.locator("#bench-note-text").input_value() == "paw lifted"
    assert page.evaluate("document.activeElement.id") == "bench-note-text"
    assert page.locator("#bench-notes").get_attribute("open") is not None

    press(page, True)  # 4.74 X with the note, its answer held
    no = page.get_by_role("button", name="No response", exact=True)
    box = no.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()  # the finger is on "No response" ...
    answer_held_taps()  # ... while the answer to the 4.74 tap arrives
    assert stored(animal)[-1] == ("4.74", True)
    assert no.bounding_box() == box  # nothing moved under the finger
    page.unroute("**/tap/", hold)
    page.mouse.up()
    page.clock.fast_forward(450)
    wait_synced(page)
    assert stored(animal) == [("4.31", False), ("4.56", False), ("4.74", True), ("4.56", False)]
    notes = Stimulus.objects.filter(session__animal=animal).order_by("order")
    assert list(notes.values_list("note", flat=True)) == ["", "", "paw lifted", ""]
    assert chips(page)[-1].startswith("4.56") and shown_next(page) == "4.74"
    expect(page.locator(".bench-conflict-note")).to_have_count(0)


def test_a_session_voided_while_offline_is_a_plain_conflict(bench, new_page):
    page = open_as_technician(new_page)
    animal = bench["animals"][3]
    page.goto(session_path(bench, animal))
    press(page, False)
    wait_synced(page)
    page.context.set_offline(True)
    press(page, False)
    press(page, True)
    session = TestSession.objects.get(animal=animal)
    investigator = get_user_model().objects.get(username="investigator")
    services.void_session(session=session, user=investigator, reason="rat unsettled")
    buttons = page.locator("#bench-tap button")
    where = [b.bounding_box() for b in buttons.all()]
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_synced(page)
    note = page.locator(".bench-conflict-note")
    note.wait_for()
    # The note arrives below the tap buttons, which stay where the finger expects them;
    # the status row says where to look.
    assert [b.bounding_box() for b in buttons.all()] == where
    expect(page.locator("#bench-conflicts-badge")).to_have_text("1 not saved: see below")
    text = re.sub(r"\s+", " ", note.inner_text())
    assert "Not recorded: R04 T3 right hind." in text
    assert "This session was voided (rat unsettled)" in text
    assert "Taps not recorded: 4.56 ✗, 4.74 ✓." in text
    assert shown_next(page) == "4.31"  # the next tap starts a new session
    assert stored(session) == [("4.31", False)]
    assert TestSession.objects.filter(animal=animal).count() == 1
    screenshot(page, "bench-session-conflict")
    assert too_small_targets(page) == []
    note.get_by_role("button", name="Noted").click()
    expect(page.locator(".bench-conflict-note")).to_have_count(0)
    expect(page.locator("#bench-conflicts-badge")).to_be_hidden()
    assert [b.bounding_box() for b in buttons.all()] == where


def test_a_blinded_technician_sees_no_group_drug_or_dose(bench, new_page):
    page = open_as_technician(new_page)
    bodies = []
    page.on(
        "response",
        lambda r: (
            bodies.append(r.text())
            if "/bench/" in r.url and r.ok and "sw.js" not in r.url
            else None
        ),
    )
    animal = bench["animals"][4]
    paths = [
        f"/s/{SLUG}/bench/",
        session_path(bench, animal),
        f"/s/{SLUG}/bench/doses/",
        f"/s/{SLUG}/bench/weights/",
        f"/s/{SLUG}/bench/observations/",
    ]
    for path in paths:
        page.goto(path)
        assert not leaks(page.content()), path
        if path == session_path(bench, animal):
            press(page, True)
            wait_synced(page)
    assert len(bodies) >= len(paths) + 1  # the pages and the tap's panel
    for body in bodies:
        assert not leaks(body)
    assert "Solution" in page.goto(f"/s/{SLUG}/bench/doses/").text()


def test_dosing_worksheet_shows_the_volume_for_a_known_weight(bench, new_page):
    page = open_as_technician(new_page)
    page.goto(f"/s/{SLUG}/bench/doses/")
    # R03: K10 (10 mg/kg, 10 mg/ml), 312.0 g a week ago -> 0.31 ml.
    row = page.locator(f"#dose-{bench['animals'][2].pk}")
    k10_letter = bench["study"].groups.get(code="K10").coded_letter
    assert "0.31 ml" in row.inner_text() and f"Solution {k10_letter}" in row.inner_text()
    assert "312.0 g" in row.inner_text()
    stale = page.locator(f"#dose-{bench['animals'][4].pk}")  # R05: weighed 9 days ago
    assert "9 days old (more than 7)" in stale.inner_text()
    assert too_small_targets(page) == []
    screenshot(page, "bench-doses")
    row.get_by_role("button", name="Given 0.31 ml").click()
    row = page.locator(f"#dose-{bench['animals'][2].pk}")
    row.get_by_text("✓ Given").wait_for()
    dose = DoseAdministration.objects.get(animal=bench["animals"][2])
    assert (dose.status, dose.volume_ml) == ("given", Decimal("0.31"))
    assert dose.given_by.username == "technician"
    page.context.set_offline(True)  # a dose marked offline waits in the queue (issue 12)
    other = page.locator(f"#dose-{bench['animals'][1].pk}")
    other.get_by_role("button", name="Given 0.31 ml").click()
    other.get_by_text("Waiting to sync: R02: dose given").wait_for()
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    other.get_by_text("✓ Given").wait_for()
    assert DoseAdministration.objects.filter(animal__study=bench["study"]).count() == 2
    page.set_viewport_size(PHONE)
    assert too_small_targets(page) == []
    screenshot(page, "bench-doses-phone")


def test_weights_refuse_impossible_values_and_confirm_big_changes(bench, new_page):
    page = open_as_technician(new_page)
    page.goto(f"/s/{SLUG}/bench/weights/")
    animal = bench["animals"][0]  # 304.0 g a week ago
    row = page.locator(f"#weight-{animal.pk}")
    field = row.get_by_label("Weight of R01 in grams")
    assert field.get_attribute("inputmode") == "decimal"
    for grams in ("0", "5000"):
        field.fill(grams)
        row.get_by_role("button", name="Save", exact=True).click()
        row = page.locator(f"#weight-{animal.pk}")
        row.get_by_text(f"{grams}.0 g is not a plausible rat weight (50–1,000 g)").wait_for()
        field = row.get_by_label("Weight of R01 in grams")
    assert not BodyWeight.objects.filter(animal=animal, date=timezone.localdate()).exists()
    field.fill("345")
    row.get_by_role("button", name="Save", exact=True).click()
    row = page.locator(f"#weight-{animal.pk}")
    row.get_by_text("345.0 g is 13 % more than the last weight").wait_for()
    assert too_small_targets(page) == []
    screenshot(page, "bench-weights")
    row.get_by_role("button", name="Yes, save 345 g").click()
    page.locator(f"#weight-{animal.pk}").get_by_text("R01: 345.0 g saved.").wait_for()
    assert BodyWeight.objects.get(animal=animal, date=timezone.localdate()).grams == Decimal(
        "345.0"
    )


def test_observations_quick_pick(bench, new_page):
    page = open_as_technician(new_page)
    page.goto(f"/s/{SLUG}/bench/observations/")
    page.get_by_role("radio", name="R02").check()
    page.get_by_role("checkbox", name="hematuria").check()
    page.get_by_role("radio", name="Mild").check()
    page.get_by_label("Notes (free text)").fill("pink urine on the bedding")
    page.mouse.move(0, 0)
    # the buttons' colour transitions have finished
    page.wait_for_function("() => document.getAnimations().length === 0")
    assert too_small_targets(page) == []
    screenshot(page, "bench-observations")
    page.get_by_role("button", name="Record observation").click()
    page.get_by_text("R02: recorded hematuria.").wait_for()
    observation = bench["animals"][1].observations.get()
    assert (observation.term, observation.kind, observation.severity) == (
        "hematuria",
        "adverse_event",
        "mild",
    )


PAGE_TOPS = (
    "s => [...document.querySelectorAll(s)].map(e => e.getBoundingClientRect().top + scrollY)"
)


@pytest.mark.parametrize(
    ("viewport", "name"),
    [(PHONE, "bench-session-phone"), (LANDSCAPE, "bench-session-landscape"), (DESKTOP, None)],
)
def test_session_screen_is_usable_at_every_size(bench, new_page, viewport, name):
    page = open_as_technician(new_page, viewport)
    page.goto(session_path(bench, bench["animals"][5]))
    press(page, False)
    wait_synced(page)
    page.get_by_text("Different filament").click()
    assert page.locator("label[for^=pick-]").count() == 20
    assert too_small_targets(page) == []
    # (on the page, not the screen: picking the filament scrolls to the picker)
    answers = "#bench-tap button"
    where = page.evaluate(PAGE_TOPS, answers)
    page.get_by_role("radio", name="5.07").check()
    assert shown_next(page) == "5.07"
    override = page.locator("#bench-override")
    expect(override).to_be_visible()
    assert "recorded as an override" in override.inner_text()
    assert page.evaluate(PAGE_TOPS, answers) == where  # the notice had its room
    if name:
        screenshot(page, name)
    press(page, True)
    wait_synced(page)
    expect(override).to_be_hidden()
    assert page.evaluate(PAGE_TOPS, answers) == where  # and keeps it when it goes
    stimulus = Stimulus.objects.get(session__animal=bench["animals"][5], order=2)
    assert (stimulus.filament.size, stimulus.is_override) == ("5.07", True)
    assert shown_next(page) == "4.93"


BENCH_CACHE = "labstudy-bench-v1"


def cached(page, path: str) -> bool:
    """Whether the service worker's cache holds `path` (the page's own origin)."""
    return page.evaluate(
        f"""async (path) => {{
            if (!(await caches.has('{BENCH_CACHE}'))) return false;
            const cache = await caches.open('{BENCH_CACHE}');
            return !!(await cache.match(path, {{ ignoreVary: true }}));
        }}""",
        path,
    )


def served_offline(page, path: str) -> str:
    """What the tablet shows for `path` with the Wi-Fi off: the page's text, or ''."""
    page.context.set_offline(True)
    try:
        page.goto(path)
        return page.locator("body").inner_text()
    except Exception:  # net::ERR_INTERNET_DISCONNECTED: nothing serves it
        return ""
    finally:
        page.context.set_offline(False)


def test_signing_out_removes_the_bench_pages_kept_for_offline(bench, new_page):
    page = open_as_technician(new_page)
    today = f"/s/{SLUG}/bench/"
    animal = bench["animals"][0]
    page.goto(session_path(bench, animal))
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    press(page, False)  # the screen keeps the session's state in localStorage
    wait_synced(page)
    page.goto(today)  # asks the worker to fetch the day's session pages ahead
    wait_until(
        page,
        f"async (p) => !!(await (await caches.open('{BENCH_CACHE}')).match(p))",
        arg=session_path(bench, animal),
    )
    assert cached(page, today)
    assert "R01" in served_offline(page, session_path(bench, animal))  # works offline
    page.goto(today)
    snapshots = "Object.keys(localStorage).filter(k => k.startsWith('labstudy.bench.'))"
    assert page.evaluate(snapshots)

    with page.expect_response("**/accounts/logout/") as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value.all_headers()["clear-site-data"] == '"cache", "storage"'
    page.wait_for_url("**/accounts/login/**")
    wait_until(page, f"async () => !(await caches.has('{BENCH_CACHE}'))")
    wait_until(page, "async () => (await navigator.serviceWorker.getRegistrations()).length === 0")
    assert page.evaluate(snapshots) == []
    for path in (today, session_path(bench, animal)):
        text = served_offline(page, path)
        assert "R01" not in text and "Bench" not in text, path


def test_signing_out_with_taps_waiting_warns_and_keeps_them(bench, new_page):
    page = open_as_technician(new_page)
    animal = bench["animals"][1]
    path = session_path(bench, animal)
    page.goto(path)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    press(page, False)
    wait_synced(page)
    page.route("**/tap/", lambda route: route.abort())  # the Wi-Fi drops for the taps
    press(page, True)
    expect(page.locator("#bench-sync")).to_have_text("1 tap waiting to sync")

    page.get_by_role("button", name="Sign out").click()
    warning = page.locator("#sign-out-warning")
    expect(warning).to_contain_text("1 tap not yet synced: connect to the Wi-Fi before signing out")
    assert "/bench/vf/" in page.url  # still signed in, on the same screen
    assert too_small_targets(page) == []
    screenshot(page, "bench-sign-out-taps-waiting")
    warning.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    with page.expect_response("**/accounts/logout/") as answer:
        warning.get_by_role("button", name="Sign out, keep the taps on this tablet").click()
    assert answer.value.all_headers()["clear-site-data"] == '"cache"'  # storage kept
    page.wait_for_url("**/accounts/login/**")
    assert not cached(page, path)  # the pages went all the same
    assert len(queue(page)) == 1  # the tap did not
    assert stored(animal) == [("4.31", False)]

    page.unroute("**/tap/")
    login(page, "technician", DEMO_PASSWORD)
    page.goto(path)
    wait_synced(page)
    assert stored(animal) == [("4.31", False), ("4.56", True)]


def test_an_expired_sign_in_removes_the_bench_pages_kept_for_offline(bench, new_page):
    page = open_as_technician(new_page)
    today = f"/s/{SLUG}/bench/"
    page.goto(today)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    wait_until(page, f"async (p) => !!(await (await caches.open('{BENCH_CACHE}')).match(p))", today)
    Session.objects.all().delete()  # the shift's 12 hours are over
    page.goto(today)  # online: the server sends the tablet to sign in
    page.wait_for_url("**/accounts/login/**")
    wait_until(page, f"async () => !(await caches.has('{BENCH_CACHE}'))")
    assert "R01" not in served_offline(page, today)
