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
    // The service worker marks a page it served from its cache with when it was fetched.
    var copy = document.querySelector('meta[name="fieldops-cached-at"]');
    if (navigator.onLine && !copy) {
      bar.hidden = true;
    } else {
      var en = document.documentElement.lang === "en";
      bar.hidden = false;
      bar.className = "netstate";
      bar.textContent = en ? "Offline — what you record is kept on this phone"
        : "离线 — 记录会先保存在本机";
      var at = copy && new Date(copy.content);
      if (at && !isNaN(at)) {
        var time = at.toLocaleTimeString(en ? "en" : "zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
        bar.textContent += en ? " · last updated " + time : " · 最后更新 " + time;
      }
    }
  }
  window.addEventListener("online", showNetState);
  window.addEventListener("offline", showNetState);
  document.addEventListener("DOMContentLoaded", showNetState);
})();

// -- Live board and countdowns (dispatch board, remote queue, a request's timeline) ------
// Elements marked [data-live] re-fetch themselves (htmx, event "fo:changed") when the
// server-sent events stream at /events says something changed; [data-live-request="N"]
// only when request N did. While the stream is down, [data-poll] elements get "fo:poll"
// every 10 s; [data-rows="selector"] sends how many rows it shows (?rows=N). Both are
// here, not in hx-trigger filters or hx-vals="js:", because the CSP forbids eval. Clocks [data-d] (deadline, ms) and [data-w] (80 % mark),
// or [data-s] / [data-v] in seconds, count down every second and turn amber, then red.
(function () {
  "use strict";
  var live = (window.FieldOpsLive = { open: false, source: null });
  var pending = null;
  var changedRequests = [];

  // A change heard while a live element's own fetch is in flight: that fetch may have
  // been answered before the change, and an outerHTML swap replaces the element together
  // with any request htmx queued on it. So its id waits here and the element fetches
  // again once the fetch in flight has ended and settled.
  var again = new Set();

  function fetchAgain() {
    again.forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { again.delete(id); return; }
      if (el.classList.contains("htmx-request")) return;  // still in flight
      again.delete(id);
      if (window.htmx) window.htmx.trigger(el, "fo:changed");
    });
  }
  ["htmx:afterSettle", "htmx:afterRequest"].forEach(function (name) {
    document.addEventListener(name, function () { if (again.size) setTimeout(fetchAgain, 0); });
  });

  function refresh() {
    var ids = changedRequests;
    pending = null;
    changedRequests = [];
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var rid = el.getAttribute("data-live-request");
      if (rid && ids !== null && ids.indexOf(Number(rid)) < 0) return;
      if (el.id && el.classList.contains("htmx-request")) { again.add(el.id); return; }
      if (window.htmx) window.htmx.trigger(el, "fo:changed");
    });
  }

  function onChange(event) {
    if (event.lastEventId) live.seen = event.lastEventId;  // the change version heard
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

  // A live fragment's fetch says which change it was told about: the server may answer
  // with the board it rendered for that change (or a newer one), not render it again.
  document.addEventListener("htmx:configRequest", function (e) {
    if (live.seen && e.detail.verb === "get") e.detail.headers["FO-Seen"] = live.seen;
  });

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
  // The board can hold thousands of rows: only the rows in (or near) view tick, so a
  // second's update never re-lays out the whole table.
  var inView = new Set();
  var watcher = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) inView.add(e.target); else inView.delete(e.target); });
  }, { rootMargin: "300px 0px" }) : null;
  function watchRows() {
    if (!watcher) return;
    watcher.disconnect();
    inView.clear();
    document.querySelectorAll("tr[data-r]").forEach(function (tr) { watcher.observe(tr); });
  }
  function update(el, now, ms) {
    var due = ms ? +el.getAttribute("data-d") : el.getAttribute("data-s") * 1000;
    var warn = ms ? +el.getAttribute("data-w") : el.getAttribute("data-v") * 1000;
    var b = el.lastElementChild;
    if (b) b.textContent = countdown(due - now);
    var state = now >= due ? "breached" : now >= warn ? "warning" : "running";
    if (!el.classList.contains(state)) {
      el.classList.remove("running", "warning", "breached");
      el.classList.add(state);
    }
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".clk[data-d]").forEach(function (el) { update(el, now, true); });
    var rows = watcher ? inView : document.querySelectorAll("tr[data-r]");
    rows.forEach(function (tr) {
      var clocks = tr.querySelectorAll(".clk[data-s]");
      for (var i = 0; i < clocks.length; i++) update(clocks[i], now, false);
    });
  }

  // A button with data-confirm asks first (publishing a roster, sending a job onsite);
  // "no" stops both the plain form post and htmx's (capture phase: before htmx sees it).
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // A board row's button opens the side panel (one listener, not one per row); without
  // script it is a link to the request's page.
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-panel]");
    if (!a || !window.htmx || e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
    e.preventDefault();
    window.htmx.ajax("GET", a.getAttribute("data-panel"), { target: "#action-panel", swap: "innerHTML" });
  });

  setInterval(function () {
    if (live.open || !window.htmx) return;
    document.querySelectorAll("[data-poll]").forEach(function (el) { window.htmx.trigger(el, "fo:poll"); });
  }, 10000);
  document.addEventListener("htmx:configRequest", function (e) {
    var sel = e.detail.elt && e.detail.elt.getAttribute && e.detail.elt.getAttribute("data-rows");
    if (sel && e.detail.verb === "get") e.detail.parameters.rows = document.querySelectorAll(sel).length;
  });

  document.addEventListener("DOMContentLoaded", function () {
    connect();
    if (document.querySelector(".clk[data-d], .clk[data-s]") || document.querySelector("[data-live]")) {
      watchRows();
      document.body.addEventListener("htmx:afterSwap", watchRows);
      tick();
      setInterval(tick, 1000);
    }
  });
  window.addEventListener("pagehide", function () { if (live.source) live.source.close(); });
})();

