"""Hands busy at the bench, in Chromium at tablet size (820x1180, touch): taps from keys
(keyboard, foot pedal, presentation clicker), the per-tablet tone, vibration and spoken
next filament, and the bench details that reach the page (undo after a complete series,
grams on the chips, the sign-in link).

The world is the reference study running on day 28 (tests.worlds.make_bench_study).
"""

import json

import pytest
from playwright.sync_api import expect

from sessions.models import Stimulus
from tests.browser.conftest import login, screenshot, too_small_targets
from tests.conftest import PASSWORD
from tests.worlds import session_url

TABLET_820 = {"width": 820, "height": 1180}
QUEUE_KEY = "labstudy.bench.queue.v1"


@pytest.fixture
def world(transactional_db, bench):
    return bench


@pytest.fixture
def tablet(browser, live_server):
    """A touch tablet context at 820x1180; pages opened in it sign in as the technician."""
    context = browser.new_context(
        viewport=TABLET_820, has_touch=True, is_mobile=True, base_url=live_server.url
    )
    context.set_default_timeout(30_000)
    yield context
    context.close()


def open_session(tablet, world, code="R03", init_script: str | None = None):
    page = tablet.new_page()
    if init_script:
        page.add_init_script(init_script)
    login(page, "tess", PASSWORD)
    page.goto(session_url(world, code))
    expect(page.locator("#bench-next-size")).to_have_text("4.31")
    return page


def wait_synced(page) -> None:
    page.wait_for_function(
        f"() => JSON.parse(localStorage.getItem('{QUEUE_KEY}') || '[]').length === 0"
    )
    page.wait_for_function("() => !document.querySelector('.bench-chip.is-pending')")


def live_taps(world, code="R03") -> list[tuple[str, bool]]:
    return list(
        Stimulus.objects.filter(session__animal=world.animals[code], voided=False)
        .order_by("order")
        .values_list("filament__size", "withdrew")
    )


def test_pedal_keys_record_taps_and_a_held_key_records_one(world, tablet):
    page = open_session(tablet, world)
    hint = page.locator("#bench-keys-hint")
    expect(hint).to_contain_text("Withdrawal Page Down or → (right arrow)")
    expect(hint).to_contain_text("No response Page Up or ← (left arrow)")
    expect(hint).to_contain_text("Undo B or full stop (.)")

    page.keyboard.press("PageUp")  # a clicker's "back": no response at 4.31
    page.wait_for_timeout(450)
    page.keyboard.press("PageDown")  # "next": withdrawal at the next filament, 4.56
    wait_synced(page)
    assert live_taps(world) == [("4.31", False), ("4.56", True)]

    # A pedal held down sends one keydown and then repeats: one tap, not eleven.
    page.wait_for_timeout(450)
    page.keyboard.down("ArrowLeft")
    for _ in range(10):
        page.evaluate(
            "() => document.dispatchEvent(new KeyboardEvent('keydown', "
            "{key: 'ArrowLeft', repeat: true, bubbles: true, cancelable: true}))"
        )
    page.keyboard.up("ArrowLeft")
    wait_synced(page)
    assert live_taps(world) == [("4.31", False), ("4.56", True), ("4.31", False)]

    # Two presses within 400 ms are a bouncing pedal: the second is ignored.
    page.wait_for_timeout(450)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_synced(page)
    assert len(live_taps(world)) == 4

    # Undo by key ("b", a clicker's blank-screen button) voids the last tap.
    page.wait_for_timeout(450)
    page.keyboard.press("b")
    wait_synced(page)
    assert len(live_taps(world)) == 3

    # Typing a note with the same letters records nothing.
    page.get_by_text("Add note").click()
    page.locator("#bench-note-text").fill("")
    page.locator("#bench-note-text").type("b.")
    page.wait_for_timeout(500)
    assert len(live_taps(world)) == 3
    assert too_small_targets(page) == []
    screenshot(page, "bench-session-keys")


def test_a_study_with_its_own_keys(world, tablet):
    study = world.study
    study.bench_keys_withdrawal = "Enter"
    study.bench_keys_no_response = "Space"
    study.bench_keys_undo = "z"
    study.save()
    page = open_session(tablet, world)
    expect(page.locator("#bench-keys-hint")).to_contain_text("Withdrawal Enter")
    page.keyboard.press("PageDown")  # no longer a key of this study
    page.keyboard.press("Space")
    wait_synced(page)
    assert live_taps(world) == [("4.31", False)]


