// FieldOps service worker: the phone's little server. The server prepends SHELL_VERSION
// and SHELL_URLS (see /sw.js). No build step, no libraries.
//  1. Shell: precached at install, versioned; static files cache first.
//  2. Pages: network first (a few seconds), else the cached copy stamped with when it was
//     fetched (app.js shows "offline — last updated 12:03"), else /offline. After each
//     sync the pages of the engineer's open jobs (the pull's `pages`) are fetched again.
//     A shared phone: pages are kept per person (cache "pages-<staff id>", read from the
//     page's <meta name="fieldops-user">) and only the signed-in person's are served; the
//     pages tell who is signed in ("whoami"): signed out, or someone else, and every other
//     person's pages and sync messages are deleted (their unsent actions stay, unshown,
//     until they sign in again: D14).
//  3. Outbox: a form post carrying a `mutation_id` that cannot reach the server is kept in
//     IndexedDB and answered with the "saved on this phone" fragment, so the page behaves
//     the same. The outbox is replayed in order to /sync/push (online event, page load,
//     Background Sync, app.js's periodic retry, "sync now"); the server applies each
//     mutation once, so sending one twice is harmless. A busy server answers "received"
//     (durably kept there): the entry stays, marked, without its photo, until a resend
//     brings its result. Other code here may queue an action
//     itself: keep(new URLSearchParams({mutation, mutation_id, device_time, ...args})).
/* global SHELL_VERSION, SHELL_URLS */
"use strict";
importScripts(SHELL_URLS.find((u) => u.includes("/js/sw-push.js"))); // job alerts (sw-push.js)
const SHELL_CACHE = "shell-" + SHELL_VERSION;
const PAGE_CACHE = "pages-"; // + the staff id of the person the pages belong to
const ENVELOPE = ["mutation", "mutation_id", "device_time", "client_id", "sent_at"]; // not arguments
const PAGE_TIMEOUT_MS = 4000; // a venue basement: better the saved page than a spinner
const POST_TIMEOUT_MS = 10000; // a post that hangs is kept; a replay of it is harmless
const BATCH = 20; // mutations per push
const BATCH_BYTES = 2000000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL_URLS)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) =>
      Promise.all(keys.filter((k) => k.startsWith("shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k)))
    ).then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST") {
    // Mutation forms say so in a header (hx-headers), so other posts pass untouched.
    if (request.headers.has("X-Fieldops-Mutation")) event.respondWith(postForm(request));
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname.startsWith("/static/")) {
    // Versioned URLs never change: cache first.
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (request.mode === "navigate") {
    event.respondWith(networkFirst(request));
  }
});

// -- pages ---------------------------------------------------------------------------

async function networkFirst(request) {
  let response;
  try {
    response = await withTimeout(fetch(request), PAGE_TIMEOUT_MS);
  } catch (err) {
    return fromCache(request.url);
  }
  if (response.ok && (response.headers.get("content-type") || "").includes("text/html")) {
    keepPage(request.url, response.clone()).catch(() => {});
  }
  return response;
}

// Kept for the person the page was made for, and only while they are signed in here.
async function keepPage(url, response) {
  const copy = await stamp(response);
  const owner = ownerOf(await copy.clone().text());
  if (!owner) return; // signed out: nothing of it is kept
  await iAm(owner);
  await (await caches.open(PAGE_CACHE + owner)).put(url, copy);
}

function ownerOf(html) {
  const m = /<meta name="fieldops-user" content="(\d+)"/.exec(html);
  return m ? Number(m[1]) : null;
}

// Who is signed in on this phone now (null: nobody). Another person's pages, pending
// sync messages and page list go at once; their outbox entries stay, shown to nobody.
async function iAm(user) {
  const before = (await metaGet("user")) || null;
  if (before === user) return;
  const keys = await caches.keys();
  await Promise.all(keys.filter((k) => k.startsWith(PAGE_CACHE) && k !== PAGE_CACHE + user)
    .map((k) => caches.delete(k)));
  await metaSet("user", user);
  await metaSet("notices", []);
  await metaSet("pages", []);
  await metaSet("cursor", 0);
  await metaSet("persist", "");
}

