"""The publication files as analysis.exports wrote them before, kept for the benchmarks
and the tests only: the workbook before issue 17 (openpyxl, write-only mode), the
baseline `bench_publication.py` measures today's path against and the test that both
hold the same cell values; the package as it was before its rows were shared between
the CSV members and the workbook (`write_package`); and the workbook as XlsxWriter wrote
it a cell at a time (`CellByCell`), the reference the test compares today's worksheet
XML with."""

from __future__ import annotations

import io
import math
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from typing import IO

from analysis import exports


def _excel_row(sheet, row: Iterable) -> list:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    cells = []
    for value in row:
        value = exports.excel_cell(value)
        if isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            value = cell
        cells.append(value)
    return cells


def write_workbook(export: exports.StudyExport, target: IO[bytes]) -> None:
    """`StudyExport.write_workbook` as it was: one sheet per table, via openpyxl."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    about = book.create_sheet("README")
    for line in export.readme_text().splitlines():
        about.append(_excel_row(about, [line]))
    methods = book.create_sheet("methods")
    for line in export.methods_text().splitlines():
        methods.append(_excel_row(methods, [line]))
    for spec in exports.TABLES:
        sheet = book.create_sheet(spec.key)
        header = export.header(spec.key)
        written = 0
        if header is not None:
            sheet.append(_excel_row(sheet, header))
            written = 1
        rows = export.rows(spec.key)
        for row in rows:
            if written >= exports.EXCEL_MAX_ROWS - 1:
                more = 1 + sum(1 for _ in rows)
                sheet.append([f"… {more} more rows: Excel's row limit; see the CSV file"])
                break
            sheet.append(_excel_row(sheet, row))
            written += 1
    book.save(target)


def write_package(
    export: exports.StudyExport, target: IO[bytes], *, workbook: Callable = write_workbook
) -> list[str]:
    """`StudyExport.write_package` as it was before the rows were shared: every table's
    CSV member from its own pass over the rows, then the workbook from another pass
    (`workbook(export, file)`: openpyxl's before issue 17, `write_workbook_cell_by_cell`
    after it), every member deflated."""
    folder = export.stem
    names = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for spec in exports.TABLES:
            name = export.file_name(spec.key)
            with archive.open(exports._entry(f"{folder}/{name}"), "w") as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                export.write_csv(spec.key, text)
                text.flush()
                text.detach()
            names.append(name)
        with tempfile.TemporaryFile() as book:
            workbook(export, book)
            book.seek(0)
            name = export.file_name("tables", "xlsx")
            with archive.open(exports._entry(f"{folder}/{name}"), "w") as raw:
                shutil.copyfileobj(book, raw)
            names.append(name)
        methods = export.file_name("methods", "txt")
        archive.writestr(exports._entry(f"{folder}/{methods}"), export.methods_text())
        names.append(methods)
        archive.writestr(exports._entry(f"{folder}/README.txt"), export.readme_text(files=names))
        names.insert(0, "README.txt")
    return [f"{folder}/{name}" for name in names]


class CellByCell:
    """A worksheet written through XlsxWriter's public calls, a cell at a time
    (`write_string`, `write_number`, ...): how `analysis.exports` wrote its workbook
    from issue 17 until its rows were written as XML (`exports._SheetWriter`). The
    baseline of that change in the benchmark, and the reference its test compares the
    worksheet XML with, byte for byte."""

    def __init__(self, book, name: str, formats: dict, texts: dict[str, str]):
        self.sheet = book.add_worksheet(name)
        self.formats = formats
        self.texts = texts  # shared by the workbook's sheets: text -> the text written
        self.row = 0

    def _text(self, value: str) -> str:
        written = self.texts.get(value)
        if written is None:
            written = exports.excel_cell(value).replace("\r\n", "\n").replace("\r", "\n")
            if len(value) <= 64 and len(self.texts) < 100_000:
                self.texts[value] = written
        return written

    def append(self, values: Iterable) -> None:
        sheet, row = self.sheet, self.row
        for col, value in enumerate(values):
            kind = type(value)
            if kind is str:
                if value:
                    text = self._text(value)
                    if text:
                        sheet.write_string(row, col, text)
                continue
            if kind is int or (kind is float and math.isfinite(value)):
                sheet.write_number(row, col, value)
                continue
            value = exports.excel_cell(value)
            if isinstance(value, float) and math.isinf(value):
                value = exports.csv_cell(value)
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(row, col, self._text(value))
            elif isinstance(value, bool):
                sheet.write_boolean(row, col, value)
            elif isinstance(value, (int, float)):
                sheet.write_number(row, col, value)
            else:
                kind = next(k for k, _ in exports._DATE_FORMATS if isinstance(value, k))
                sheet.write_datetime(row, col, value, self.formats[kind])
        self.row += 1


def write_workbook_cell_by_cell(export: exports.StudyExport, target: IO[bytes]) -> None:
    """The workbook as XlsxWriter wrote it a cell at a time (`CellByCell`)."""
    import xlsxwriter

    options = {
        "constant_memory": True,
        "tmpdir": tempfile.gettempdir(),
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    book = xlsxwriter.Workbook(target, options)
    formats = {kind: book.add_format({"num_format": f}) for kind, f in exports._DATE_FORMATS}
    texts: dict[str, str] = {}
    about = CellByCell(book, "README", formats, texts)
    for line in export.readme_text().splitlines():
        about.append([line])
    methods = CellByCell(book, "methods", formats, texts)
    for line in export.methods_text().splitlines():
        methods.append([line])
    for spec in exports.TABLES:
        sheet = CellByCell(book, spec.key, formats, texts)
        header = export.header(spec.key)
        if header is not None:
            sheet.append(header)
        rows = export.rows(spec.key)
        for row in rows:
            if sheet.row >= exports.EXCEL_MAX_ROWS - 1:
                more = 1 + sum(1 for _ in rows)
                sheet.append([f"… {more} more rows: Excel's row limit; see the CSV file"])
                break
            sheet.append(row)
    book.close()
