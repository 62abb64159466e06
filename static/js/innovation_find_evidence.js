// Find similar: tick all, and a live count of the ticked feedback.
(function () {
  "use strict";
  var form = document.getElementById("evidence-confirm");
  if (!form) { return; }
  var all = document.getElementById("tick-all");
  var count = document.getElementById("ticked-count");
  var boxes = function () { return form.querySelectorAll("input.candidate"); };
  var update = function () {
    var ticked = form.querySelectorAll("input.candidate:checked").length;
    if (count) { count.textContent = ticked + " ticked"; }
  };
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) {
    if (form.querySelectorAll("input.candidate:checked").length === 0) {
      event.preventDefault();
      if (count) { count.textContent = "Tick at least one feedback first."; }
    }
  });
  update();
}());
