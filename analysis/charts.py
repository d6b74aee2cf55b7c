"""Plotly figures for the results pages, as JSON for plotly.js in the browser.

Pure: tidy frames in (from `analysis.selectors` / `analysis.stats`), a figure dict out,
no ORM. The browser draws them with plotly.js's basic bundle (scatter, bar and pie traces
only: a quarter of the full bundle's size), vendored from the npm package
``plotly.js-basic-dist-min`` at the plotly.js version the Python plotly package writes
figures for (`PLOTLY_JS`). `static/js/dashboard.js` reads the JSON from a
`<script type="application/json">` block, so no inline script is needed.

A time-course figure has, per group, three traces told apart by ``meta``:
``"mean"`` (mean ± SEM, hover with n and the p-values), ``"animals"`` (one line per
animal, hidden until asked for) and ``"marks"`` (significance symbols above the mean).

plotly draws a little HTML (<b>, <br>, <a href>, styles) in trace names, hover text,
annotations and tick labels, so every name a person typed (group codes and names, animal
codes, phase names, timepoint labels) goes through `_text` and shows as typed.
"""

from __future__ import annotations

import html
import math
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from plotly.io.json import to_json_plotly

from analysis.stats import format_p

# static/vendor/plotly-basic-<version>/: the npm package plotly.js-basic-dist-min, its
# LICENSE, and a gzip copy that WhiteNoise serves under runserver too (production's
# collectstatic compresses every file anyway). The version must equal
# plotly.offline.get_plotlyjs_version(), and every trace type below must be in the basic
# bundle (tests/analysis/test_dashboard.py checks both).
PLOTLY_JS_VERSION = "4.1.1"
PLOTLY_JS = f"vendor/plotly-basic-{PLOTLY_JS_VERSION}/plotly-basic.min.js"

# One symbol per comparison; doubled and tripled for p < 0.01 and p < 0.001.
SYMBOL_VS_BASELINE = "*"
SYMBOL_VS_FIRST_TREATED = "#"
SYMBOL_VS_CONTROL = "†"
SYMBOL_CHOSEN_PAIR = "‡"  # the study's chosen pairs, e.g. T7 vs T4, at the later timepoint
# The symbols each comparison family can draw (analysis.stats.FAMILY_CHOICES).
FAMILY_SYMBOLS = {
    "all_pairs": (
        SYMBOL_VS_BASELINE,
        SYMBOL_VS_FIRST_TREATED,
        SYMBOL_VS_CONTROL,
        SYMBOL_CHOSEN_PAIR,
    ),
    "vs_control": (SYMBOL_VS_CONTROL,),
    "vs_baseline": (SYMBOL_VS_BASELINE,),
    "pairs": (SYMBOL_CHOSEN_PAIR,),
}
PUBLICATION_SYMBOLS = ("circle", "square", "triangle-up", "diamond", "triangle-down", "x")
PUBLICATION_SIZE = {"width": 760, "height": 500}
FONT = "Arial, Helvetica, sans-serif"


@dataclass(frozen=True)
class GroupStyle:
    code: str
    name: str
    colour: str


@dataclass(frozen=True)
class PhaseBand:
    code: str
    name: str
    first_day: int
    last_day: int


@dataclass(frozen=True)
class MarkKey:
    """What the significance symbols mean on one chart."""

    alpha: float
    baseline: str | None
    first_treated: str | None
    control: str | None
    within_test: str = "Nemenyi after Friedman"
    between_test: str = "Nemenyi after Kruskal-Wallis"
    pairs: tuple[tuple[str, str], ...] = ()  # (later, earlier), e.g. (("T7", "T4"),)
    family: str = "all_pairs"  # the study's comparison family: which symbols can appear

    def levels(self) -> list[float]:
        return [self.alpha] + [level for level in (0.01, 0.001) if level < self.alpha]

    def legend(self) -> list[str]:
        """One line per symbol, e.g. "* p < 0.05, ** p < 0.01, *** p < 0.001 vs T0 (…)",
        and "‡ p < 0.05, … T7 vs T4 (Nemenyi after Friedman)" for the chosen pairs."""
        lines = []
        shown = FAMILY_SYMBOLS.get(self.family, FAMILY_SYMBOLS["all_pairs"])
        for symbol, reference, test in (
            (SYMBOL_VS_BASELINE, self.baseline, self.within_test),
            (SYMBOL_VS_FIRST_TREATED, self.first_treated, self.within_test),
            (SYMBOL_VS_CONTROL, self.control, self.between_test),
        ):
            if reference is None or symbol not in shown:
                continue
            lines.append(f"{self._steps(symbol)} vs {reference} ({test})")
        if self.pairs and SYMBOL_CHOSEN_PAIR in shown:
            pairs = ", ".join(f"{a} vs {b}" for a, b in self.pairs)
            lines.append(f"{self._steps(SYMBOL_CHOSEN_PAIR)} {pairs} ({self.within_test})")
        return lines

    def _steps(self, symbol: str) -> str:
        return ", ".join(
            f"{symbol * (i + 1)} p < {level:g}" for i, level in enumerate(self.levels())
        )


