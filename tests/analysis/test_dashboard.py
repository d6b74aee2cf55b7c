"""The results pages on a hand-made study: every number checked against arithmetic done
here by hand (means, SDs, quartiles, %MPE, Kruskal-Wallis H, Friedman chi-squared and
the Nemenyi q statistics), not only that the page answers 200.

The study (reference template: control, K5, K10; T0-T7 on days 7-56; first-response
target force, cut-off 300 g) has rats that withdraw from every filament at or above a
chosen force, so each threshold is that force:

    control  C1 1.0 1.0 1.0 | C2 1.4 1.4 1.4 | C3 2.0 2.0 2.0 | C4 1.0  —  1.0
    K5       F1 1.0 4.0 6.0 | F2 1.4 6.0 8.0 | F3 2.0 8.0 10.0
    K10      K1 1.0 10 26   | K2 1.4 15 60   | K3 2.0 26 300 (never withdraws: cut-off)
                (T0, T1, T2)

plus an unallocated rat, an unfinished session, a voided one, doses and adverse events.
"""

import datetime as dt
import gzip
import json
import math
import re
from html import unescape
from pathlib import Path

import numpy as np
import plotly
import pytest
from django.urls import reverse
from django.utils import timezone
from plotly.offline import get_plotlyjs_version
from scipy.stats import studentized_range

from analysis import charts, stats
from animals.models import BodyWeight, DoseAdministration, Observation
from labstudy.services import unblind_study
from sessions.models import TestSession
from tests.conftest import PASSWORD
from tests.worlds import NEVER, add_animals, record, series_to

ROOT = Path(__file__).resolve().parents[2]

TARGETS = {
    "C1": ("control", {"T0": 1.0, "T1": 1.0, "T2": 1.0}),
    "C2": ("control", {"T0": 1.4, "T1": 1.4, "T2": 1.4}),
    "C3": ("control", {"T0": 2.0, "T1": 2.0, "T2": 2.0}),
    "C4": ("control", {"T0": 1.0, "T2": 1.0}),
    "F1": ("K5", {"T0": 1.0, "T1": 4.0, "T2": 6.0}),
    "F2": ("K5", {"T0": 1.4, "T1": 6.0, "T2": 8.0}),
    "F3": ("K5", {"T0": 2.0, "T1": 8.0, "T2": 10.0}),
    "K1": ("K10", {"T0": 1.0, "T1": 10.0, "T2": 26.0}),
    "K2": ("K10", {"T0": 1.4, "T1": 15.0, "T2": 60.0}),
    "K3": ("K10", {"T0": 2.0, "T1": 26.0, "T2": NEVER}),
    "U1": (None, {"T0": 4.0}),
}
PAGES = ("dashboard", "dashboard_completeness", "dashboard_figure")


@pytest.fixture
def day30_study(study):
    today = timezone.localdate()
    # Day 30 today: T0-T3 (days 7-28) are past, T4 (day 35) onwards not yet due.
    study.day0_date = today - dt.timedelta(days=30)
    study.save()
    animals = add_animals(study, {code: group for code, (group, _) in TARGETS.items()})
    tp = {t.label: t for t in study.timepoints.all()}
    sessions = {}
    for code, (_, values) in TARGETS.items():
        for label, target in values.items():
            sessions[code, label] = record(animals[code], tp[label], series_to(target))
    sessions["K1", "T3"] = record(
        animals["K1"], tp["T3"], series_to(60)[:2], status=TestSession.Status.IN_PROGRESS
    )
    sessions["C2", "T3"] = record(
        animals["C2"],
        tp["T3"],
        series_to(1.4),
        status=TestSession.Status.VOIDED,
        void_reason="wrong animal",
    )
    k1 = animals["K1"]
    doses = [
        (7, DoseAdministration.Status.GIVEN, ""),
        (8, DoseAdministration.Status.GIVEN, ""),
        (9, DoseAdministration.Status.GIVEN, ""),
        (10, DoseAdministration.Status.MISSED, "escaped during restraint"),
        (11, DoseAdministration.Status.SCHEDULED, ""),  # past, never recorded
        (12, "voided", "entered twice"),
        (40, DoseAdministration.Status.SCHEDULED, ""),  # still to come
    ]
    for day, status, reason in doses:
        voided = status == "voided"  # a dose given, then voided as entered twice
        status = DoseAdministration.Status.GIVEN if voided else status
        DoseAdministration.objects.create(
            animal=k1,
            scheduled_date=study.date_of_day(day),
            study_day=day,
            dose_mg_kg=10,
            status=status,
            reason="" if voided else reason,
            voided=voided,
            void_reason=reason if voided else "",
            given_at=timezone.now() if status == DoseAdministration.Status.GIVEN else None,
        )
    Observation.objects.create(
        animal=animals["F1"],
        date=study.date_of_day(20),
        kind=Observation.Kind.ADVERSE_EVENT,
        term="hematuria",
        severity=Observation.Severity.MILD,
    )
    Observation.objects.create(
        animal=animals["C1"],
        date=study.date_of_day(21),
        kind=Observation.Kind.ADVERSE_EVENT,
        term="autotomy",
        voided=True,
        void_reason="wrong animal",
    )
    BodyWeight.objects.create(animal=k1, date=study.date_of_day(0), grams="250.0")
    BodyWeight.objects.create(animal=k1, date=study.date_of_day(7), grams="260.5")
    BodyWeight.objects.create(
        animal=k1, date=study.date_of_day(8), grams="26.5", voided=True, void_reason="typo"
    )
    return {"study": study, "animals": animals, "sessions": sessions, "tp": tp}


