/* The navigation's Alerts link shows how many alerts nobody has looked at yet (the
   in-app notification), read now and every minute while the page is visible. */
(function () {
  "use strict";
  var link = document.querySelector("a[data-alert-count-url]");
  if (!link || !window.fetch) return;
  var badge = link.querySelector(".nav-badge");
  var url = link.getAttribute("data-alert-count-url");

  function show(count) {
    if (count > 0) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = false;
      link.setAttribute("aria-label", "Alerts, " + count + " open");
      link.title = count + (count === 1 ? " open alert" : " open alerts");
    } else {
      badge.hidden = true;
      link.removeAttribute("aria-label");
      link.removeAttribute("title");
    }
  }

  function refresh() {
    if (document.visibilityState === "hidden") return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body && typeof body.open === "number") show(body.open); })
      .catch(function () { /* offline or signed out: keep what is shown */ });
  }

  refresh();
  window.setInterval(refresh, 60000);
  document.addEventListener("visibilitychange", refresh);
})();