def mark_text(p: float, symbol: str, key: MarkKey) -> str:
    """The symbol once for p < alpha, twice for p < 0.01, three times for p < 0.001."""
    if p is None or not np.isfinite(p):
        return ""
    return symbol * sum(p < level for level in key.levels())


def _rows(frame: pd.DataFrame) -> list:
    """The rows of `frame` as named tuples, as `frame.itertuples()` gives them, without
    its per-column `iloc` (the summaries have some twenty columns and a few rows, so
    that lookup was most of a chart's time)."""
    Row = namedtuple("Row", ["Index", *map(str, frame.columns)], rename=True)
    columns = [frame.index.tolist(), *(frame[c].tolist() for c in frame.columns)]
    return [Row(*values) for values in zip(*columns, strict=True)]


def _text(value) -> str:
    """User text as plotly must show it: plain, with <, > and & escaped (plotly turns the
    entities back into the characters on screen, and renders no tag from them)."""
    return html.escape(str(value), quote=False)


def _plain(values) -> list[float | None]:
    """Numbers as a plain JSON list (NaN -> null). plotly.py would otherwise ship numpy
    arrays base64-encoded, which a reader of the page source or a test cannot check."""
    array = np.asarray(values, dtype=float)
    return [None if math.isnan(v) else v for v in array.tolist()]


def format_value(value: float | None) -> str:
    """Grams, %MPE, means as the pages print them: one decimal from 1 up (21.6, 300.0),
    two significant digits below (0.16, 0.008), so thin filaments do not print as 0.0."""
    if value is None or not np.isfinite(value):
        return "–"
    if value == 0 or abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def _fmt(value: float, unit: str = "") -> str:
    text = format_value(value)
    return f"{text} {unit}" if unit and text != "–" else text


def _marks_frame(summary: pd.DataFrame, marks: pd.DataFrame, key: MarkKey) -> pd.DataFrame:
    merged = summary.merge(marks, on=["group", "timepoint"], how="left")
    for column in ("vs_baseline_p", "vs_first_treated_p", "vs_control_p", "vs_pair_p"):
        if column not in merged:
            merged[column] = math.nan
        merged[column] = pd.to_numeric(merged[column], errors="coerce")
    merged["pair"] = merged["pair"].fillna("") if "pair" in merged else ""
    merged["marks"] = [
        mark_text(b, SYMBOL_VS_BASELINE, key)
        + mark_text(f, SYMBOL_VS_FIRST_TREATED, key)
        + mark_text(c, SYMBOL_VS_CONTROL, key)
        + mark_text(p, SYMBOL_CHOSEN_PAIR, key)
        for b, f, c, p in zip(
            merged["vs_baseline_p"],
            merged["vs_first_treated_p"],
            merged["vs_control_p"],
            merged["vs_pair_p"],
            strict=True,
        )
    ]
    return merged


def _n_at(row, column: str) -> int:
    value = getattr(row, column, 0)
    return 0 if value is None or pd.isna(value) else int(value)


def cutoff_hover(row, cutoff_text: str) -> str:
    """The hover line of a group and timepoint with animals at the cut-off."""
    n, at = int(row.n), _n_at(row, "n_at_cutoff")
    if at == n:
        return f"all {n} at the {cutoff_text}: the mean is the cut-off, no spread (bounded)"
    return f"{at} of {n} at the {cutoff_text}: mean and SEM bounded by it"


