// FieldOps job alerts on this device (the profile page's "Job alerts" section).
// Shows the one state that applies (the texts are in the page, translated by the server),
// turns alerts on (permission, pushManager.subscribe, POST /push/subscribe) and off.
// The device list the server sends back is HTML: it replaces #push-devices as is.
(function () {
  "use strict";
  var box = document.getElementById("push-alerts");
  if (!box) return;

  // pushManager.subscribe() never settles when no push service is reachable (headless
  // Chromium, some phones in mainland China): give up after this long.
  var SUBSCRIBE_TIMEOUT_MS = 15000;
  var isIOS = /iPad|iPhone|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  var standalone = window.matchMedia("(display-mode: standalone)").matches ||
    navigator.standalone === true;

  function show(state) {
    box.setAttribute("data-push-state", state);
    box.querySelectorAll(".push-state [data-state]").forEach(function (p) {
      p.hidden = p.getAttribute("data-state") !== state;
    });
    box.querySelector('[data-push="on"]').hidden = !(state === "off" || state === "failed");
    box.querySelector('[data-push="off"]').hidden = state !== "on";
    box.classList.toggle("ios-first", isIOS && !standalone);
  }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "text/html" },
      body: JSON.stringify(body),
    });
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
      promise.then(function (v) { clearTimeout(timer); resolve(v); },
                   function (e) { clearTimeout(timer); reject(e); });
    });
  }

  // The VAPID key comes as URL-safe base64; subscribe() wants the raw bytes.
  function keyBytes(b64) {
    var s = atob((b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  // "iPhone · Safari", "Android · Chrome": enough to tell one's devices apart.
  function deviceLabel() {
    var ua = navigator.userAgent;
    var os = /iPhone/.test(ua) ? "iPhone" : /iPad/.test(ua) ? "iPad" : /Android/.test(ua) ? "Android"
      : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "Mac" : /Linux/.test(ua) ? "Linux" : "";
    var app = /MicroMessenger/.test(ua) ? "WeChat" : /EdgA?\//.test(ua) ? "Edge"
      : /HeadlessChrome|Chrome\//.test(ua) ? "Chrome" : /Firefox\//.test(ua) ? "Firefox"
      : /Safari\//.test(ua) ? "Safari" : "";
    return [os, app].filter(Boolean).join(" · ") || "Browser";
  }

  function replaceDevices(html) {
    var old = document.getElementById("push-devices");
    if (old && html) {
      old.outerHTML = html;
      if (window.htmx) window.htmx.process(document.getElementById("push-devices"));
    }
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function registration() {
    return withTimeout(navigator.serviceWorker.ready, 10000);
  }

  // Tell the server about the subscription this browser already has: it may have been
  // made while someone else was signed in, or the server may have dropped it (410).
  function resync(sub) {
    return post(box.dataset.subscribeUrl, Object.assign(sub.toJSON(), { device_label: deviceLabel() }))
      .then(function (r) { return r.ok ? r.text().then(replaceDevices) : null; })
      .catch(function () {});
  }

  function refresh() {
    if (!supported()) { show(isIOS && !standalone ? "ios-home" : "unsupported"); return; }
    if (Notification.permission === "denied") { show("denied"); return; }
    registration()
      .then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (sub && Notification.permission === "granted") { show("on"); resync(sub); }
        else show("off");
      })
      .catch(function () { show("off"); });
  }

  function turnOn() {
    show("working");
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") throw new Error(permission === "denied" ? "denied" : "off");
        return Promise.all([registration(), fetch(box.dataset.keyUrl, { credentials: "same-origin" })
          .then(function (r) { return r.json(); })]);
      })
      .then(function (both) {
        return withTimeout(both[0].pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(both[1].publicKey),
        }), SUBSCRIBE_TIMEOUT_MS);
      })
      .then(function (sub) {
        return post(box.dataset.subscribeUrl,
                    Object.assign(sub.toJSON(), { device_label: deviceLabel() }));
      })
      .then(function (r) {
        return r.text().then(function (html) { replaceDevices(html); if (!r.ok) throw new Error("refused"); });
      })
      .then(function () { show("on"); })
      .catch(function (err) {
        var why = err && err.message;
        show(why === "denied" ? "denied" : why === "off" ? "off" : "failed");
      });
  }

  function turnOff() {
    registration()
      .then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) return null;
        var endpoint = sub.endpoint;
        return sub.unsubscribe().catch(function () {}).then(function () {
          return post(box.dataset.unsubscribeUrl, { endpoint: endpoint });
        }).then(function (r) { return r.text().then(replaceDevices); });
      })
      .then(function () { show("off"); })
      .catch(function () { show("off"); });
  }

  box.querySelector('[data-push="on"]').addEventListener("click", turnOn);
  box.querySelector('[data-push="off"]').addEventListener("click", turnOff);
  refresh();
})();
