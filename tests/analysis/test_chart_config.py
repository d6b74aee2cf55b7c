"""No chart offers to send study data to Plotly's cloud (issue 14).

plotly.js shows a "send data to cloud" / "Edit in Chart Studio" button unless the
config says otherwise (its default `showSendToCloud` is true in the vendored build).
Every figure config built by `analysis.charts`, and every config a results page ships
to the browser, must switch them off and keep the PNG download.
"""

import json
import re
from html import unescape

import pytest
from django.urls import reverse

from analysis import charts
from animals.models import BodyWeight
from tests.worlds import add_animals, record, series_to

FIGURE_BLOCK = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.S)


def assert_no_cloud(config: dict, where: str) -> None:
    assert config.get("showSendToCloud") is False, where
    assert config.get("showEditInChartStudio") is False, where
    assert not config.get("plotlyServerURL"), where
    removed = set(config.get("modeBarButtonsToRemove", []))
    assert {"sendDataToCloud", "editInChartStudio"} <= removed, where
    # the PNG download stays
    assert config["toImageButtonOptions"]["format"] == "png", where
    assert "toImage" not in removed, where


def test_chart_config_switches_the_cloud_off_and_keeps_png():
    assert_no_cloud(charts.chart_config("study_threshold"), "chart_config")


@pytest.fixture
def charted(study, people):
    animals = add_animals(study, {"C1": "control", "K1": "K10"})
    tps = {t.label: t for t in study.timepoints.all()}
    for code, targets in {"C1": (2.0, 2.0), "K1": (2.0, 26.0)}.items():
        for label, target in zip(("T0", "T1"), targets, strict=True):
            record(animals[code], tps[label], series_to(target))
    BodyWeight.objects.create(
        animal=animals["K1"], date=study.day0_date, grams=250, created_by=people["technician"]
    )
    return study, animals


def test_every_page_that_draws_a_chart_ships_a_config_without_the_cloud(charted, client_for):
    study, animals = charted
    client = client_for("investigator")
    pages = {
        "dashboard": reverse("dashboard", args=[study.slug]),
        "figure": reverse("dashboard_figure", args=[study.slug]),
        "animal": reverse("dashboard_animal", args=[study.slug, animals["K1"].pk]),
    }
    seen = 0
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        blocks = FIGURE_BLOCK.findall(response.content.decode())
        figures = [(i, json.loads(unescape(text))) for i, text in blocks]
        figures = [(i, f) for i, f in figures if isinstance(f, dict) and "data" in f]
        assert figures, f"no chart on the {name} page"
        for block_id, figure in figures:
            assert_no_cloud(figure["config"], f"{name}: {block_id}")
            seen += 1
    assert seen >= 5  # threshold and %MPE twice, the animal's weight
