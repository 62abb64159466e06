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
  const tag = form.elements.add_tag;
  const plain = (text) => text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  form.addEventListener("submit", function (event) {
    if (!boxes().some((box) => box.checked)) {
      event.preventDefault();
      count.textContent = "Select at least one row first.";
    } else if (actions.every((field) => !field.value.trim())) {
      event.preventDefault();
      count.textContent = "Choose a status, an assignee or a tag to add.";
      actions[0].focus();
    } else if (tag.value.trim() && !/[a-z0-9]/i.test(plain(tag.value))) {
      // Tags are stored as slugs (a-z, 0-9 and hyphens): nothing would be left of this one.
      event.preventDefault();
      count.textContent = "A tag needs a letter (a–z) or a digit.";
      tag.focus();
    }
  });
})();
