// FieldOps service worker. The server prepends SHELL_VERSION and SHELL_URLS (see /sw.js).
// Shell: precached at install, versioned; pages: network first, cache as fallback,
// then the offline page.
/* global SHELL_VERSION, SHELL_URLS */
"use strict";
const SHELL_CACHE = "shell-" + SHELL_VERSION;
const PAGE_CACHE = "pages-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL_URLS)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) =>
      Promise.all(keys.filter((k) => k.startsWith("shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k)))
    ).then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    // Versioned URLs never change: cache first.
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).then((response) => {
        if (response.ok && response.headers.get("content-type")?.includes("text/html")) {
          const copy = response.clone();
          caches.open(PAGE_CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      }).catch(() =>
        caches.match(request, { cacheName: PAGE_CACHE }).then((hit) => hit || caches.match("/offline"))
      )
    );
  }
});
