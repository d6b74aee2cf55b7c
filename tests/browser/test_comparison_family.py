"""Changing the study's comparison family on the settings page changes the marks the
dashboard chart draws (issue 13), in Chromium on the demo study.

Screenshots: docs/screenshots/settings-comparison-family.png (the settings section) and
dashboard-vs-control.png (the chart, marked against control only).
"""

import pytest
from playwright.sync_api import expect

from front.demo import DEMO_PASSWORD, DEMO_SLUG
from tests.browser.conftest import DESKTOP, SCREENSHOTS, login

DASHBOARD = f"/s/{DEMO_SLUG}/dashboard/"
SETTINGS = f"/s/{DEMO_SLUG}/setup/"


@pytest.fixture
def data_manager(transactional_db, demo_study, new_page):
    page = new_page(DESKTOP)
    page.set_default_timeout(30_000)  # plotly.js and the statistics on a loaded machine
    login(page, "datamanager", DEMO_PASSWORD)
    return page


def chart_marks(page) -> dict[str, list[str]]:
    """Group -> the mark text above each timepoint of the threshold chart, as drawn."""
    page.goto(DASHBOARD)
    page.wait_for_selector("#chart-threshold[data-rendered='true']")
    return page.evaluate(
        """() => Object.fromEntries(document.getElementById('chart-threshold').data
             .filter(t => t.meta === 'marks').map(t => [t.legendgroup, t.text]))"""
    )


def test_choosing_vs_control_changes_the_dashboard_marks(data_manager):
    page = data_manager
    before = chart_marks(page)
    drawn = "".join("".join(texts) for texts in before.values())
    # All pairs (the default): marks against T0 (*) and against control (†).
    assert "*" in drawn and "†" in drawn

    page.goto(SETTINGS)
    family = page.get_by_role("radio", name="Each group against control, at each timepoint")
    family.check()
    page.get_by_label("Reason for this change").fill("Dunnett-style: each dose against control")
    # The two settings together: which comparisons, and what tests them.
    basis = page.locator("#div_id_study-comparison_basis")
    basis.scroll_into_view_if_needed()
    expect(basis).to_contain_text("R: lmer + emmeans")
    page.locator("#div_id_study-comparison_family").scroll_into_view_if_needed()
    family_box = page.locator("#div_id_study-comparison_family").bounding_box()
    basis_box = basis.bounding_box()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOTS / "settings-comparison-family.png"),
        full_page=True,
        clip={
            "x": family_box["x"],
            "y": family_box["y"] + page.evaluate("window.scrollY"),
            "width": max(family_box["width"], basis_box["width"]),
            "height": basis_box["y"] + basis_box["height"] - family_box["y"],
        },
    )
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Study settings saved.")).to_be_visible()

    after = chart_marks(page)
    drawn = "".join("".join(texts) for texts in after.values())
    # Each group against control only: no mark against T0, T1 or a chosen pair is left.
    assert "†" in drawn
    assert not set(drawn) & {"*", "#", "‡"}
    assert after != before
    legend = page.locator("#marks-legend")
    expect(legend).to_contain_text("† p < 0.05")
    expect(legend).to_contain_text("Dunn (Holm) vs control")
    expect(legend).not_to_contain_text("vs T0")
    # The statistics table now lists Dunn's test against control, each with its effect.
    dunn = page.locator("tr[data-test='dunn_vs_control']")
    assert dunn.count() > 0
    assert page.locator("tr[data-test='nemenyi_kruskal']").count() == 0
    expect(dunn.first.locator("td[data-col='estimate']")).to_contain_text(
        "Hodges-Lehmann difference: "
    )
    # The chart as the page opens: only † marks, K5 marked against control at T4 and T6.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-vs-control.png"))
