// Intake screen: counts the handoff clocks down every second (the server renders the
// first value and the deadline), lets Ctrl+Enter submit from the fault text, and makes
// Enter in a one-line field move on (the order number: look it up first) instead of submitting.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function format(seconds) {
    var s = Math.floor(Math.abs(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = (Date.parse(el.dataset.deadline) - now) / 1000;
      var out = el.querySelector("[data-countdown]");
      if (out) out.textContent = (left <= 0 ? el.dataset.overdue + " " : "") + format(left);
      el.classList.toggle("warning", left > 0 && now >= Date.parse(el.dataset.warnAt));
      el.classList.toggle("breached", left <= 0);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  // The next field a keyboard user would tab to.
  function nextField(el) {
    var all = Array.prototype.filter.call(
      el.form.querySelectorAll("input, select, textarea, button"),
      function (f) { return !f.disabled && f.type !== "hidden" && f.offsetParent !== null; });
    return all[all.indexOf(el) + 1];
  }
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.isComposing) return;  // an IME's Enter picks characters
    var el = e.target;
    if ((e.ctrlKey || e.metaKey) && el.matches("#intake-form textarea")) {
      e.preventDefault();
      el.form.requestSubmit();
      return;
    }
    // Enter in a one-line field never submits a half-filled request: it moves on. In the
    // order number it looks the order up first, then moves on once the customer is in.
    if (e.ctrlKey || e.metaKey || !el.matches("#intake-form input:not([type=submit]):not([type=checkbox]):not([type=radio])")) return;
    e.preventDefault();
    if (el.id === "f-order_no" && window.htmx && el.value.trim()) {
      document.addEventListener("htmx:afterSettle", function moveOn() {
        document.removeEventListener("htmx:afterSettle", moveOn);
        var next = document.getElementById("f-order_no") && nextField(document.getElementById("f-order_no"));
        if (next) next.focus();
      });
      window.htmx.trigger(el, "lookup");
      return;
    }
    var next = nextField(el);
    if (next) next.focus();
  });
})();
