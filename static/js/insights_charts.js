// Shared by the insights pages: patterns that keep meaning in grey scale, PNG download
// of any chart, and the "Print report" button. Exposes window.InsightsCharts.
(function () {
  "use strict";

  // A diagonal-hatch fill so a series stays distinct in grey scale and print.
  function hatch(colour) {
    var tile = document.createElement("canvas");
    tile.width = 8;
    tile.height = 8;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = "rgba(255,255,255,0.9)";
    ctx.fillRect(0, 0, 8, 8);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(0, 8);
    ctx.lineTo(8, 0);
    ctx.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  // The forecast after ``offset`` points of history: the prediction band (upper and lower
  // lines, hatched between) and the forecast line. ``options``: bandLabel, forecastLabel,
  // and yAxisID / type where the chart mixes axes or chart types.
  function forecastDatasets(forecast, offset, options) {
    var lead = new Array(offset).fill(null);
    function line(values, extra) {
      var dataset = Object.assign({ data: lead.concat(values) }, extra);
      if (options.yAxisID) { dataset.yAxisID = options.yAxisID; }
      if (options.type) { dataset.type = options.type; }
      return dataset;
    }
    var band = { borderColor: "rgba(120,120,120,0.8)", borderWidth: 1, pointRadius: 0, order: 2 };
    return [
      line(forecast.map(function (p) { return p.upper; }), Object.assign({
        label: options.bandLabel + " (upper)", fill: "+1", backgroundColor: hatch("#777777")
      }, band)),
      line(forecast.map(function (p) { return p.lower; }), Object.assign({
        label: options.bandLabel + " (lower)"
      }, band)),
      line(forecast.map(function (p) { return p.value; }), {
        label: options.forecastLabel,
        borderColor: "#b34700",
        borderDash: [4, 3],
        pointStyle: "triangle",
        pointRadius: 4,
        order: 0
      })
    ];
  }

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Buttons with class chart-png and data-chart="<canvas id>" download that chart.
  function bindPngButtons(charts) {
    Array.prototype.forEach.call(document.querySelectorAll("button.chart-png"), function (button) {
      button.addEventListener("click", function () {
        var chart = charts[button.dataset.chart];
        if (!chart) { return; }
        var link = document.createElement("a");
        link.href = chart.toBase64Image("image/png", 1);
        link.download = (button.dataset.name || "chart") + ".png";
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
    });
    window.addEventListener("beforeprint", function () {
      Object.keys(charts).forEach(function (key) { charts[key].resize(); });
    });
  }

  function bindPrint() {
    var button = document.getElementById("print-report");
    if (button) {
      button.addEventListener("click", function () { window.print(); });
    }
  }

  bindPrint();
  window.InsightsCharts = {
    hatch: hatch,
    readJson: readJson,
    bindPngButtons: bindPngButtons,
    forecastDatasets: forecastDatasets
  };
})();
