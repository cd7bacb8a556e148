// Intake screen: counts the handoff clocks down every second (the server renders the
// first value and the deadline), and lets Ctrl+Enter submit from the fault text.
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
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.matches("#intake-form textarea")) {
      e.preventDefault();
      e.target.form.requestSubmit();
    }
  });
})();
