"""Per-animal area under the curve on the dashboard and in the `auc` export, by hand.

Hand-made study (reference template: T0, T1, T2 on days 7, 14, 21; cut-off 300 g):

    control  A1  10, 20, 20 g   (imported thresholds: 20 g is no Stoelting filament)
             A2  10, 10, 10 g   (recorded stimuli)
    K10      B1   1,  4,  8 g
             B2   2,  -,  6 g   (no T1: no AUC)

Trapezoid rule over study days (the unit is g·day):
    A1 = 7 x (10 + 20) / 2 + 7 x (20 + 20) / 2 = 105 + 140 = 245
    A2 = 7 x 10 + 7 x 10 = 140
    B1 = 7 x (1 + 4) / 2 + 7 x (4 + 8) / 2 = 17.5 + 42 = 59.5
%MPE of A1 (baseline 10 g): 0, 10 / 290 x 100 = 100/29, 100/29, so its AUC is
    7 x (0 + 100/29) / 2 + 7 x (100/29 + 100/29) / 2 = 350/29 + 700/29 = 1050/29 %·day.
"""

import csv
import io
import re
import zipfile
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse

from analysis import exports
from sessions.models import LegacyThreshold
from tests.worlds import add_animals, as_dicts, export_text, record, series_to

RECORDED = {
    "A2": {"T0": 10.0, "T1": 10.0, "T2": 10.0},
    "B1": {"T0": 1.0, "T1": 4.0, "T2": 8.0},
    "B2": {"T0": 2.0, "T2": 6.0},
}


@pytest.fixture
def auc_study(study):
    animals = add_animals(study, {"A1": "control", "A2": "control", "B1": "K10", "B2": "K10"})
    tp = {t.label: t for t in study.timepoints.all()}
    for line, (label, grams) in enumerate((("T0", 10.0), ("T1", 20.0), ("T2", 20.0)), start=2):
        LegacyThreshold.objects.create(
            animal=animals["A1"],
            timepoint=tp[label],
            paw="right",
            method="first_response",
            threshold_g=grams,
            source_file="old.csv",
            source_line=line,
        )
    for code, values in RECORDED.items():
        for label, grams in values.items():
            record(animals[code], tp[label], series_to(grams))
    return study


def auc_cell(block: str, animal: str) -> str:
    row = re.search(rf'<tr data-animal="{animal}">(.*?)</tr>', block, re.S)
    assert row, animal
    value = re.search(r'data-col="auc">(.*?)</td>', row.group(1), re.S).group(1)
    return unescape(re.sub(r"<[^>]+>", "", value)).strip()


@pytest.mark.django_db
def test_dashboard_shows_each_animals_auc_per_group(client_for, auc_study):
    html = client_for("investigator").get(reverse("dashboard", args=[auc_study.slug])).content
    html = html.decode()
    threshold = html.split('id="statistics-threshold"')[1].split('id="statistics-mpe"')[0]
    block = re.search(r'<div class="auc-animals.*?</div>', threshold, re.S).group(0)
    assert "Area under the curve per animal (g·day)" in block
    assert "T0 (day 7) to T2 (day 21)" in block
    groups = re.findall(r'<details[^>]*data-auc-group="([^"]+)"', block)
    assert groups == ["control", "K10"]
    assert auc_cell(block, "A1") == "245.0"
    assert auc_cell(block, "A2") == "140.0"
    assert auc_cell(block, "B1") == "59.5"
    assert auc_cell(block, "B2") == "– missing a timepoint"
    control = unescape(block.split('data-auc-group="control"')[1].split("</summary>")[0])
    # control: n = 2, mean (245 + 140) / 2 = 192.5, SD = 105 / sqrt(2), SEM = 105 / 2 = 52.5
    assert "n = 2, mean 192.5 ± 52.5 SEM g·day" in re.sub(r"\s+", " ", control)
    mpe = html.split('id="statistics-mpe"')[1]
    assert "Area under the curve per animal (%·day)" in mpe
    assert auc_cell(mpe, "A1") == f"{1050 / 29:.1f}" == "36.2"


@pytest.mark.django_db
def test_auc_export_by_hand(auc_study):
    rows = as_dicts(export_text(auc_study, "auc"))
    assert list(rows[0]) == exports.AUC_COLUMNS
    threshold = {r["animal"]: r for r in rows if r["outcome"] == "threshold_g"}
    assert list(threshold) == ["A1", "A2", "B1", "B2"]  # study group order, then animal
    assert threshold["A1"]["auc"] == "245"
    assert threshold["A2"]["auc"] == "140"
    assert threshold["B1"]["auc"] == "59.5"
    assert (threshold["B2"]["auc"], threshold["B2"]["complete"]) == ("", "false")
    a1 = threshold["A1"]
    assert (a1["unit"], a1["from_timepoint"], a1["to_timepoint"]) == ("g·day", "T0", "T2")
    assert (a1["from_day"], a1["to_day"], a1["complete"]) == ("7", "21", "true")
    mpe = {r["animal"]: r for r in rows if r["outcome"] == "pct_mpe"}
    assert float(mpe["A1"]["auc"]) == pytest.approx(1050 / 29)
    assert mpe["A1"]["unit"] == "%·day"
    assert float(mpe["A2"]["auc"]) == 0.0


@pytest.mark.django_db
def test_auc_is_in_the_package_the_workbook_and_the_command(auc_study, tmp_path):
    from openpyxl import load_workbook

    buffer = io.BytesIO()
    names = exports.StudyExport(auc_study).write_package(buffer)
    name = f"{auc_study.slug}_auc_target_force_300g.csv"
    assert any(n.endswith("/" + name) for n in names)
    archive = zipfile.ZipFile(buffer)
    (entry,) = [n for n in archive.namelist() if n.endswith(name)]
    assert archive.read(entry).decode() == export_text(auc_study, "auc")
    readme = archive.read(next(n for n in archive.namelist() if n.endswith("README.txt")))
    assert f"{name} — area under each animal's time course" in readme.decode()
    book = io.BytesIO()
    exports.StudyExport(auc_study).write_workbook(book)
    sheet = load_workbook(io.BytesIO(book.getvalue()), read_only=True)["auc"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == tuple(exports.AUC_COLUMNS)
    assert values[1][:4] == ("A1", "control", "threshold_g", 245)

    call_command(
        "export_study",
        auc_study.slug,
        "--what",
        "auc",
        "--out",
        str(tmp_path),
        stdout=io.StringIO(),
    )
    with open(tmp_path / name, encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert written[0]["animal"] == "A1" and written[0]["auc"] == "245"
