// Draws the weekly trend on the insights dashboard from the JSON the page embeds.
(function () {
  "use strict";
  var dataNode = document.getElementById("trend-data");
  var canvas = document.getElementById("trend-chart");
  if (!dataNode || !canvas || typeof Chart === "undefined") {
    return;
  }
  var series = JSON.parse(dataNode.textContent);
  var chart = new Chart(canvas, {
    data: {
      labels: series.map(function (row) { return row.week; }),
      datasets: [
        {
          type: "bar",
          label: "Feedback volume",
          data: series.map(function (row) { return row.volume; }),
          backgroundColor: "rgba(44, 94, 160, 0.55)",
          yAxisID: "volume",
          order: 2
        },
        {
          type: "line",
          label: "Average sentiment",
          data: series.map(function (row) { return row.average_sentiment; }),
          borderColor: "#111111",
          borderDash: [6, 3],
          pointStyle: "rectRot",
          spanGaps: true,
          yAxisID: "sentiment",
          order: 1
        }
      ]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        volume: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "Feedback per week" } },
        sentiment: { type: "linear", position: "right", min: -1, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: "Average sentiment" } }
      }
    }
  });
  canvas.dataset.drawn = String(chart.data.labels.length);
})();
