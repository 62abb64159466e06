// Insights overview: draws the time series (with forecast band), the channel chart and the
// internal/external chart from the JSON the page embeds. Bars open the inbox filtered to
// their feedback; charts download as PNG; "Print report" prints. Meaning never rests on
// colour alone: each series has its own pattern, dash or marker.
(function () {
  "use strict";
  if (typeof Chart === "undefined" || !window.InsightsCharts) {
    return;
  }
  var hatch = window.InsightsCharts.hatch;
  var read = window.InsightsCharts.readJson;

  function goTo(links) {
    return function (event, elements) {
      if (!elements.length) { return; }
      var link = links[elements[0].datasetIndex] && links[elements[0].datasetIndex][elements[0].index];
      if (link) { window.location.href = link; }
    };
  }

  // Keyboard: Enter on a focused chart moves to the first link of its table instead,
  // opening the "Show the numbers" box the table may sit in (a closed one takes no focus).
  function keyboardFallback(canvas, tableId) {
    canvas.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      var table = document.getElementById(tableId);
      var link = table && table.querySelector("a[data-count]");
      if (!link) { return; }
      var details = link.closest("details");
      if (details) { details.open = true; }
      link.focus();
    });
  }

  var charts = {};
  var base = { responsive: true, maintainAspectRatio: false, animation: false };

  var series = read("series-data");
  var seriesCanvas = document.getElementById("series-chart");
  if (series && seriesCanvas) {
    var points = series.points;
    var forecast = series.forecast || [];
    var periods = points.map(function (p) { return p.period; });
    // The forecast starts with the current week, which the series already shows (so far):
    // it is drawn on that week, and only its later weeks are added to the axis.
    var forecastStart = forecast.length ? periods.indexOf(forecast[0].period) : -1;
    if (forecastStart < 0) { forecastStart = periods.length; }
    var labels = periods.concat(forecast.slice(periods.length - forecastStart).map(function (p) { return p.period; }));
    var datasets = [
      {
        type: "bar",
        label: "Feedback volume",
        data: points.map(function (p) { return p.volume; }),
        backgroundColor: "rgba(44, 94, 160, 0.6)",
        yAxisID: "volume",
        order: 3
      },
      {
        type: "line",
        label: "Average sentiment",
        data: points.map(function (p) { return p.average_sentiment; }),
        borderColor: "#111111",
        borderDash: [6, 3],
        pointStyle: "rectRot",
        pointRadius: 3,
        spanGaps: true,
        yAxisID: "sentiment",
        order: 1
      }
    ];
    if (forecast.length) {
      Array.prototype.push.apply(datasets, window.InsightsCharts.forecastDatasets(
        forecast, forecastStart,
        { bandLabel: "Prediction band", forecastLabel: "Forecast volume", yAxisID: "volume", type: "line" }
      ));
    }
    charts["series-chart"] = new Chart(seriesCanvas, {
      data: { labels: labels, datasets: datasets },
      options: Object.assign({}, base, {
        interaction: { mode: "index", intersect: false },
        onClick: function (event, elements) {
          var point = elements.length ? points[elements[0].index] : null;
          if (point && point.link) { window.location.href = point.link; }
        },
        scales: {
          volume: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "Feedback" } },
          sentiment: { type: "linear", position: "right", min: -1, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: "Average sentiment" } }
        }
      })
    });
    seriesCanvas.dataset.drawn = String(labels.length);
    keyboardFallback(seriesCanvas, "series-table");
  }

  function barChart(canvasId, dataId, tableId) {
    var bars = read(dataId);
    var canvas = document.getElementById(canvasId);
    if (!bars || !canvas) { return; }
    charts[canvasId] = new Chart(canvas, {
      type: "bar",
      data: {
        labels: bars.map(function (b) { return b.label; }),
        datasets: [
          {
            label: "Feedback volume",
            data: bars.map(function (b) { return b.volume; }),
            backgroundColor: "rgba(44, 94, 160, 0.75)",
            borderColor: "#1b3a66",
            borderWidth: 1,
            yAxisID: "volume"
          },
          {
            label: "Negative share (%)",
            data: bars.map(function (b) { return b.negative_share === null ? null : Math.round(b.negative_share * 1000) / 10; }),
            backgroundColor: hatch("#8a1c1c"),
            borderColor: "#8a1c1c",
            borderWidth: 1,
            yAxisID: "share"
          }
        ]
      },
      options: Object.assign({}, base, {
        onClick: goTo([bars.map(function (b) { return b.volume_link; }), bars.map(function (b) { return b.negative_link; })]),
        scales: {
          volume: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "Feedback" } },
          share: { type: "linear", position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "Negative %" } }
        }
      })
    });
    canvas.dataset.drawn = String(bars.length);
    keyboardFallback(canvas, tableId);
  }
  barChart("channel-chart", "channel-data", "channel-table");
  barChart("kind-chart", "kind-data", "kind-table");

  window.InsightsCharts.bindPngButtons(charts);
})();
