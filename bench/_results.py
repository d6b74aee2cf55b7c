"""The shared table of bench/RESULTS.md: one section per benchmark script.

Every row has the same columns: metric, value, baseline, ratio, database, date. The
baseline is measured in the same run as the value (the machines are shared and noisy,
so the ratio is what a target is judged by; absolute figures are context). A script
replaces only its own section ("## <name>") and leaves the others as they are.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADER = "| metric | value | baseline | ratio | database | date |\n|---|---|---|---|---|---|"
TITLE = "# Benchmarks"
PREAMBLE = (
    "Written by `make bench` (`bench/run_all.py`); each script replaces its own section. "
    "Every value is compared with a baseline measured in the same run, on a shared and "
    "noisy 2-core machine: judge by the ratio, read the absolute figures as context."
)


@dataclass(frozen=True)
class Row:
    metric: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    database: str = "—"
    date: str = ""

    def markdown(self) -> str:
        date = self.date or dt.date.today().isoformat()
        cells = (self.metric, self.value, self.baseline, self.ratio, self.database, date)
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def fmt(value: float, digits: int = 3) -> str:
    """A figure with `digits` significant digits, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def ratio(value: float, baseline: float, *, target: str = "", ok: bool | None = None) -> str:
    """The ratio "1.62×", with the verdict when a target applies: "1.62× (≤ 2×: pass)"."""
    text = f"{fmt(value / baseline)}×" if baseline else "—"
    if target:
        verdict = "pass" if ok else "MISS"
        text += f" ({target}: {verdict})"
    return text


def verdict(ok: bool, target: str) -> str:
    return f"{target}: {'pass' if ok else 'MISS'}"


def table(rows: list[Row]) -> str:
    return "\n".join([HEADER, *(r.markdown() for r in rows)])


def environment() -> str:
    """The interpreter and how busy the shared machine was (other jobs included)."""
    load = os.getloadavg()[0]
    return (
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} when the section was written"
    )


def merge_section(path: Path, name: str, rows: list[Row], notes: list[str]) -> None:
    """Replace (or append) the section "## `name`" of `path` with `notes` and the table."""
    heading = f"## {name}"
    body = "\n".join([heading, "", *notes, "", table(rows), ""])
    text = path.read_text() if path.exists() else f"{TITLE}\n\n{PREAMBLE}\n"
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line == heading), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        rest = "\n".join(lines[end:])
        text = "\n".join(lines[:start]) + "\n" + body + ("\n" + rest if rest else "")
    path.write_text(text.rstrip("\n") + "\n")


def report(args, name: str, rows: list[Row], notes: list[str]) -> None:
    """Print the table; merge it into the results file unless --no-write."""
    print(table(rows), flush=True)
    if not getattr(args, "no_write", False):
        merge_section(args.results, name, rows, notes)
        print(f"(section '{name}' written to {args.results})", flush=True)


def add_output_options(parser) -> None:
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="results file (default bench/RESULTS.md)"
    )
    parser.add_argument("--no-write", action="store_true", help="print the table only")


SUMMARY = "## Summary"


def write_summary(path: Path) -> None:
    """Put "## Summary" (every row with a target, from every section) after the preamble."""
    text = path.read_text()
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line == SUMMARY), None)
    if start is not None:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines = lines[:start] + lines[end:]
    section, found = "", []
    for line in lines:
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| ") and (": pass" in line or ": MISS" in line):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            found.append(f"| {section} | " + " | ".join(cells[:4]) + " |")
    if not found:
        return
    block = [
        SUMMARY,
        "",
        "Every target of issue 9, from the sections below (value, baseline and ratio as "
        "measured in that section's run). The whole-table-read rows come from the EXPLAIN "
        "(ANALYZE, BUFFERS) plans in the sections: a table of the facility's size read whole "
        "to answer for one small study would mean a missing index.",
        "",
        "| benchmark | metric | value | baseline | ratio and verdict |",
        "|---|---|---|---|---|",
        *found,
        "",
    ]
    if PREAMBLE not in "\n".join(lines):
        lines = [TITLE, "", PREAMBLE, ""] + [line for line in lines if line != TITLE]
    first = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    head = lines[:first]
    while head and not head[-1]:
        head.pop()
    lines = [*head, "", *block, *lines[first:]]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
