// The customer's status page (D19): re-fetch the card whenever the server says this
// request changed (server-sent events); the card also refreshes every 30 s by itself.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var card = document.querySelector("[data-status-live]");
    if (!card || !window.EventSource) return;
    var source = new EventSource(card.getAttribute("data-status-live"));
    source.addEventListener("change", function () {
      if (window.htmx) window.htmx.trigger(card, "fo:changed");
    });
    source.addEventListener("gone", function () { source.close(); });
  });
})();
