// Survey builder: asks before deleting a question, and lets managers drag questions into a
// new order. The forms (delete, up/down) work without this script; dragging is the
// shortcut. A drop posts every question key in the new order; a refused order (another
// editor changed the questions, or a display rule would point to a later question) puts
// the list back and says why.
(function () {
  "use strict";
  document.querySelectorAll("form.confirm-delete").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm("Delete this question? A question with answers is archived instead, and its answers are kept.")) {
        event.preventDefault();
      }
    });
  });

  const list = document.getElementById("question-list");
  if (!list || !list.dataset.reorderUrl || typeof window.Sortable === "undefined") return;
  const status = document.getElementById("reorder-status");
  const errorBox = document.getElementById("reorder-error");
  const hint = document.getElementById("reorder-hint");

  function csrfToken() {
    const input = list.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  // The first question cannot move up, the last cannot move down.
  function refreshMoveButtons() {
    const items = list.querySelectorAll(".question-item");
    items.forEach(function (item, index) {
      const up = item.querySelector("form[action$='/up/'] button");
      const down = item.querySelector("form[action$='/down/'] button");
      if (up) up.disabled = index === 0;
      if (down) down.disabled = index === items.length - 1;
    });
  }

  list.querySelectorAll(".question-item .question-head").forEach(function (head) {
    const handle = document.createElement("span");
    handle.className = "drag-handle";
    handle.setAttribute("aria-hidden", "true");
    handle.title = "Drag to move";
    handle.textContent = "⠿";
    head.insertBefore(handle, head.firstChild);
  });
  if (hint) hint.hidden = false;

  let orderBefore = null;

  async function saveOrder(sortable) {
    const data = new FormData();
    sortable.toArray().forEach(function (key) {
      data.append("order", key);
    });
    list.classList.add("reordering");
    showError("");
    status.textContent = "";
    try {
      const response = await fetch(list.dataset.reorderUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      const payload = await response.json().catch(function () {
        return {};
      });
      if (!response.ok) {
        const messages = Object.values(payload.errors || {}).flat();
        sortable.sort(orderBefore, false);
        showError(messages.join(" ") || "The new order could not be saved; reload the page and try again.");
        return;
      }
      status.textContent = payload.message || "Question order saved.";
    } catch (error) {
      sortable.sort(orderBefore, false);
      showError("The new order could not be saved; reload the page and try again.");
    } finally {
      list.classList.remove("reordering");
      refreshMoveButtons();
    }
  }

  window.Sortable.create(list, {
    draggable: ".question-item",
    handle: ".drag-handle",
    dataIdAttr: "data-key",
    animation: 150,
    ghostClass: "question-ghost",
    chosenClass: "question-chosen",
    onStart: function () {
      orderBefore = this.toArray();
    },
    onEnd: function (event) {
      if (event.oldIndex === event.newIndex) return;
      saveOrder(this);
    },
  });
})();
