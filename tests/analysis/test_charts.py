"""analysis.charts: the figure JSON plotly.js draws, checked value by value."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis import charts, stats

GROUPS = [
    charts.GroupStyle("control", "Control", "#4d4d4d"),
    charts.GroupStyle("K10", "Ketamine 10 mg/kg", "#d7301f"),
]
PHASES = [charts.PhaseBand("A", "Daily injections", 7, 34), charts.PhaseBand("B", "Off", 35, 48)]
TIMEPOINTS = [("T0", 7), ("T1", 14), ("T2", 21)]
KEY = charts.MarkKey(alpha=0.05, baseline="T0", first_treated="T1", control="control")


def long_frame():
    rows = [
        ("c1", "control", "T0", 7, 10.0),
        ("c1", "control", "T1", 14, 10.0),
        ("c1", "control", "T2", 21, 15.0),
        ("c2", "control", "T0", 7, 15.0),
        ("c2", "control", "T1", 14, 26.0),
        ("c2", "control", "T2", 21, 10.0),
        ("k1", "K10", "T0", 7, 15.0),
        ("k1", "K10", "T1", 14, 60.0),
        ("k1", "K10", "T2", 21, 300.0),
        ("k2", "K10", "T0", 7, 26.0),
        ("k2", "K10", "T2", 21, 100.0),  # no T1
    ]
    return pd.DataFrame(rows, columns=stats.INPUT_COLUMNS)


def marks_frame():
    return pd.DataFrame(
        {
            "group": ["K10", "K10"],
            "timepoint": ["T1", "T2"],
            "vs_baseline_p": [0.2, 0.004],
            "vs_baseline": [False, True],
            "vs_first_treated_p": [math.nan, 0.04],
            "vs_first_treated": [False, True],
            "vs_control_p": [0.03, 0.0004],
            "vs_control": [True, True],
        }
    )


@pytest.fixture
def figure():
    long = long_frame()
    return charts.time_course(
        summary=stats.group_summary(long),
        animals=long,
        marks=marks_frame(),
        groups=GROUPS,
        phases=PHASES,
        timepoints=TIMEPOINTS,
        key=KEY,
        y_title="Paw withdrawal threshold (g)",
        unit="g",
        cutoff=300.0,
        filename="demo-fig2",
    )


def traces(figure, meta, group):
    return [t for t in figure["data"] if t["meta"] == meta and t["legendgroup"] == group]


def test_mark_text_levels_follow_alpha():
    assert charts.mark_text(0.2, "*", KEY) == ""
    assert charts.mark_text(0.04, "*", KEY) == "*"
    assert charts.mark_text(0.004, "*", KEY) == "**"
    assert charts.mark_text(0.0004, "†", KEY) == "†††"
    assert charts.mark_text(math.nan, "*", KEY) == ""
    strict = charts.MarkKey(alpha=0.01, baseline="T0", first_treated=None, control="control")
    assert charts.mark_text(0.04, "*", strict) == ""
    assert charts.mark_text(0.004, "*", strict) == "*"
    assert charts.mark_text(0.0004, "*", strict) == "**"
    assert strict.legend()[0] == "* p < 0.01, ** p < 0.001 vs T0 (Nemenyi after Friedman)"
    assert len(strict.legend()) == 2  # no first treated timepoint: no # line


def test_mean_trace_holds_mean_sem_and_n_by_hand(figure):
    (mean,) = traces(figure, "mean", "K10")
    assert list(mean["x"]) == [7.0, 14.0, 21.0]
    # T0: 15, 26 -> mean 20.5, SD sqrt(((15-20.5)^2 + (26-20.5)^2) / 1) = 7.778, SEM 5.5
    # T1: 60 alone -> SEM undefined, drawn as 0; T2: 300, 100 -> mean 200, SEM 100
    assert list(mean["y"]) == pytest.approx([20.5, 60.0, 200.0])
    assert list(mean["error_y"]["array"]) == pytest.approx([5.5, 0.0, 100.0])
    assert mean["customdata"] == [2, 1, 2]
    assert mean["line"]["color"] == "#d7301f"
    assert "n = 2" in mean["text"][0] and "mean 20.5 g ± 5.5 SEM" in mean["text"][0]
    assert "vs control: p = 0.03 (Nemenyi after Kruskal-Wallis)" in mean["text"][1]
    assert "vs T0: p = 0.004" in mean["text"][2]


def test_marks_trace_sits_on_mean_plus_sem(figure):
    (marks,) = traces(figure, "marks", "K10")
    assert marks["text"] == ["", "†", "**#†††"]
    assert list(marks["y"]) == pytest.approx([26.0, 60.0, 300.0])
    assert marks["mode"] == "text" and marks["textfont"]["color"] == "#d7301f"
    (control_marks,) = traces(figure, "marks", "control")
    assert control_marks["text"] == ["", "", ""]


def test_animal_lines_are_hidden_and_broken_between_animals(figure):
    (lines,) = traces(figure, "animals", "K10")
    assert lines["visible"] is False
    assert lines["x"] == [7.0, 14.0, 21.0, None, 7.0, 14.0, 21.0, None]
    assert lines["y"] == [15.0, 60.0, 300.0, None, 26.0, None, 100.0, None]
    assert lines["text"][:3] == ["k1"] * 3 and lines["text"][4] == "k2"


def test_layout_has_phase_bands_labels_cutoff_and_timepoint_ticks(figure):
    layout = figure["layout"]
    bands = [s for s in layout["shapes"] if s["type"] == "rect"]
    assert [(b["x0"], b["x1"]) for b in bands] == [(7, 35), (35, 49)]
    labels = [a["text"] for a in layout["annotations"] if a.get("yref") == "paper"]
    assert labels == ["<b>A</b> Daily injections", "<b>B</b> Off"]
    (cutoff,) = [s for s in layout["shapes"] if s["type"] == "line"]
    assert cutoff["y0"] == cutoff["y1"] == 300.0
    assert list(layout["xaxis"]["tickvals"]) == [7.0, 14.0, 21.0]
    assert layout["xaxis"]["ticktext"][0] == "T0<br>d7"
    assert layout["yaxis"]["title"]["text"] == "Paw withdrawal threshold (g)"
    assert figure["config"]["toImageButtonOptions"]["filename"] == "demo-fig2"
    assert figure["download"]["svg"] is False


def test_publication_style_is_fixed_size_with_symbols_and_svg():
    long = long_frame()
    figure = charts.time_course(
        summary=stats.group_summary(long),
        animals=long,
        marks=marks_frame(),
        groups=GROUPS,
        phases=PHASES,
        timepoints=TIMEPOINTS,
        key=KEY,
        y_title="%MPE",
        publication=True,
        filename="demo-fig3",
    )
    layout = figure["layout"]
    assert (layout["width"], layout["height"]) == (760, 500) and layout["autosize"] is False
    assert layout["xaxis"]["ticktext"] == ["T0", "T1", "T2"]
    assert layout["xaxis"]["showgrid"] is False
    symbols = [t["marker"]["symbol"] for t in figure["data"] if t["meta"] == "mean"]
    assert symbols == ["circle", "square"]
    assert [t["name"] for t in figure["data"] if t["meta"] == "mean"] == ["control", "K10"]
    assert figure["config"]["toImageButtonOptions"]["scale"] == 4
    assert figure["download"] == {"filename": "demo-fig3", "svg": True, "width": 760, "height": 500}
    assert not [s for s in layout["shapes"] if s["type"] == "line"]  # no cut-off on %MPE


def test_every_figure_is_valid_for_plotly(figure):
    """charts.py builds plain dicts for speed; plotly's own schema checks them here."""
    import plotly.graph_objects as go

    go.Figure(data=figure["data"], layout=figure["layout"])
    long = long_frame()
    publication = charts.time_course(
        summary=stats.group_summary(long),
        animals=long,
        marks=marks_frame(),
        groups=GROUPS,
        phases=PHASES,
        timepoints=TIMEPOINTS,
        key=KEY,
        y_title="%MPE",
        publication=True,
    )
    go.Figure(data=publication["data"], layout=publication["layout"])
    weights = pd.DataFrame({"day": [0], "date": [pd.Timestamp("2026-09-01")], "grams": [250.0]})
    weight = charts.weight_chart(weights, colour="#123456", filename="w")
    go.Figure(data=weight["data"], layout=weight["layout"])


