"""Cage cards in Chromium (issue 12): the sheet as printed on A4 and Letter, and "Scan cage"
with a fake camera that films a card Chromium itself drew.

The camera is Chromium's own fake device (--use-fake-device-for-media-stream) playing a
Y4M file made from a screenshot of the card on the sheet, so the test covers the card as
printed, the QR code it carries, the decoder the bench loads, and the page the link opens.
The world is the blinded reference study on day 28 (tests.worlds.make_bench_study) at the
tablet size of the issue, 820 x 1180 with touch.
"""

import datetime as dt
import io
import re
from decimal import Decimal

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from animals import services as animal_services
from animals.models import Animal, DoseAdministration
from front.cage_cards import qr_svg
from labstudy import services
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot, too_small_targets
from tests.worlds import make_bench_study, qr_pixels, y4m_video

TABLET_820 = {"width": 820, "height": 1180}
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
def world(transactional_db, study, people):
    bench = make_bench_study(study)
    r02 = bench.animals["R02"]
    # R02's weight and dose are done: its von Frey session is the one thing left today,
    # so its cage card (C10) opens that session directly.
    animal_services.record_weight(
        animal=r02, grams=Decimal("302"), date=bench.today, user=None, confirmed=True
    )
    animal_services.record_dose(
        animal=r02, date=bench.today, status=DoseAdministration.Status.GIVEN, reason="", user=None
    )
    bench.people = people
    return bench


def _context(browser, live_server, user, **options):
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        viewport=TABLET_820, has_touch=True, base_url=live_server.url, **options
    )
    context.set_default_timeout(30_000)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    return context


def _grey_png(png: bytes):
    from PIL import Image  # Pillow comes with matplotlib (scikit-posthocs needs it)

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def _camera(browser, video_file):
    return browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video_file}"],
    )


def _csp_watch(page) -> list[str]:
    problems = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return problems


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(round(float(w)), round(float(h))) for w, h in boxes]


def test_card_sheet_prints_eight_cards_a_page_on_a4_and_letter(world, browser, live_server):
    study = world.study
    for n in range(5, 14):  # 12 cages in all: a second page
        Animal.objects.create(study=study, code=f"R{n:02d}", cage=f"C{n + 6}")
    context = _context(browser, live_server, world.people["investigator"])
    page = context.new_page()
    page.goto(reverse("cage_cards", args=[study.slug]))
    expect(page.locator("article.cage-card")).to_have_count(12)
    assert too_small_targets(page) == []
    screenshot(page, "cage-cards")
    # A4: 595 x 842 points, Letter 612 x 792; 12 cards at eight a page is two pages.
    for paper, size in (("a4", (595, 842)), ("letter", (612, 792))):
        page.goto(f"{reverse('cage_cards', args=[study.slug])}?paper={paper}")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        assert _pdf_pages(pdf) == [size, size], paper
    page.emulate_media(media="print")
    page.screenshot(path=str(screenshot(page, "cage-cards-print")), full_page=True)
    box = page.locator("article.cage-card").first.bounding_box()
    # 92 x 62 mm at 96 px per inch.
    assert (round(box["width"] / 96 * 25.4), round(box["height"] / 96 * 25.4)) == (92, 62)
    context.close()


def test_scan_cage_with_the_camera_opens_the_right_animals_session(
    world, browser, live_server, tmp_path
):
    study, r02 = world.study, world.animals["R02"]
    sheet = _context(browser, live_server, world.people["investigator"])
    page = sheet.new_page()
    page.goto(reverse("cage_cards", args=[study.slug]))
    card = page.locator('article[aria-label="Cage C10"]').screenshot()
    sheet.close()
    video = tmp_path / "card-c10.y4m"
    video.write_bytes(y4m_video(_grey_png(card)))

    camera = _camera(browser, video)
    try:
        context = _context(camera, live_server, world.people["technician"])
        context.grant_permissions(["camera"])
        page = context.new_page()
        csp = _csp_watch(page)
        page.goto(reverse("bench_today", args=[study.slug]))
        button = page.get_by_role("button", name="Scan cage")
        box = button.bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48
        button.click()
        session = reverse("bench_session", args=[study.slug, r02.pk, world.tp.pk, "right"])
        page.wait_for_url(f"**{session}")
        expect(page.locator(".bench-animal")).to_contain_text("R02")
        # The session screen has the button too: the next cage is one scan away.
        expect(page.get_by_role("button", name="Scan cage")).to_be_visible()
        assert csp == []
    finally:
        camera.close()


