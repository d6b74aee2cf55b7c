"""A data manager in a real browser: two clicks to the publication package, and a
spreadsheet brought in through upload, preview and confirm."""

import csv
import io
import zipfile

import pytest
from playwright.sync_api import expect

from front.demo import DEMO_SLUG
from sessions.models import Stimulus
from tests.browser.conftest import DESKTOP, TABLET, screenshot, sign_in, too_small_targets
from tests.worlds import HEADER, rows_for


@pytest.fixture
def demo(transactional_db, demo_study):
    return demo_study


@pytest.fixture(autouse=True)
def upload_dir(tmp_path, settings):
    settings.LABSTUDY_UPLOAD_DIR = tmp_path / "uploads"


def test_two_clicks_to_the_publication_package(demo, new_page):
    page = new_page(DESKTOP)
    sign_in(page, "datamanager")
    page.goto(f"/s/{DEMO_SLUG}/")
    page.get_by_role("button", name="Records").click()  # click 1
    with page.expect_download() as info:
        page.get_by_role("link", name="Publication package (.zip)").click()  # click 2
    download = info.value
    assert download.suggested_filename == f"{DEMO_SLUG}_publication_target_force_300g.zip"
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    names = [n.split("/")[-1] for n in archive.namelist()]
    assert "README.txt" in names and f"{DEMO_SLUG}_tables_target_force_300g.xlsx" in names
    assert len(names) == 15  # README, the workbook, and a CSV or text file per table

    page.get_by_role("button", name="Records").click()
    page.get_by_role("link", name="Exports", exact=True).click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/exports/")
    expect(page.get_by_role("heading", name="Publication package")).to_be_visible()
    expect(page.get_by_text(f"{DEMO_SLUG}_stimuli_target_force_300g.csv")).to_be_visible()
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
    sign_in(page, "datamanager")
    page.goto(f"/s/{DEMO_SLUG}/")
    page.get_by_role("button", name="Records").click()
    page.get_by_role("link", name="Import", exact=True).click()
    page.wait_for_url(f"**/s/{DEMO_SLUG}/import/")

    page.get_by_label("CSV or Excel file").set_input_files(str(bad))
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
    page.get_by_label("CSV or Excel file").set_input_files(str(good))
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
    sign_in(page, "investigator")
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


def _sheet(path, rows) -> None:
    """An .xlsx file as a lab keeps it: a cover sheet first, numbers stored as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "About"
    book.active.append(["von Frey, cohort 3"])
    sheet = book.create_sheet("Raw data")
    sheet.append(HEADER.split(","))
    for a, g, tp, day, paw, order, size, r in rows:
        sheet.append([a, g, tp, int(day), paw, int(order), float(size), int(r)])
    book.save(path)


def _grouped_tables(text: str) -> list[dict]:
    """The prism file as pasted into Prism: from each group-title row (empty first cell)
    to the next blank line; every data set as wide as the others."""
    rows = list(csv.reader(io.StringIO(text)))
    tables = []
    for i, row in enumerate(rows):
        if len(row) > 1 and row[0] == "" and row[1]:
            starts = [j for j, cell in enumerate(row) if cell]
            widths = {b - a for a, b in zip(starts, [*starts[1:], len(row)], strict=True)}
            assert len(widths) == 1, row
            data = []
            for line in rows[i + 1 :]:
                if not line:
                    break
                assert len(line) == len(row)
                [float(c) for c in line[1:] if c]
                data.append(line)
            tables.append({"groups": [row[j] for j in starts], "width": widths.pop(), "rows": data})
    return tables


def test_excel_sheet_with_a_chosen_control_then_a_prism_table(demo, new_page, tmp_path):
    """Issue 14's 'done when': a data manager imports the second sheet of a workbook into a
    new study, makes K10 the control group (the file's 'sham' would be taken by its name),
    describes the group, and downloads a Prism table that reads as one grouped table."""
    import datetime as dt

    from django.contrib.auth import get_user_model

    from labstudy import services

    manager = get_user_model().objects.get(username="datamanager")
    study = services.create_study(
        template_key="blank", slug="cohort-3", title="Cohort 3", day0_date=dt.date(2026, 9, 1),
        user=manager, first_day=0, last_day=28,
    )  # fmt: skip
    rows = []
    for animal, group, t0, t1 in (("S1", "sham", 26, 26), ("S2", "sham", 15, 26),
                                  ("P1", "K10", 15, 60), ("P2", "K10", 26, 100)):  # fmt: skip
        rows += rows_for(animal, group, t0) + rows_for(animal, group, t1, tp="T1", day=14)
    workbook = tmp_path / "cohort-3.xlsx"
    _sheet(workbook, rows)

    page = new_page(DESKTOP)
    sign_in(page, "datamanager")
    page.goto("/s/cohort-3/import/")
    page.get_by_label("CSV or Excel file").set_input_files(str(workbook))
    page.get_by_label("Sheet (Excel workbooks)").fill("Raw data")
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_text("The file is valid. Nothing has been written yet.")).to_be_visible()
    expect(page.get_by_text("Excel workbook (.xlsx), sheet 'Raw data'")).to_be_visible()
    control = page.get_by_label("Control group", exact=True)
    expect(control).to_have_value("sham")  # from its name, until the user chooses
    control.select_option("K10")
    expect(page.get_by_label("Baseline timepoint", exact=True)).to_have_value("T0")
    page.get_by_label("Drug of K10").fill("ketamine")
    page.get_by_label("Dose of K10 (mg/kg)").fill("10")
    page.get_by_label("Route of K10").select_option("i.p.")
    assert too_small_targets(page) == []
    screenshot(page, "export-import-choices")
    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_url("**/s/cohort-3/exports/")
    expect(page.get_by_text("Imported cohort-3.xlsx: ")).to_be_visible()
    groups = {g.code: g for g in study.groups.all()}
    assert [code for code, g in groups.items() if g.is_control] == ["K10"]
    assert (groups["K10"].drug, groups["K10"].route) == ("ketamine", "i.p.")
    assert (groups["sham"].route, groups["sham"].vehicle) == ("", "")  # nothing invented

    with page.expect_download() as info:
        page.get_by_role("link", name="Prism tables").click()
    download = info.value
    assert download.suggested_filename == "cohort-3_prism_target_force_300g.csv"
    with open(download.path(), encoding="utf-8") as handle:
        tables = _grouped_tables(handle.read())
    assert len(tables) == 2  # threshold (g) and %MPE
    threshold = tables[0]
    assert threshold["groups"] == ["K10", "sham"] and threshold["width"] == 2
    assert threshold["rows"] == [["T0", "15", "26", "26", "15"], ["T1", "60", "100", "26", "26"]]