def _hover(
    row, group: GroupStyle, unit: str, key: MarkKey, *, cutoff_text: str, zero_at: str | None
) -> str:
    title = f"<b>{_text(group.code)}</b> {_text(row.timepoint)} (day {row.day:g})"
    if zero_at is not None and row.timepoint == zero_at:
        return "<br>".join([title, "0 by definition (the baseline)", f"n = {int(row.n)}"])
    lines = [
        title,
        f"mean {_fmt(row.mean, unit)} ± {_fmt(row.sem)} SEM",
        f"n = {int(row.n)}; median {_fmt(row.median)} (IQR {_fmt(row.q1)}–{_fmt(row.q3)})",
    ]
    if _n_at(row, "n_at_cutoff"):
        lines.append(cutoff_hover(row, cutoff_text))
    if _n_at(row, "n_at_lowest"):
        lines.append(f"{_n_at(row, 'n_at_lowest')} of {int(row.n)} withdrew at the lowest filament")
    for column, reference, test in (
        ("vs_baseline_p", key.baseline, key.within_test),
        ("vs_first_treated_p", key.first_treated, key.within_test),
        ("vs_control_p", key.control, key.between_test),
    ):
        p = getattr(row, column)
        if reference is not None and np.isfinite(p):
            lines.append(f"vs {_text(reference)}: {format_p(p)} ({test})")
    if row.pair and np.isfinite(row.vs_pair_p):
        lines.append(f"{_text(row.pair)}: {format_p(row.vs_pair_p)} ({key.within_test})")
    return "<br>".join(lines)


def _animal_lines(
    animals: pd.DataFrame, days: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, list]:
    """x, y and hover text of every animal of one group as one line with gaps."""
    # pivot_table(aggfunc="first") without its groupby machinery: an animal's first
    # recorded value per day, animals with none left out.
    recorded = animals.dropna(subset=["value"]).drop_duplicates(["animal", "day"])
    wide = recorded.pivot(index="animal", columns="day", values="value")
    wide = wide.reindex(columns=list(days))
    n, k = wide.shape
    # A NaN after each animal's last point breaks the line between animals.
    y = np.hstack([wide.to_numpy(dtype=float), np.full((n, 1), np.nan)]).ravel()
    x = np.tile(np.append(np.asarray(days, dtype=float), np.nan), n)
    text = np.repeat([_text(animal) for animal in wide.index], k + 1)
    return x, y, text.tolist()


def time_course(
    *,
    summary: pd.DataFrame,
    animals: pd.DataFrame,
    marks: pd.DataFrame,
    groups: Sequence[GroupStyle],
    phases: Sequence[PhaseBand],
    timepoints: Sequence[tuple[str, float]],
    key: MarkKey,
    y_title: str,
    unit: str = "",
    cutoff: float | None = None,
    publication: bool = False,
    filename: str = "figure",
    cutoff_text: str = "cut-off",
    zero_at: str | None = None,
    title: str = "",
) -> dict:
    """Mean ± SEM per group over study days, with phase bands and significance marks.

    ``summary`` is `stats.group_summary` output, ``animals`` the long frame
    (animal, group, timepoint, day, value), ``marks`` `stats.significance_marks`,
    ``timepoints`` (label, day) pairs in order. Where ``summary`` has ``n_at_cutoff``
    (`inputs.group_summary`), a ring (trace meta "cutoff") circles each mean some of whose
    animals sit at the cut-off, with ``cutoff_text`` ("300 g cut-off") in its hover.
    ``zero_at`` is the timepoint where the values are 0 by definition (%MPE's baseline):
    its hover says so instead of giving statistics. ``title`` names the chart (method).
    """
    labels = [label for label, _ in timepoints]
    days = [float(day) for _, day in timepoints]
    merged = _marks_frame(summary, marks, key) if not summary.empty else summary
    data: list[dict] = []
    for index, group in enumerate(groups):
        points = merged[merged["group"] == group.code] if not merged.empty else merged
        if points.empty:
            continue
        points = points.sort_values("day")
        mine = animals[animals["group"] == group.code]
        x, y, text = _animal_lines(mine, days)
        code, name = _text(group.code), _text(group.name)
        data.append(
            _scatter(
                x=_plain(x),
                y=_plain(y),
                text=text,
                mode="lines",
                name=f"{code} animals",
                legendgroup=group.code,
                showlegend=False,
                visible=False,
                meta="animals",
                line={"color": group.colour, "width": 1},
                opacity=0.45,
                connectgaps=False,
                hovertemplate=f"%{{text}} ({code}): %{{y:.4g}} {unit}<extra></extra>",
            )
        )
        sem = points["sem"].fillna(0.0).to_numpy(dtype=float)
        mean_trace = {
            "x": _plain(points["day"]),
            "y": _plain(points["mean"]),
            "error_y": {"type": "data", "array": _plain(sem), "visible": True},
            "mode": "lines+markers",
            "name": code if publication or group.name == group.code else f"{code} · {name}",
            "legendgroup": group.code,
            "meta": "mean",
            "customdata": points["n"].astype(int).tolist(),
            "text": [
                _hover(row, group, unit, key, cutoff_text=cutoff_text, zero_at=zero_at)
                for row in _rows(points)
            ],
            "hovertemplate": "%{text}<extra></extra>",
            "line": {"color": group.colour, "width": 2},
            "marker": {"color": group.colour, "size": 8},
        }
        if publication:
            mean_trace["marker"] = {
                "color": group.colour,
                "size": 10,
                "symbol": PUBLICATION_SYMBOLS[index % len(PUBLICATION_SYMBOLS)],
                "line": {"color": "black", "width": 1},
            }
            mean_trace["error_y"].update(color=group.colour, thickness=1.5, width=5)
        data.append(_scatter(**mean_trace))
        if "n_at_cutoff" in points:
            data.append(_cutoff_ring(points, group, code, cutoff_text, publication))
        top = points["mean"].to_numpy(dtype=float) + sem
        data.append(
            _scatter(
                x=_plain(points["day"]),
                y=_plain(top),
                text=points["marks"].tolist(),
                mode="text",
                textposition="top center",
                textfont={"color": group.colour, "size": 15 if publication else 14},
                name=f"{code} marks",
                legendgroup=group.code,
                showlegend=False,
                hoverinfo="skip",
                meta="marks",
                cliponaxis=False,
            )
        )
    layout = _layout(
        phases=phases,
        labels=labels,
        days=days,
        y_title=y_title,
        cutoff=cutoff,
        publication=publication,
    )
    if title:
        layout["title"] = {"text": _text(title), "x": 0, "xanchor": "left", "font": {"size": 14}}
        layout["margin"]["t"] = 64
    config = chart_config(filename, responsive=not publication)
    config["modeBarButtonsToRemove"] = [*config["modeBarButtonsToRemove"], "select2d", "lasso2d"]
    if publication:
        config["displayModeBar"] = True
        config["toImageButtonOptions"].update(scale=4, **PUBLICATION_SIZE)
    return {
        "data": data,
        "layout": layout,
        "config": config,
        "download": {"filename": filename, "svg": publication, **PUBLICATION_SIZE},
    }


