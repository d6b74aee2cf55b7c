"""A data manager in a real browser: two clicks to the publication package, and a
spreadsheet brought in through upload, preview and confirm."""

import io
import zipfile

import pytest
from playwright.sync_api import expect

from labstudy.demo import DEMO_PASSWORD, DEMO_SLUG, load_demo_study
from sessions.models import Stimulus
from tests.browser.conftest import DESKTOP, TABLET, login, screenshot, too_small_targets
from tests.sessions.test_import import HEADER, rows_for


@pytest.fixture
def demo(transactional_db):
    return load_demo_study()


@pytest.fixture(autouse=True)
def upload_dir(tmp_path, monkeypatch):
    monkeypatch.setattr("analysis.export_views.UPLOAD_DIR", tmp_path / "uploads")


def test_two_clicks_to_the_publication_package(demo, new_page):
    page = new_page(DESKTOP)
    login(page, "datamanager", DEMO_PASSWORD)
    page.goto(f"/s/{DEMO_SLUG}/")
    page.get_by_role("button", name="Records").click()  # click 1
    with page.expect_download() as info:
        page.get_by_role("link", name="Publication package (.zip)").click()  # click 2
    download = info.value
    assert download.suggested_filename == f"{DEMO_SLUG}_publication_first_response_300g.zip"
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    names = [n.split("/")[-1] for n in archive.namelist()]
    assert "README.txt" in names and f"{DEMO_SLUG}_tables_first_response_300g.xlsx" in names
    assert len(names) == 14

    page.get_by_role("button", name="Records").click()
    page.get_by_role("link", name="Exports", exact=True).click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/exports/")
    expect(page.get_by_role("heading", name="Publication package")).to_be_visible()
    expect(page.get_by_text(f"{DEMO_SLUG}_stimuli_first_response_300g.csv")).to_be_visible()
    screenshot(page, "export-page")


def test_upload_preview_confirm(demo, new_page, tmp_path):
    rows = rows_for("R16", "K10", 26) + rows_for("R17", "control", 15)
    good = tmp_path / "old-rats.csv"
    good.write_text("\n".join([HEADER.replace(",", ";")] + [";".join(r) for r in rows]) + "\n")
    bad_rows = [list(r) for r in rows]
    bad_rows[12][6] = "4.32"
    bad_rows[3][7] = "yes"
    bad = tmp_path / "old-rats-typos.csv"
    bad.write_text("\n".join([HEADER] + [",".join(r) for r in bad_rows]) + "\n")
    before = Stimulus.objects.count()

    page = new_page(TABLET)
    login(page, "datamanager", DEMO_PASSWORD)
    page.goto(f"/s/{DEMO_SLUG}/")
    page.get_by_role("button", name="Records").click()
    page.get_by_role("link", name="Import", exact=True).click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/import/")

    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_text("2 problems: nothing was imported.")).to_be_visible()
    expect(
        page.get_by_text(
            "line 5, response: 'yes' is not 0 or 1 (1 = withdrawal, 0 = no withdrawal)"
        )
    ).to_be_visible()
    expect(
        page.get_by_text("line 14, filament_size: unknown filament '4.32' (not in Stoelting 20)")
    ).to_be_visible()
    assert page.get_by_role("button", name="Confirm import").count() == 0
    screenshot(page, "export-import-errors")
    assert Stimulus.objects.count() == before

    page.get_by_role("link", name="Upload another file").click()
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_text("The file is valid. Nothing has been written yet.")).to_be_visible()
    expect(page.locator("#preview-stimuli")).to_have_text("21")
    expect(page.get_by_text("2 new: R16, R17")).to_be_visible()
    assert too_small_targets(page) == []
    screenshot(page, "export-import-preview")
    assert Stimulus.objects.count() == before

    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/exports/")
    expect(
        page.get_by_text("Imported old-rats.csv: 21 stimuli in 2 sessions, 2 new animals.")
    ).to_be_visible()
    screenshot(page, "export-import-done")
    assert Stimulus.objects.count() == before + 21


def test_arrive_report_prints(demo, new_page):
    page = new_page(DESKTOP)
    login(page, "investigator", DEMO_PASSWORD)
    page.goto(f"/s/{DEMO_SLUG}/")
    page.get_by_role("button", name="Records").click()
    page.get_by_role("link", name="ARRIVE", exact=True).click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/arrive/")
    expect(page.get_by_role("heading", name="10. Results")).to_be_visible()
    expect(page.get_by_text("15 in total; control n = 5, K5 n = 5, K10 n = 5")).to_be_visible()
    screenshot(page, "export-arrive")
    page.emulate_media(media="print")
    expect(page.locator(".study-nav")).to_be_hidden()
    expect(page.locator("nav.navbar")).to_be_hidden()
