"""Reading the table: bytes in, a header and rows of text out.

Decodes CSV (UTF-8 with or without a byte-order mark, Windows-1252 / Latin-1, UTF-16
"Unicode text"; comma, semicolon or tab; Excel's "sep=" line) and reads one sheet of an
.xlsx workbook. Each value is stripped of spaces and of our exports' formula guard
(`analysis.safe_cells.unguard`), so an export imported again is the same data. Rows keep
their physical line number (header = line 1) for every later message.

Must not interpret values (numbers, codes, filaments: `parsing`) or touch the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass

from analysis.safe_cells import unguard
from sessions.importing.result import Problem


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    encoding: str
    delimiter: str
    data_lines: int = 0
    decimal_comma: bool = False


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 with byte-order mark"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1), not UTF-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO-8859-1), not UTF-8"


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().strip("\ufeff").strip().lower())


SAVE_AS = "save it from Excel as CSV UTF-8 (Comma delimited) or as an Excel workbook (.xlsx)"
XLSX = "Excel workbook (.xlsx)"


def _not_a_table(data: bytes) -> str | None:
    """What kind of file this is when it is neither text nor an .xlsx workbook: the first
    bytes name most formats labs send (old Excel, OpenDocument, PDF, Word, images)."""
    head = data[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an Excel 97-2003 workbook (.xls) or another old Office file"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        if b"opendocument.spreadsheet" in data[:200]:
            return "an OpenDocument spreadsheet (.ods)"
        return "a ZIP archive or Office file that is not an .xlsx workbook"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "an image"
    return None


def _xlsx_text(value) -> str:
    """One workbook cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(
    data: bytes, sheet: str | None
) -> tuple[list[tuple[int, list[str]]] | None, str, list[Problem]]:
    """The rows of one sheet (the first, or `sheet`) with their row numbers, and which
    sheet was read."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 (openpyxl raises many kinds for a damaged file)
        return None, "", [Problem(None, "", f"this .xlsx workbook cannot be read; {SAVE_AS}")]
    try:
        names = book.sheetnames
        if sheet:
            if sheet not in names:
                listing = ", ".join(f"'{n}'" for n in names)
                return (
                    None,
                    "",
                    [Problem(None, "", f"no sheet '{sheet}' in the workbook (sheets: {listing})")],
                )
            chosen = sheet
        else:
            chosen = names[0]
        rows = [
            (number, [_xlsx_text(v) for v in values])
            for number, values in enumerate(book[chosen].iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    where = f"sheet '{chosen}'"
    if not sheet and len(names) > 1:
        where += f", the first of {len(names)}: {', '.join(names)}"
    return rows, where, []


def read_table(
    *, data: bytes, max_bytes: int | None = None, sheet: str | None = None
) -> tuple[Table | None, list[Problem]]:
    """Decode and split a CSV (or UTF-16 "Unicode text") file or one sheet of an .xlsx
    workbook; rows carry their physical line number (a workbook's row number).

    Refuses an empty file, a file with only a header, a file over `max_bytes`, repeated
    column names, rows with more or fewer values than the header, and any other kind of
    file (with what to save it as). Each value is stripped of spaces and of the export's
    formula guard (`safe_cells.unguard`).
    """
    if max_bytes is not None and len(data) > max_bytes:
        return None, [size_problem(len(data), max_bytes)]
    if _is_xlsx(data):
        records, where, problems = _read_xlsx(data, sheet)
        if records is None:
            return None, problems
        return _build_table(records, f"{XLSX}, {where}", "", skip_line=0)
    kind = _not_a_table(data)
    if kind:
        return None, [Problem(None, "", f"this is {kind}, not a table the import reads: {SAVE_AS}")]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode("utf-16"), "UTF-16 (Excel's Unicode text)"
        except UnicodeDecodeError:
            return None, [Problem(None, "", f"this UTF-16 text cannot be decoded; {SAVE_AS}")]
    else:
        text, encoding = _decode(data)
    if "\x00" in text:
        return None, [
            Problem(None, "", f"this is not a text CSV file (it contains NUL bytes): {SAVE_AS}")
        ]
    if not text.strip().strip(",;\t\r\n "):
        return None, [Problem(1, "", "the file is empty")]
    lines = text.splitlines()
    header_index = next(i for i, line in enumerate(lines) if line.strip().strip(",;\t"))
    first = lines[header_index].strip()
    skip_line = 0
    if first.lower().startswith("sep=") and len(first) == 5:
        # Excel's "sep=;" hint line names the separator; the header follows it.
        delimiter, skip_line = first[4], header_index + 1
    else:
        delimiter = _sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            records.append((start, values))
    except csv.Error as error:
        table, problems = _build_table(records, encoding, delimiter, skip_line=skip_line)
        problem = Problem(reader.line_num, "", f"the file cannot be read as CSV: {error}")
        if table is None:
            return None, [problem]
        return table, [*problems, problem]
    return _build_table(records, encoding, delimiter, skip_line=skip_line)


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _build_table(
    records: list[tuple[int, list[str]]], encoding: str, delimiter: str, *, skip_line: int
) -> tuple[Table | None, list[Problem]]:
    header: list[str] | None = None
    header_line = 0
    data_lines = 0
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    for start, values in records:
        if not any(v.strip() for v in values) or start == skip_line:
            continue  # a stray blank line, one of only separators, or "sep=;"
        if header is None:
            header, header_line = [_column_name(v) for v in values], start
            while header and not header[-1]:
                header.pop()  # Excel's trailing separators (or empty cells)
            repeated = [c for c, n in Counter(header).items() if n > 1 and c]
            for name in repeated:
                problems.append(Problem(start, name, "the column appears more than once"))
            if "" in header:
                position = header.index("") + 1
                problems.append(Problem(start, "", f"column {position} has no name"))
            continue
        data_lines += 1
        extra = values[len(header) :]
        if len(values) < len(header) and delimiter == "":
            values = values + [""] * (len(header) - len(values))  # a sheet's empty cells
        if len(values) < len(header) or any(v.strip() for v in extra):
            problems.append(
                Problem(
                    start,
                    "",
                    f"{len(_trim(values))} values but the header has {len(header)} columns",
                )
            )
            continue
        rows.append((start, {name: unguard(values[i].strip()) for i, name in enumerate(header)}))
    if header is None:
        return None, [Problem(1, "", "the file is empty")]
    if not rows and not problems:
        problems.append(Problem(header_line, "", "the file has a header row but no data rows"))
    table = Table(
        header=header, rows=rows, encoding=encoding, delimiter=delimiter, data_lines=data_lines
    )
    return table, problems


def _trim(values: list[str]) -> list[str]:
    values = list(values)
    while values and not values[-1].strip():
        values.pop()
    return values


def size_problem(size: int, limit: int) -> Problem:
    """The error for a file over the upload limit (settings.LABSTUDY_MAX_UPLOAD_BYTES)."""
    return Problem(
        None,
        "",
        f"the file is {_bytes(size)}, over the upload limit of {_bytes(limit)} "
        "(LABSTUDY_MAX_UPLOAD_BYTES); split it, or use the import_study command",
    )


def _bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} kB"
    return f"{n} bytes"
