// Follows the running analysis runs: polls their status and moves the progress bars.
(function () {
  "use strict";
  var table = document.getElementById("runs");
  if (!table || table.dataset.running !== "true") {
    return;
  }
  var url = table.dataset.statusUrl;
  var delay = 2000;

  function update(run) {
    var row = table.querySelector('tr[data-run="' + run.id + '"]');
    if (!row) {
      return false;
    }
    row.querySelector('[data-field="status_display"]').textContent = run.status_display;
    row.querySelector('[data-field="rows"]').textContent = run.rows;
    row.querySelector('[data-field="error"]').textContent = run.error;
    var bar = row.querySelector('[data-field="progress"]');
    if (bar && run.percent !== null) {
      bar.value = run.percent;
      bar.textContent = run.percent + "%";
    }
    return run.status === "running";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var stillRunning = false;
        var unknown = false;
        data.runs.forEach(function (run) {
          var known = table.querySelector('tr[data-run="' + run.id + '"]');
          if (!known) {
            unknown = unknown || run.status === "running";
            return;
          }
          stillRunning = update(run) || stillRunning;
        });
        var bars = table.querySelectorAll('[data-field="progress"]');
        if (unknown || (!stillRunning && bars.length)) {
          // A run started or finished: the page lists it with its final figures.
          window.location.reload();
          return;
        }
        delay = 2000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // Signed out or server away: try again, less and less often (at most once a minute).
        delay = Math.min(delay * 2, 60000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
