// Focus group session: add findings one after another without leaving the page.
// Without this script the form posts normally and the page reloads at the form.
(function () {
  "use strict";
  const form = document.querySelector("[data-entry-form]");
  if (!form) return;
  const list = document.querySelector("[data-entries]");
  const errors = form.querySelector("[data-form-errors]");
  const counter = document.querySelector("[data-entry-count]");
  const text = form.querySelector('textarea[name="text"]');
  const button = form.querySelector('button[type="submit"]');

  function showErrors(messages) {
    errors.replaceChildren();
    messages.forEach(function (message) {
      const p = document.createElement("p");
      p.textContent = message;
      errors.appendChild(p);
    });
    errors.hidden = messages.length === 0;
  }

  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!text.value.trim()) {
      showErrors(["Write the finding or quote first."]);
      text.focus();
      return;
    }
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const type = response.headers.get("Content-Type") || "";
      if (!type.includes("application/json")) {
        showErrors(["The entry could not be saved (HTTP " + response.status + ")."]);
        return;
      }
      const data = await response.json();
      if (!response.ok) {
        const messages = [];
        Object.values(data.errors || {}).forEach(function (list) {
          list.forEach(function (error) { messages.push(error.message); });
        });
        showErrors(messages.length ? messages : ["The entry could not be saved."]);
        return;
      }
      showErrors([]);
      const empty = list.querySelector("[data-empty]");
      if (empty) empty.remove();
      // Server-rendered, escaped HTML of the new row.
      list.insertAdjacentHTML("afterbegin", data.html);
      if (counter) counter.textContent = String(list.querySelectorAll("li.entry").length);
      // The first entry makes a planned session held: say so without a reload.
      const status = document.querySelector("[data-session-status]");
      if (status && data.session_status_display) status.textContent = data.session_status_display;
      text.value = "";
      form.querySelector('input[name="tags"]').value = "";
      text.focus();
    } catch (error) {
      showErrors(["The network failed; the entry was not saved. Try again."]);
    } finally {
      button.disabled = false;
    }
  });
})();
