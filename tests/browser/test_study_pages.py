"""The study pages in a real browser: sign in, overview, set-up, at tablet size."""

import pytest
from playwright.sync_api import expect

from front.demo import DEMO_PASSWORD, DEMO_SLUG
from tests.browser.conftest import DESKTOP, TABLET, login, screenshot, too_small_targets


@pytest.fixture
def demo(transactional_db, demo_study):
    return demo_study


def test_investigator_signs_in_and_opens_the_demo_study(demo, new_page):
    page = new_page(DESKTOP)
    page.goto("/")
    assert "/accounts/login/" in page.url
    screenshot(page, "login")
    login(page, "investigator", DEMO_PASSWORD)
    page.get_by_role("heading", name="Your studies").wait_for()  # waits for the page after a click
    screenshot(page, "home")
    page.get_by_text("PSNL neuropathic pain, coded treatments (demo)").click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/")
    page.get_by_role(
        "heading", name="Treatment groups"
    ).wait_for()  # waits for the page after a click
    page.get_by_text("K10 — Ketamine 10 mg/kg").wait_for()  # waits for the page after a click
    expect(page.locator("#animals-heading")).to_have_text("Animals (15)")
    screenshot(page, "study-overview")


def test_blinded_technician_overview_on_a_tablet(demo, new_page):
    page = new_page(TABLET)
    login(page, "technician", DEMO_PASSWORD)
    page.goto(f"/s/{DEMO_SLUG}/")
    text = page.locator("main").inner_text()
    # Issue 18: codes only; the letter is on the dosing worksheet, not beside each code.
    assert "R01" in text and "dosing worksheet" in text
    for secret in ("K10", "K5", "etamine", "mg/kg", "Solution A", "Solution B", "Solution C"):
        assert secret not in text
    assert too_small_targets(page) == []
    screenshot(page, "study-overview-technician")


def test_data_manager_adds_animals_by_pasting(demo, new_page):
    page = new_page(TABLET)
    login(page, "datamanager", DEMO_PASSWORD)
    page.goto(f"/s/{DEMO_SLUG}/setup/animals/")
    page.get_by_label("Animal IDs").fill("R16, C9\nR17, C9\nR01, C1")
    page.get_by_role("button", name="Add animals").click()
    page.get_by_text(
        "line 3: animal code 'R01' already exists in this study"
    ).wait_for()  # waits for the page after a click
    screenshot(page, "setup-add-animals-error")
    page.get_by_label("Animal IDs").fill("R16, C9\nR17, C9")
    page.get_by_role("button", name="Add animals").click()
    page.get_by_text("Added 2 animals.").wait_for()  # waits for the page after a click
    expect(page.locator("#animals-heading")).to_have_text("Animals (17)")
    assert too_small_targets(page) == []


def test_data_manager_setup_pages_render(demo, new_page):
    page = new_page(DESKTOP)
    login(page, "datamanager", DEMO_PASSWORD)
    page.goto(f"/s/{DEMO_SLUG}/setup/")
    page.get_by_label("Threshold method").wait_for()  # waits for the page after a click
    screenshot(page, "setup-settings")
    page.goto(f"/s/{DEMO_SLUG}/setup/timepoints/")
    assert page.locator("input[name$='-label']").first.input_value() == "T0"
    screenshot(page, "setup-timepoints")
