// Trends page: draws the p-chart and the X̄-chart with their 3σ limits; out-of-control
// weeks get a large crossed-square marker (not colour alone).
(function () {
  "use strict";
  if (typeof Chart === "undefined" || !window.InsightsCharts) {
    return;
  }
  var data = window.InsightsCharts.readJson("control-data");
  if (!data) {
    return;
  }
  var charts = {};

  function draw(canvasId, chart, label) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !chart) { return; }
    var points = chart.points;
    var pick = function (key) { return points.map(function (p) { return p[key]; }); };
    charts[canvasId] = new Chart(canvas, {
      type: "line",
      data: {
        labels: pick("label"),
        datasets: [
          {
            label: label,
            data: pick("value"),
            borderColor: "#1b3a66",
            spanGaps: true,
            pointStyle: points.map(function (p) { return p.out_of_control ? "crossRot" : "circle"; }),
            pointRadius: points.map(function (p) { return p.out_of_control ? 9 : 3; }),
            pointBorderWidth: points.map(function (p) { return p.out_of_control ? 3 : 1; }),
            pointBorderColor: points.map(function (p) { return p.out_of_control ? "#8a1c1c" : "#1b3a66"; })
          },
          { label: "Upper limit (3σ)", data: pick("upper"), borderColor: "#555", borderDash: [6, 4], pointRadius: 0, stepped: "middle" },
          { label: "Lower limit (3σ)", data: pick("lower"), borderColor: "#555", borderDash: [6, 4], pointRadius: 0, stepped: "middle" },
          { label: "Centre", data: pick("centre"), borderColor: "#999", borderDash: [2, 3], pointRadius: 0 }
        ]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } }
    });
    canvas.dataset.drawn = String(points.length);
  }

  draw("p-chart", data.p, "Negative share");
  draw("xbar-chart", data.xbar, "Average CSAT");
  window.InsightsCharts.bindPngButtons(charts);
})();