def _cutoff_ring(points: pd.DataFrame, group: GroupStyle, code: str, cutoff_text, publication):
    """A ring around each mean some of whose animals sit at the cut-off: the mean there
    is bounded by the cut-off, not measured. Hover says how many."""
    at = points[pd.to_numeric(points["n_at_cutoff"], errors="coerce").fillna(0) > 0]
    at = _rows(at[["day", "mean", "n", "n_at_cutoff", "timepoint"]])
    return _scatter(
        x=_plain([r.day for r in at]),
        y=_plain([r.mean for r in at]),
        text=[f"{int(r.n_at_cutoff)}/{int(r.n)}" for r in at],
        customdata=[
            f"<b>{code}</b> {_text(r.timepoint)}: {cutoff_hover(r, cutoff_text)}" for r in at
        ],
        mode="markers+text",
        textposition="bottom center",
        textfont={"color": group.colour, "size": 11},
        marker={
            "symbol": "circle-open",
            "size": 20 if publication else 18,
            "color": group.colour,
            "line": {"width": 2, "color": group.colour},
        },
        name=f"{code} at cut-off",
        legendgroup=group.code,
        showlegend=False,
        meta="cutoff",
        hovertemplate="%{customdata}<extra></extra>",
        cliponaxis=False,
    )


# The chart toolbar's buttons that would send a study's data to Plotly's cloud (Chart
# Studio): study data stays on the lab's server, so they are never offered.
CLOUD_CONFIG = {
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "plotlyServerURL": "",
}
CLOUD_BUTTONS = ("sendDataToCloud", "editInChartStudio")


def chart_config(filename: str, *, responsive: bool = True) -> dict:
    """The plotly.js config of every chart: PNG download (SVG is added by dashboard.js
    where asked for), no plotly logo, nothing that sends data to Plotly's cloud."""
    return {
        "displaylogo": False,
        "responsive": responsive,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": list(CLOUD_BUTTONS),
        **CLOUD_CONFIG,
    }


