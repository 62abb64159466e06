// Rule builder: show filled condition rows and one empty row; "Add a condition" reveals
// the next hidden one. The attribute name is only asked for custom attributes.
(function () {
  "use strict";
  const rows = Array.from(document.querySelectorAll("[data-rule-row]"));
  const addButton = document.getElementById("add-rule-row");
  if (!rows.length || !addButton) {
    return;
  }

  function fieldSelect(row) {
    return row.querySelector("select[name$='-field']");
  }

  function syncKey(row) {
    const select = fieldSelect(row);
    const key = row.querySelector(".rule-key");
    if (select && key) {
      key.hidden = select.value !== "attribute";
    }
  }

  function isFilled(row) {
    const select = fieldSelect(row);
    return Boolean(select && select.value) || Boolean(row.querySelector(".error"));
  }

  let shownEmpty = false;
  rows.forEach(function (row) {
    if (isFilled(row)) {
      row.hidden = false;
    } else if (!shownEmpty) {
      row.hidden = false;
      shownEmpty = true;
    } else {
      row.hidden = true;
    }
    syncKey(row);
    const select = fieldSelect(row);
    if (select) {
      select.addEventListener("change", function () {
        syncKey(row);
      });
    }
  });

  function updateButton() {
    addButton.hidden = !rows.some(function (row) {
      return row.hidden;
    });
  }

  addButton.addEventListener("click", function () {
    const next = rows.find(function (row) {
      return row.hidden;
    });
    if (next) {
      next.hidden = false;
      const select = fieldSelect(next);
      if (select) {
        select.focus();
      }
    }
    updateButton();
  });
  updateButton();
})();