# Records what the page asks of the speech, audio and vibration APIs (the test checks our
# script calls them with the right text, not that the tablet's speakers work).
RECORDER = """
window.__spoken = []; window.__tones = []; window.__vibrations = [];
window.speechSynthesis.speak = (u) => window.__spoken.push(u.text);
window.speechSynthesis.cancel = () => {};
navigator.vibrate = (pattern) => { window.__vibrations.push(pattern); return true; };
window.AudioContext = class {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createGain() { return {gain: {value: 0}, connect() {}}; }
  createOscillator() {
    const osc = {frequency: {value: 0}, connect() {}, stop() {}};
    osc.start = () => window.__tones.push(osc.frequency.value);
    return osc;
  }
};
"""


def recorded(page, name: str) -> list:
    return page.evaluate(f"window.{name}")


def test_tone_vibration_and_spoken_next_filament_switch_per_tablet(world, tablet):
    page = open_session(tablet, world, init_script=RECORDER)
    switches = page.locator("#bench-confirm")
    expect(switches).to_be_visible()
    # All off by default: a tap makes no sound.
    page.get_by_role("button", name="No response", exact=True).click()
    page.wait_for_timeout(450)
    assert recorded(page, "__spoken") == [] and recorded(page, "__vibrations") == []

    page.get_by_label("A short tone").click()
    page.get_by_label("Vibration", exact=True).click()
    page.get_by_label("Next filament read aloud").click()
    assert recorded(page, "__tones") == [880]  # the switch plays a sample tone
    stored = json.loads(page.evaluate("localStorage.getItem('labstudy.bench.confirm.v1')"))
    assert stored == {"tone": True, "vibrate": True, "speak": True}

    # After "no response" at 4.56 the up-down rule goes up to 4.74 (6 g).
    page.get_by_role("button", name="No response", exact=True).click()
    page.wait_for_timeout(450)
    assert recorded(page, "__spoken") == ["Next: 4.74, 6 grams."]
    assert recorded(page, "__tones") == [880, 523]
    assert recorded(page, "__vibrations") == [[40, 60, 40]]
    page.get_by_role("button", name="Withdrawal", exact=True).click()
    page.wait_for_timeout(450)
    assert recorded(page, "__spoken")[-1] == "Next: 4.56, 4 grams."
    assert recorded(page, "__vibrations")[-1] == 80
    wait_synced(page)
    screenshot(page, "bench-session-confirmation")

    # The switches are this tablet's: they survive a reload, and "off" sticks too.
    page.reload()
    expect(page.locator("#bench-confirm-tone")).to_be_checked()
    expect(page.locator("#bench-confirm-speak")).to_be_checked()
    page.get_by_label("Vibration", exact=True).click()
    page.reload()
    expect(page.locator("#bench-confirm-vibrate")).not_to_be_checked()
    page.get_by_role("button", name="Withdrawal", exact=True).click()
    page.wait_for_timeout(450)
    assert recorded(page, "__vibrations") == []
    assert recorded(page, "__spoken") == ["Next: 4.31, 2 grams."]
    # Undo reads out the filament to apply again.
    page.get_by_role("button", name="Undo", exact=True).click()
    assert recorded(page, "__spoken")[-1] == "Next: 4.56, 4 grams."


def summary_numbers(page) -> tuple[str, str, str]:
    line = page.locator("[data-counts]")
    return tuple(
        line.locator(f"[data-count={name}]").inner_text() for name in ("done", "due", "left")
    )


def test_worksheet_counters_follow_each_saved_row(world, tablet):
    page = tablet.new_page()
    login(page, "tess", PASSWORD)
    page.goto(f"/s/{world.study.slug}/bench/doses/")
    done, due, left = summary_numbers(page)
    assert done == "0" and int(left) == int(due) > 0
    page.locator(".bench-given").first.click()
    expect(page.locator("[data-counts] [data-count=done]")).to_have_text("1")
    expect(page.locator("[data-counts] [data-count=left]")).to_have_text(str(int(due) - 1))

    page.goto(f"/s/{world.study.slug}/bench/weights/")
    assert summary_numbers(page) == ("0", "4", "4")  # each weighed a week ago: all due
    row = page.locator(f"#weight-{world.animals['R02'].pk}")
    row.locator("input[name=grams]").fill("250")  # 300 g last week: 16.7 % less
    row.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Yes, save 250 g").click()
    expect(page.locator("[data-counts] [data-count=done]")).to_have_text("1")
    expect(page.locator("[data-counts] [data-count=left]")).to_have_text("3")
    offer = page.get_by_role("link", name="Record “weight loss > 15 %” for R02")
    expect(offer).to_be_visible()
    assert too_small_targets(page) == []
    screenshot(page, "bench-weights-loss-offer")
    offer.click()
    expect(page.locator(f"#obs-animal-{world.animals['R02'].pk}")).to_be_checked()
    expect(page.get_by_label("weight loss > 15 %")).to_be_checked()


