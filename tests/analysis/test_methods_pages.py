"""What the pages and documents say for a percent-response study (issue 15): the
animal page's withdrawal-frequency curve, the methods sentence, the ARRIVE outcome item
and the data dictionary; and the dashboard's method switch offers only methods the
recorded series can be read by."""

import json
import re

import pytest
from django.urls import reverse

from analysis import arrive, exports
from analysis.data_dictionary import dictionary_entries
from tests.worlds import make_bench_study, record

FOUR = "4.08, 4.31, 4.56, 4.74"  # 1, 2, 4, 6 g


def _blocks(*runs):
    return [(size, ch == "X") for size, pattern in runs for ch in pattern]


@pytest.fixture
def frequency_study(study):
    study.threshold_method = "percent_response"
    study.applications_per_filament = 5
    study.withdrawals_needed = 3
    study.method_filaments = FOUR
    study.full_clean()
    bench = make_bench_study(study, method="percent_response")
    t0 = bench.study.timepoints.get(label="T0")
    # R01 at T0: 1 g 0/5, 2 g 1/5, 4 g 3/5, 6 g 5/5 -> 4 g.
    record(
        bench.animals["R01"],
        t0,
        _blocks(("4.08", "OOOOO"), ("4.31", "OOXOO"), ("4.56", "XOXOX"), ("4.74", "XXXXX")),
    )
    # R01 at T3: 1 g 0/5, 2 g 0/5, 4 g 2/5, 6 g 2/5 -> none reaches 3 of 5: the top, 6 g.
    record(
        bench.animals["R01"],
        bench.tp,
        _blocks(("4.08", "OOOOO"), ("4.31", "OOOOO"), ("4.56", "XOXOO"), ("4.74", "OXOXO")),
    )
    return bench


@pytest.mark.django_db
def test_the_animal_page_draws_a_frequency_curve_per_session(frequency_study, client_for):
    bench = frequency_study
    url = reverse("dashboard_animal", args=[bench.study.slug, bench.animals["R01"].pk])
    html = client_for("investigator").get(url).content.decode()
    assert "Withdrawal frequency by filament" in html
    figure = json.loads(
        re.search(r'<script type="application/json" id="frequency-data">(.*?)</script>', html, re.S)
        .group(1)
        .replace("\\u003C", "<")
    )
    lines = {t["name"]: (t["x"], t["y"]) for t in figure["data"]}
    assert lines == {
        "T0 right hind": ([1.0, 2.0, 4.0, 6.0], [0.0, 20.0, 60.0, 100.0]),
        "T3 right hind": ([1.0, 2.0, 4.0, 6.0], [0.0, 0.0, 40.0, 40.0]),
    }
    assert figure["layout"]["xaxis"]["type"] == "log"
    assert figure["layout"]["shapes"][0]["y0"] == 60.0  # 3 of 5
    assert "1 g: 0 of 5 · 2 g: 1 of 5 · 4 g: 3 of 5 · 6 g: 5 of 5" in html
    # Thresholds as the dashboard: 4 g, and the top filament in use (6 g) at T3.
    assert re.search(r'data-col="threshold">4.0 g<', html)
    assert re.search(r'data-col="threshold">6.0 g<', html)
    assert "reported as that filament&#x27;s force, 6 g" in html


@pytest.mark.django_db
def test_an_up_down_study_has_no_frequency_curve(small_study, client_for):
    animal = small_study.animals.first()
    url = reverse("dashboard_animal", args=[small_study.slug, animal.pk])
    html = client_for("investigator").get(url).content.decode()
    assert "Withdrawal frequency by filament" not in html and "frequency-data" not in html


@pytest.mark.django_db
def test_methods_sentence_arrive_and_dictionary_name_the_method(frequency_study):
    study = frequency_study.study
    flat = " ".join(exports.StudyExport(study).methods_text().split())
    assert (
        "Each filament (4 filaments, 1–6 g) was applied 5 times in ascending order of force" in flat
    )
    assert "percent response method; Deuis et al. 2017" in flat
    assert "elicited 3 withdrawals out of 5 applications (60 %)" in flat
    assert "or the force of the top filament, 6 g, when none did" in flat
    item = next(i for i in arrive.arrive_report(study).items if i.number == 6)
    facts = {f.label: f.text for f in item.recorded}
    assert "Percent response" in facts["Mechanical withdrawal threshold (g)"]
    assert "5 times" in facts["Applications per filament and criterion"]
    method_row = next(e for e in dictionary_entries(study) if e[:2] == ("thresholds", "method"))
    assert "percent_response (every filament in use applied N times" in method_row[3]


@pytest.mark.django_db
def test_ascending_methods_sentence(study):
    study.threshold_method = "ascending"
    study.method_filaments = "3.61, 3.84, 4.08, 4.31, 4.56, 4.74, 4.93, 5.18"
    study.save()
    flat = " ".join(exports.StudyExport(study).methods_text().split())
    assert (
        "Filaments (8 filaments, 0.4–15 g) were applied in ascending order of force, each "
        "once, starting from the lowest" in flat
    )
    assert "the first filament that elicited 1 withdrawal out of 1 applications" in flat
    assert "ascending method of limits; Deuis et al. 2017" in flat


@pytest.mark.django_db
def test_the_method_switch_offers_only_methods_the_series_can_be_read_by(
    frequency_study, client_for
):
    client = client_for("investigator")
    slug = frequency_study.study.slug
    html = client.get(reverse("dashboard", args=[slug])).content.decode()
    options = re.findall(r'<option value="([a-z_]+)"', html.split('name="method"')[1])
    assert set(options) == {"ascending", "percent_response"}
    shown = client.get(reverse("dashboard", args=[slug]) + "?method=up_down").content.decode()
    assert "cannot be read by up-down 50% threshold" in shown
    export = client.get(reverse("export_index", args=[slug]) + "?method=up_down")
    assert export.status_code == 404


@pytest.mark.django_db
def test_pct_mpe_tops_out_at_the_top_filament_in_use(frequency_study):
    # R01: baseline (T0) 4 g, T3 at the top filament in use (6 g): %MPE = (6 - 4) /
    # (6 - 4) x 100 = 100, not (6 - 4) / (300 - 4) x 100 = 0.68.
    from analysis.frames import session_frame

    study = frequency_study.study
    assert study.ceiling_g == 6.0
    frame = session_frame(study).set_index("timepoint")
    assert frame.loc["T3", "pct_mpe"] == pytest.approx(100.0)
    study.threshold_method, study.method_filaments = "first_response", ""
    assert study.ceiling_g == 300.0  # the Stoelting set tops at the cut-off
    study.cutoff_g = 180.0
    assert study.ceiling_g == 180.0
