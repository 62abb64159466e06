// Interview transcript: select a passage → it fills the highlight form with its offset;
// "Add highlight" posts it and lists the new highlight without a reload. Without this
// script staff paste the passage into the form, and the server finds it in the transcript.
(function () {
  "use strict";
  const transcript = document.querySelector("[data-transcript]");
  const form = document.querySelector("[data-highlight-form]");
  if (!transcript || !form) return;
  const excerpt = form.querySelector('textarea[name="excerpt"]');
  const start = form.querySelector('input[name="start"]');
  const errors = form.querySelector("[data-form-errors]");
  const list = document.querySelector("[data-highlights]");
  const counter = document.querySelector("[data-highlight-count]");
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

  // Offset of the selection in the transcript's text (the <mark>s do not change it).
  function selectionInTranscript() {
    const selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    if (!transcript.contains(range.startContainer) || !transcript.contains(range.endContainer)) return null;
    const before = document.createRange();
    before.selectNodeContents(transcript);
    before.setEnd(range.startContainer, range.startOffset);
    const text = range.toString();
    if (!text.trim()) return null;
    // Leading/trailing blanks are trimmed by the server too; keep the offset in step.
    const lead = text.length - text.replace(/^\s+/, "").length;
    return { text: text.trim(), start: before.toString().length + lead };
  }

  document.addEventListener("selectionchange", function () {
    const picked = selectionInTranscript();
    if (!picked) return;
    excerpt.value = picked.text;
    start.value = String(picked.start);
  });
  excerpt.addEventListener("input", function () { start.value = ""; });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!excerpt.value.trim()) {
      showErrors(["Select a passage of the transcript first."]);
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
        showErrors(["The highlight could not be saved (HTTP " + response.status + ")."]);
        return;
      }
      const data = await response.json();
      if (!response.ok) {
        const messages = [];
        Object.values(data.errors || {}).forEach(function (list) {
          list.forEach(function (error) { messages.push(error.message); });
        });
        showErrors(messages.length ? messages : ["The highlight could not be saved."]);
        return;
      }
      showErrors([]);
      const empty = list.querySelector("[data-empty]");
      if (empty) empty.remove();
      list.insertAdjacentHTML("beforeend", data.html);  // server-rendered, escaped
      if (counter) counter.textContent = String(list.querySelectorAll("li.highlight").length);
      excerpt.value = "";
      start.value = "";
      form.querySelector('input[name="tags"]').value = "";
      window.getSelection().removeAllRanges();
    } catch (error) {
      showErrors(["The network failed; the highlight was not saved. Try again."]);
    } finally {
      button.disabled = false;
    }
  });
})();
