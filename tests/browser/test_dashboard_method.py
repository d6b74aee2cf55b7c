"""Issue 13 in Chromium on the demo study: the investigator switches the threshold method
on the dashboard and the figure page and the chart redraws with the other method's
numbers (K5 at T4: 148.0 g by target force, 204.1 g by Chaplan up-down; see
tests/analysis/test_dashboard_method.py for where they come from); the K10 means at the
300 g cut-off carry a ring, "5/5", and the ring's hover says the mean is bounded.

Screenshots: docs/screenshots/dashboard-method-up-down.png, dashboard-cutoff-hover.png,
dashboard-figure-up-down.png.
"""

import pytest
from playwright.sync_api import expect

from front.demo import DEMO_PASSWORD, DEMO_SLUG
from tests.browser.conftest import DESKTOP, login, screenshot

DASHBOARD = f"/s/{DEMO_SLUG}/dashboard/"
FIGURE = f"/s/{DEMO_SLUG}/dashboard/figure/"


@pytest.fixture
def investigator(transactional_db, demo_study, new_page):
    page = new_page(DESKTOP)
    page.set_default_timeout(30_000)
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.text.startswith("Failed to load resource")
            and problems.append(m.text)
        ),
    )
    login(page, "investigator", DEMO_PASSWORD)
    page.problems = problems
    return page


def wait_for_chart(page, chart_id: str) -> None:
    page.wait_for_selector(f"#{chart_id}[data-rendered='true'] .main-svg")


def trace(page, chart_id: str, meta: str, group: str, key: str):
    return page.evaluate(
        """([id, meta, group, key]) => document.getElementById(id).data
             .find(t => t.meta === meta && t.legendgroup === group)[key]""",
        [chart_id, meta, group, key],
    )


def test_switching_the_method_redraws_the_dashboard_and_rings_the_cutoff(investigator):
    page = investigator
    page.goto(DASHBOARD)
    wait_for_chart(page, "chart-threshold")
    assert trace(page, "chart-threshold", "mean", "K5", "y")[4] == pytest.approx(148.0)
    expect(page.locator("#threshold-heading")).to_have_text(
        "Withdrawal threshold (g) by target force, mean ± SEM"
    )
    # the switch is a bench-sized control
    for control in (page.locator("#method-select"), page.locator(".method-show")):
        assert control.bounding_box()["height"] >= 48

    page.locator("#method-select").select_option("up_down")
    page.locator(".method-show").click()
    page.wait_for_url("**/dashboard/?method=up_down")
    wait_for_chart(page, "chart-threshold")
    assert trace(page, "chart-threshold", "mean", "K5", "y")[4] == pytest.approx(204.066, abs=1e-3)
    expect(page.locator("#threshold-heading")).to_have_text(
        "Withdrawal threshold (g) by Chaplan up-down, mean ± SEM"
    )
    expect(page.locator("#method-select")).to_have_value("up_down")
    # the chart's own title names the method, drawn in the SVG
    expect(page.locator("#chart-threshold .gtitle")).to_have_text(
        "Withdrawal threshold by Chaplan up-down"
    )
    # the summary table shows the up-down mean and the n at the cut-off
    k5_t4 = page.locator("#summary-threshold tr[data-group='K5'][data-timepoint='T4']")
    expect(k5_t4.locator("[data-col='mean']")).to_have_text("204.1")
    k10_t3 = page.locator("#summary-threshold tr[data-group='K10'][data-timepoint='T3']")
    expect(k10_t3.locator("[data-col='n_at_cutoff']")).to_have_text("5 of 5")
    expect(page.locator("#censored-words")).to_contain_text(
        "5 of 5 K10 animals at T3 reached the 300 g cut-off; their mean and CI are bounded"
    )

    # the ring: drawn, labelled 5/5, and its hover says the mean is bounded by the cut-off
    assert trace(page, "chart-threshold", "cutoff", "K10", "text") == ["5/5", "5/5", "1/5"]
    assert page.locator("#chart-threshold text", has_text="5/5").count() == 2
    page.evaluate("document.getElementById('threshold-section').scrollIntoView()")
    page.evaluate(
        """() => {
             const gd = document.getElementById('chart-threshold');
             const curve = gd.data.findIndex(t => t.meta === 'cutoff' && t.legendgroup === 'K10');
             Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: 0}]);
           }"""
    )
    hover = page.locator("#chart-threshold .hoverlayer")
    expect(hover).to_contain_text("all 5 at the 300 g cut-off")
    page.locator("#threshold-section").screenshot(
        path=str(screenshot_path("dashboard-cutoff-hover"))
    )
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_path("dashboard-method-up-down")), full_page=False)

    # back to the study's method
    page.get_by_role("link", name="Back to the study's method").click()
    wait_for_chart(page, "chart-threshold")
    assert trace(page, "chart-threshold", "mean", "K5", "y")[4] == pytest.approx(148.0)
    assert page.problems == []


def test_the_figure_page_switches_too(investigator):
    page = investigator
    page.goto(FIGURE)
    wait_for_chart(page, "figure-threshold")
    page.locator("#method-select").select_option("up_down")
    page.locator(".method-show").click()
    page.wait_for_url("**/figure/?method=up_down")
    wait_for_chart(page, "figure-threshold")
    expect(page.locator("#fig-threshold-heading")).to_have_text(
        "Figure A. Paw withdrawal threshold by Chaplan up-down"
    )
    assert trace(page, "figure-threshold", "mean", "K5", "y")[4] == pytest.approx(204.066, abs=1e-3)
    assert trace(page, "figure-threshold", "cutoff", "K10", "text")[:2] == ["5/5", "5/5"]
    expect(page.locator("#caption-threshold")).to_contain_text("bounded by it")
    screenshot(page, "dashboard-figure-up-down")
    assert page.problems == []


def test_a_hostile_method_in_the_address_shows_the_study_method(investigator):
    page = investigator
    page.goto(DASHBOARD + "?method=%3Cscript%3Ealert(1)%3C/script%3E")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    expect(page.locator("#method-message")).to_contain_text(
        "There is no threshold method “<script>alert(1)</script>”"
    )
    wait_for_chart(page, "chart-threshold")
    assert trace(page, "chart-threshold", "mean", "K5", "y")[4] == pytest.approx(148.0)
    assert dialogs == []
    assert page.problems == []


def screenshot_path(name: str):
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
