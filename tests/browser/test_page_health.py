"""Every main page as a data manager in Chromium: no console error, no script error, no
failed request (favicon included); slow pages and downloads say what is happening the
moment they are clicked; the pages people land on when something is wrong (404, session
ended) explain themselves. Screenshots at tablet (820x1180) and desktop (1440x900) size
go to docs/screenshots/health-*.png.
"""

import pytest
from playwright.sync_api import expect

from animals.models import Animal
from front.demo import DEMO_PASSWORD, DEMO_SLUG
from sessions.models import TestSession
from tests.browser.conftest import login, screenshot, sign_in

TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1440, "height": 900}
S = f"/s/{DEMO_SLUG}"


@pytest.fixture
def demo(transactional_db, demo_study):
    return demo_study


def watched(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script: {e}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"),
    )
    return problems


def main_pages() -> list[str]:
    animal = Animal.objects.filter(study__slug=DEMO_SLUG).order_by("code").first()
    session = TestSession.objects.filter(animal__study__slug=DEMO_SLUG).order_by("pk").first()
    return [
        "/",
        f"{S}/",
        f"{S}/setup/",
        f"{S}/setup/groups/",
        f"{S}/setup/phases/",
        f"{S}/setup/timepoints/",
        f"{S}/setup/animals/",
        f"{S}/setup/allocation/",
        f"{S}/people/",
        f"{S}/dashboard/",
        f"{S}/dashboard/completeness/",
        f"{S}/dashboard/figure/",
        f"{S}/dashboard/animals/{animal.pk}/",
        f"{S}/exports/",
        f"{S}/arrive/",
        f"{S}/import/",
        f"{S}/history/animal/{animal.code}/",
        f"{S}/history/session/{session.pk}/",
        f"{S}/bench/",
        f"{S}/bench/doses/",
        f"{S}/bench/weights/",
        f"{S}/bench/observations/",
        f"{S}/animals/{animal.code}/status/",
    ]


def test_no_console_errors_on_any_main_page(demo, new_page):
    page = new_page(DESKTOP)
    problems = watched(page)
    sign_in(page, "datamanager")
    for url in main_pages():
        page.goto(url, wait_until="load")
        # charts draw after load: wait for them, so a plotly error is caught here too
        for chart in page.locator("[data-figure]").all():
            expect(chart).to_have_attribute("data-rendered", "true")
        assert problems == [], url
        expect(page.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")
    page.goto("/favicon.ico")
    assert problems == []


def test_slow_pages_and_downloads_say_what_is_happening(demo, new_page):
    page = new_page(TABLET)
    problems = watched(page)
    sign_in(page, "datamanager")
    page.goto(f"{S}/")
    page.get_by_role("button", name="Results").click()
    screenshot(page, "health-nav-results-tablet")
    # Shown by the click itself, before the server has answered: no blank or stale page.
    busy = page.evaluate(
        """() => { [...document.querySelectorAll('.study-nav a')]
                     .find(a => a.textContent.trim() === 'Dashboard').click();
                   const o = document.querySelector('.page-busy');
                   return o && !o.hidden ? o.innerText.trim() : null; }"""
    )
    assert busy == "Computing statistics…"
    page.wait_for_url(f"**{S}/dashboard/")
    expect(page.locator(".page-busy")).to_have_count(0)  # a new page, no overlay left
    page.go_back()
    page.wait_for_url(f"**{S}/")
    # back from the cache, the overview is not left covered
    assert page.evaluate("!document.querySelector('.page-busy:not([hidden])')")

    page.goto(f"{S}/exports/")
    link = page.get_by_role("link", name="Download publication package")
    with page.expect_download() as info:
        text = page.evaluate(
            """() => { const a = [...document.querySelectorAll('a[data-download]')]
                         .find(a => a.textContent.includes('publication package'));
                       a.click(); return a.textContent; }"""
        )
        assert text == "Preparing the package…"
    assert info.value.suggested_filename.endswith(".zip")
    expect(page.get_by_text("Download publication package")).to_be_visible()
    expect(link).not_to_have_class("disabled")
    assert problems == []


def test_groups_editor_fits_a_tablet_and_prints_doses_as_entered(demo, new_page):
    for name, viewport in (("tablet", TABLET), ("desktop", DESKTOP)):
        page = new_page(viewport)
        sign_in(page, "datamanager")
        page.goto(f"{S}/setup/groups/")
        dose = page.locator("input[name$='-dose_mg_kg']").nth(1)
        expect(dose).to_have_value("5")
        # nothing runs off the right edge of the screen
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, name
        for field in page.locator(".setup-card input:visible, .setup-card select").all():
            box = field.bounding_box()
            assert box["x"] + box["width"] <= viewport["width"], name
        screenshot(page, f"health-groups-{name}")


def test_pages_for_when_something_is_wrong(demo, new_page):
    page = new_page(TABLET)
    page.goto(f"{S}/dashboard/")
    expect(page.locator("#why-sign-in")).to_have_text(
        "Sign in to continue to the page you asked for."
    )
    login(page, "technician", DEMO_PASSWORD)
    response = page.goto(f"{S}/setup/")
    assert response.status == 404
    expect(page.get_by_text("You may not be a member of this study")).to_be_visible()
    expect(page.get_by_role("link", name="Your studies")).to_be_visible()
    screenshot(page, "health-404-tablet")
    page.goto(f"{S}/")
    nav = page.locator(".study-nav").inner_text()
    assert "Dashboard" not in nav and "Settings" not in nav and "Bench today" in nav
    screenshot(page, "health-overview-technician-tablet")


def test_an_empty_study_and_the_settings_page_explain_themselves(demo, new_page):
    import datetime as dt

    from django.contrib.auth import get_user_model

    from labstudy import services

    manager = get_user_model().objects.get(username="datamanager")
    services.create_study(
        template_key="psnl-vf-3x8",
        slug="fresh",
        title="A study with nothing recorded yet",
        day0_date=dt.date.today() + dt.timedelta(days=2),
        user=manager,
    )
    for name, viewport in (("tablet", TABLET), ("desktop", DESKTOP)):
        page = new_page(viewport)
        problems = watched(page)
        sign_in(page, "datamanager")
        page.goto("/s/fresh/dashboard/")
        expect(page.get_by_text("No thresholds yet: nothing to chart or test")).to_be_visible()
        expect(page.get_by_text("No animals yet: a data manager adds them")).to_be_visible()
        expect(page.locator("#first-due")).to_contain_text("The first timepoint, T0")
        assert page.locator(".chart").count() == 0  # no empty axes
        screenshot(page, f"health-dashboard-empty-{name}")
        page.goto(f"{S}/setup/")
        expect(page.get_by_label("Cut-off (g)")).to_be_visible()
        expect(page.get_by_role("textbox", name="Day 0*", exact=True)).to_be_visible()
        screenshot(page, f"health-settings-{name}")
        assert problems == []