async function pageCache() {
  const user = await metaGet("user");
  return user ? caches.open(PAGE_CACHE + user) : null;
}

// A copy to keep, with the time it was fetched (decoded body: drop the transfer headers).
async function stamp(response) {
  return new Response(await response.blob(), {
    status: response.status,
    headers: { "Content-Type": response.headers.get("content-type") || "text/html",
               "X-Fieldops-Cached-At": new Date().toISOString() },
  });
}

async function fromCache(url) {
  const cache = await pageCache();
  const hit = cache && await cache.match(url, { ignoreVary: true });
  if (!hit) return (await caches.match("/offline")) || Response.error();
  const at = hit.headers.get("X-Fieldops-Cached-At") || "";
  const html = (await hit.text()).replace("</head>", `<meta name="fieldops-cached-at" content="${at}"></head>`);
  return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function refreshPages(pages) {
  const cache = await pageCache();
  if (!cache) return;
  const known = (await metaGet("pages")) || [];
  await Promise.all(known.filter((u) => !pages.includes(u)).map((u) => cache.delete(u)));
  await Promise.all([...pages, "/sync/saved"].map(async (u) => {
    try {
      const response = await fetch(u, { cache: "no-store", credentials: "same-origin" });
      if (!response.ok || response.redirected) return;
      if (u === "/sync/saved") await cache.put(u, await stamp(response)); // a fragment
      else await keepPage(u, response);
    } catch (err) { /* offline again: keep the old copy */ }
  }));
  await metaSet("pages", pages);
}

// -- the outbox ---------------------------------------------------------------------------

async function postForm(request) {
  const form = new URLSearchParams(await request.clone().text());
  if (!form.get("mutation_id")) return fetch(request); // not an offline-capable action
  const token = request.headers.get("x-csrftoken");
  if (token) await metaSet("csrf", token);
  if ((await outboxAll()).length === 0) {
    try {
      const response = await withTimeout(fetch(request), POST_TIMEOUT_MS);
      if (response.status < 500) return response; // the server answered (applied or not)
    } catch (err) { /* no network, or the server is down */ }
  }
  // Offline, or older actions still wait: keep this one behind them, in order.
  await keep(form);
  flush(); // in case only the server was down, or we are online behind a backlog
  return savedAnswer();
}

async function keep(form) {
  const args = {};
  for (const [key, value] of form) {
    if (!key.startsWith("_") && !ENVELOPE.includes(key)) args[key] = value;
  }
  await outboxAdd({
    id: form.get("mutation_id"),
    name: form.get("mutation"),
    client_id: form.get("client_id") || (await metaGet("client_id")) || "-",
    device_time: form.get("device_time") || new Date().toISOString(),
    args: args,
    label: form.get("_label") || form.get("mutation"),
    user: (await metaGet("user")) || null,
  });
  if (self.registration.sync) self.registration.sync.register("fieldops-outbox").catch(() => {});
  broadcast();
}

async function savedAnswer() {
  const cache = await pageCache();
  const cached = cache && await cache.match("/sync/saved", { ignoreVary: true });
  const html = cached ? await cached.text()
    : '<p class="outcome queued" role="status">已保存在本机，等待同步 · Saved on this phone, waiting to sync</p>';
  return new Response(html, {
    headers: { "Content-Type": "text/html; charset=utf-8", "HX-Retarget": "#sync-notice",
               "HX-Reswap": "innerHTML", "X-Fieldops-Queued": "1" },
  });
}

// -- sync: pull (trim what the server already applied), push in order, pull again -----------

// One sync at a time; a request for another while one runs (the network just came back
// while an offline attempt was still failing) runs it again right after.
let flushing = null;
let again = false;
function flush() {
  if (flushing) {
    again = true;
    return flushing;
  }
  flushing = (async () => {
    let ok;
    do {
      again = false;
      ok = await doFlush();
    } while (again);
    return ok;
  })().finally(() => { flushing = null; });
  return flushing;
}

async function doFlush() {
  let ok = true;
  try {
    const clientId = (await metaGet("client_id")) || "-";
    await ensureShell();
    const me = await pull(clientId);
    let applied = 0;
    const mineNow = async (received) => (await outboxAll()).filter(
      (e) => (!e.user || e.user === me.staff_id) && !!e.received === received);
    for (;;) {
      // A shared phone: another person's actions wait until they sign in again.
      const waiting = await mineNow(false);
      if (!waiting.length) break;
      const sent = await pushBatch(waiting);
      applied += sent.done;
      if (sent.stopped) { ok = false; break; }
    }
    // A busy server answers "received" (kept safe there, applied in a moment): show it,
    // then ask again for the results (a resend is answered from the server's log).
    for (let k = 1; ok && k <= 5; k++) {
      const received = await mineNow(true);
      if (!received.length) break;
      await broadcast({});
      await new Promise((resolve) => setTimeout(resolve, 1000 * k));
      const sent = await pushBatch(received);
      applied += sent.done;
    }
    await metaSet("last_sync", new Date().toISOString());
    await metaSet("problem", "");
    if (applied) await pull(clientId);
    broadcast({ synced: applied });
  } catch (err) {
    ok = false;
    await metaSet("problem", err.message === "auth" ? "auth" : "offline");
    broadcast({ failed: true }); // the pages retry with a growing delay
  }
  return ok;
}

async function pull(clientId) {
  const cursor = (await metaGet("cursor")) || 0;
  const response = await withTimeout(fetch(`/sync/pull?cursor=${cursor}&client_id=${encodeURIComponent(clientId)}`,
    { headers: { accept: "application/json" }, cache: "no-store", credentials: "same-origin" }), PAGE_TIMEOUT_MS * 2);
  if (response.status === 401 || response.status === 403) throw new Error("auth");
  if (!response.ok) throw new Error("pull " + response.status);
  const data = await response.json();
  await iAm(data.staff_id);
  // Replicache's lastMutationID: what the server applied (its reply may have been lost)
  // needs no resending. Only this client's entries of this person (a shared phone keeps
  // another person's unsent actions), up to that one in the order taken.
  if (data.last_mutation_id) {
    // (not those the server said it received: their results are asked for by resending)
    const mine = (await outboxAll()).filter((e) => e.client_id === clientId && !e.received &&
                                                   (!e.user || e.user === data.staff_id));
    const at = mine.findIndex((e) => e.id === data.last_mutation_id);
    if (at >= 0) await outboxDelete(mine.slice(0, at + 1).map((e) => e.seq));
  }
  const known = (await metaGet("pages")) || [];
  if (data.changes.length || !cursor || data.pages.join() !== known.join()) await refreshPages(data.pages);
  await metaSet("cursor", data.cursor);
  return data;
}

async function pushBatch(waiting) {
  const clientId = waiting[0].client_id;
  const batch = [];
  let bytes = 0;
  for (const e of waiting) {
    const size = JSON.stringify(e.args).length;
    if (e.client_id !== clientId || batch.length >= BATCH || (batch.length && bytes + size > BATCH_BYTES)) break;
    batch.push(e);
    bytes += size;
  }
  const response = await withTimeout(fetch("/sync/push", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", accept: "application/json",
               "X-CSRFToken": (await metaGet("csrf")) || "" },
    // sent_at: this phone's clock now; the server measures how far off it is (D8c)
    body: JSON.stringify({ client_id: clientId, sent_at: new Date().toISOString(), mutations: batch.map((e) => (
      { id: e.id, name: e.name, args: e.args, device_time: e.device_time })) }),
  }), POST_TIMEOUT_MS * 3); // a lost reply is harmless: the next push is answered from the log
  if (response.status === 401 || response.status === 403) throw new Error("auth");
  if (!response.ok) throw new Error("push " + response.status);
  const reply = await response.json();
  const byId = new Map(batch.map((e) => [e.id, e]));
  const finished = [];
  const received = [];
  const notices = (await metaGet("notices")) || [];
  let stopped = false;
  for (const r of reply.results) {
    const entry = byId.get(r.id);
    if (!entry) continue;
    if (r.status === "retry") { stopped = true; break; } // keep it, and all after it
    if (r.status === "received") { // safe on the server: keep what the pages show, not the photo
      if (!entry.received) received.push(Object.assign({}, entry, { received: true, args: small(entry.args) }));
      continue;
    }
    finished.push(entry.seq);
    // Shown once per action (a replay answers the same), with what the engineer needs
    // to correct and send it again (a new action: the refused one stays refused).
    if (r.status !== "applied" && !notices.some((n) => n.id === entry.id)) {
      notices.unshift({ id: entry.id, name: entry.name, job_id: jobOf(entry), label: entry.label,
                        status: r.status, message: r.message, args: small(entry.args) });
    }
  }
  await outboxDelete(finished);
  if (received.length) await outboxPut(received);
  await metaSet("notices", notices.slice(0, 20));
  return { done: finished.length,
           stopped: stopped || !(finished.length || reply.results.some((r) => r.status === "received")) };
}

