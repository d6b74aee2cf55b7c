"""%MPE where it cannot be computed: the frame, the dashboard and the thresholds export
say which animal was left out and why.

Hand-made study (reference template, first-response target force, cut-off 300 g); each
rat withdraws from every filament at or above the force given (`series_to`):

    control  A1  T0 2.0   T1 4.0
             A2  T0 never (300 g = the cut-off)   T1 26
             A3  (no T0 session)                   T1 8.0
    K10      B1  T0 1.0   T1 10

%MPE = (post - baseline) / (300 - baseline) x 100 (Kim et al. 2022, Physiol Res, as in
DESIGN.md): A2 has no room for an effect (baseline at the cut-off), A3
has no baseline: both are left out of %MPE but keep their thresholds.
"""

import math
import re
from html import unescape

import pytest
from django.urls import reverse

from analysis import frames
from tests.worlds import NEVER, add_animals, as_dicts, export_text, record, series_to

TARGETS = {
    "A1": ("control", {"T0": 2.0, "T1": 4.0}),
    "A2": ("control", {"T0": NEVER, "T1": 26.0}),
    "A3": ("control", {"T1": 8.0}),
    "B1": ("K10", {"T0": 1.0, "T1": 10.0}),
}
AT_CUTOFF = "baseline equals the cut-off (300 g): no room for an effect, %MPE is undefined"


@pytest.fixture
def cutoff_study(study):
    animals = add_animals(study, {code: group for code, (group, _) in TARGETS.items()})
    tp = {t.label: t for t in study.timepoints.all()}
    for code, (_, values) in TARGETS.items():
        for label, target in values.items():
            record(animals[code], tp[label], series_to(target))
    return study


def row(frame, animal, timepoint):
    match = frame[(frame["animal"] == animal) & (frame["timepoint"] == timepoint)]
    assert len(match) == 1
    return match.iloc[0]


@pytest.mark.django_db
def test_session_frame_says_why_mpe_is_empty(cutoff_study):
    frame = frames.session_frame(cutoff_study)
    a1 = row(frame, "A1", "T1")
    assert a1["pct_mpe"] == pytest.approx((4.0 - 2.0) / (300 - 2.0) * 100)
    assert a1["mpe_reason"] == ""
    for timepoint in ("T0", "T1"):
        a2 = row(frame, "A2", timepoint)
        assert math.isnan(a2["pct_mpe"])
        assert a2["mpe_reason"] == AT_CUTOFF
    assert row(frame, "A2", "T0")["threshold_g"] == 300.0  # the threshold itself stays
    a3 = row(frame, "A3", "T1")
    assert math.isnan(a3["pct_mpe"]) and a3["mpe_reason"] == "no baseline threshold"
    assert a3["threshold_g"] == 8.0


@pytest.mark.django_db
def test_dashboard_names_the_animals_left_out_of_mpe(client_for, cutoff_study):
    response = client_for("investigator").get(reverse("dashboard", args=[cutoff_study.slug]))
    html = response.content.decode()
    mpe_tab = html.split('id="statistics-mpe"')[1]
    box = re.search(r'<div class="alert alert-warning mpe-left-out".*?</div>', mpe_tab, re.S)
    assert box, "no left-out note on the %MPE statistics"
    items = [
        unescape(re.sub(r"<[^>]+>", "", li)).strip()
        for li in re.findall(r"<li[^>]*>(.*?)</li>", box.group(0), re.S)
    ]
    assert items == [
        f"A2 (control) at T0, T1: {AT_CUTOFF}",
        "A3 (control) at T1: no baseline threshold",
    ]
    threshold_tab = html.split('id="statistics-threshold"')[1].split('id="statistics-mpe"')[0]
    assert "mpe-left-out" not in threshold_tab


@pytest.mark.django_db
def test_thresholds_export_carries_the_reason(cutoff_study):
    rows = {
        (r["animal"], r["timepoint"]): r for r in as_dicts(export_text(cutoff_study, "thresholds"))
    }
    assert rows["A2", "T0"]["pct_mpe"] == "" and rows["A2", "T0"]["mpe_reason"] == AT_CUTOFF
    assert rows["A2", "T1"]["threshold_g"] == "26" and rows["A2", "T1"]["mpe_reason"] == AT_CUTOFF
    assert rows["A3", "T1"]["mpe_reason"] == "no baseline threshold"
    assert rows["A1", "T1"]["mpe_reason"] == ""
    assert float(rows["B1", "T1"]["pct_mpe"]) == pytest.approx((10 - 1) / 299 * 100)
