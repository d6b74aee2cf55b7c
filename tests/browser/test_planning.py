"""Planning the next study's sample size in Chromium, as the demo's investigator: the
form, the progress while the background thread simulates, then n per group, the power
curve and the sentence (issue 15, ARRIVE 2.0 item 2b).

Screenshot: docs/screenshots/planning.png (a finished plan).
"""

import pytest
from playwright.sync_api import expect

from front.demo import DEMO_PASSWORD, DEMO_SLUG
from labstudy.models import SampleSizePlan
from tests.browser.conftest import DESKTOP, login, screenshot, too_small_targets

PLANNING = f"/s/{DEMO_SLUG}/planning/"


@pytest.fixture
def investigator(transactional_db, demo_study, new_page):
    page = new_page(DESKTOP)
    page.set_default_timeout(60_000)  # the simulation on a loaded 2-core machine
    login(page, "investigator", DEMO_PASSWORD)
    return page


def test_plan_shows_progress_then_n_curve_and_sentence(investigator):
    page = investigator
    page.goto(f"/s/{DEMO_SLUG}/dashboard/")
    page.get_by_role("button", name="Results").click()
    page.get_by_role("link", name="Sample size").click()
    page.wait_for_url(f"**{PLANNING}")
    expect(page.get_by_text("Kruskal-Wallis, then Nemenyi (Tukey) post-hoc tests")).to_be_visible()
    assert too_small_targets(page) == []

    page.get_by_label("Timepoint").select_option("T3")
    page.get_by_label("Effect").fill("30")
    page.get_by_label("Unit").select_option("mpe")
    page.get_by_label("Expected share of animals lost").fill("0.1")
    page.get_by_label("Seed").fill("20261204")
    page.get_by_role("button", name="Calculate n per group").click()

    # The background thread's progress, polled by htmx, until the page reloads itself.
    expect(page.get_by_role("progressbar", name="Simulation progress")).to_be_visible()
    result = page.locator("[data-n-per-group]")
    expect(result).to_be_visible(timeout=120_000)
    plan = SampleSizePlan.objects.get()
    assert plan.status == "done" and plan.seed == 20261204
    expect(result).to_contain_text(f"n = {plan.n_with_losses} animals per group")
    expect(page.locator("#plan-sentence")).to_have_text(plan.sentence)
    page.wait_for_selector("#power-curve[data-rendered='true']")
    lines = page.evaluate("() => document.getElementById('power-curve').data.length")
    assert lines == 3  # one line per effect size
    expect(page.locator("#power-curve")).to_contain_text("wanted power 80%")
    page.locator("#plan").scroll_into_view_if_needed()
    screenshot(page, "planning")

    # The ARRIVE report quotes it and links back.
    page.goto(f"/s/{DEMO_SLUG}/arrive/")
    expect(page.get_by_text(plan.sentence[:80])).to_be_visible()
    page.get_by_role("link", name="Open the plan").click()
    expect(page.locator("[data-n-per-group]")).to_be_visible()