// -- talking to the pages -------------------------------------------------------------

// What the pages show: only the signed-in person's waiting actions (field-offline.js
// paints the state they lead to from name, job_id and args).
async function status() {
  const user = (await metaGet("user")) || null;
  const waiting = user ? (await outboxAll()).filter((e) => !e.user || e.user === user) : [];
  return {
    type: "status",
    user: user,
    count: waiting.length,
    waiting: waiting.map((e) => ({ id: e.id, name: e.name, job_id: jobOf(e), label: e.label,
                                   device_time: e.device_time, args: small(e.args),
                                   received: !!e.received })),
    last_sync: (await metaGet("last_sync")) || null,
    notices: (await metaGet("notices")) || [],
    problem: (await metaGet("problem")) || "",
    persist: (await metaGet("persist")) || "",
  };
}

async function broadcast(extra) {
  const message = Object.assign(await status(), extra || {});
  const clients = await self.clients.matchAll({ includeUncontrolled: true });
  clients.forEach((c) => c.postMessage(message));
}

self.addEventListener("message", (event) => {
  const msg = event.data || {};
  const work = (async () => {
    if (msg.clientId) await metaSet("client_id", msg.clientId);
    if (msg.csrf) await metaSet("csrf", msg.csrf);
    if (msg.type === "sync") await flush();
    else if (msg.type === "clear") await metaSet("notices", []);
    else if (msg.type === "discard") {
      await metaSet("notices", ((await metaGet("notices")) || []).filter((n) => n.id !== msg.id));
    } else if (msg.type === "whoami") await iAm(msg.user || null);
    else if (msg.type === "persist") await metaSet("persist", msg.state || "");
    if (msg.type !== "sync") await broadcast();
  })();
  event.waitUntil(work);
});