def _scatter(**properties) -> dict:
    # Plain dicts, not plotly.graph_objects: validating thousands of points costs a
    # noticeable share of a large dashboard; tests/analysis/test_charts.py validates
    # every figure this module makes against plotly's schema instead.
    return {"type": "scatter", **properties}


def _layout(*, phases, labels, days, y_title, cutoff, publication) -> None:
    span = (max(days) - min(days)) if days else 1.0
    pad = max(span * 0.04, 1.0)
    x_range = [min(days) - pad, max(days) + pad] if days else None
    ticktext = (
        [_text(lab) for lab in labels]
        if publication
        else [f"{_text(lab)}<br>d{d:g}" for lab, d in zip(labels, days, strict=True)]
    )
    shapes, annotations = [], []
    for i, phase in enumerate(phases):
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": phase.first_day,
                "x1": phase.last_day + 1,
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(0,0,0,0.06)" if i % 2 == 0 else "rgba(0,0,0,0.12)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        annotations.append(
            {
                "xref": "x",
                "yref": "paper",
                "x": (phase.first_day + phase.last_day + 1) / 2,
                "y": 1.0,
                "yanchor": "bottom",
                "showarrow": False,
                "text": f"<b>{_text(phase.code)}</b>"
                if publication
                else f"<b>{_text(phase.code)}</b> {_text(phase.name)}",
                "font": {"size": 14 if publication else 12},
            }
        )
    if cutoff is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": cutoff,
                "y1": cutoff,
                "line": {"color": "#888", "width": 1, "dash": "dot"},
            }
        )
        annotations.append(
            {
                "xref": "paper",
                "yref": "y",
                "x": 1,
                "y": cutoff,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "text": f"cut-off {cutoff:g} g",
                "font": {"size": 11, "color": "#666"},
            }
        )
    axis = {
        "showline": True,
        "linecolor": "black",
        "ticks": "outside",
        "showgrid": not publication,
        "gridcolor": "#e5e5e5",
        "zeroline": False,
    }
    layout = {
        "font": {"family": FONT, "size": 14 if publication else 13, "color": "black"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "shapes": shapes,
        "annotations": annotations,
        "hovermode": "closest",
        "xaxis": {
            **axis,
            "title": {"text": "Timepoint" if publication else "Timepoint (study day)"},
            "tickmode": "array",
            "tickvals": days,
            "ticktext": ticktext,
            "range": x_range,
        },
        "yaxis": {
            **axis,
            "title": {"text": y_title},
            "rangemode": "tozero" if cutoff else "normal",
        },
        "legend": (
            {"x": 0.01, "y": 0.98, "bgcolor": "rgba(255,255,255,0.85)"}
            if publication
            else {"orientation": "h", "x": 0, "y": -0.22}
        ),
        "margin": {"l": 70, "r": 20, "t": 40, "b": 60 if publication else 90},
    }
    if publication:
        layout.update(autosize=False, **PUBLICATION_SIZE)
    return layout


def weight_chart(weights: pd.DataFrame, *, colour: str, filename: str) -> dict:
    """Body weight (g) over study days: ``weights`` has day, date, grams."""
    trace = _scatter(
        x=_plain(weights["day"]),
        y=_plain(weights["grams"]),
        text=[f"{d:%d %b %Y}" for d in weights["date"]],
        mode="lines+markers",
        name="Body weight",
        line={"color": colour, "width": 2},
        marker={"color": colour, "size": 7},
        hovertemplate="day %{x}: %{y:.1f} g<br>%{text}<extra></extra>",
    )
    layout = {
        "font": {"family": FONT, "size": 13},
        "xaxis": {"title": {"text": "Study day"}, "showline": True, "zeroline": False},
        "yaxis": {"title": {"text": "Body weight (g)"}, "showline": True, "zeroline": False},
        "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "height": 280,
        "showlegend": False,
    }
    return {
        "data": [trace],
        "layout": layout,
        "config": chart_config(filename),
        "download": {"filename": filename, "svg": False},
    }


FREQUENCY_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def frequency_chart(curves: list[dict], *, criterion_pct: float, filename: str) -> dict:
    """Withdrawal frequency (%) against filament force (g, log axis), one line per
    session (``selectors._frequency_curves``), with the study's criterion as a dashed
    line: where a line first reaches it is that session's threshold."""
    data = []
    for i, curve in enumerate(curves):
        colour = FREQUENCY_COLOURS[i % len(FREQUENCY_COLOURS)]
        data.append(
            _scatter(
                x=curve["forces_g"],
                y=curve["percent"],
                text=curve["counts"],
                mode="lines+markers",
                name=curve["label"],
                line={"color": colour, "width": 2},
                marker={"color": colour, "size": 8},
                hovertemplate=f"{curve['label']}: %{{x:g}} g, %{{text}} withdrawals "
                "(%{y:.0f} %)<extra></extra>",
            )
        )
    layout = {
        "font": {"family": FONT, "size": 13},
        "xaxis": {
            "title": {"text": "Filament force (g, log scale)"},
            "type": "log",
            "showline": True,
            "zeroline": False,
        },
        "yaxis": {
            "title": {"text": "Withdrawals (%)"},
            "range": [-5, 105],
            "showline": True,
            "zeroline": False,
        },
        "shapes": [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": criterion_pct,
                "y1": criterion_pct,
                "line": {"color": "#555", "width": 1, "dash": "dash"},
            }
        ],
        "annotations": [
            {
                "xref": "paper",
                "x": 0,
                "xanchor": "left",
                "y": criterion_pct,
                "yanchor": "bottom",
                "text": f"criterion {criterion_pct:.0f} %",
                "showarrow": False,
                "font": {"size": 12, "color": "#555"},
            }
        ],
        "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "height": 320,
        "legend": {"orientation": "h", "y": -0.25},
    }
    return {
        "data": data,
        "layout": layout,
        "config": chart_config(filename),
        "download": {"filename": filename, "svg": False},
    }


