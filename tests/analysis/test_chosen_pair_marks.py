"""The study's chosen comparison (DESIGN.md: the paper marks "T7 vs T4") is drawn on the
demo study's charts: a ‡ at T7 for each group whose T7 vs T4 row of the statistics table
(Nemenyi after Friedman, role "chosen pair") is below alpha, and nowhere else.

The statistics table and the chart are read from the page a user gets, so the test
checks that the two agree, not what our functions return.
"""

import json
import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from front.demo import DEMO_SLUG

LEGEND = "‡ p < 0.05, ‡‡ p < 0.01, ‡‡‡ p < 0.001 T7 vs T4 (Nemenyi after Friedman)"


@pytest.fixture
def demo_pages(client, demo_study):
    client.force_login(get_user_model().objects.get(username="investigator"))
    return {
        name: client.get(reverse(name, args=[DEMO_SLUG])).content.decode()
        for name in ("dashboard", "dashboard_figure")
    }


def chart(html: str, block_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', html)
    return json.loads(match.group(1))


def chosen_pair_rows(tab: str) -> dict[str, float | None]:
    """Group -> adjusted p of its T7 vs T4 row (None where Nemenyi did not run)."""
    found = {}
    for row in re.finditer(r"<tr([^>]*)>(.*?)</tr>", tab, re.S):
        attrs, body = row.groups()
        if 'data-test="nemenyi_friedman"' not in attrs or "chosen pair" not in body:
            continue
        assert 'data-a="T7" data-b="T4"' in attrs
        group = re.search(r'data-group="([^"]+)"', attrs).group(1)
        cell = re.search(r'data-col="p_adj">(.*?)</td>', body, re.S).group(1)
        # "0.0115 single-step": the adjusted p, then how its family was adjusted
        p_adj, how = unescape(re.sub(r"<[^>]+>", "", cell)).split()
        assert how == "single-step"
        found[group] = float(p_adj)
        assert ("stats-significant" in attrs) == (found[group] < 0.05)
    return found


def pair_marks(figure: dict) -> dict[str, dict[float, str]]:
    """Group -> {day: the ‡ symbols drawn there}."""
    out = {}
    for trace in figure["data"]:
        if trace["meta"] == "marks":
            group = trace["legendgroup"]
            out[group] = {
                x: "".join(ch for ch in text if ch == "‡")
                for x, text in zip(trace["x"], trace["text"], strict=True)
            }
    return out


@pytest.mark.parametrize("measure", ["threshold", "mpe"])
def test_chosen_pair_mark_follows_the_statistics_table(demo_pages, measure):
    html = demo_pages["dashboard"]
    tab = html.split(f'id="statistics-{measure}"')[1].split('id="statistics-')[0]
    rows = chosen_pair_rows(tab)
    marks = pair_marks(chart(html, f"{measure}-data"))
    assert set(marks) == {"control", "K5", "K10"}
    t7_day = 56.0
    for group, days in marks.items():
        p = rows.get(group)  # no row: Friedman not significant, so no Nemenyi, no mark
        expected = "" if p is None else "‡" * sum(p < level for level in (0.05, 0.01, 0.001))
        assert days[t7_day] == expected, (group, p)
        assert not any(days[d] for d in days if d != t7_day), group
    if measure == "threshold":
        # the demo has both cases, so neither half of the check is empty
        assert any(days[t7_day] for days in marks.values())
        assert not all(days[t7_day] for days in marks.values())


def test_legend_names_the_chosen_pair_on_the_dashboard_and_figure(demo_pages):
    legend = unescape(
        re.search(r'<p[^>]*id="marks-legend">(.*?)</p>', demo_pages["dashboard"], re.S).group(1)
    )
    assert LEGEND in legend
    figure = unescape(demo_pages["dashboard_figure"])
    assert figure.count(LEGEND) == 2  # under the threshold and the %MPE figure
    assert "‡" in "".join(
        text
        for trace in chart(demo_pages["dashboard_figure"], "figure-threshold-data")["data"]
        if trace["meta"] == "marks"
        for text in trace["text"]
    )