self.addEventListener("sync", (event) => {
  if (event.tag === "fieldops-outbox") {
    event.waitUntil(flush().then((ok) => { if (!ok) throw new Error("still offline"); }));
  }
});

// -- IndexedDB: "outbox" (key = the order actions were taken) and "meta" ---------------------

let dbPromise = null;
function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open("fieldops", 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        req.result.createObjectStore("meta");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => { dbPromise = null; reject(req.error); };
    });
  }
  return dbPromise;
}

async function tx(store, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const req = work(t.objectStore(store));
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error);
  });
}
const outboxAll = () => tx("outbox", "readonly", (s) => s.getAll());
const outboxAdd = (entry) => tx("outbox", "readwrite", (s) => s.add(entry));
const outboxPut = (entries) => tx("outbox", "readwrite", (s) => { entries.forEach((e) => s.put(e)); });
const outboxDelete = (seqs) => tx("outbox", "readwrite", (s) => { seqs.forEach((k) => s.delete(k)); });
const metaGet = (key) => tx("meta", "readonly", (s) => s.get(key));
const metaSet = (key, value) => tx("meta", "readwrite", (s) => s.put(value, key));

function jobOf(entry) {
  return entry.args && entry.args.job_id ? Number(entry.args.job_id) : null;
}

// The arguments a page needs to show or correct an action: not the photo itself.
function small(args) {
  const out = {};
  for (const [k, v] of Object.entries(args || {})) {
    if (k !== "image") out[k] = typeof v === "string" ? v.slice(0, 2000) : v;
  }
  return out;
}

// Clear-Site-Data: "cache" at sign-out may empty the shell too: put it back.
async function ensureShell() {
  const cache = await caches.open(SHELL_CACHE);
  if ((await cache.keys()).length < SHELL_URLS.length) await cache.addAll(SHELL_URLS);
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}
