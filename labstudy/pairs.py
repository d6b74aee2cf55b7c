"""Chosen timepoint comparisons ("T7-T4, T5-T1"): the one reading of that text, used by
the study model (its check and `chosen_pairs`), the settings form and the import.

A pair is two different timepoint labels joined by a dash, later first ("T7-T4": the
reference paper compares T7 with T4); pairs are separated by commas, and an empty item
(a trailing comma) is nothing. The first dash splits a pair, so a label may itself hold a
dash on the right ("T7-Pre-op"). A dash pasted from a paper or a word processor (en dash,
minus sign, ...) reads as the hyphen: "T7–T4" is T7-T4.

Pure Python, no database: whether a label is one of the study's timepoints is the
caller's question (`unknown_pair_timepoints` takes the labels known).
"""

from __future__ import annotations

from dataclasses import dataclass

from labstudy.validators import shown

PAIR_EXAMPLE = "T7-T4"
# Dashes that are not the hyphen-minus but mean it here: hyphen, non-breaking hyphen,
# figure dash, en dash, em dash, minus sign, small and fullwidth hyphen-minus.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d", "-"))
QUOTE_MAX_CHARS = 40  # a bad item is quoted this long at most ("T7T4T4T4…")


@dataclass(frozen=True)
class ParsedPairs:
    pairs: list[tuple[str, str]]  # (later, earlier) labels, in the order written
    bad: list[str]  # the items that are not a pair like T7-T4, stripped, in order

    @property
    def text(self) -> str:
        """The pairs as stored: "T7-T4,T5-T1"."""
        return ",".join(f"{a}-{b}" for a, b in self.pairs)


def normalized(text: str) -> str:
    """`text` with every dash that means the hyphen written as "-"."""
    return (text or "").translate(_DASHES)


def parse_pairs(text: str) -> ParsedPairs:
    """`text` ("T7-T4, T5-T1") as pairs [("T7", "T4"), ("T5", "T1")] and the items that
    are not pairs ("T3", "T7-", "-T4", "T7-T7"); labels are not checked here."""
    pairs: list[tuple[str, str]] = []
    bad: list[str] = []
    for item in normalized(text).split(","):
        item = item.strip()
        if not item:
            continue
        a, dash, b = item.partition("-")
        a, b = a.strip(), b.strip()
        if dash and a and b and a != b:
            pairs.append((a, b))
        else:
            bad.append(item)
    return ParsedPairs(pairs, bad)


def quoted(item: str) -> str:
    """`item` as a message quotes it: invisible characters shown, and cut to
    QUOTE_MAX_CHARS with "…" (a pasted page is not echoed whole)."""
    if len(item) > QUOTE_MAX_CHARS:
        item = item[:QUOTE_MAX_CHARS] + "…"
    return shown(item)


def bad_pair_message(item: str, *, noun: str = "pair") -> str:
    """ "'T3' is not a pair like T7-T4" (the import says "timepoint pair")."""
    return f"'{quoted(item)}' is not a {noun} like {PAIR_EXAMPLE}"


def unknown_pair_timepoints(pairs: str, known: set[str]) -> list[tuple[str, list[str]]]:
    """Each pair of `pairs` ("T7-T4,T9-T4") naming a timepoint not in `known`, with the
    labels missing. The import and the settings page both refuse such a pair (one rule,
    one home); an item that is not a pair is `parse_pairs`'s `bad`."""
    found = []
    for a, b in parse_pairs(pairs).pairs:
        missing = [label for label in (a, b) if label not in known]
        if missing:
            found.append((f"{a}-{b}", missing))
    return found
