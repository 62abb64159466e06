// Roadmap board: the move buttons are plain forms that work without this script. Here they
// are sent with fetch (asking for JSON); the server answers with the board re-rendered,
// which replaces the old one, and focus goes back to the same control of the moved idea.
// Cards can also be dragged to another place or lane (the buttons stay the keyboard way).
(function () {
  "use strict";
  const board = document.getElementById("roadmap-board");
  if (!board || !board.dataset.manage) return;
  const status = document.getElementById("roadmap-status");
  const errorBox = document.getElementById("roadmap-error");

  function csrfToken() {
    const input = board.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function restoreFocus(ideaId, control) {
    const item = document.getElementById("idea-" + ideaId);
    if (!item) return;
    const button = control ? item.querySelector('[data-control="' + control + '"]') : null;
    (button || item).focus();
  }

  async function send(url, data, ideaId, control) {
    board.classList.add("roadmap-board-busy");
    showError("");
    try {
      const response = await fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      const payload = await response.json();
      if (!response.ok) {
        const messages = Object.values(payload.errors || {}).flat();
        showError(messages.join(" ") || "The idea could not be moved.");
        return;
      }
      board.innerHTML = payload.board;
      status.textContent = payload.message;
      restoreFocus(ideaId, control);
    } catch (error) {
      showError("The idea could not be moved; reload the page and try again.");
    } finally {
      board.classList.remove("roadmap-board-busy");
    }
  }

  board.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-move]");
    if (!form) return;
    event.preventDefault();
    const item = form.closest("[data-idea]");
    const button = event.submitter || form.querySelector("button");
    send(form.action, new FormData(form), item.dataset.idea, button && button.dataset.control);
  });

  // --- Drag and drop ------------------------------------------------------------------
  let dragged = null;

  function clearMarks() {
    board.querySelectorAll(".drop-before, .drop-after, .drop-target").forEach(function (el) {
      el.classList.remove("drop-before", "drop-after", "drop-target");
    });
  }

  function dropPlace(list, clientY) {
    const cards = Array.from(list.querySelectorAll(".roadmap-card")).filter(function (card) {
      return card !== dragged;
    });
    for (const card of cards) {
      const box = card.getBoundingClientRect();
      if (clientY < box.top + box.height / 2) return { card: card, where: "before" };
    }
    const last = cards[cards.length - 1];
    return last ? { card: last, where: "after" } : { card: null, where: "end" };
  }

  board.addEventListener("dragstart", function (event) {
    const item = event.target.closest("[data-move-url]");
    if (!item) return;
    dragged = item;
    item.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.idea);
  });

  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearMarks();
  });

  board.addEventListener("dragover", function (event) {
    const list = event.target.closest(".roadmap-cards");
    if (!list || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    clearMarks();
    list.classList.add("drop-target");
    const place = dropPlace(list, event.clientY);
    if (place.card) place.card.classList.add(place.where === "before" ? "drop-before" : "drop-after");
  });

  board.addEventListener("drop", function (event) {
    const list = event.target.closest(".roadmap-cards");
    if (!list || !dragged) return;
    event.preventDefault();
    const place = dropPlace(list, event.clientY);
    const data = new FormData();
    data.append("csrfmiddlewaretoken", csrfToken());
    data.append("lane", list.dataset.lane);
    data.append("product", document.getElementById("roadmap-product").value);
    if (place.card) data.append(place.where, place.card.dataset.idea);
    const ideaId = dragged.dataset.idea;
    const url = dragged.dataset.moveUrl;
    clearMarks();
    send(url, data, ideaId, null);
  });
})();
