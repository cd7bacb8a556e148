// FieldOps page script: registers the service worker and shows the network state.
// Everything else is htmx and plain forms; keep this file small and free of a build step.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function (err) {
        console.warn("service worker not registered", err);
      });
    });
  }
  function showNetState() {
    var bar = document.getElementById("netstate");
    if (!bar) return;
    if (navigator.onLine) {
      bar.hidden = true;
    } else {
      bar.hidden = false;
      bar.className = "netstate";
      bar.textContent = document.documentElement.lang === "en"
        ? "Offline — what you record is kept on this phone"
        : "离线 — 记录会先保存在本机";
    }
  }
  window.addEventListener("online", showNetState);
  window.addEventListener("offline", showNetState);
  document.addEventListener("DOMContentLoaded", showNetState);
})();

// -- Live board and countdowns (dispatch board, remote queue, a request's timeline) ------
// Elements marked [data-live] re-fetch themselves (htmx, event "fo:changed") when the
// server-sent events stream at /events says something changed; [data-live-request="N"]
// only when request N did. While the stream is down, their hx-trigger polls every 10 s
// (it checks FieldOpsLive.open). Clocks [data-d] (deadline, ms) and [data-w] (80 % mark),
// or [data-s] / [data-v] in seconds, count down every second and turn amber, then red.
(function () {
  "use strict";
  var live = (window.FieldOpsLive = { open: false, source: null });
  var pending = null;
  var changedRequests = [];

  function refresh() {
    var ids = changedRequests;
    pending = null;
    changedRequests = [];
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var rid = el.getAttribute("data-live-request");
      if (rid && ids !== null && ids.indexOf(Number(rid)) < 0) return;
      if (window.htmx) window.htmx.trigger(el, "fo:changed");
    });
  }

  function onChange(event) {
    var data = {};
    try { data = JSON.parse(event.data || "{}"); } catch (e) { data = {}; }
    if (changedRequests !== null) {
      changedRequests = data.requests ? changedRequests.concat(data.requests) : null;
    }
    if (!pending) pending = setTimeout(refresh, 50);  // several commits at once: one refresh
  }

  function showState() {
    document.querySelectorAll("[data-live-state]").forEach(function (el) {
      el.hidden = false;
      el.classList.toggle("is-live", live.open);
    });
  }

  function connect() {
    if (!window.EventSource || !document.querySelector("[data-live]")) return;
    var source = (live.source = new EventSource("/events"));
    source.addEventListener("open", function () { live.open = true; showState(); });
    source.addEventListener("error", function () { live.open = false; showState(); });
    source.addEventListener("change", onChange);
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function countdown(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    var text = h ? h + ":" + pad(m) + ":" + pad(s % 60) : m + ":" + pad(s % 60);
    return (ms < 0 ? "-" : "") + text;
  }
  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll(".clk[data-d], .clk[data-s]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i], due, warn;
      if (el.hasAttribute("data-s")) {  // the board's rows: seconds, to keep them short
        due = el.getAttribute("data-s") * 1000; warn = el.getAttribute("data-v") * 1000;
      } else {
        due = +el.getAttribute("data-d"); warn = +el.getAttribute("data-w");
      }
      var b = el.lastElementChild;
      if (b) b.textContent = countdown(due - now);
      var state = now >= due ? "breached" : now >= warn ? "warning" : "running";
      if (!el.classList.contains(state)) {
        el.classList.remove("running", "warning", "breached");
        el.classList.add(state);
      }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    connect();
    if (document.querySelector(".clk[data-d], .clk[data-s]") || document.querySelector("[data-live]")) {
      tick();
      setInterval(tick, 1000);
    }
  });
  window.addEventListener("pagehide", function () { if (live.source) live.source.close(); });
})();
