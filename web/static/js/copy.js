// "Copy" buttons: <button data-copy="#selector"> copies that field's text. The clipboard
// API needs a secure context (HTTPS or localhost); elsewhere the text is selected so the
// agent can press Ctrl+C. Delegated, so fragments htmx swaps in work too.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () {
      var note = button.closest("div[id]") && button.closest("div[id]").querySelector("[data-copied]");
      if (note) note.hidden = false;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
})();