def test_the_overview_flags_an_animal_that_lost_over_15_percent(world, browser, live_server):
    from animals.models import BodyWeight

    BodyWeight.objects.create(animal=world.animals["R04"], date=world.today, grams=240)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    login(page, "ivy", PASSWORD)
    page.goto(f"/s/{world.study.slug}/")
    expect(page.locator("#weight-loss-flags")).to_contain_text("R04 (300 g on")
    expect(page.locator("#weight-loss-flags")).to_contain_text("−20 %")
    screenshot(page, "study-overview-weight-loss")
    context.close()


# An up-down series that ends after seven taps at 4.31 first: O O X O X X O.
COMPLETE_SERIES = [False, False, True, False, True, True, False]


def test_undo_on_a_complete_series_asks_before_reopening_it(world, tablet):
    page = open_session(tablet, world)
    for withdrew in COMPLETE_SERIES:
        page.get_by_role(
            "button", name="Withdrawal" if withdrew else "No response", exact=True
        ).click()
        page.wait_for_timeout(450)
    wait_synced(page)
    expect(page.locator("#bench-result")).to_contain_text("Series complete")
    assert len(live_taps(world)) == 7
    # The chips say grams too.
    expect(page.locator(".bench-chip").first).to_contain_text("4.31 2 g")

    page.get_by_role("button", name="Undo", exact=True).click()
    expect(page.locator("#bench-undo-confirm")).to_be_visible()
    assert too_small_targets(page) == []
    screenshot(page, "bench-session-undo-complete")
    page.get_by_role("button", name="No, keep it complete").click()
    expect(page.locator("#bench-undo-confirm")).to_be_hidden()
    page.wait_for_timeout(300)
    assert len(live_taps(world)) == 7

    # From a pedal: the Undo key asks, the Undo key again confirms.
    page.keyboard.press("b")
    expect(page.locator("#bench-undo-confirm")).to_be_visible()
    page.wait_for_timeout(450)
    page.keyboard.press("b")
    wait_synced(page)
    assert len(live_taps(world)) == 6
    expect(page.locator("#bench-next")).to_be_visible()  # reopened: guidance is back

    # An undo within an unfinished series does not ask.
    page.wait_for_timeout(450)
    page.get_by_role("button", name="Undo", exact=True).click()
    wait_synced(page)
    assert len(live_taps(world)) == 5
    expect(page.locator("#bench-undo-confirm")).to_be_hidden()


def test_the_sign_in_again_banner_comes_back_to_the_same_screen(world, tablet):
    from django.contrib.sessions.models import Session

    page = open_session(tablet, world)
    here = page.url
    Session.objects.all().delete()  # the shift is over
    page.get_by_role("button", name="No response", exact=True).click()
    link = page.locator("#bench-sign-in")
    expect(link).to_be_visible()
    expect(link).to_have_text("Sign in again to send what is waiting")
    assert too_small_targets(page) == []
    screenshot(page, "bench-session-sign-in-again")
    link.click()
    page.get_by_label("Username").fill("tess")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(here)
    wait_synced(page)  # the kept tap is sent once signed in
    assert live_taps(world) == [("4.31", False)]


def test_the_animal_page_lists_notes_overrides_and_undos_as_text(
    world, tablet, browser, live_server
):
    page = open_session(tablet, world)
    page.get_by_role("button", name="No response", exact=True).click()
    page.wait_for_timeout(450)
    page.get_by_text("Add note").click()
    page.get_by_label("licking").click()
    page.get_by_text("Different filament").click()
    page.get_by_label("4.93").click()
    page.get_by_role("button", name="Withdrawal", exact=True).click()
    page.wait_for_timeout(450)
    page.get_by_role("button", name="No response", exact=True).click()
    page.wait_for_timeout(450)
    page.get_by_role("button", name="Undo", exact=True).click()
    wait_synced(page)

    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    desk = context.new_page()
    login(desk, "ivy", PASSWORD)
    desk.goto(f"/s/{world.study.slug}/dashboard/animals/{world.animals['R03'].pk}/")
    details = desk.locator(".tap-details li")
    expect(details).to_have_count(2)
    expect(details.nth(0)).to_contain_text("#2 4.93 (8 g) withdrawal · override")
    expect(details.nth(0)).to_contain_text("note: “licking”")
    expect(details.nth(1)).to_contain_text("no response · undone by tess at")
    screenshot(desk, "dashboard-animal-tap-details")
    context.close()