def test_groups_without_data_get_no_traces():
    long = long_frame()
    long = long[long["group"] == "control"]
    figure = charts.time_course(
        summary=stats.group_summary(long),
        animals=long,
        marks=pd.DataFrame(columns=stats.MARK_COLUMNS),
        groups=GROUPS,
        phases=[],
        timepoints=TIMEPOINTS,
        key=KEY,
        y_title="g",
    )
    assert {t["legendgroup"] for t in figure["data"]} == {"control"}


def test_to_json_is_safe_inside_a_script_block_and_turns_nan_into_null():
    figure = {"data": [{"y": np.array([1.0, np.nan]), "name": "</script><b>&"}], "layout": {}}
    text = charts.to_json(figure)
    assert "</script>" not in text and "<" not in text and "&" not in text
    parsed = json.loads(text)
    assert parsed["data"][0]["y"] == [1.0, None]
    assert parsed["data"][0]["name"] == "</script><b>&"


def test_weight_chart():
    weights = pd.DataFrame(
        {
            "day": [0, 7],
            "date": pd.to_datetime(["2026-09-01", "2026-09-08"]).date,
            "grams": [250.0, 261.5],
        }
    )
    figure = charts.weight_chart(weights, colour="#123456", filename="R01-weight")
    (trace,) = figure["data"]
    assert list(trace["x"]) == [0.0, 7.0] and list(trace["y"]) == [250.0, 261.5]
    assert trace["text"] == ["01 Sep 2026", "08 Sep 2026"]
    assert figure["layout"]["yaxis"]["title"]["text"] == "Body weight (g)"