def page(client, name, study, **query):
    response = client.get(reverse(name, args=[study.slug]), query)
    assert response.status_code == 200
    return response.content.decode()


def figure(html: str, block_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', html)
    assert match, block_id
    return json.loads(match.group(1))


def trace(fig, meta, group):
    (found,) = [t for t in fig["data"] if t["meta"] == meta and t["legendgroup"] == group]
    return found


def cell(html: str, attrs: str, col: str) -> str:
    """Text of the cell data-col=`col` in the table row carrying `attrs`."""
    row = re.search(rf"<tr[^>]*{attrs}[^>]*>(.*?)</tr>", html, re.S)
    assert row, attrs
    value = re.search(rf'data-col="{col}">(.*?)</td>', row.group(1), re.S)
    return unescape(re.sub(r"<[^>]+>", "", value.group(1))).strip()


def mean_sd(values):
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, sd, sd / math.sqrt(n)


# ----------------------------------------------------------------------------- access


@pytest.mark.django_db
def test_who_sees_the_results_pages(client_for, day30_study, people):
    study = day30_study["study"]
    k1 = day30_study["animals"]["K1"]
    urls = [reverse(name, args=[study.slug]) for name in PAGES]
    urls += [
        reverse("dashboard_mixed_model", args=[study.slug]),
        reverse("dashboard_animal", args=[study.slug, k1.pk]),
    ]
    for who, expected in (
        ("investigator", 200),
        ("data_manager", 200),
        ("technician", 404),  # the study is blinded to technicians
        ("outsider", 404),
    ):
        client = client_for(who)
        assert [client.get(url).status_code for url in urls] == [expected] * len(urls), who
    # Unblinded by the audited route (a plain save may not clear `blinded`; issue 18).
    unblind_study(study=study, user=people["investigator"], password=PASSWORD, reason="done")
    client = client_for("technician")
    assert [client.get(url).status_code for url in urls] == [200] * len(urls)


@pytest.mark.django_db
def test_nav_links_only_for_those_who_may_see_results(client_for, day30_study):
    study = day30_study["study"]
    overview = reverse("study_overview", args=[study.slug])
    dashboard = reverse("dashboard", args=[study.slug])
    assert dashboard in client_for("investigator").get(overview).content.decode()
    assert dashboard not in client_for("technician").get(overview).content.decode()


@pytest.mark.django_db
def test_pages_need_a_login(client, day30_study):
    response = client.get(reverse("dashboard", args=[day30_study["study"].slug]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ----------------------------------------------------------------------------- charts


@pytest.mark.django_db
def test_threshold_chart_data_equal_the_hand_computed_means(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    fig = figure(html, "threshold-data")
    k10 = trace(fig, "mean", "K10")
    t0, t1, t2 = mean_sd([1.0, 1.4, 2.0]), mean_sd([10.0, 15.0, 26.0]), mean_sd([26, 60, 300])
    assert k10["x"] == [7.0, 14.0, 21.0]  # T3 has only an unfinished session
    assert k10["y"] == pytest.approx([t0[0], 17.0, 386 / 3])
    assert k10["error_y"]["array"] == pytest.approx([t0[2], t1[2], t2[2]])
    # T1 by hand: deviations -7, -2, 9 -> SD sqrt(134 / 2) = 8.185, SEM 4.726
    assert t1[2] == pytest.approx(math.sqrt(67) / math.sqrt(3))
    assert k10["customdata"] == [3, 3, 3]
    assert k10["line"]["color"] == "#d7301f"  # the study's colour for K10
    control = trace(fig, "mean", "control")
    assert control["customdata"] == [4, 3, 4]  # C4 has no T1
    assert control["y"] == pytest.approx([(1.0 + 1.4 + 2.0 + 1.0) / 4, 4.4 / 3, 5.4 / 4])
    assert "n = 3" in k10["text"][1]
    animals = trace(fig, "animals", "K10")
    assert animals["visible"] is False
    # K1's own line first: T0-T2, nothing from T3 on, then the gap before K2's
    assert animals["y"][:9] == [1.0, 10.0, 26.0] + [None] * 6
    assert animals["text"][:9] == ["K1"] * 9
    # phases A/B/C drawn and labelled; the cut-off line at 300 g
    bands = [s for s in fig["layout"]["shapes"] if s["type"] == "rect"]
    assert [(b["x0"], b["x1"]) for b in bands] == [(7, 35), (35, 49), (49, 56)]
    labels = [a["text"] for a in fig["layout"]["annotations"] if a["yref"] == "paper"]
    assert labels == [
        "<b>A</b> Daily injections",
        "<b>B</b> Discontinuation",
        "<b>C</b> Readministration",
    ]
    assert [s["y0"] for s in fig["layout"]["shapes"] if s["type"] == "line"] == [300.0]


@pytest.mark.django_db
def test_mpe_chart_data_equal_the_hand_computed_values(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    k10 = trace(figure(html, "mpe-data"), "mean", "K10")
    # %MPE = (post - T0) / (300 - T0) x 100 per animal, then mean and SEM
    t2 = [(26 - 1.0) / 299 * 100, (60 - 1.4) / 298.6 * 100, (300 - 2.0) / 298 * 100]
    t1 = [(10 - 1.0) / 299 * 100, (15 - 1.4) / 298.6 * 100, (26 - 2.0) / 298 * 100]
    assert k10["y"] == pytest.approx([0.0, mean_sd(t1)[0], mean_sd(t2)[0]])
    assert k10["error_y"]["array"] == pytest.approx([0.0, mean_sd(t1)[2], mean_sd(t2)[2]])
    assert mean_sd(t2)[0] == pytest.approx(42.662, abs=1e-3)


@pytest.mark.django_db
def test_significance_marks_follow_hand_computed_p_values(client_for, day30_study):
    """Friedman in K10 (every rat rises T0 < T1 < T2): rank sums 3, 6, 9, so
    chi2 = 12 / (3 * 3 * 4) * (9 + 36 + 81) - 3 * 3 * 4 = 6, p = exp(-3) = 0.0498.
    Nemenyi T2 vs T0: q = |3 - 1| / sqrt(3 * 4 / (6 * 3)) * sqrt(2) = 3.464.
    Kruskal-Wallis at T2 (ranks: control 1.5, 1.5, 3, 4; K5 5-7; K10 8-10) is
    significant; Nemenyi K10 vs control: q = 6.5 / sqrt(10 * 11 / 12 * (1/3 + 1/4)) * sqrt(2).
    At T1 (control 1-3, K5 4-6, K10 7-9): q = 6 / sqrt(9 * 10 / 12 * 2/3) * sqrt(2)."""
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    fig = figure(html, "threshold-data")
    p_t2_t0 = studentized_range.sf(2 / math.sqrt(12 / 18) * math.sqrt(2), 3, np.inf)
    p_t1_t0 = studentized_range.sf(1 / math.sqrt(12 / 18) * math.sqrt(2), 3, np.inf)
    se_t2 = math.sqrt(10 * 11 / 12 * (1 / 3 + 1 / 4))
    p_t2_control = studentized_range.sf(6.5 / se_t2 * math.sqrt(2), 3, np.inf)
    p_t1_control = studentized_range.sf(6 / math.sqrt(5) * math.sqrt(2), 3, np.inf)
    assert p_t2_t0 < 0.05 < p_t1_t0 and 0.01 < p_t1_control < 0.05 and 0.01 < p_t2_control < 0.05
    k10 = trace(fig, "marks", "K10")
    # T0: nothing; T1: † (vs control); T2: * (vs T0) and † (vs control), not # (vs T1)
    assert k10["text"] == ["", "†", "*†"]
    hover = trace(fig, "mean", "K10")["text"][2]
    assert f"vs T0: {stats.format_p(p_t2_t0)}" in hover
    assert f"vs control: {stats.format_p(p_t2_control)}" in hover
    assert trace(fig, "marks", "control")["text"] == ["", "", ""]
    legend = unescape(re.search(r'id="marks-legend">(.*?)</p>', html, re.S).group(1))
    assert "* p < 0.05, ** p < 0.01, *** p < 0.001 vs T0 (Nemenyi after Friedman)" in legend
    assert "† p < 0.05" in legend and "vs control (Nemenyi after Kruskal-Wallis)" in legend


# ----------------------------------------------------------------------------- tables


@pytest.mark.django_db
def test_group_summary_table_by_hand(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    row = 'data-group="K10" data-timepoint="T2"'
    mean, sd, sem = mean_sd([26.0, 60.0, 300.0])
    # 26, 60, 300: mean 128.67, SD 149.3, SEM 86.23; quartiles (R type 7): 43 and 180
    assert cell(html, row, "n") == "3"
    assert cell(html, row, "mean") == f"{mean:.1f}" == "128.7"
    assert cell(html, row, "sd") == f"{sd:.1f}" == "149.3"
    assert cell(html, row, "sem") == f"{sem:.1f}" == "86.2"
    assert cell(html, row, "median") == "60.0"
    assert cell(html, row, "iqr") == "43.0–180.0"
    mpe = [(26 - 1.0) / 299 * 100, (60 - 1.4) / 298.6 * 100, (300 - 2.0) / 298 * 100]
    assert cell(html, row, "mpe") == f"{mean_sd(mpe)[0]:.1f} ± {mean_sd(mpe)[2]:.1f}"
    control_t0 = 'data-group="control" data-timepoint="T0"'
    assert cell(html, control_t0, "n") == "4"
    assert cell(html, control_t0, "mean") == "1.4"  # (1 + 1.4 + 2 + 1) / 4 = 1.35
    assert cell(html, control_t0, "sd") == f"{mean_sd([1.0, 1.4, 2.0, 1.0])[1]:.2g}"
    # groups in the study's order, unallocated U1 nowhere
    order = re.findall(r'<tr[^>]*\sdata-group="([^"]+)" data-timepoint="T0"', html)
    # the threshold table only: the %MPE table has no T0 rows (0 there by definition)
    assert order == ["control", "K5", "K10"]
    order = re.findall(r'<tr[^>]*\sdata-group="([^"]+)" data-timepoint="T1"', html)
    assert order == ["control", "K5", "K10"] * 2  # the threshold table, then the %MPE one
    # a word of its own: the sign-out form's random CSRF token may hold the letters "U1"
    assert not re.search(r"\bU1\b", html)


@pytest.mark.django_db
def test_mpe_summary_table_by_hand(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    tab = html.split('id="summary-mpe"')[1].split('id="statistics"')[0]
    row = 'data-measure="mpe" data-group="K10" data-timepoint="T2"'
    # %MPE per animal = (T2 - T0) / (300 - T0) x 100: K1 25/299, K2 58.6/298.6, K3 298/298
    # by hand: deviations from 42.66 are -34.30, -23.04, 57.34: SD = sqrt(4994.9 / 2) = 50.0
    k1, k2, k3 = 25 / 299 * 100, 58.6 / 298.6 * 100, 100.0
    assert (round(k1, 3), round(k2, 3)) == (8.361, 19.625)
    mean, sd, sem = mean_sd([k1, k2, k3])
    assert cell(tab, row, "n") == "3"
    assert cell(tab, row, "mean") == f"{mean:.1f}" == "42.7"
    assert cell(tab, row, "sd") == f"{sd:.1f}" == "50.0"
    assert cell(tab, row, "sem") == f"{sem:.1f}" == "28.9"
    assert cell(tab, row, "median") == "19.6"
    # R quantile type 7 with n = 3: Q1 halfway between the 1st and 2nd value, Q3 between
    # the 2nd and 3rd
    assert cell(tab, row, "iqr") == f"{(k1 + k2) / 2:.1f}–{(k2 + k3) / 2:.1f}" == "14.0–59.8"
    # control at T1: C1-C3 unchanged from T0 (0 %), C4 not tested at T1
    control = 'data-measure="mpe" data-group="control" data-timepoint="T1"'
    assert [cell(tab, control, c) for c in ("n", "mean", "sd", "median")] == [
        "3",
        "0.0",
        "0.0",
        "0.0",
    ]
    assert 'data-col="mpe"' not in tab  # no mean ± SEM column: the table is %MPE itself


@pytest.mark.django_db
def test_statistics_table_rows_by_hand(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    threshold = html.split('id="statistics-threshold"')[1].split('id="statistics-mpe"')[0]
    # Kruskal-Wallis at T1, no ties: H = 12 / (9 * 10) * (6^2 + 15^2 + 24^2) / 3 - 3 * 10
    h = 12 / 90 * (36 + 225 + 576) / 3 - 30
    assert h == pytest.approx(7.2)
    kruskal = 'data-test="kruskal" data-group="" data-timepoint="T1"'
    assert cell(threshold, kruskal, "statistic") == "7.2"
    assert cell(threshold, kruskal, "df") == "2"
    assert cell(threshold, kruskal, "p") == f"{math.exp(-h / 2):.3g}" == "0.0273"
    assert cell(threshold, kruskal, "n") == "9"
    friedman = 'data-test="friedman" data-group="K10"'
    assert cell(threshold, friedman, "statistic") == "6"
    assert cell(threshold, friedman, "p") == f"{math.exp(-3):.3g}"
    nemenyi = (
        'data-test="nemenyi_friedman" data-group="K10" data-timepoint="" data-a="T2" data-b="T0"'
    )
    q = 2 / math.sqrt(12 / 18) * math.sqrt(2)
    assert cell(threshold, nemenyi, "statistic") == f"{q:.4g}"
    # The family's p is adjusted, and the table says how (PMCMRplus: "single-step").
    p_adj = studentized_range.sf(q, 3, np.inf)
    assert cell(threshold, nemenyi, "p_adj") == f"{p_adj:.3g} single-step"
    assert cell(threshold, nemenyi, "statistic_name") == "q ="
    assert cell(threshold, kruskal, "statistic_name") == "H ="
    assert cell(threshold, friedman, "statistic_name") == "χ² ="
    # A single test's p is not adjusted: no adjusted p is printed for it.
    assert cell(threshold, kruskal, "p_adj") == "–"
    sentence = "K10 vs control at T2: p = 0.01, Nemenyi after Kruskal-Wallis."
    assert sentence in threshold
    # T2 vs control row is highlighted as significant
    assert re.search(r'<tr class="stats-significant" data-test="nemenyi_kruskal"', threshold)


@pytest.mark.django_db
def test_dropped_animals_are_named_and_the_mixed_model_offered(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    threshold = html.split('id="statistics-threshold"')[1].split('id="statistics-mpe"')[0]
    dropped = unescape(
        re.search(r'<div class="alert alert-warning dropped".*?</div>', threshold, re.S).group(0)
    )
    assert "Friedman and Nemenyi, control: C4" in dropped
    assert "Repeated-measures ANOVA, control: C4" in dropped
    assert "Area under the curve: C4" in dropped
    assert "Fit the linear mixed model (keeps C4)" in threshold
    assert "mixed_model" not in re.findall(r'data-test="([^"]+)"', threshold)


@pytest.mark.django_db
def test_mixed_model_fragment_keeps_the_dropped_animal(client_for, day30_study):
    client = client_for("investigator")
    url = reverse("dashboard_mixed_model", args=[day30_study["study"].slug])
    fragment = client.get(url, {"measure": "threshold"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment
    tests = set(re.findall(r'data-test="([^"]+)"', fragment))
    assert tests == {"mixed_model"}
    # control: C1-C4 all kept (n = 4), unlike Friedman (n = 3)
    assert (
        cell(
            fragment,
            'data-test="mixed_model" data-group="control" data-timepoint="" data-a="time"',
            "n",
        )
        == "4"
    )
    full = client.get(url, {"measure": "mpe"}).content.decode()
    assert "<html" in full and "Linear mixed model: %MPE" in full
    assert client.get(url, {"measure": "nonsense"}).status_code == 404


# ----------------------------------------------------------------------------- completeness


@pytest.mark.django_db
def test_completeness_grid_states_and_links(client_for, day30_study):
    study = day30_study["study"]
    html = page(client_for("investigator"), "dashboard_completeness", study)
    link = (
        r'<a class="cell [^"]+" href="([^"]+)" data-timepoint="([^"]+)" '
        r'data-state="([^"]+)"[^>]*>(.*?)</a>'
    )
    cells = {
        (animal, tp): (state, href, text.strip())
        for animal, row in re.findall(r'<tr data-animal="([^"]+)">(.*?)</tr>', html, re.S)
        for href, tp, state, text in re.findall(link, row)
    }
    k1 = day30_study["animals"]["K1"]
    animal_url = reverse("dashboard_animal", args=[study.slug, k1.pk])
    t2 = day30_study["sessions"]["K1", "T2"]
    assert cells["K1", "T2"] == ("done", f"{animal_url}#session-{t2.pk}", "26.0")
    assert cells["K3", "T2"][2] == "300.0"
    t3 = day30_study["sessions"]["K1", "T3"]
    assert cells["K1", "T3"] == ("in_progress", f"{animal_url}#session-{t3.pk}", "in progress")
    assert cells["C2", "T3"][0] == "voided"
    assert cells["C4", "T1"][0] == "missing"
    assert cells["C4", "T1"][1] == reverse(
        "dashboard_animal", args=[study.slug, day30_study["animals"]["C4"].pk]
    )
    assert cells["C1", "T4"][0] == "upcoming"
    assert cells["U1", "T0"][0] == "done"
    counts = dict(re.findall(r'data-count="([^"]+)">(\d+)<', html))
    # 11 animals x 8 timepoints = 88: 32 done (10 x 3 + C4 x 2... ) worked out below
    done = sum(len(v) for _, v in TARGETS.values())
    assert int(counts["done"]) == done == 30
    assert int(counts["in_progress"]) == 1 and int(counts["voided"]) == 1
    assert int(counts["upcoming"]) == 11 * 4  # T4-T7
    assert int(counts["missing"]) == 11 * 4 - done - 2  # T0-T3 slots not done/voided/started
    # rows in group order, unallocated last
    assert re.findall(r'<tr data-animal="([^"]+)">', html)[:4] == ["C1", "C2", "C3", "C4"]
    assert re.findall(r'<tr data-animal="([^"]+)">', html)[-1] == "U1"


@pytest.mark.django_db
def test_dosing_compliance_and_adverse_events(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard_completeness", day30_study["study"])
    html = html.split('id="dosing"')[1]
    row = 'data-animal="K1"'
    # given 3, missed 1, scheduled day 11 not recorded 1, voided ignored, day 40 to come
    assert [
        cell(html, row, c) for c in ("given", "missed", "refused", "not_recorded", "to_come")
    ] == [
        "3",
        "1",
        "0",
        "1",
        "1",
    ]
    assert cell(html, row, "compliance") == "60.0 %"  # 3 / (3 + 1 + 0 + 1)
    assert cell(html, 'data-animal="K2"', "compliance") == "no doses due"
    assert "escaped during restraint" in html
    events = html.split('id="adverse-events"')[1]
    assert "Adverse events (1)" in events and "hematuria" in events
    assert "autotomy" not in events  # voided
    assert ">20</td>" in events  # study day of the event


# ----------------------------------------------------------------------------- figure, animal


@pytest.mark.django_db
def test_publication_figure(client_for, day30_study):
    html = page(client_for("investigator"), "dashboard_figure", day30_study["study"])
    fig = figure(html, "figure-threshold-data")
    assert fig["download"] == {
        "filename": "psnl-fig2-threshold",
        "svg": True,
        "width": 760,
        "height": 500,
    }
    assert fig["config"]["toImageButtonOptions"]["format"] == "png"
    assert trace(fig, "mean", "K10")["y"] == pytest.approx([4.4 / 3, 17.0, 386 / 3])
    assert trace(fig, "marks", "K10")["text"] == ["", "†", "*†"]
    assert figure(html, "figure-mpe-data")["download"]["filename"] == "psnl-fig3-mpe"
    caption = unescape(
        re.sub(r"\s+", " ", re.search(r'id="caption-threshold">(.*?)</p>', html, re.S).group(1))
    )
    assert "control n = 3–4, K5 n = 3, K10 n = 3" in caption
    assert "A: daily injections (days 7–34)" in caption
    assert "/static/vendor/plotly-basic-4.1.1/plotly-basic.min.js" in html


@pytest.mark.django_db
def test_animal_page(client_for, day30_study):
    study = day30_study["study"]
    k1 = day30_study["animals"]["K1"]
    html = (
        client_for("investigator")
        .get(reverse("dashboard_animal", args=[study.slug, k1.pk]))
        .content.decode()
    )
    t2 = day30_study["sessions"]["K1", "T2"]
    card = html.split(f'id="session-{t2.pk}"')[1].split("</article>")[0]
    assert "26.0 g" in card
    mpe = (26 - 1.0) / 299 * 100
    assert re.search(r'data-col="pct_mpe">([^<]+)<', card).group(1) == f"{mpe:.1f}"
    chips = re.findall(r'<span class="chip ([^"]+)"[^>]*>([\d.]+) ([✓✗])', card)
    assert [(size, mark == "✓") for _, size, mark in chips] == series_to(26)
    unfinished = html.split(f'id="session-{day30_study["sessions"]["K1", "T3"].pk}"')[1].split(
        "</article>"
    )[0]
    assert "in progress" in unfinished and "–" in unfinished
    assert html.count('class="card session-card') == 4
    weights = figure(html, "weight-data")["data"][0]
    assert weights["x"] == [0.0, 7.0] and weights["y"] == [250.0, 260.5]  # voided left out
    assert "escaped during restraint" in html and "Doses (7)" in html
    assert reverse("session_history", args=[study.slug, t2.pk]) in card
    assert reverse("animal_history", args=[study.slug, "K1"]) in html
    other = add_animals(day30_study["study"], {"X9": "K5"})["X9"]
    assert (
        client_for("investigator")
        .get(reverse("dashboard_animal", args=[study.slug, other.pk]))
        .status_code
        == 200
    )
    assert (
        client_for("investigator")
        .get(reverse("dashboard_animal", args=[study.slug, 999999]))
        .status_code
        == 404
    )


@pytest.mark.django_db
def test_animal_of_another_study_is_not_found(client_for, day30_study, people):
    from labstudy import services

    other = services.create_study(
        template_key="psnl-vf-3x8",
        slug="other",
        title="Other",
        day0_date=day30_study["study"].day0_date,
        user=people["data_manager"],
    )
    stranger = add_animals(other, {"Z1": "K5"})["Z1"]
    url = reverse("dashboard_animal", args=[day30_study["study"].slug, stranger.pk])
    assert client_for("investigator").get(url).status_code == 404


# ----------------------------------------------------------------------------- edge cases


@pytest.mark.django_db
def test_an_empty_study_renders_and_says_so(client_for, study, monkeypatch):
    # Day 0 is 1 Sep 2026; T0 is day 7. Seen on 2 Sep, nothing is recorded yet.
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2026, 9, 2))
    client = client_for("investigator")
    html = unescape(page(client, "dashboard", study))
    assert "No thresholds yet: nothing to chart or test" in html
    assert "No animals yet: a data manager adds them under Set-up → Add animals." in html
    assert "No von Frey session recorded yet." in html
    first_due = re.sub(r"\s+", " ", re.search(r'id="first-due">(.*?)</p>', html, re.S).group(1))
    assert "The first timepoint, <strong>T0</strong> (study day 7), is due" in first_due
    assert "Tuesday 8 September 2026</strong>, in 6 days." in first_due
    assert 'id="threshold-data"' not in html  # no empty axes
    assert "No animals yet." in page(client, "dashboard_completeness", study)
    page(client, "dashboard_figure", study)


@pytest.mark.django_db
def test_an_empty_dashboard_names_the_next_missing_step(client_for, study, monkeypatch):
    from animals.models import Animal

    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2026, 9, 15))
    for code in ("R01", "R02"):
        Animal.objects.create(study=study, code=code)
    html = unescape(page(client_for("data_manager"), "dashboard", study))
    assert "2 animals, none allocated to a group yet" in html
    assert "No animals yet" not in html
    # T0 (8 Sep) has passed; T1 (day 14, 15 Sep) is today.
    first_due = re.sub(r"\s+", " ", re.search(r'id="first-due">(.*?)</p>', html, re.S).group(1))
    assert (
        "The next timepoint, <strong>T1</strong> (study day 14), is due <strong>today</strong>"
        in first_due
    )


@pytest.mark.django_db
def test_a_group_name_cannot_break_out_of_the_chart_json(client_for, day30_study):
    group = day30_study["study"].groups.get(code="K10")
    group.name = "</script><script>alert(1)</script>"
    group.save()
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    assert "<script>alert(1)" not in html
    # escaped for plotly too, which would render tags in a legend (issue 18)
    assert trace(figure(html, "threshold-data"), "mean", "K10")["name"] == (
        "K10 · &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    )


def test_group_and_phase_names_show_as_plain_text_in_the_legend(client_for, day30_study):
    """plotly draws <b>, <img>, <a href> in legend, hover and annotation text: names people
    typed reach it escaped, so the legend shows the tags literally."""
    study = day30_study["study"]
    study.groups.filter(code="K10").update(name="<b>Bold</b><img src=x onerror=alert(1)>")
    study.phases.filter(code="A").update(name="<a href='javascript:alert(1)'>A</a>")
    html = page(client_for("investigator"), "dashboard", study)
    fig = figure(html, "threshold-data")
    assert trace(fig, "mean", "K10")["name"] == (
        "K10 · &lt;b&gt;Bold&lt;/b&gt;&lt;img src=x onerror=alert(1)&gt;"
    )
    annotations = [a["text"] for a in fig["layout"]["annotations"]]
    assert "<b>A</b> &lt;a href='javascript:alert(1)'&gt;A&lt;/a&gt;" in annotations
    assert "<img" not in json.dumps(fig) and "<a href" not in json.dumps(fig)


@pytest.mark.django_db
def test_two_groups_compare_by_mann_whitney(client_for, day30_study):
    from animals.models import Animal

    Animal.objects.filter(code__in=["F1", "F2", "F3"]).delete()
    html = page(client_for("investigator"), "dashboard", day30_study["study"])
    # T1: control 1.0, 1.4, 2.0 vs K10 10, 15, 26: every K10 value is larger, W = 9, and
    # the exact two-sided p is 2 / C(6, 3) = 2 / 20 = 0.1.
    row = 'data-test="mann_whitney" data-group="" data-timepoint="T1" data-a="K10" data-b="control"'
    threshold = html.split('id="statistics-threshold"')[1].split('id="statistics-mpe"')[0]
    assert cell(threshold, row, "statistic") == "9"
    assert cell(threshold, row, "p") == "0.1"
    assert "K10 vs control at T1: p = 0.10, Mann-Whitney." in threshold
    assert trace(figure(html, "threshold-data"), "marks", "K10")["text"][1] == ""
    legend = unescape(re.search(r'id="marks-legend">(.*?)</p>', html, re.S).group(1))
    assert "vs control (Mann-Whitney)" in legend


@pytest.mark.django_db
def test_a_blank_study_renders_every_page(client_for, people):
    from labstudy import services
    from labstudy.models import Membership, Role

    blank = services.create_study(
        template_key="blank",
        slug="blank",
        title="Blank",
        day0_date=dt.date(2026, 1, 1),
        user=people["data_manager"],
    )
    Membership.objects.create(user=people["investigator"], study=blank, role=Role.INVESTIGATOR)
    client = client_for("investigator")
    for name in PAGES:
        page(client, name, blank)
    url = reverse("dashboard_mixed_model", args=[blank.slug])
    assert "No mixed model" in client.get(url, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.django_db
def test_every_number_can_be_reproduced_from_the_export(day30_study):
    """The dashboard's statistics and summary are the stats and summary exports' rows
    (the export adds the mixed model, which the dashboard fits on request)."""
    from analysis import selectors
    from analysis.exports import StudyExport

    study = day30_study["study"]
    results = selectors.study_results(study)
    export = StudyExport(study)
    keys = ["test", "group", "timepoint", "a", "b"]
    numbers = ["statistic", "df", "p", "p_adj", "n"]
    for outcome, mine in (("threshold_g", results.threshold), ("pct_mpe", results.mpe)):
        exported = export.statistics
        exported = exported[(exported["outcome"] == outcome) & (exported["test"] != "mixed_model")]
        ours = mine.statistics
        assert len(ours) == len(exported) > 30
        left = ours[keys + numbers].astype(object).where(ours[keys + numbers].notna(), None)
        right = (
            exported[keys + numbers].astype(object).where(exported[keys + numbers].notna(), None)
        )
        assert left.to_dict("records") == right.reset_index(drop=True).to_dict("records")
    summary = export.summary()
    mine = results.threshold.summary.reset_index(drop=True)
    assert summary[["group", "timepoint", "n"]].to_dict("records") == (
        mine[["group", "timepoint", "n"]].to_dict("records")
    )
    assert summary["mean"].tolist() == pytest.approx(mine["mean"].tolist(), nan_ok=True)
    assert summary["sem"].tolist() == pytest.approx(mine["sem"].tolist(), nan_ok=True)


# ------------------------------------------------------------------ the plotly.js bundle
BUNDLE = ROOT / "static" / charts.PLOTLY_JS


def bundle_trace_types(path: Path) -> set[str]:
    """The trace types a plotly.js bundle registers (each trace module is a
    `{moduleType:"trace",name:"<type>",...}` object in the minified code)."""
    return set(re.findall(r'moduleType:"trace",name:"(\w+)"', path.read_text()))


def test_the_vendored_plotly_js_is_the_version_plotly_py_writes_figures_for():
    header = BUNDLE.read_text()[:200]
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}\n" in header
    assert get_plotlyjs_version() == charts.PLOTLY_JS_VERSION
    assert "MIT License" in (BUNDLE.parent / "LICENSE").read_text()
    # The gzip copy WhiteNoise serves under runserver is this very file.
    assert gzip.decompress(BUNDLE.with_name(BUNDLE.name + ".gz").read_bytes()) == (
        BUNDLE.read_bytes()
    )
    # The regex finds what the full bundle has and the basic one leaves out.
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert {"scatter", "bar", "heatmap", "box"} <= bundle_trace_types(full)
    assert bundle_trace_types(BUNDLE) == {"scatter", "bar", "pie"}


@pytest.mark.django_db
def test_every_trace_type_on_the_results_pages_is_in_the_bundle(client_for, day30_study):
    study = day30_study["study"]
    client = client_for("investigator")
    pages = [
        page(client, "dashboard", study),
        page(client, "dashboard_figure", study),
        client.get(
            reverse("dashboard_animal", args=[study.slug, day30_study["animals"]["K1"].pk])
        ).content.decode(),
    ]
    blocks = [
        json.loads(found)
        for html in pages
        for found in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html)
    ]
    types = {trace.get("type", "scatter") for b in blocks if "data" in b for trace in b["data"]}
    assert len([b for b in blocks if "data" in b]) >= 5 and types
    assert types <= bundle_trace_types(BUNDLE)
    assert all(f'src="/static/{charts.PLOTLY_JS}"' in html for html in pages)
