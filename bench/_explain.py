"""EXPLAIN (ANALYZE, BUFFERS) of the queries a page or a benchmark runs, on PostgreSQL.

`capture()` records the SQL a block runs; `plans()` explains every SELECT of it again
and returns a compact plan per query (node types, relations, indexes, actual rows, the
execution time) for RESULTS.md. Writes are never explained (ANALYZE would run them).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

_DETAILS = re.compile(r"\s*\((?:cost|actual)[^)]*\)")
_ACTUAL_ROWS = re.compile(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)")
_TABLE = re.compile(r'FROM\s+"?(\w+)"?', re.I)


@dataclass(frozen=True)
class Plan:
    label: str
    sql: str
    nodes: list[str]
    execution_ms: float

    def seq_scans(self, tables: tuple[str, ...]) -> list[str]:
        """Which of `tables` this plan reads whole (a missing index for a small study)."""
        return [t for t in tables if any(f"Seq Scan on {t} " in n + " " for n in self.nodes)]

    def markdown(self) -> str:
        body = "\n".join(self.nodes)
        return f"{self.label} — {self.execution_ms:.1f} ms\n```\n{body}\n```"


@contextmanager
def capture():
    """The SQL run inside the block: `with capture() as queries: ...; queries.sql`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        yield captured


def selects(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
    ]


def explain(sql: str, label: str = "") -> Plan:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)  # a SELECT ... FOR UPDATE keeps nothing locked
    nodes, execution = [], 0.0
    for line in lines:
        if line.startswith("Execution Time"):
            execution = float(line.split(":")[1].split()[0])
        elif "->" in line or (not nodes and "(cost=" in line):
            rows = _ACTUAL_ROWS.search(line)
            text = _DETAILS.sub("", line).rstrip()
            if rows:
                loops = int(rows.group(2))
                text += f"  (rows={rows.group(1)}" + (f" x{loops}" if loops > 1 else "") + ")"
            nodes.append(text)
        elif line.strip().startswith(("Index Cond", "Filter", "Hash Cond", "Sort Key")):
            if nodes:
                nodes.append(line.rstrip())
    return Plan(label or describe(sql), sql, nodes, execution)


def describe(sql: str) -> str:
    match = _TABLE.search(sql)
    return f"SELECT from {match.group(1)}" if match else sql[:60]


def queryset_sql(queryset) -> str:
    """The SQL of a queryset with its parameters bound, ready to EXPLAIN."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    return connection.ops.compose_sql(sql, params)


def details_block(title: str, plans: list[Plan]) -> list[str]:
    """A folded block of plans for a RESULTS.md section."""
    out = [f"<details><summary>{title}</summary>", ""]
    for plan in plans:
        out += [plan.markdown(), ""]
    out.append("</details>")
    return out


# The tables that grow with a facility's data: reading one of them whole (once it holds
# thousands of rows) to answer for one small study means an index is missing.
LARGE_TABLES = (
    "vf_sessions_stimulus",
    "vf_sessions_testsession",
    "vf_sessions_historicalstimulus",
    "animals_animal",
    "animals_doseadministration",
    "animals_bodyweight",
    "animals_observation",
)


LARGE_ROWS = 5000  # below this a sequential read is as cheap as an index, and PostgreSQL knows


def seq_scan_report(plans: list[Plan]) -> list[str]:
    """ "table (query)" for every whole-table read of a large table in `plans`."""
    from django.db import connection

    large = []
    with connection.cursor() as cursor:
        for table in LARGE_TABLES:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            if cursor.fetchone()[0] >= LARGE_ROWS:
                large.append(table)
    return [f"{t} ({p.label})" for p in plans for t in p.seq_scans(tuple(large))]
