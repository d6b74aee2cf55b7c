"""A data manager manages the study's people in a real browser: adds a colleague as a
technician, then removes them with a reason; the database and the history agree."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from front.demo import DEMO_SLUG
from labstudy.models import Membership
from tests.browser.conftest import TABLET, screenshot, sign_in, too_small_targets


@pytest.fixture
def demo(transactional_db, demo_study):
    get_user_model().objects.create_user("newtech", password="x", first_name="Nia")


def test_a_data_manager_adds_and_removes_a_person(demo, new_page):
    page = new_page(TABLET)
    sign_in(page, "datamanager")
    page.goto(f"/s/{DEMO_SLUG}/")
    page.get_by_role("button", name="Set-up").click()
    page.get_by_role("link", name="People", exact=True).click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/people/")
    expect(page.get_by_role("heading", name="Members (3)")).to_be_visible()

    page.get_by_label("Username").fill("newtech")
    page.get_by_label("Role", exact=True).select_option(label="Technician")
    page.get_by_role("button", name="Add to the study").click()
    expect(page.get_by_text("newtech added as technician.")).to_be_visible()
    expect(page.get_by_role("heading", name="Members (4)")).to_be_visible()
    member = Membership.objects.get(study__slug=DEMO_SLUG, user__username="newtech")
    assert member.role == "technician"
    assert too_small_targets(page) == []
    screenshot(page, "setup-people")

    row = page.locator(f"#member-{member.pk}")
    row.get_by_label("Why newtech leaves").fill("placement ended")
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("newtech removed from the study.")).to_be_visible()
    assert not Membership.objects.filter(pk=member.pk).exists()
    removal = Membership.history.filter(id=member.pk, history_type="-").get()
    assert "placement ended" in removal.history_change_reason
    assert removal.history_user.username == "datamanager"
