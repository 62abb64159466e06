// Question editor: shows the choice fields only for choice questions and offers only the
// conditions that apply to the question a rule refers to. The server validates anyway.
(function () {
  "use strict";
  var kindsNode = document.getElementById("question-kinds");
  var earlierNode = document.getElementById("earlier-kinds");
  var kindSelect = document.getElementById("id_kind");
  if (!kindsNode || !kindSelect) {
    return;
  }
  var kinds = JSON.parse(kindsNode.textContent);
  var earlier = earlierNode ? JSON.parse(earlierNode.textContent) : {};
  var choiceFields = document.getElementById("choice-fields");
  var refSelect = document.getElementById("id_show_if_question");
  var opSelect = document.getElementById("id_show_if_op");
  var endOpSelect = document.getElementById("id_end_if_op");

  function limitOps(select, kind) {
    if (!select) {
      return;
    }
    var ops = kind && kinds[kind] ? kinds[kind].ops : null;
    Array.prototype.forEach.call(select.options, function (option) {
      var allowed = !option.value || !ops || ops.indexOf(option.value) >= 0;
      option.hidden = !allowed;
      option.disabled = !allowed;
      if (!allowed && option.selected) {
        select.value = "";
      }
    });
  }

  function refresh() {
    var kind = kindSelect.value;
    var family = kinds[kind] ? kinds[kind].family : "";
    if (choiceFields) {
      choiceFields.hidden = !(family === "choice" || family === "multiple");
    }
    limitOps(endOpSelect, kind);
    if (refSelect) {
      limitOps(opSelect, earlier[refSelect.value]);
    }
  }

  kindSelect.addEventListener("change", refresh);
  if (refSelect) {
    refSelect.addEventListener("change", refresh);
  }
  refresh();
})();
