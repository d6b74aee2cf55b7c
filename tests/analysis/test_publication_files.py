"""Publication files after issue 17 (statistics computed once per package and cached,
the workbook written by XlsxWriter) are the files the path before it wrote: every CSV
and text member byte for byte, the workbook's cell values, types and number formats
sheet by sheet. The old path is kept for the benchmark in bench/_old_workbook.py
(openpyxl, write-only) with the statistics cache switched off."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.core.management import call_command
from django.test import override_settings
from openpyxl import load_workbook

from analysis import exports, stats
from animals.models import Animal
from bench import _old_workbook
from labstudy.models import Study
from sessions.models import Stimulus
from tests.worlds import build_small_study

OFF = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "statistics": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
}


def cells(data: bytes) -> dict:
    """Each sheet's cells as (value, type, number format), blank cells and rows at the
    ends left out (a blank cell reads as None however wide a sheet says it is), the
    README's time of writing left out."""
    book = load_workbook(io.BytesIO(data))
    out = {}
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows():
            found = [(c.value, type(c.value).__name__, c.number_format) for c in row]
            while found and found[-1][0] is None:
                found.pop()
            if found and str(found[0][0]).startswith("Generated:"):
                continue
            rows.append(found)
        while rows and not rows[-1]:
            rows.pop()
        out[sheet.title] = rows
    return out


def members(data: bytes) -> dict:
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            body = archive.read(name)
            if name.endswith(".xlsx"):
                out[name] = cells(body)
            else:
                out[name] = re.sub(rb"Generated: +\S+", b"", body)
    return out


def old_package(study) -> bytes:
    target = io.BytesIO()
    export = exports.StudyExport(study)
    with override_settings(CACHES=OFF):
        _old_workbook.write_package(export, target)
    return target.getvalue()


def new_package(study) -> bytes:
    target = io.BytesIO()
    exports.StudyExport(study).write_package(target)
    return target.getvalue()


@pytest.fixture
def demo(db):
    call_command("load_demo_study", stdout=io.StringIO())
    return Study.objects.get(slug="psnl-ketamine-demo")


def test_the_demo_package_is_the_old_path_file_for_file(demo, monkeypatch):
    old = members(old_package(demo))
    calls = []
    real = stats.study_statistics
    monkeypatch.setattr(stats, "study_statistics", lambda *a, **k: calls.append(1) or real(*a, **k))
    cold = members(new_package(demo))
    assert len(calls) == 2  # once per outcome for the whole package: 13 files, one computation
    warm = members(new_package(demo))
    assert len(calls) == 2  # the second package is a lookup
    assert set(old) == set(cold) == set(warm) and len(old) == 15
    for name in old:
        assert cold[name] == old[name], name
        assert warm[name] == old[name], name
    stats_csv = next(body for name, body in cold.items() if "_stats_" in name)
    assert stats_csv.count(b"\n") > 100  # the statistics are there, not an empty table


HOSTILE = ["=SUM(A1)", "#N/A", "+1", "bare\rreturn"]


def test_hostile_text_reads_back_from_the_workbook_as_the_old_one_did(people):
    study = build_small_study(people)
    animals = Animal.objects.filter(study=study).order_by("code")
    for animal, text in zip(animals[: len(HOSTILE)], HOSTILE, strict=True):
        Animal.objects.filter(pk=animal.pk).update(cage=text)
    export = exports.StudyExport(study)
    new, old = io.BytesIO(), io.BytesIO()
    export.write_workbook(new)
    _old_workbook.write_workbook(export, old)
    written = cells(new.getvalue())
    assert written == cells(old.getvalue())
    cages = {row[11][0] for row in written["stimuli"][1:]}
    # guarded as in the CSV files; an error value's text stays text; a line end as XML keeps it
    assert {"'=SUM(A1)", "#N/A", "'+1", "bare\nreturn"} <= cages
    assert all(row[11][1] == "str" for row in written["stimuli"][1:])


# Not "_x0041_": XlsxWriter writes Excel's escape of it, _x005F_x0041_, which openpyxl
# (the old path, and this test's reader) reads as written (tests/analysis/test_sheet_xml.py).
NOTES = [*HOSTILE, "<r>rich?</r>", " lead", "trail ", "a\x01b", "&<>", "ünï ✓"]


def test_each_row_written_once_is_the_same_in_its_csv_member_and_its_sheet(people):
    """The package writes each table's rows once, to its CSV member and its sheet side
    by side (the stimuli CSV from COPY on PostgreSQL): every member is the old path's,
    which made them twice, hostile notes and cages included."""
    study = build_small_study(people)
    animals = Animal.objects.filter(study=study).order_by("code")
    for animal, text in zip(animals[: len(HOSTILE)], HOSTILE, strict=True):
        Animal.objects.filter(pk=animal.pk).update(cage=text)
    stimuli = Stimulus.objects.filter(session__animal__study=study).order_by("pk")
    for stimulus, text in zip(stimuli, NOTES, strict=False):
        Stimulus.objects.filter(pk=stimulus.pk).update(note=text)
    new = members(new_package(study))
    old = members(old_package(study))
    assert set(new) == set(old) and len(new) == 15
    for name in old:
        assert new[name] == old[name], name
    (book,) = (cells for name, cells in new.items() if name.endswith(".xlsx"))
    (csv_stimuli,) = (body for name, body in new.items() if "_stimuli_" in name)
    note = exports.STIMULI_COLUMNS.index("note")
    in_sheet = {row[note][0] for row in book["stimuli"][1:] if len(row) > note}
    assert {"'=SUM(A1)", "<r>rich?</r>", " lead", "a\ufffdb", "&<>"} <= in_sheet
    assert b"'=SUM(A1)" in csv_stimuli and b"<r>rich?</r>" in csv_stimuli
