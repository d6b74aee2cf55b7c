"""The workbook's rows written as XML (`exports._SheetWriter`) are the bytes XlsxWriter
writes through its own cell calls (`bench._old_workbook.CellByCell`, the path before),
for every kind of cell the exports hold, hostile text included; this pins the pinned
XlsxWriter's internals the writer relies on (its row files, its dimensions, its escapes).
One difference on purpose: a text that looks like XlsxWriter's rich string (``<r>…</r>``)
is text, where XlsxWriter's constant_memory mode wrote it as raw XML and broke the file."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import xlsxwriter
from openpyxl import load_workbook

from analysis import exports
from bench import _old_workbook

HOSTILE_TEXT = [
    "=SUM(A1)", "+1", "-2", "@cmd", "\tlead tab", "\rlead return", "'=quoted", "#N/A",
    "bare\rreturn", "windows\r\nline", "unix\nline", "x\n", " lead", "trail ", "\u00a0nbsp",
    "_x0041_", "a\x01b\x1fc", "non\ufffechar\uffff", "&<>\"'", "ünïcödé ✓ 😀",
    "http://example.com/?a=1&b=2", "1e5", "0042", "TRUE", "R1", "<b>tag</b>", "x" * 65,
]  # fmt: skip
ZONE = ZoneInfo("Europe/Prague")
OTHER = [
    None, "", float("nan"), float("inf"), float("-inf"), 0, -0.0, 1 / 3, 1e-300, 2.5e300,
    10**20, -7, True, False, np.float64(2.5), np.int64(7), np.bool_(True), Decimal("1.10"),
    pd.NA, pd.NaT, dt.date(2026, 3, 1), dt.datetime(2026, 3, 1, 9, 30, 15),
    dt.datetime(2026, 7, 1, 23, 59, 59, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=ZONE),
    dt.time(8, 5, 3), dt.timedelta(hours=30, minutes=1),
]  # fmt: skip
ROWS = [
    ["animal", "group", "note"],
    HOSTILE_TEXT,
    OTHER,
    (),  # a blank row: no <row> element, the next row keeps its number
    [None, None, "third column first"],
    ["wide"] + list(range(1, 300)),  # beyond the columns named up front (AA, KN, ...)
    ["😀" * 17_000],  # 34,000 UTF-16 units: truncated at Excel's 32,767
    ["x"] * 16_390,  # beyond Excel's last column (XFD): left out
    [f"row {i}" for i in range(5)] * 2,  # texts met before: their XML from the cache
    HOSTILE_TEXT[::-1],
]


def book_bytes(writer_class, rows) -> bytes:
    target = io.BytesIO()
    book = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    formats = {kind: book.add_format({"num_format": f}) for kind, f in exports._DATE_FORMATS}
    texts: dict[str, str] = {}
    first = writer_class(book, "one", formats, texts)
    second = writer_class(book, "two", formats, texts)
    for row in rows:  # two sheets written side by side, as the package writes them
        first.append(row)
        second.append(list(reversed(row)))
    writer_class(book, "empty", formats, texts)
    book.close()
    return target.getvalue()


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name != "docProps/core.xml"  # the time of writing
        }


@pytest.fixture
def prague(settings):
    settings.TIME_ZONE = "Europe/Prague"


def test_rows_as_xml_are_the_bytes_xlsxwriter_writes_cell_by_cell(prague):
    fast = parts(book_bytes(exports._SheetWriter, ROWS))
    reference = parts(book_bytes(_old_workbook.CellByCell, ROWS))
    assert set(fast) == set(reference)
    for name in reference:
        assert fast[name] == reference[name], name
    sheet = fast["xl/worksheets/sheet1.xml"].decode()
    assert '<dimension ref="A1:XFD10"/>' in sheet and '<row r="5">' in sheet
    assert '<row r="4">' not in sheet  # the blank row
    assert "_x005F_x0041_" in sheet and "&amp;&lt;&gt;" in sheet and "a_x0001_b" not in sheet


def test_the_rows_read_back_as_typed_cells(prague):
    book = load_workbook(io.BytesIO(book_bytes(exports._SheetWriter, ROWS)))
    sheet = book["one"]
    row = sheet[2][: len(HOSTILE_TEXT)]  # the sheet is XFD wide: the cells after are blank
    texts = [cell.value for cell in row]
    assert texts[:8] == ["'=SUM(A1)", "'+1", "'-2", "'@cmd", "'\tlead tab", "'\nlead return",
                         "''=quoted", "#N/A"]  # fmt: skip
    assert all(cell.data_type == "s" for cell in row)
    assert texts[8:12] == ["bare\nreturn", "windows\nline", "unix\nline", "x\n"]
    assert texts[12:14] == [" lead", "trail "]
    # Excel's escape of a literal "_x0041_" (which Excel reads as "_x0041_", not "A");
    # openpyxl reads the escape as written.
    assert texts[15] == "_x005F_x0041_"
    assert texts[16] == "a\ufffdb\ufffdc" and texts[19] == "ünïcödé ✓ 😀"
    other = [cell.value for cell in sheet[3][: len(OTHER)]]
    # None, "", NaN left blank; infinity as text (guarded, as text starting with -);
    # numbers and booleans typed
    assert other[:13] == [None, None, None, "inf", "'-inf", 0, 0, 1 / 3, 1e-300, 2.5e300, 1e20,
                          -7, True]  # fmt: skip
    assert other[13:20] == [False, 2.5, 7, True, 1.1, None, None]
    assert other[20:] == [
        dt.datetime(2026, 3, 1),
        dt.datetime(2026, 3, 1, 9, 30, 15),
        dt.datetime(2026, 7, 2, 1, 59, 59),  # UTC 23:59:59 is 01:59:59 in Prague (summer)
        dt.datetime(2026, 1, 1),
        dt.time(8, 5, 3),
        dt.timedelta(hours=30, minutes=1),
    ]
    formats = [cell.number_format for cell in sheet[3][20 : len(OTHER)]]
    assert formats == ["yyyy-mm-dd", "yyyy-mm-dd h:mm:ss", "yyyy-mm-dd h:mm:ss",
                       "yyyy-mm-dd h:mm:ss", "h:mm:ss", "[hh]:mm:ss"]  # fmt: skip
    assert [cell.value for cell in sheet[5][:4]] == [None, None, "third column first", None]
    assert len(sheet.cell(7, 1).value.encode("utf-16-le")) // 2 == 32_766  # no half emoji
    assert sheet.max_column == 16_384


def test_text_that_looks_like_a_rich_string_stays_text(prague):
    """XlsxWriter's constant_memory mode writes '<r>…</r>' unescaped: a technician's note
    such as '<r>x</r></is></c>' made the whole workbook unreadable."""
    notes = ["<r>bold</r>", "<r>x</r></is></c><c><v>5</v></c><r>y</r>", "<r><t>z</t></r>"]
    data = book_bytes(exports._SheetWriter, [notes])
    book = load_workbook(io.BytesIO(data))
    assert [cell.value for cell in book["one"][1]] == notes
    assert [cell.value for cell in book["two"][1]] == notes[::-1]
