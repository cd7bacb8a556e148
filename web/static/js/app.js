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
