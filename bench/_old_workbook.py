"""The workbook as analysis.exports wrote it before issue 17 (openpyxl, write-only mode):
kept for the benchmarks only, as the baseline `bench_publication.py` measures the
XlsxWriter path against, and for the test that both hold the same cell values."""

from __future__ import annotations

from collections.abc import Iterable
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
