/* Results pages: draw the plotly figures whose JSON sits in
 * <script type="application/json"> blocks, and wire the chart switches.
 * No inline script anywhere: the page names a block with data-figure="<id>". */
(function () {
  "use strict";

  // From the lowest Stoelting filament (0.008 g) to the cut-off. 0.008 takes the place of
  // 0.01: a tenth of a decade apart, their labels would print on top of each other.
  var LOG_TICKS = [0.008, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 300];

  function readFigure(id) {
    var block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : null;
  }

  function svgButton(figure) {
    var download = figure.download || {};
    return {
      name: "Download plot as SVG",
      title: "Download plot as SVG",
      icon: Plotly.Icons.disk,
      click: function (gd) {
        Plotly.downloadImage(gd, {
          format: "svg",
          filename: download.filename || "figure",
          width: download.width,
          height: download.height,
        });
      },
    };
  }

  function draw(element) {
    var figure = readFigure(element.dataset.figure);
    if (!figure) return;
    var config = Object.assign({}, figure.config || {});
    // Study data never goes to Plotly's cloud, whatever a figure's config says
    // (analysis/charts.py chart_config sets the same).
    config.showSendToCloud = false;
    config.showEditInChartStudio = false;
    config.plotlyServerURL = "";
    if (figure.download && figure.download.svg) {
      config.modeBarButtonsToAdd = [svgButton(figure)];
    }
    Plotly.newPlot(element, figure.data, figure.layout, config).then(function () {
      element.dataset.rendered = "true";
    });
  }

  function tracesWithMeta(element, meta) {
    var indices = [];
    (element.data || []).forEach(function (trace, index) {
      if (trace.meta === meta) indices.push(index);
    });
    return indices;
  }

  function onSwitch(selector, attribute, apply) {
    document.querySelectorAll(selector).forEach(function (input) {
      var chart = document.getElementById(input.getAttribute(attribute));
      if (!chart) return;
      input.addEventListener("change", function () {
        apply(chart, input.checked);
      });
    });
  }

  function ready() {
    document.querySelectorAll("[data-figure]").forEach(draw);
    onSwitch("[data-log-for]", "data-log-for", function (chart, on) {
      // Thresholds span 0.008-300 g: label 1-2-5 steps, not every digit of each decade.
      Plotly.relayout(chart, {
        "yaxis.type": on ? "log" : "linear",
        "yaxis.autorange": true,
        "yaxis.tickmode": on ? "array" : "auto",
        "yaxis.tickvals": on ? LOG_TICKS : null,
        "yaxis.ticktext": on ? LOG_TICKS.map(String) : null,
      });
    });
    onSwitch("[data-animals-for]", "data-animals-for", function (chart, on) {
      var indices = tracesWithMeta(chart, "animals");
      if (indices.length) Plotly.restyle(chart, { visible: on }, indices);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
