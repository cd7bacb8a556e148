// The venue form's "use my current position": the phone's fix is WGS-84, so the datum
// switches to WGS-84 with it (D15). Shown only where the browser offers geolocation.
(function () {
  "use strict";
  var button = document.getElementById("use-position");
  var note = document.getElementById("position-note");
  if (!button || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    note.textContent = note.dataset.wait;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("f-lat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("f-lon").value = pos.coords.longitude.toFixed(6);
      var wgs = document.querySelector('input[name="datum"][value="WGS-84"]');
      if (wgs) wgs.checked = true;
      note.textContent = note.dataset.done.replace("{m}", Math.round(pos.coords.accuracy));
    }, function (err) {
      note.textContent = note.dataset.fail.replace("{reason}", err.message);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  });
})();
