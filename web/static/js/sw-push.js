// FieldOps service worker, job alerts. sw.js loads this file with importScripts(), so it
// runs in the same global scope as the rest of the service worker.
//  - push: show the notice (P1 stays until touched), then report "shown".
//  - notificationclick: "accept" queues an `accept` mutation in the same outbox a page
//    uses offline (sw.js's keep()/flush()), so it is applied once and in order, now or
//    when the phone is back online; any other tap opens (or focuses) the page. Both
//    report "acknowledged".
// Receipts are authenticated by the token in the message, not by a session or CSRF
// token; one that cannot be sent (offline) is kept and sent with the next one.
/* global keep, flush */
"use strict";
(function () {
  var RECEIPTS_KEY = "fieldops-receipts";

  function uuid() {
    if (self.crypto && self.crypto.randomUUID) return self.crypto.randomUUID();
    var b = self.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // -- receipts: delivered (the server knows) -> shown -> acknowledged ------------------
  function sendReceipt(r) {
    return fetch("/push/" + r.kind, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: r.id, receipt: r.receipt, action: r.action || "" }),
    }).then(function (res) { if (res.status >= 500) throw new Error("server " + res.status); });
  }

  // Unsent receipts wait in the Cache API (simplest durable store both browsers share here).
  function pending() {
    return caches.open(RECEIPTS_KEY).then(function (c) {
      return c.match("/receipts").then(function (hit) { return hit ? hit.json() : []; });
    });
  }
  function savePending(list) {
    return caches.open(RECEIPTS_KEY).then(function (c) {
      return c.put("/receipts", new Response(JSON.stringify(list.slice(-50))));
    });
  }

  // kind: "shown" or "ack" (POST /push/shown, /push/ack). Send this receipt and any kept
  // ones, in order; keep what still cannot go.
  function report(kind, data, action) {
    var mine = data && data.id && data.receipt
      ? [{ kind: kind, id: data.id, receipt: data.receipt, action: action || "" }] : [];
    return pending().then(function (older) {
      var all = older.concat(mine), left = [];
      if (!all.length) return null;
      return all.reduce(function (chain, r) {
        return chain.then(function () { return sendReceipt(r).catch(function () { left.push(r); }); });
      }, Promise.resolve()).then(function () {
        return (left.length || older.length) ? savePending(left) : null;
      });
    }).catch(function () {});
  }

  // When the outbox syncs (a page asks, or Background Sync fires), kept receipts go too.
  self.addEventListener("message", function (event) {
    if (event.data && event.data.type === "sync") event.waitUntil(report());
  });
  self.addEventListener("sync", function (event) {
    if (event.tag === "fieldops-outbox") event.waitUntil(report());
  });

  // -- push: show it --------------------------------------------------------------------
  function show(data) {
    var p1 = data.priority === "P1";
    var labels = data.labels || {};
    var actions = [{ action: "open", title: labels.open || "打开" }];
    if (data.accept) actions.unshift({ action: "accept", title: labels.accept || "接单" });
    return self.registration.showNotification(data.title || "FieldOps", {
      body: data.body || "",
      tag: data.tag || ("note-" + data.id),
      renotify: true, // a second notice about the same job rings again
      requireInteraction: p1, // P1: stays on screen until the engineer touches it
      vibrate: p1 ? [400, 150, 400, 150, 400] : [200],
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/icon-192.png",
      timestamp: Date.now(),
      actions: actions,
      data: data,
    }).then(function () { return report("shown", data); });
  }

  self.addEventListener("push", function (event) {
    var data = {};
    try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: event.data.text() }; }
    event.waitUntil(show(data));
  });

  // -- taps -----------------------------------------------------------------------------
  function openPage(url) {
    var target = new URL(url || "/", self.location.origin).href;
    return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
      for (var i = 0; i < list.length; i++) {
        if (list[i].url === target && "focus" in list[i]) return list[i].focus();
      }
      return self.clients.openWindow ? self.clients.openWindow(target) : null;
    });
  }

  // The same form post the job page's "Accept" button makes (sw.js keep(): stored in
  // order in the outbox, replayed to /sync/push, applied exactly once).
  function acceptJob(data) {
    var form = new URLSearchParams({
      mutation: "accept", mutation_id: uuid(), device_time: new Date().toISOString(),
      client_id: "", job_id: String(data.job_id), _label: (data.labels || {}).accept || "accept",
    });
    if (typeof keep === "function" && typeof flush === "function") {
      return keep(form).then(function () { flush(); return form.get("mutation_id"); });
    }
    throw new Error("the offline outbox (sw.js) is not loaded");
  }

  function click(action, data) {
    data = data || {};
    if (action === "accept" && data.accept && data.job_id) {
      return Promise.resolve().then(function () { return acceptJob(data); })
        .then(function (id) {
          var done = self.registration.showNotification(data.title || "FieldOps", {
            body: (data.labels || {}).accepted || "", tag: data.tag, data: data, silent: true,
          });
          return Promise.all([done, report("ack", data, "accept")]).then(function () { return id; });
        })
        .catch(function () { return openPage(data.url); }); // accept on the job page instead
    }
    return Promise.all([report("ack", data, "open"), openPage(data.url)]);
  }

  self.addEventListener("notificationclick", function (event) {
    var note = event.notification;
    note.close();
    event.waitUntil(click(event.action, note.data));
  });

  // For tests and for other parts of the service worker (CDP cannot tap a notification).
  self.fieldopsPush = { show: show, click: click, report: report };
})();
