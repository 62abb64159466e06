// Kiosk mode: draws the survey from its question definitions, queues every response in
// localStorage with a client UUID and syncs the queue whenever the network is there.
// The server stores each client UUID once, so a batch sent twice never counts twice.
// Display logic mirrors surveys/logic.py (evaluate, visible_keys); the server re-checks.
(function () {
  "use strict";

  var configNode = document.getElementById("kiosk-config");
  if (!configNode) {
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var QUEUE_KEY = "focusloop.kiosk.queue." + config.survey.id;
  var REFUSED_KEY = "focusloop.kiosk.refused." + config.survey.id;
  var BATCH_SIZE = 50;
  var RETRY_MS = 15000;
  var THANKS_MS = 4000;

  var root = document.getElementById("kiosk");
  var form = document.getElementById("kiosk-form");
  var container = document.getElementById("kiosk-questions");
  var errorsBox = document.getElementById("kiosk-errors");
  var thanks = document.getElementById("kiosk-thanks");
  var netBadge = document.getElementById("kiosk-net");
  var queueCount = document.getElementById("kiosk-queue-count");
  var syncStatus = document.getElementById("kiosk-sync-status");
  var refusedBox = document.getElementById("kiosk-refused");
  var refusedList = document.getElementById("kiosk-refused-list");
  var questions = config.questions;
  var startedAt = null;
  var syncing = false;
  var thanksTimer = null;

  // --- storage -------------------------------------------------------------------------

  function readList(key) {
    try {
      var value = JSON.parse(window.localStorage.getItem(key) || "[]");
      return Array.isArray(value) ? value : [];
    } catch (error) {
      return [];
    }
  }

  function writeList(key, list) {
    window.localStorage.setItem(key, JSON.stringify(list));
  }

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Plain-http pages have no randomUUID; getRandomValues is there in every context.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // --- drawing the form ----------------------------------------------------------------

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function option(type, name, value, label) {
    var wrapper = el("label", { class: "kq-option" });
    var input = el("input", { type: type, name: name, value: String(value) });
    wrapper.appendChild(input);
    wrapper.appendChild(el("span", {}, label));
    return wrapper;
  }

  function drawQuestion(q) {
    var name = "kq-" + q.key;
    var box = el("fieldset", { class: "kq", id: "kq-" + q.key, "data-key": q.key });
    var legend = el("legend", {}, q.text);
    if (q.required) {
      legend.appendChild(el("span", { class: "req", "aria-label": "required" }, " *"));
    } else {
      legend.appendChild(el("span", { class: "optional" }, " (optional)"));
    }
    box.appendChild(legend);
    if (q.help_text) {
      box.appendChild(el("span", { class: "help" }, q.help_text));
    }
    var options;
    if (q.family === "scale") {
      options = el("div", { class: "kq-options", role: "radiogroup" });
      q.points.forEach(function (point) {
        var label = q.kind === "stars" ? point.value + " ★" : String(point.value);
        options.appendChild(option("radio", name, point.value, label));
      });
      box.appendChild(options);
      var ends = q.points.filter(function (p) { return p.label; });
      if (ends.length && q.kind !== "stars") {
        var legendRow = el("div", { class: "kq-scale-labels", "aria-hidden": "true" });
        legendRow.appendChild(el("span", {}, ends[0].label));
        legendRow.appendChild(el("span", {}, ends.length > 1 ? ends[ends.length - 1].label : ""));
        box.appendChild(legendRow);
      }
    } else if (q.family === "yes_no") {
      options = el("div", { class: "kq-options" });
      options.appendChild(option("radio", name, "yes", "Yes"));
      options.appendChild(option("radio", name, "no", "No"));
      box.appendChild(options);
    } else if (q.family === "choice" || q.family === "multiple") {
      var type = q.family === "choice" ? "radio" : "checkbox";
      options = el("div", { class: "kq-options stacked" });
      q.choices.forEach(function (choice) {
        options.appendChild(option(type, name, choice, choice));
      });
      if (q.allow_other) {
        options.appendChild(option(type, name, q.other_label, q.other_label));
      }
      box.appendChild(options);
      if (q.allow_other) {
        box.appendChild(el("input", {
          type: "text", class: "kq-other", name: name + "__other", maxlength: "200",
          "aria-label": q.other_label + " (please specify)", placeholder: q.other_label + "…",
        }));
      }
    } else if (q.kind === "long_text") {
      var area = el("textarea", { name: name, rows: "4", "aria-label": q.text });
      if (q.max_length) { area.setAttribute("maxlength", String(q.max_length)); }
      box.appendChild(area);
    } else {
      var input = el("input", { type: "text", name: name, "aria-label": q.text });
      if (q.max_length) { input.setAttribute("maxlength", String(q.max_length)); }
      box.appendChild(input);
    }
    box.appendChild(el("p", { class: "error", hidden: "" }));
    return box;
  }

  function drawForm() {
    container.textContent = "";
    questions.forEach(function (q) { container.appendChild(drawQuestion(q)); });
    startedAt = null;
    updateVisibility();
  }

  // --- reading answers -----------------------------------------------------------------

  function inputs(q) {
    return Array.prototype.slice.call(form.querySelectorAll('[name="kq-' + q.key + '"]'));
  }

  function otherText(q) {
    var node = form.querySelector('[name="kq-' + q.key + '__other"]');
    return node ? node.value.trim() : "";
  }

  function checkedValues(q) {
    return inputs(q).filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
  }

  // The value logic rules compare (like CleanAnswer.value), or null when unanswered.
  function logicValue(q) {
    if (q.family === "scale") {
      var picked = checkedValues(q);
      return picked.length ? Number(picked[0]) : null;
    }
    if (q.family === "yes_no" || q.family === "choice") {
      var one = checkedValues(q);
      if (!one.length && q.family === "choice" && otherText(q)) {
        return q.other_label;
      }
      return one.length ? one[0] : null;
    }
    if (q.family === "multiple") {
      var many = checkedValues(q);
      if (otherText(q) && many.indexOf(q.other_label) < 0 && q.allow_other) {
        many.push(q.other_label);
      }
      return many.length ? many : null;
    }
    var text = inputs(q)[0].value.trim();
    return text ? text : null;
  }

  // What the server's submit_response takes for this question (undefined: no answer).
  function answerPayload(q) {
    var value = logicValue(q);
    if (value === null) {
      return undefined;
    }
    if (q.family === "choice" && q.allow_other) {
      return { choice: value, other: value === q.other_label ? otherText(q) : "" };
    }
    if (q.family === "multiple") {
      var picked = value.filter(function (v) { return v !== q.other_label; });
      if (q.allow_other) {
        return { choices: value.indexOf(q.other_label) >= 0 ? picked.concat([q.other_label]) : picked,
          other: value.indexOf(q.other_label) >= 0 ? otherText(q) : "" };
      }
      return picked;
    }
    return value;
  }

  // --- logic (mirror of surveys/logic.py) ----------------------------------------------

  function num(value) {
    if (typeof value === "boolean" || value === null || value === undefined || value === "") {
      return null;
    }
    var n = Number(value);
    return isFinite(n) ? n : null;
  }

  function evaluate(rule, family, value) {
    var op = rule.op;
    var expected = rule.value;
    if (op === "answered") {
      var want = expected === undefined || expected === null ? true : Boolean(expected);
      return (value !== null) === want;
    }
    if (value === null) {
      return false;
    }
    if (family === "scale") {
      if (op === "in") {
        return (expected || []).some(function (v) { return num(v) === num(value); });
      }
      var a = num(value);
      var b = num(expected);
      if (a === null || b === null) {
        return false;
      }
      return { eq: a === b, neq: a !== b, lt: a < b, lte: a <= b, gt: a > b, gte: a >= b }[op] || false;
    }
    if (op === "contains") {
      if (family === "multiple") {
        return value.indexOf(String(expected)) >= 0;
      }
      return String(value).toLowerCase().indexOf(String(expected).trim().toLowerCase()) >= 0;
    }
    if (op === "eq") { return value === expected; }
    if (op === "neq") { return value !== expected; }
    if (op === "in") { return (expected || []).indexOf(value) >= 0; }
    return false;
  }

  function visibleKeys() {
    var families = {};
    questions.forEach(function (q) { families[q.key] = q.family; });
    var seen = {};
    var visible = [];
    for (var i = 0; i < questions.length; i += 1) {
      var q = questions[i];
      var rule = q.show_if || {};
      if (rule.op) {
        var ref = rule.question;
        var refValue = Object.prototype.hasOwnProperty.call(seen, ref) ? seen[ref] : null;
        if (!(ref in families) || !evaluate(rule, families[ref], refValue)) {
          continue;
        }
      }
      visible.push(q.key);
      var value = logicValue(q);
      if (value !== null) {
        seen[q.key] = value;
      }
      var endRule = q.end_if || {};
      if (endRule.op && evaluate(endRule, q.family, value)) {
        break;
      }
    }
    return visible;
  }

  function updateVisibility() {
    var visible = visibleKeys();
    questions.forEach(function (q) {
      var box = document.getElementById("kq-" + q.key);
      var shown = visible.indexOf(q.key) >= 0;
      box.hidden = !shown;
      box.disabled = !shown;
    });
    return visible;
  }

  // --- submitting ----------------------------------------------------------------------

  function showError(q, message) {
    var box = document.getElementById("kq-" + q.key);
    var node = box.querySelector(".error");
    box.classList.toggle("has-errors", Boolean(message));
    node.textContent = message || "";
    node.hidden = !message;
  }

  function collect() {
    var visible = updateVisibility();
    var answers = {};
    var missing = [];
    questions.forEach(function (q) {
      showError(q, "");
      if (visible.indexOf(q.key) < 0) {
        return;
      }
      var payload = answerPayload(q);
      if (payload === undefined) {
        if (q.required) {
          missing.push(q);
        }
        return;
      }
      if (q.family === "choice" && q.allow_other && payload.choice === q.other_label && !payload.other) {
        missing.push(q);
        return;
      }
      answers[q.key] = payload;
    });
    missing.forEach(function (q) { showError(q, "This question requires an answer."); });
    errorsBox.hidden = missing.length === 0;
    if (missing.length) {
      document.getElementById("kq-" + missing[0].key).scrollIntoView({ block: "center" });
      return null;
    }
    return answers;
  }

  form.addEventListener("input", function () {
    if (!startedAt) {
      startedAt = new Date().toISOString();
    }
    updateVisibility();
  });
  form.addEventListener("change", updateVisibility);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var answers = collect();
    if (!answers) {
      return;
    }
    var now = new Date().toISOString();
    var queue = readList(QUEUE_KEY);
    queue.push({ client_uuid: newUuid(), answers: answers, submitted_at: now, started_at: startedAt || now });
    writeList(QUEUE_KEY, queue);
    showQueue();
    showThanks();
    sync();
  });

  function showThanks() {
    form.hidden = true;
    thanks.hidden = false;
    document.getElementById("kiosk-thanks-text").textContent = config.thankYou;
    window.clearTimeout(thanksTimer);
    thanksTimer = window.setTimeout(nextPerson, THANKS_MS);
  }

  function nextPerson() {
    window.clearTimeout(thanksTimer);
    form.reset();
    drawForm();
    errorsBox.hidden = true;
    thanks.hidden = true;
    form.hidden = !config.accepting;
    window.scrollTo(0, 0);
  }

  document.getElementById("kiosk-next").addEventListener("click", nextPerson);

  // --- queue and sync ------------------------------------------------------------------

  function showQueue() {
    queueCount.textContent = String(readList(QUEUE_KEY).length);
  }

  function showNetwork() {
    var online = navigator.onLine;
    netBadge.dataset.online = online ? "true" : "false";
    netBadge.textContent = online ? "Online" : "Offline";
  }

  function showRefused() {
    var refused = readList(REFUSED_KEY);
    refusedList.textContent = "";
    refused.forEach(function (item) {
      var text = new Date(item.submitted_at).toLocaleString() + ": " + item.reason;
      if (item.messages && item.messages.length) {
        text += " — " + item.messages.join(" ");
      }
      refusedList.appendChild(el("li", {}, text));
    });
    refusedBox.hidden = refused.length === 0;
  }

  document.getElementById("kiosk-refused-clear").addEventListener("click", function () {
    writeList(REFUSED_KEY, []);
    showRefused();
  });

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    var input = document.querySelector('#kiosk-csrf [name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  var REASONS = { closed: "the survey is closed", quota: "the quota was reached", invalid: "invalid answers" };

  function applyResults(batch, results) {
    var byUuid = {};
    batch.forEach(function (item) { byUuid[item.client_uuid] = item; });
    var done = {};
    var refused = readList(REFUSED_KEY);
    var outcome = { stored: 0, refused: 0, reasons: [] };
    results.forEach(function (result) {
      done[result.client_uuid] = true;
      if (result.status === "refused") {
        var item = byUuid[result.client_uuid] || {};
        var messages = [];
        Object.keys(result.messages || {}).forEach(function (key) {
          (result.messages[key] || []).forEach(function (m) {
            messages.push(key === "__all__" ? m : key + ": " + m);
          });
        });
        var reason = REASONS[result.reason] || result.reason;
        refused.push({
          client_uuid: result.client_uuid,
          submitted_at: item.submitted_at || new Date().toISOString(),
          reason: reason,
          messages: messages,
        });
        outcome.refused += 1;
        if (outcome.reasons.indexOf(reason) === -1) {
          outcome.reasons.push(reason);
        }
      } else {
        outcome.stored += 1;
      }
    });
    // Items queued while the request ran stay; only the answered ones leave.
    writeList(QUEUE_KEY, readList(QUEUE_KEY).filter(function (item) { return !done[item.client_uuid]; }));
    writeList(REFUSED_KEY, refused);
    showRefused();
    return outcome;
  }

  function responses(count) {
    return count + " response" + (count === 1 ? "" : "s");
  }

  // "Synced 0 responses" would hide that the server refused the batch: say how many and why.
  function syncSummary(outcome) {
    var at = " at " + new Date().toLocaleTimeString();
    if (!outcome.refused) {
      return "Synced " + responses(outcome.stored) + at + ".";
    }
    var refused = responses(outcome.refused) + " refused (" + outcome.reasons.join("; ") + "), listed below";
    if (!outcome.stored) {
      return refused.charAt(0).toUpperCase() + refused.slice(1) + at + ".";
    }
    return "Synced " + responses(outcome.stored) + at + "; " + refused + ".";
  }

  function say(text) {
    syncStatus.textContent = text;
  }

  function sync() {
    if (syncing) {
      return Promise.resolve();
    }
    var queue = readList(QUEUE_KEY);
    if (!queue.length) {
      return Promise.resolve();
    }
    if (!navigator.onLine) {
      say("Offline: " + queue.length + " response" + (queue.length === 1 ? "" : "s") + " kept on this device.");
      return Promise.resolve();
    }
    syncing = true;
    var batch = queue.slice(0, BATCH_SIZE);
    return fetch(config.syncUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ responses: batch }),
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        say("Sign in again (in another tab), then press Sync now. Responses stay queued on this device.");
        return null;
      }
      if (!response.ok) {
        say("The server could not take the responses (" + response.status + "); will retry.");
        return null;
      }
      return response.json();
    }).then(function (body) {
      syncing = false;
      showNetwork();
      if (!body) {
        return;
      }
      var outcome = applyResults(batch, body.results || []);
      showQueue();
      say(syncSummary(outcome));
      if (readList(QUEUE_KEY).length) {
        return sync();
      }
    }, function () {
      syncing = false;
      netBadge.dataset.online = "false";
      netBadge.textContent = navigator.onLine ? "Server unreachable" : "Offline";
      say("No connection to the server; will retry.");
    }).then(function () {
      showQueue();
    });
  }

  window.addEventListener("online", function () { showNetwork(); sync(); });
  window.addEventListener("offline", showNetwork);
  window.setInterval(sync, RETRY_MS);
  document.getElementById("kiosk-sync").addEventListener("click", function () {
    showNetwork();
    sync();
  });

  // --- full screen ---------------------------------------------------------------------

  var fullscreenButton = document.getElementById("kiosk-fullscreen");
  if (!document.fullscreenEnabled) {
    fullscreenButton.hidden = true;
  }
  fullscreenButton.addEventListener("click", function () {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(function () {
        say("Full screen is not available here.");
      });
    }
  });
  document.addEventListener("fullscreenchange", function () {
    fullscreenButton.textContent = document.fullscreenElement ? "Leave full screen" : "Full screen";
  });

  // --- offline reload: the service worker keeps the page and its files ----------------

  if ("serviceWorker" in navigator && config.workerUrl) {
    var scope = window.location.pathname;
    navigator.serviceWorker.register(config.workerUrl, { scope: scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (registration.active) {
        registration.active.postMessage({ type: "cache", urls: [scope].concat(config.cacheUrls || []) });
      }
    }).catch(function () {
      // No worker (blocked, private mode): the kiosk still queues offline, it only cannot
      // be reloaded without the network.
    });
  }

  drawForm();
  showNetwork();
  showQueue();
  showRefused();
  sync();
})();
