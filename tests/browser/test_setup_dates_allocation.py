"""A data manager in a real browser: renames a running study without touching Day 0 (the
date picker shows the saved Day 0, and it is still that date afterwards), and re-allocates
a study in planning with a reason (group sizes shown, the earlier allocation kept); moving
the demo's Day 0 lists what moves and saves only with both boxes ticked and a reason."""

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from animals import allocation, allocation_service
from animals.models import Allocation, Animal
from front.demo import DEMO_SLUG
from labstudy import services
from labstudy.models import Study
from tests.browser.conftest import DESKTOP, TABLET, screenshot, sign_in

CODES = [f"R{i:02d}" for i in range(1, 16)]
GROUPS = ["control", "K5", "K10"]


@pytest.fixture
def demo(transactional_db, demo_study):
    return demo_study


def test_a_running_studys_title_changes_and_day0_stays(demo, new_page):
    page = new_page(TABLET)
    sign_in(page, "datamanager")
    page.goto(f"/s/{DEMO_SLUG}/setup/")
    day0 = page.locator('input[name="study-day0_date"]')
    expect(day0).to_have_value("2026-09-01")  # a browser shows only an ISO value

    page.locator('input[name="study-title"]').fill("PSNL neuropathic pain, cohort 1 (demo)")
    page.locator('input[name="study-change_reason"]').fill("cohort number added for the paper")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Study settings saved.")).to_be_visible()

    study = Study.objects.get(slug=DEMO_SLUG)
    assert study.title == "PSNL neuropathic pain, cohort 1 (demo)"
    assert study.day0_date == dt.date(2026, 9, 1)
    assert study.history.latest().history_change_reason == "cohort number added for the paper"
    expect(page.locator('input[name="study-day0_date"]')).to_have_value("2026-09-01")
    screenshot(page, "setup-settings-day0")


def unequal_block_seed() -> int:
    """A seed whose blocks of 6 give 15 animals groups of unequal size."""
    for seed in range(1000):
        table = allocation.derive("block", seed, CODES, GROUPS, block_size=6)
        if len(set(Counter(group for group, _ in table.values()).values())) > 1:
            return seed
    raise AssertionError("no unequal seed")


@pytest.fixture
def planned(demo):
    manager = get_user_model().objects.get(username="datamanager")
    study = services.create_study(
        template_key="psnl-vf-3x8",
        slug="cohort-2",
        title="PSNL cohort 2",
        day0_date=dt.date(2027, 1, 11),
        user=manager,
    )
    for code in CODES:
        Animal.objects.create(study=study, code=code)
    allocation_service.allocate(
        study=study, method="block", seed=unequal_block_seed(), block_size=6, user=manager
    )
    return study


def test_a_study_in_planning_is_reallocated_with_a_reason(planned, new_page):
    page = new_page(DESKTOP)
    sign_in(page, "datamanager")
    page.goto(f"/s/{planned.slug}/setup/allocation/")
    expect(page.locator(".allocation-unequal")).to_contain_text(
        "15 animals in blocks of 6: the last block is incomplete (3 of 6 animals)"
    )
    page.get_by_label("Method").select_option("simple")
    page.get_by_label("Seed").fill("2027")
    page.get_by_label("Reason for re-allocating").fill(
        "blocks of 6 left unequal groups; simple allocation keeps 5 per group"
    )
    page.get_by_role("button", name="Re-allocate").click()
    expect(page.get_by_text("Re-allocated 15 animals (simple, seed 2027)")).to_be_visible()
    expect(page.get_by_text("Group sizes: control 5, K5 5, K10 5.")).to_be_visible()

    latest = Allocation.objects.get(study=planned, superseded_at__isnull=True)
    earlier = Allocation.objects.get(study=planned, superseded_at__isnull=False)
    assert earlier.superseded_by == latest and earlier.entries.count() == 15
    assert latest.reason.startswith("blocks of 6 left unequal groups")
    assert Counter(planned.animals.values_list("group__code", flat=True)) == Counter(
        dict.fromkeys(GROUPS, 5)
    )
    card = page.locator(f"#allocation-{earlier.pk}")
    expect(card).to_contain_text("Superseded")
    expect(page.locator(f"#allocation-{latest.pk}")).to_contain_text("Re-derived: matches")
    screenshot(page, "setup-allocation-reallocated")


def test_moving_day0_under_recorded_data_asks_twice_and_for_a_reason(demo, new_page):
    page = new_page(TABLET)
    sign_in(page, "datamanager")
    page.goto(f"/s/{DEMO_SLUG}/setup/")
    page.locator('input[name="study-day0_date"]').fill("2026-09-02")
    page.get_by_role("button", name="Save settings").click()
    warning = page.locator("#day-change")
    expect(warning).to_contain_text(
        "15 sessions, 15 doses and 15 weights recorded on 8 Sep 2026 would fall on day 6 "
        "(day 7 now); T0 is day 7."
    )
    expect(warning).to_contain_text("120 recorded sessions would no longer be on their")
    assert Study.objects.get(slug=DEMO_SLUG).day0_date == dt.date(2026, 9, 1)
    screenshot(page, "setup-settings-day0-moves")

    page.get_by_label("I have checked the list").check()
    page.get_by_label("Yes, leave 120 recorded sessions").check()
    page.locator('input[name="study-change_reason"]').fill("surgery log: PSNL was on 2 Sep")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Study settings saved.")).to_be_visible()
    study = Study.objects.get(slug=DEMO_SLUG)
    assert study.day0_date == dt.date(2026, 9, 2)
    assert study.history.latest().history_change_reason == "surgery log: PSNL was on 2 Sep"
