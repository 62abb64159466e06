// Follows a running review import: polls its status and moves the progress bar.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "true") {
    return;
  }
  var bar = document.getElementById("import-progress-bar");
  var url = box.dataset.statusUrl;
  var delay = 1000;
  var number = new Intl.NumberFormat();
  // "Not moving? Queue it again" only once nothing has moved for a while: while rows are
  // being read it would invite a needless second start.
  var STALLED_MS = 60000;
  var hint = box.querySelector("[data-stalled-hint]");
  var lastProcessed = null;
  var lastMove = Date.now();
  if (hint) {
    hint.hidden = true;
  }

  function watchProgress(processed) {
    if (processed !== lastProcessed) {
      lastProcessed = processed;
      lastMove = Date.now();
    }
    if (hint) {
      hint.hidden = Date.now() - lastMove < STALLED_MS;
    }
  }

  function show(name, value) {
    var node = box.querySelector('[data-field="' + name + '"]');
    if (node) {
      node.textContent = typeof value === "number" ? number.format(value) : value;
    }
  }

  function update(status) {
    bar.value = status.percent_done;
    bar.textContent = status.percent_done + "%";
    ["status_display", "rows_processed", "rows_total", "percent_done", "rows_imported",
      "rows_duplicate", "rows_skipped"].forEach(function (name) { show(name, status[name]); });
    if (status.failure_reason) {
      show("failure_reason", status.failure_reason);
      box.querySelector('[data-field="failure_reason"]').hidden = false;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        update(status);
        watchProgress(status.rows_processed);
        if (status.is_finished) {
          // The finished page lists the skipped rows and offers their download.
          window.location.reload();
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // Signed out or server away: keep trying, less and less often (at most once a minute).
        delay = Math.min(delay * 2, 60000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