def test_format_value():
    assert charts.format_value(21.6) == "21.6"
    assert charts.format_value(300) == "300.0"
    assert charts.format_value(0.008) == "0.008"
    assert charts.format_value(0.16) == "0.16"
    assert charts.format_value(0) == "0.0"
    assert charts.format_value(math.nan) == "–"


HOSTILE_NAME = "<b>Bold</b><img src=x onerror=alert(1)>"
HOSTILE_SHOWN = "&lt;b&gt;Bold&lt;/b&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.mark.parametrize("publication", [False, True])
def test_names_people_typed_show_as_plain_text_not_html(publication):
    """plotly renders <b>, <a href>, ... in names, hover text, annotations and ticks: a
    group, animal, phase or timepoint named with tags must show the tags, not run them."""
    long = long_frame()
    long["animal"] = long["animal"].replace({"k1": "<i>k1</i>&"})
    long["timepoint"] = long["timepoint"].replace({"T1": "<u>T1</u>"})
    groups = [
        charts.GroupStyle("control", HOSTILE_NAME, "#4d4d4d"),
        charts.GroupStyle("K10", "Ketamine 10 mg/kg", "#d7301f"),
    ]
    figure = charts.time_course(
        summary=stats.group_summary(long),
        animals=long,
        marks=marks_frame().replace({"T1": "<u>T1</u>"}),
        groups=groups,
        phases=[charts.PhaseBand("<s>A</s>", HOSTILE_NAME, 7, 34)],
        timepoints=[("T0", 7), ("<u>T1</u>", 14), ("T2", 21)],
        key=charts.MarkKey(
            alpha=0.05, baseline="T0", first_treated="<u>T1</u>", control="<b>c</b>"
        ),
        y_title="g",
        unit="g",
        publication=publication,
    )
    parsed = json.loads(charts.to_json(figure))  # what the page's script block holds
    (mean,) = [t for t in parsed["data"] if t["meta"] == "mean" and t["legendgroup"] == "control"]
    if publication:
        assert mean["name"] == "control"
    else:
        assert mean["name"] == f"control · {HOSTILE_SHOWN}"
    (k10,) = [t for t in parsed["data"] if t["meta"] == "mean" and t["legendgroup"] == "K10"]
    assert "<b>K10</b> &lt;u&gt;T1&lt;/u&gt; (day 14)" in k10["text"][1]
    assert "vs &lt;b&gt;c&lt;/b&gt;: p = 0.03" in k10["text"][1]
    (animals,) = [t for t in parsed["data"] if t["meta"] == "animals" and t["legendgroup"] == "K10"]
    assert "&lt;i&gt;k1&lt;/i&gt;&amp;" in animals["text"]
    layout = parsed["layout"]
    (phase,) = [a for a in layout["annotations"] if a.get("yref") == "paper"]
    assert phase["text"] == (
        "<b>&lt;s&gt;A&lt;/s&gt;</b>"
        if publication
        else f"<b>&lt;s&gt;A&lt;/s&gt;</b> {HOSTILE_SHOWN}"
    )
    assert layout["xaxis"]["ticktext"][1] == (
        "&lt;u&gt;T1&lt;/u&gt;" if publication else "&lt;u&gt;T1&lt;/u&gt;<br>d14"
    )
    # no tag a person typed survives anywhere in the figure
    text = json.dumps(parsed)
    for tag in ("<img", "<i>", "<u>", "<s>", "</b><img", "<b>c</b>", "<b>Bold"):
        assert tag not in text, tag