_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def to_json(figure: dict) -> str:
    """JSON for a ``<script type="application/json">`` block: numpy and NaN handled
    (NaN becomes null), and <, > and & escaped so a group name cannot end the block."""
    return to_json_plotly(figure).translate(_SCRIPT_ESCAPES)


PLAN_COLOURS = ("#9ecae1", "#08519c", "#6baed6")


def power_curve(result: dict, *, target_power: float, n_plan: int | None, filename: str) -> dict:
    """A sample-size plan's power curves (`analysis.planning.PlanResult.as_dict()`): n per
    group on x, simulated power (%) on y with its 95 % interval, one line per effect, the
    wanted power as a dashed line and the planned n marked."""
    data = []
    for colour, curve in zip(PLAN_COLOURS, result.get("curves", []), strict=False):
        points = curve["points"]
        main = curve["factor"] == 1.0
        data.append(
            _scatter(
                name=f"{curve['label']} ({curve['delta_g']:+.1f} g)",
                x=[p["n"] for p in points],
                y=[round(100 * p["power"], 1) for p in points],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [round(100 * (p["high"] - p["power"]), 2) for p in points],
                    "arrayminus": [round(100 * (p["power"] - p["low"]), 2) for p in points],
                    "thickness": 1,
                    "width": 0,
                },
                mode="lines+markers",
                line={
                    "color": colour,
                    "width": 3 if main else 2,
                    "dash": "solid" if main else "dot",
                },
                marker={"size": 6 if main else 4},
                hovertemplate="n = %{x} per group<br>power %{y:.1f} %"
                "<extra>%{fullData.name}</extra>",
            )
        )
    shapes = [
        {
            "type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 100 * target_power,
            "y1": 100 * target_power, "line": {"color": "#b2182b", "dash": "dash", "width": 2},
        }
    ]  # fmt: skip
    annotations = [
        {
            "xref": "paper", "x": 1, "xanchor": "right", "y": 100 * target_power,
            "yanchor": "bottom", "text": f"wanted power {target_power:.0%}", "showarrow": False,
            "font": {"color": "#b2182b"},
        }
    ]  # fmt: skip
    if n_plan:
        shapes.append(
            {
                "type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": n_plan, "x1": n_plan,
                "line": {"color": "#444", "dash": "dot", "width": 1},
            }
        )  # fmt: skip
        annotations.append(
            {
                "x": n_plan, "yref": "paper", "y": 0, "yanchor": "bottom", "xanchor": "left",
                "text": f" n = {n_plan} analysed", "showarrow": False,
            }
        )  # fmt: skip
    return {
        "data": data,
        "layout": {
            "xaxis": {"title": {"text": "animals per group (analysed)"}, "rangemode": "tozero"},
            "yaxis": {"title": {"text": "power (%)"}, "range": [0, 102]},
            "shapes": shapes,
            "annotations": annotations,
            "legend": {"title": {"text": "effect"}, "orientation": "h", "y": -0.2},
            "margin": {"t": 20, "r": 20},
            "height": 420,
        },
        "config": chart_config(filename),
    }
