// FieldOps: the engineer's phone tells the truth offline (issue 12). No build step, no
// inline script: everything is read from data-* attributes the server rendered.
//
//  1. Optimistic state (Replicache's idea): the service worker reports the actions still
//     waiting in its outbox; each kind has one small function below (KINDS) that turns the
//     job's state as the server last rendered it (data-status, data-clocks) into the state
//     that action leads to. paint() then shows that state on the job page and on "my jobs":
//     the status chip, the steps offered, the clocks it stopped, and its facts marked
//     "waiting to sync". The server's own page replaces the guess as soon as it arrives
//     (app.js re-fetches it after a sync; paint runs again on what is left).
//  2. Refused actions: shown once each, with the reason, a "discard" and, where the
//     action has a form, "correct and send again" (the form opens filled in; sending it
//     is a new action and the refused one leaves the list: never a silent duplicate).
//  3. Whose phone: every page tells the service worker who is signed in, so it drops
//     another person's cached pages (sw.js iAm), and the first queued action asks the
//     browser to keep the outbox (navigator.storage.persist()); a refusal is shown.
(function () {
  "use strict";
  var sw = navigator.serviceWorker;
  var last = null; // the service worker's latest status

  // -- the state each queued action leads to: (state, action) -> nothing, edits state ----
  // state = {status, stopped: {clock kind: ISO time}, facts: [{kind, at, text}], gone}
  var ACTIVE = ["offered", "accepted", "en_route", "on_site"];
  function stop(s, kinds, m) {
    kinds.forEach(function (k) { if (!s.stopped[k]) s.stopped[k] = m.device_time; });
  }
  function fact(s, kind, m, text) { s.facts.push({ kind: kind, at: m.device_time, text: text || "" }); }
  function move(s, from, to) { if (from.indexOf(s.status) >= 0) s.status = to; }

  var KINDS = {
    // Accepting stops the first-response clock (D5).
    accept: function (s, m) {
      move(s, ["offered"], "accepted"); stop(s, ["first_response"], m); fact(s, "accept", m);
    },
    // Setting off is also the answer to an offer (actions/field.py _accept_first).
    on_my_way: function (s, m) {
      move(s, ["offered", "accepted"], "en_route"); stop(s, ["first_response"], m); fact(s, "en_route", m);
    },
    // Checking in stops the arrival clock at the device time (D8c).
    check_in: function (s, m) {
      move(s, ["offered", "accepted", "en_route"], "on_site");
      stop(s, ["first_response", "arrival"], m); fact(s, "check_in", m);
    },
    fix_note: function (s, m) { fact(s, "fix_note", m, m.args.text); },
    photo: function (s, m) { fact(s, "photo", m, m.args.caption); },
    swap: function (s, m) { fact(s, "swap", m, (m.args.unit_out || "") + " → " + (m.args.unit_in || "")); },
    // Done resolves the request: every running clock stops, the steps go away.
    done: function (s, m) {
      move(s, ACTIVE, "done"); stop(s, ["first_response", "arrival", "resolution"], m);
      fact(s, "done", m, m.args.customer_name);
    },
    // Declined: the job leaves this engineer (D8b: it moves on along the chain).
    decline: function (s, m) { move(s, ACTIVE, "declined"); s.gone = true; fact(s, "decline", m); },
    cannot_fix: function (s, m) { fact(s, "cannot_fix", m); },
  };
  // The clock that matters at each step (server/queries/field.py KEY_CLOCK).
  var KEY_CLOCK = { offered: "first_response", accepted: "arrival", en_route: "arrival", on_site: "resolution" };

  function stateOf(el, waiting) {
    var s = { status: el.getAttribute("data-status"), stopped: {}, facts: [], gone: false, pending: 0 };
    var job = Number(el.getAttribute("data-job"));
    waiting.forEach(function (m) {
      if (m.job_id !== job || !KINDS[m.name]) return;
      var before = s.facts.length;
      KINDS[m.name](s, { name: m.name, device_time: m.device_time, args: m.args || {} });
      for (var i = before; i < s.facts.length; i++) s.facts[i].received = !!m.received;
      s.pending += 1;
    });
    return s;
  }

  // -- painting -----------------------------------------------------------------------
  var words = null;
  function word(group, key) {
    if (!words) {
      var bar = document.querySelector("[data-syncbar]");
      try { words = JSON.parse(bar.getAttribute("data-words")); } catch (e) { words = {}; }
    }
    if (!key) return words[group] || group;
    return (words[group] || {})[key] || key;
  }
  function hhmm(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit", hour12: false });
  }
  function remaining(ms) { // as app.js's countdown shows it, until its next tick
    var t = Math.floor(Math.abs(ms) / 1000), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
    var pad = function (n) { return n < 10 ? "0" + n : String(n); };
    return (ms < 0 ? "-" : "") + (h ? h + ":" + pad(m) + ":" + pad(t % 60) : m + ":" + pad(t % 60));
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  // One job (the page's #job or a card of "my jobs"), from its server state plus the queue.
  function paintJob(root, waiting) {
    var s = stateOf(root, waiting);
    var server = root.getAttribute("data-status");
    var chip = root.querySelector("[data-status-chip]");
    if (chip) {
      chip.textContent = word("status", s.status) + (s.status !== server ? " · " + word("waiting") : "");
      chip.classList.toggle("pending", s.status !== server);
    }
    root.querySelectorAll("[data-offer]").forEach(function (f) {
      f.hidden = f.getAttribute("data-offer").split(" ").indexOf(s.status) < 0;
    });
    root.querySelectorAll("[data-primary-in]").forEach(function (b) {
      b.classList.toggle("primary", b.getAttribute("data-primary-in") === s.status);
    });
    root.querySelectorAll("[data-while-active]").forEach(function (x) { x.hidden = ACTIVE.indexOf(s.status) < 0; });
    var doneNote = root.querySelector("[data-done-note]");
    if (doneNote) doneNote.hidden = !(s.status === "done" && server !== "done");
    paintClocks(root, s);
    paintFacts(root, s);
    return s;
  }

  function paintClocks(root, s) {
    var box = root.querySelector("[data-clocks]");
    var stoppedLine = root.querySelector("[data-stopped-clocks]");
    var clocks = [];
    try { clocks = JSON.parse(box ? box.getAttribute("data-clocks") : "[]"); } catch (e) { clocks = []; }
    var stopped = clocks.filter(function (c) { return s.stopped[c.kind]; });
    if (stoppedLine) {
      stoppedLine.textContent = stopped.map(function (c) {
        return c.name + " " + word("stopped") + " " + hhmm(s.stopped[c.kind]);
      }).join(" · ") + " (" + word("waiting") + ")";
      stoppedLine.hidden = !stopped.length;
    }
    if (!box || !stopped.length) return; // nothing changed: the server's own clock stays
    var running = clocks.filter(function (c) { return !s.stopped[c.kind]; });
    var key = null;
    running.forEach(function (c) { if (c.kind === KEY_CLOCK[s.status]) key = c; });
    running.forEach(function (c) { if (!key && c.kind === "resolution") key = c; });
    if (!key && running.length) key = running.sort(function (a, b) { return a.d - b.d; })[0];
    var span = box.querySelector(".clk");
    box.hidden = !key;
    if (!key || !span) return;
    span.textContent = key.name + " ";
    span.appendChild(el("b", "", key.paused ? "" : remaining(key.d - Date.now())));
    if (key.paused) { span.removeAttribute("data-d"); span.removeAttribute("data-w"); }
    else { span.setAttribute("data-d", key.d); span.setAttribute("data-w", key.w); }
  }

  function paintFacts(root, s) {
    var list = root.querySelector("[data-facts]");
    if (!list) return;
    list.querySelectorAll("li.pending").forEach(function (li) { li.remove(); });
    s.facts.forEach(function (f) {
      var li = el("li", "ffact pending");
      var time = el("time", "", hhmm(f.at));
      var body = el("div");
      body.appendChild(el("strong", "", word("facts", f.kind)));
      body.appendChild(el("span", "tag", word(f.received ? "received" : "waiting")));
      if (f.text) body.appendChild(el("p", "notes", f.text));
      li.appendChild(time);
      li.appendChild(body);
      list.appendChild(li);
    });
    var nothing = root.parentNode && root.querySelector("[data-nothing]");
    if (nothing) nothing.hidden = s.facts.length > 0;
  }

  function paint() {
    var waiting = (last && last.waiting) || [];
    var job = document.querySelector("#job[data-mine='1']");
    if (job) paintJob(job, waiting);
    document.querySelectorAll(".fcard[data-job]").forEach(function (card) {
      var s = paintJob(card, waiting);
      card.hidden = s.gone;
    });
  }

  // -- refused actions: once each, with the reason, discard / correct and send again ------
  // Which form field each action's arguments go back into ("correct and send again").
  var FORMS = { fix_note: "f-note", photo: "f-photo", swap: "f-swap", done: "f-done",
                decline: "f-decline", cannot_fix: "f-cannot-fix" };
  function tellSw(msg) { if (sw && sw.controller) sw.controller.postMessage(msg); }

  function paintRefused(s) {
    var bar = document.querySelector("[data-syncbar]");
    var list = bar && bar.querySelector("[data-sync-refused]");
    if (!list) return;
    list.textContent = "";
    if (s.problem === "auth") {
      // The session ended (idle timeout, sign-out elsewhere): what waits stays on the
      // phone and goes out once the engineer signs in again, back on this page.
      var auth = el("li", "rejected", bar.getAttribute("data-t-signin") + " ");
      var go = el("a", "btn small", bar.getAttribute("data-t-signin-link"));
      go.href = "/login?next=" + encodeURIComponent(location.pathname);
      auth.appendChild(go);
      list.appendChild(auth);
    }
    (s.notices || []).forEach(function (n) {
      var li = el("li", n.status);
      li.appendChild(el("span", "", "⚑ " + n.label + ": " + n.message));
      if (n.id) {
        var drop = el("button", "btn small", word("discard"));
        drop.type = "button";
        drop.setAttribute("data-discard", n.id);
        li.appendChild(drop);
        if (n.status === "rejected" && FORMS[n.name] && n.job_id) {
          var again = el("a", "btn small", word("resend"));
          again.href = "/field/jobs/" + n.job_id + "#resend-" + n.id;
          again.setAttribute("data-resend", n.id);
          li.appendChild(again);
        }
      }
      list.appendChild(li);
    });
    list.hidden = !list.children.length;
    var clear = bar.querySelector("[data-sync-clear]");
    if (clear) clear.hidden = !(s.notices || []).length;
  }

  // The job page opened for "correct and send again": its form, filled with what was sent.
  function refill() {
    var m = /^#resend-(.+)$/.exec(location.hash);
    if (!m || !last) return;
    var n = (last.notices || []).filter(function (x) { return x.id === m[1]; })[0];
    var form = n && document.getElementById(FORMS[n.name]);
    if (!form) return;
    Object.keys(n.args || {}).forEach(function (k) {
      var input = form.elements[k];
      if (!input || k === "job_id") return;
      if (input.length && input[0] && input[0].type === "radio") {
        Array.prototype.forEach.call(input, function (r) { r.checked = r.value === n.args[k]; });
      } else if (input.type === "checkbox") input.checked = !!n.args[k];
      else if (input.type !== "file") input.value = n.args[k];
    });
    var box = form.closest("details");
    if (box) box.open = true;
    form.scrollIntoView({ block: "center" });
    history.replaceState(null, "", location.pathname);
    tellSw({ type: "discard", id: n.id }); // it is being sent again: not a second entry
  }

  window.addEventListener("hashchange", refill); // "correct and send again" on this very page

  document.addEventListener("click", function (event) {
    var b = event.target.closest && event.target.closest("[data-discard]");
    if (b) tellSw({ type: "discard", id: b.getAttribute("data-discard") });
  });

  // -- persistent storage: asked when the first action is queued ------------------------
  function askPersist(s) {
    if (!s.count || s.persist || !navigator.storage || !navigator.storage.persist) return;
    tellSw({ type: "persist", state: "asking" });
    navigator.storage.persisted().then(function (yes) {
      return yes || navigator.storage.persist();
    }).then(function (granted) {
      tellSw({ type: "persist", state: granted ? "granted" : "refused" });
    }, function () { tellSw({ type: "persist", state: "refused" }); });
  }
  function paintPersist(s) {
    var note = document.querySelector("[data-persist-refused]");
    if (!note) return;
    note.textContent = word("persist_refused");
    note.hidden = s.persist !== "refused" || !s.count; // it matters while actions wait
  }

  window.FieldOpsOffline = {
    KINDS: KINDS,
    show: function (s) {
      last = s;
      paint();
      paintRefused(s);
      paintPersist(s);
      askPersist(s);
      refill();
    },
  };

  // Whose phone this is now: the service worker keeps only their pages (sw.js iAm).
  function whoami() {
    var meta = document.querySelector('meta[name="fieldops-user"]');
    var user = meta ? Number(meta.content) : null;
    if (sw) sw.ready.then(function (reg) {
      if (reg.active) reg.active.postMessage({ type: "whoami", user: user });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    whoami();
    paint();
  });
  // The server's page arrived (htmx swapped it in): paint what still waits on top.
  document.addEventListener("htmx:afterSettle", function () { if (last) paint(); });
})();
