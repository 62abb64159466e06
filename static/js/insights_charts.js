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
  window.InsightsCharts = { hatch: hatch, readJson: readJson, bindPngButtons: bindPngButtons };
})();
