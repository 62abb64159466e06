// Shows and hides conditional questions of the respondent form as answers change.
// Mirrors surveys/logic.py (evaluate, visible_keys); the server re-checks every submission.
(function () {
  "use strict";
  var dataNode = document.getElementById("survey-logic");
  var form = document.getElementById("survey-form");
  if (!dataNode || !form) {
    return;
  }
  // Back to this form after submitting renders it again with a new client_uuid while the
  // browser restores the answers: keep the first one (in this history entry's state), so
  // submitting again finds the stored response instead of storing a second one.
  function keepClientUuid() {
    var uuid = form.querySelector("input[name=client_uuid]");
    var started = form.querySelector("input[name=started_at]");
    if (!uuid || !window.history || !window.history.replaceState) {
      return;
    }
    var state = window.history.state || {};
    var kept = state.surveyForm;
    if (kept && kept.clientUuid) {
      uuid.value = kept.clientUuid;
      if (started && kept.startedAt) {
        started.value = kept.startedAt;
      }
      return;
    }
    var next = {};
    Object.keys(state).forEach(function (name) { next[name] = state[name]; });
    next.surveyForm = { clientUuid: uuid.value, startedAt: started ? started.value : "" };
    window.history.replaceState(next, "");
  }
  keepClientUuid();

  var questions = JSON.parse(dataNode.textContent);
  var SCALES = ["nps", "csat", "ces", "likert", "stars"];
  var kinds = {};
  questions.forEach(function (q) { kinds[q.key] = q.kind; });

  function fieldset(key) {
    return document.getElementById("sq-" + key);
  }

  // The "Other" box of a choice question and the radio/checkbox ticked for it (the one
  // in the label just before the box), or null without "Other".
  function otherOf(node, name) {
    var text = node.querySelector('input[type=text][name="' + name + '__other"]');
    if (!text) {
      return null;
    }
    var label = text.previousElementSibling;
    return { text: text, tick: label ? label.querySelector('input[name="' + name + '"]') : null };
  }

  // Mirrors answers_from_post (and kiosk.js logicValue): text typed in the "Other" box
  // counts as "Other" even when its radio/checkbox is not ticked.
  function valueOf(q) {
    var node = fieldset(q.key);
    if (!node) {
      return null;
    }
    var name = "q_" + q.key;
    var other = otherOf(node, name);
    var otherTyped = other && other.text.value.trim() && other.tick ? other.tick.value : null;
    if (q.kind === "multiple") {
      var picked = [];
      node.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked').forEach(function (box) {
        picked.push(box.value);
      });
      if (otherTyped && picked.indexOf(otherTyped) < 0) {
        picked.push(otherTyped);
      }
      return picked.length ? picked : null;
    }
    var checked = node.querySelector('input[type=radio][name="' + name + '"]:checked');
    if (checked) {
      return SCALES.indexOf(q.kind) >= 0 ? Number(checked.value) : checked.value;
    }
    if (otherTyped) {
      return otherTyped;
    }
    var text = node.querySelector('textarea[name="' + name + '"], input[type=text][name="' + name + '"]');
    if (text && text.value && text.value.trim()) {
      return text.value.trim();
    }
    return null;
  }

  function evaluate(rule, kind, value) {
    var op = rule.op;
    var expected = rule.value;
    if (op === "answered") {
      var want = expected === undefined || expected === null ? true : Boolean(expected);
      return (value !== null) === want;
    }
    if (value === null) {
      return false;
    }
    if (SCALES.indexOf(kind) >= 0) {
      if (op === "in") {
        return (expected || []).some(function (v) { return Number(v) === value; });
      }
      var b = Number(expected);
      switch (op) {
        case "eq": return value === b;
        case "neq": return value !== b;
        case "lt": return value < b;
        case "lte": return value <= b;
        case "gt": return value > b;
        case "gte": return value >= b;
        default: return false;
      }
    }
    if (op === "contains") {
      if (kind === "multiple") {
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
    var visible = {};
    var seen = {};
    for (var i = 0; i < questions.length; i += 1) {
      var q = questions[i];
      var rule = q.show_if || {};
      if (rule.op) {
        var ref = rule.question;
        var refValue = Object.prototype.hasOwnProperty.call(seen, ref) ? seen[ref] : null;
        if (!kinds[ref] || !evaluate(rule, kinds[ref], refValue)) {
          continue;
        }
      }
      visible[q.key] = true;
      var value = valueOf(q);
      if (value !== null) {
        seen[q.key] = value;
      }
      var endRule = q.end_if || {};
      if (endRule.op && evaluate(endRule, q.kind, value)) {
        break;
      }
    }
    return visible;
  }

  function refresh() {
    var visible = visibleKeys();
    questions.forEach(function (q) {
      var node = fieldset(q.key);
      if (node) {
        node.hidden = !visible[q.key];
      }
    });
  }

  // Typing an "Other" answer picks "Other", as the server will read it.
  function tickOther(event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("other-text") || !box.value.trim()) {
      return;
    }
    var label = box.previousElementSibling;
    var tick = label ? label.querySelector("input[type=radio], input[type=checkbox]") : null;
    if (tick && !tick.checked) {
      tick.checked = true;
    }
  }

  // A refused submission comes back at the top of the page: take the respondent (and a
  // screen reader, which then reads the question and its error) to the first question to
  // fix, or to the message above the form when no question is marked.
  function focusFirstProblem() {
    var target = form.querySelector("fieldset.sq.has-errors:not([hidden])") ||
      document.querySelector(".survey-form .errors[role=alert]");
    if (!target) {
      return;
    }
    target.setAttribute("tabindex", "-1");
    target.focus();
  }

  form.addEventListener("change", refresh);
  form.addEventListener("input", function (event) {
    tickOther(event);
    refresh();
  });
  refresh();
  focusFirstProblem();
  form.dataset.logicReady = "1";
})();