def test_a_card_of_another_study_is_named_and_not_opened(world, browser, live_server, tmp_path):
    study = world.study
    services.create_study(
        template_key="psnl-vf-3x8",
        slug="other",
        title="Another study",
        day0_date=world.today - dt.timedelta(days=28),
        user=world.people["data_manager"],
    )
    link = f"{live_server.url}{reverse('scan_cage', args=['other', 'C10'])}"
    video = tmp_path / "other-study.y4m"
    video.write_bytes(y4m_video(qr_pixels(qr_svg(link), scale=8)))

    camera = _camera(browser, video)
    try:
        context = _context(camera, live_server, world.people["technician"])
        context.grant_permissions(["camera"])
        page = context.new_page()
        bench = reverse("bench_weights", args=[study.slug])
        page.goto(bench)
        page.get_by_role("button", name="Scan cage").click()
        message = page.locator("[data-scan-message]")
        expect(message).to_contain_text("That card belongs to another study (other)")
        expect(page.locator("[data-scan-video]")).to_be_visible()
        page.wait_for_function("() => document.querySelector('[data-scan-video]').videoWidth > 0")
        assert page.url.endswith(bench)
        # Linux Chromium has no BarcodeDetector: the vendored jsQR read the card.
        decoder = page.evaluate("() => [typeof window.BarcodeDetector, typeof window.jsQR]")
        assert decoder in (["undefined", "function"], ["function", "undefined"])
        screenshot(page, "bench-scan-cage")
        page.get_by_role("button", name="Stop scanning").click()
        expect(page.locator("[data-scan-video]")).to_be_hidden()
    finally:
        camera.close()


@pytest.mark.parametrize(
    "text",
    ["javascript:alert(document.cookie)//s/psnl/scan/cage/C10/", "R02 cage C10 <b>bold</b>"],
)
def test_a_code_that_is_no_cage_card_is_not_followed(world, browser, live_server, tmp_path, text):
    import segno

    code = segno.make(text, error="m", micro=False)
    video = tmp_path / "not-a-card.y4m"
    video.write_bytes(
        y4m_video(qr_pixels(code.svg_inline(scale=1, border=4, omitsize=True), scale=8))
    )
    camera = _camera(browser, video)
    try:
        context = _context(camera, live_server, world.people["technician"])
        context.grant_permissions(["camera"])
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        bench = reverse("bench_today", args=[world.study.slug])
        page.goto(bench)
        page.get_by_role("button", name="Scan cage").click()
        message = page.locator("[data-scan-message]")
        expect(message).to_contain_text("That code is not a cage card of this site")
        expect(message).to_contain_text(text[:40])  # shown as text, never as markup
        assert page.locator("[data-scan-message] b").count() == 0
        assert page.url.endswith(bench) and dialogs == []
    finally:
        camera.close()


def test_without_a_camera_the_button_says_so(world, browser, live_server):
    context = _context(browser, live_server, world.people["technician"])
    context.grant_permissions(["camera"])
    page = context.new_page()
    page.goto(reverse("bench_doses", args=[world.study.slug]))
    page.get_by_role("button", name="Scan cage").click()
    message = page.locator("[data-scan-message]")
    expect(message).to_contain_text("no camera the browser can use")
    screenshot(page, "bench-scan-no-camera")
    context.close()


def test_a_cage_of_two_animals_offers_each_ones_work(world, browser, live_server):
    context = _context(browser, live_server, world.people["technician"])
    page = context.new_page()
    page.goto(reverse("scan_cage", args=[world.study.slug, "C2"]))
    expect(page.locator(".scan-animal .bench-code")).to_have_text(["R01", "R04"])
    expect(page.locator(".scan-animal").first.get_by_role("link")).to_have_count(3)
    assert too_small_targets(page) == []
    screenshot(page, "bench-scan-cage-choices")
    page.locator(".scan-animal").nth(1).get_by_role("link", name=re.compile("^Dose")).click()
    r04 = world.animals["R04"]
    page.wait_for_url(f"**/bench/doses/?date={world.today.isoformat()}#dose-{r04.pk}")
    expect(page.locator(f"#dose-{r04.pk}")).to_be_in_viewport()
    context.close()
