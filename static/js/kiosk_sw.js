// Kiosk service worker: served at /surveys/<pk>/kiosk/worker.js, so its scope is that
// kiosk page. It keeps a copy of the page and its static files so the kiosk can be
// reloaded without the network; the queued responses live in localStorage, not here.
// Network first: online, the page is always fresh (and the copy is refreshed).
"use strict";

var CACHE = "focusloop-kiosk-v1";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "cache" && Array.isArray(data.urls)) {
    event.waitUntil(
      caches.open(CACHE).then(function (cache) {
        return cache.addAll(data.urls);
      }).catch(function () {
        // Offline or signed out while caching: the next visit tries again.
      })
    );
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(
    fetch(request).then(function (response) {
      // Only real pages and files: not a login redirect or an error page.
      if (response.ok && !response.redirected && response.type === "basic") {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreSearch: true }).then(function (cached) {
        return cached || Response.error();
      });
    })
  );
});
