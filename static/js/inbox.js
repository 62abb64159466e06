// Inbox: "select all" for the bulk form, and a live count of the selected rows.
(function () {
  "use strict";
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const all = form.querySelector("[data-select-all]");
  const count = form.querySelector("[data-bulk-count]");
  const boxes = () => Array.from(form.querySelectorAll('input[name="ids"]'));

  function update() {
    const selected = boxes().filter((box) => box.checked).length;
    count.textContent = selected ? selected + " selected" : "Select rows to change them together.";
    if (all) {
      all.checked = selected > 0 && selected === boxes().length;
      all.indeterminate = selected > 0 && selected < boxes().length;
    }
  }

  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach((box) => { box.checked = all.checked; });
      update();
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "ids") update();
  });
  // Refused here rather than by the server, whose answer would lose the ticked rows.
  const actions = ["status", "assignee", "add_tag"].map((name) => form.elements[name]);
  form.addEventListener("submit", function (event) {
    if (!boxes().some((box) => box.checked)) {
      event.preventDefault();
      count.textContent = "Select at least one row first.";
    } else if (actions.every((field) => !field.value.trim())) {
      event.preventDefault();
      count.textContent = "Choose a status, an assignee or a tag to add.";
      actions[0].focus();
    }
  });
})();
