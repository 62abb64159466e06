// Forecasts page: one chart at a time, chosen by metric, scope and series, showing the
// series' history, its forecast and the prediction band; the series' backtest and table
// are shown beside it and the others hidden. Without JavaScript every series stays listed.
(function () {
  "use strict";
  if (typeof Chart === "undefined" || !window.InsightsCharts) {
    return;
  }
  var series = window.InsightsCharts.readJson("forecast-data");
  var canvas = document.getElementById("forecast-chart");
  var picker = document.getElementById("forecast-picker");
  if (!series || !series.length || !canvas || !picker) {
    return;
  }
  var metricSelect = document.getElementById("forecast-metric");
  var scopeSelect = document.getElementById("forecast-scope");
  var seriesSelect = document.getElementById("forecast-series");
  var byKey = {};
  series.forEach(function (item) { byKey[item.key] = item; });
  var chart = null;

  function matching(metric, scope) {
    return series.filter(function (item) { return item.metric === metric && item.scope === scope; });
  }

  // Options that would lead nowhere (no forecast of that metric or scope) are disabled.
  function syncOptions() {
    Array.prototype.forEach.call(scopeSelect.options, function (option) {
      option.disabled = !matching(metricSelect.value, option.value).length;
    });
    if (scopeSelect.selectedOptions[0].disabled) {
      var first = Array.prototype.find.call(scopeSelect.options, function (o) { return !o.disabled; });
      if (first) { scopeSelect.value = first.value; }
    }
    var current = seriesSelect.value;
    var choices = matching(metricSelect.value, scopeSelect.value);
    seriesSelect.replaceChildren.apply(seriesSelect, choices.map(function (item) {
      return new Option(item.label, item.key, false, item.key === current);
    }));
    seriesSelect.disabled = choices.length < 2;
  }

  function draw(item) {
    var history = item.history;
    var forecast = item.forecast;
    var offset = history.length;
    var labels = history.map(function (p) { return p.week; }).concat(forecast.map(function (p) { return p.week; }));
    var datasets = [
      {
        label: item.metric_display + " (history)",
        data: history.map(function (p) { return p.value; }),
        borderColor: "#1b3a66",
        pointStyle: "circle",
        pointRadius: 3,
        spanGaps: true,
        order: 1
      }
    ].concat(window.InsightsCharts.forecastDatasets(forecast, offset, {
      bandLabel: "Prediction band, " + item.interval + " %",
      forecastLabel: item.metric_display + " (forecast)"
    }));
    var y = { title: { display: true, text: item.metric_display } };
    if (item.metric === "volume") { y.beginAtZero = true; y.ticks = { precision: 0 }; }
    if (item.metric === "sentiment") { y.suggestedMin = -1; y.suggestedMax = 1; }
    if (chart) { chart.destroy(); }
    chart = new Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: y }
      }
    });
    canvas.setAttribute("aria-label", item.metric_display + ", " + item.label + ": history and forecast");
    canvas.dataset.series = item.key;
    canvas.dataset.drawn = String(labels.length);
    Array.prototype.forEach.call(document.querySelectorAll(".forecast-series"), function (section) {
      section.hidden = section.dataset.key !== item.key;
    });
  }

  function show() {
    syncOptions();
    var item = byKey[seriesSelect.value];
    if (item) { draw(item); }
  }

  Array.prototype.forEach.call(metricSelect.options, function (option) {
    option.disabled = !series.some(function (item) { return item.metric === option.value; });
  });
  // Volume overall first, the figure people look for; else whatever exists.
  var start = byKey["volume:overall"] || series[0];
  metricSelect.value = start.metric;
  scopeSelect.value = start.scope;
  seriesSelect.value = start.key;
  [metricSelect, scopeSelect, seriesSelect].forEach(function (select) {
    select.addEventListener("change", show);
  });
  picker.addEventListener("submit", function (event) { event.preventDefault(); });
  picker.hidden = false;
  show();
})();
