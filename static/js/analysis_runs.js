// Follows the running analysis runs: polls their status and moves the progress bars.
// After "Run now" it also waits for the queued run to start (or even to finish, when it
// is quick) and then shows it.
(function () {
  "use strict";
  var table = document.getElementById("runs");
  if (!table) {
    return;
  }
  var queued = table.dataset.queued;
  var queuedAfter = Number(table.dataset.queuedAfter || 0);
  if (table.dataset.running !== "true" && !queued) {
    return;
  }
  var url = table.dataset.statusUrl;
  var delay = 2000;

  function reload() {
    // Without ?queued: once shown, the run is no longer waited for.
    var here = new URL(window.location.href);
    here.searchParams.delete("queued");
    here.searchParams.delete("after");
    window.location.replace(here.toString());
  }

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
            unknown = unknown || (run.kind === queued && run.id > queuedAfter);
            return;
          }
          stillRunning = update(run) || stillRunning;
        });
        var bars = table.querySelectorAll('[data-field="progress"]');
        if (unknown || (!stillRunning && bars.length)) {
          // A run started or finished: the page lists it with its final figures.
          reload();
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
