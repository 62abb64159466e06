// Draws one bar chart per question on the survey results page from the embedded JSON.
(function () {
  "use strict";
  var dataNode = document.getElementById("results-data");
  if (!dataNode || typeof Chart === "undefined") {
    return;
  }
  JSON.parse(dataNode.textContent).forEach(function (item) {
    var canvas = document.getElementById("chart-" + item.key);
    if (!canvas) {
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: item.labels,
        datasets: [{ label: "Answers", data: item.counts, backgroundColor: item.colors || "rgba(44, 94, 160, 0.65)" }]
      },
      options: {
        indexAxis: item.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    canvas.dataset.drawn = String(item.labels.length);
  });
})();