// -- The engineer's phone: mutation forms, the outbox's state, "sync now" (issue 4) ------
// A form[data-mutation] gets a fresh mutation id, the device time and this phone's client
// id when submitted, plus what it needs first (a GPS fix, a shrunk photo); then htmx sends
// it ("fo:ready"). The service worker (sw.js) keeps it if the network is down and tells
// every page how many actions wait; this code only shows that in the sync bar.
(function () {
  "use strict";
  var sw = navigator.serviceWorker;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function clientId() {
    var id = localStorage.getItem("fieldops.client");
    if (!id) { id = uuid(); localStorage.setItem("fieldops.client", id); }
    return id;
  }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function tell(type) {
    if (sw && sw.controller) sw.controller.postMessage({ type: type, clientId: clientId(), csrf: csrf() });
  }
  function hhmm(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit", hour12: false });
  }
  function fill(list, lines) {
    if (!list) return;
    list.textContent = "";
    lines.forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line.text;
      if (line.cls) li.className = line.cls;
      list.appendChild(li);
    });
    list.hidden = !lines.length;
  }

  // What the form needs before it can go: a position for check-in, the shrunk photo.
  function prepare(form) {
    if (form.hasAttribute("data-photo") && !form.elements.image.value) return Promise.reject();
    if (!form.hasAttribute("data-geo")) return Promise.resolve();
    // data-geo-soft ("on my way"): the position only feeds the customer's arrival
    // estimate, so the action goes without one when the phone cannot tell.
    var soft = form.hasAttribute("data-geo-soft");
    var wait = form.querySelector("[data-geo-wait]"), error = form.querySelector("[data-geo-error]");
    if (error) error.hidden = true;
    if (wait) wait.hidden = false;
    return new Promise(function (resolve, reject) {
      function without() {
        if (wait) wait.hidden = true;
        if (soft) return resolve();
        if (error) error.hidden = false;
        reject();
      }
      if (!navigator.geolocation) return without();
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.lat.value = pos.coords.latitude;
        form.elements.lon.value = pos.coords.longitude;
        form.elements.accuracy_m.value = Math.round(pos.coords.accuracy);
        if (wait) wait.hidden = true;
        resolve();
      }, without, { enableHighAccuracy: true, timeout: soft ? 8000 : 20000,
                    maximumAge: soft ? 120000 : 30000 });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-mutation]") || !window.htmx) return; // no script: plain post
    event.preventDefault();
    var at = new Date().toISOString(); // when it happened, not when the GPS answered
    prepare(form).then(function () {
      form.elements.mutation_id.value = uuid();
      form.elements.device_time.value = at;
      form.elements.client_id.value = clientId();
      if (form.elements.sent_at) form.elements.sent_at.value = new Date().toISOString(); // D8c
      window.htmx.trigger(form, "fo:ready");
    }, function () {});
  });

  // The phone shrinks a photo before keeping or sending it (~1280 px, JPEG).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches("input[data-shrink]") || !input.files || !input.files[0]) return;
    createImageBitmap(input.files[0]).then(function (bmp) {
      var scale = Math.min(1, 1280 / Math.max(bmp.width, bmp.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale); canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      var url = canvas.toDataURL("image/jpeg", 0.72);
      input.form.elements.image.value = url;
      var img = input.form.querySelector("[data-preview]");
      if (img) { img.src = url; img.hidden = false; }
    });
  });

  // Asset tags: scanned with the camera where the browser has BarcodeDetector.
  function scan(button) {
    var target = document.getElementById(button.getAttribute("data-scan"));
    var picker = document.createElement("input");
    picker.type = "file"; picker.accept = "image/*"; picker.setAttribute("capture", "environment");
    picker.onchange = function () {
      if (!picker.files[0]) return;
      createImageBitmap(picker.files[0]).then(function (bmp) {
        return new window.BarcodeDetector().detect(bmp);
      }).then(function (codes) {
        if (!codes.length) return;
        target.value = codes[0].rawValue.trim().toUpperCase();
        target.focus();
        target.dispatchEvent(new Event("input", { bubbles: true })); // e.g. the stock search
      });
    };
    picker.click();
  }

  function showScanners() {
    if (!("BarcodeDetector" in window)) return; // typing the tag always works
    document.querySelectorAll("[data-scan]").forEach(function (b) { b.hidden = false; });
  }
  document.addEventListener("DOMContentLoaded", showScanners);
  document.addEventListener("htmx:afterSettle", showScanners);

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-sync-now], [data-scan], [data-sync-clear]");
    if (!el) return;
    if (el.hasAttribute("data-scan")) scan(el);
    else if (el.hasAttribute("data-sync-clear")) tell("clear");
    else tell("sync");
  });

  // An action kept offline: clear the form as if it had been sent.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt, xhr = event.detail.xhr;
    if (!form.matches || !form.matches("form[data-mutation]")) return;
    if (xhr && xhr.getResponseHeader("X-Fieldops-Queued")) {
      form.reset();
      var img = form.querySelector("[data-preview]");
      if (img) img.hidden = true;
      var box = form.closest("details");
      if (box) box.open = false;
    }
  });

  function show(s) {
    var bar = document.querySelector("[data-syncbar]");
    if (!bar) return;
    bar.hidden = false;
    bar.classList.toggle("waiting", s.count > 0);
    bar.querySelector("[data-sync-count]").textContent = s.count;
    bar.querySelector("[data-sync-last]").textContent = s.last_sync ? hhmm(s.last_sync) : bar.getAttribute("data-t-never");
    document.querySelectorAll("[data-sync-count-text]").forEach(function (el) {
      el.textContent = s.count ? "(" + s.count + ")" : "";
    });
    var received = bar.getAttribute("data-t-received");
    var lines = s.waiting.slice(0, 5).map(function (w) {
      return { text: w.label + " · " + hhmm(w.device_time) + (w.received ? " · " + received : "") };
    });
    if (s.waiting.length > 5) lines.push({ text: "… +" + (s.waiting.length - 5) });
    fill(bar.querySelector("[data-sync-waiting]"), lines);
    // The refused actions (with "discard" / "correct and send again") and the state the
    // waiting ones lead to: field-offline.js.
    if (window.FieldOpsOffline) window.FieldOpsOffline.show(s);
    retry(s);
    // A sync went through ("synced" is only sent then). If this page is the phone's saved
    // copy, or something reached the server, show it as the server now holds it (unless
    // the engineer is typing in it) and drop the offline banner.
    if (!("synced" in s)) return;
    var notice = document.getElementById("sync-notice");
    if (notice && !s.count) notice.textContent = ""; // "saved on this phone" is old news now
    var copy = document.querySelector('meta[name="fieldops-cached-at"]');
    if (copy) {
      copy.parentNode.removeChild(copy);
      var net = document.getElementById("netstate");
      if (net && navigator.onLine) net.hidden = true;
    }
    if (!s.synced && !copy) return;
    var job = document.getElementById("job");
    if (job && window.htmx && !job.contains(document.activeElement)) {
      window.htmx.ajax("GET", location.pathname, { target: "#job", swap: "outerHTML" });
    }
    var list = document.getElementById("my-jobs");
    if (list && window.htmx) window.htmx.trigger(list, "fo:changed");
  }

  // A failed sync is tried again after 2, 4, 8 ... 60 s while actions wait: the network
  // can come back a moment after the browser says "online".
  var delay = 2000, timer = null;
  function retry(s) {
    if ("synced" in s) delay = 2000;
    if (!s.failed) return;
    clearTimeout(timer);
    if (!s.count || s.problem === "auth") return;
    timer = setTimeout(function () { if (navigator.onLine) tell("sync"); }, delay);
    delay = Math.min(delay * 2, 60000);
  }

  if (sw) {
    sw.addEventListener("message", function (event) {
      if (event.data && event.data.type === "status") show(event.data);
    });
    // Sync on page load, when the network returns, and every minute while actions wait
    // (Background Sync does it too where the browser has it).
    var engineer = !!document.querySelector("[data-syncbar]");
    sw.ready.then(function () { if (engineer) tell("sync"); });
    window.addEventListener("online", function () { delay = 2000; if (engineer) tell("sync"); });
    setInterval(function () {
      var bar = document.querySelector("[data-syncbar]");
      if (navigator.onLine && bar && bar.classList.contains("waiting")) tell("sync");
    }, 60000);
    sw.addEventListener("controllerchange", function () { if (engineer) tell("sync"); });
  }
})();
