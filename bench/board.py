"""Dispatch board speed: render time at 2,000 open requests, and change -> browser latency.

    .venv/bin/python bench/board.py [--renders 60] [--changes 40] [--open 2000] [--served-only]

Builds a fresh SQLite database in a temporary folder with demo-like data scaled up
(2,000 open requests at every stage with their SLA clocks and jobs, 3,000 closed ones,
400 staff, a published month roster with people on duty now), then:

1. renders the full board page (and the htmx fragment) N times through the app and
   prints p50 / p95 / max in milliseconds and the size of the HTML;
2. serves the app on a real uvicorn (loopback HTTP, one signed-in dispatcher) and prints
   p50 / p95 of the board page and of its htmx refresh fragment, as served when nothing
   changed since the last render and as the first fetch after a change (on the change
   event of the dispatcher's own /events stream, as an open board fetches; and, for
   comparison, at once when the other dispatcher's POST answers, before any board could
   know), next to a
   hello-world route added to this bench's app only (``/bench/hello``: a plain async
   handler behind the same middleware, session and guards), with the ratio of each p95
   to the hello-world p95;
3. serves the app on a real uvicorn, keeps a dispatcher's /events stream open, makes
   changes (as another dispatcher, over HTTP) and prints how long until the stream
   announced each change, and until the re-fetched board fragment arrived, as a
   browser does it.

Figures, not assertions (testing.md: benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from litestar.testing import TestClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from server.db import make_engine, utcnow  # noqa: E402
from server.domain.sla import SlaTargets, deadline  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.models import (  # noqa: E402
    AuditEntry,
    Customer,
    Job,
    Roster,
    Shift,
    SlaClock,
    SlaPause,
    Staff,
    StaffRole,
    SupportRequest,
    Venue,
)
from server.security import hash_password  # noqa: E402
from server.settings import Settings  # noqa: E402

PASSWORD = "bench-password-1"
DEVICES = ["camera", "encoder", "mixer", "audio"]
SYMPTOMS = ["推流失败，直播中断", "摄像机无法开机", "SDI 信号中断", "无线话筒有杂音", "导播台切换无响应"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def line(label: str, values: list[float]) -> str:
    return (f"  {label:<44} p50 {pct(values, 50):7.1f} ms   p95 {pct(values, 95):7.1f} ms   "
            f"max {max(values):7.1f} ms   (n={len(values)})")


# -- data -----------------------------------------------------------------------------------


def build(url: str, now: datetime, n_open: int, n_closed: int, n_staff: int) -> dict:
    rng = random.Random(20261126)
    targets = SlaTargets()
    engine = make_engine(url)
    pw = hash_password(PASSWORD)
    with engine.begin() as c:
        # 400 staff: 300 engineers (remote, urban, suburban), dispatchers, agents, managers
        staff, roles = [], []
        groups = ([("remote", None)] * 120 + [("onsite", "urban")] * 90
                  + [("onsite", "suburban")] * 90)
        for i in range(n_staff):
            group, region = groups[i] if i < len(groups) else (None, None)
            role = group or ["dispatcher", "agent", "agent", "manager"][i % 4]
            username = f"u{i:03d}"
            if i == len(groups):  # the dispatcher who watches and the one who changes things
                username, role = "dispatcher", "dispatcher"
            staff.append(dict(id=i + 1, username=username, password_hash=pw, display_name=f"员工{i:03d}",
                              phone=f"138{i:08d}", email="", locale="zh_CN", active=True,
                              group=group, region=region, created_at=now))
            roles.append(dict(staff_id=i + 1, role=role))
        c.execute(insert(Staff), staff)
        c.execute(insert(StaffRole), roles)
        engineers = {key: [s["id"] for s in staff if (s["group"], s["region"]) == key]
                     for key in set(groups)}

        # a published month roster: every night, 10 remote + 8 per onsite region; and a
        # shift covering now (whatever the hour) so the duty panel is full
        c.execute(insert(Roster), [dict(id=1, month=now.strftime("%Y-%m"), status="published",
                                        published_at=now - timedelta(days=12))])
        shifts = []
        first = date(now.year, now.month, 1)
        for d in range(31):
            day = first + timedelta(days=d)
            if day.month != now.month:
                break
            start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)  # 18:00 Shanghai
            for key, n in ((("remote", None), 10), (("onsite", "urban"), 8),
                           (("onsite", "suburban"), 8)):
                for sid in rng.sample(engineers[key], n):
                    shifts.append(dict(roster_id=1, staff_id=sid, day=day, kind="night",
                                       starts_at=start, ends_at=start + timedelta(hours=14),
                                       group=key[0], region=key[1]))
        on_now = {key: rng.sample(pool, 10 if key[0] == "remote" else 8)
                  for key, pool in engineers.items()}
        for key, ids in on_now.items():
            for sid in ids:
                shifts.append(dict(roster_id=1, staff_id=sid, day=now.date(), kind="day",
                                   starts_at=now - timedelta(hours=2),
                                   ends_at=now + timedelta(hours=8), group=key[0], region=key[1]))
        c.execute(insert(Shift), shifts)

        customers = [dict(id=i + 1, name=f"直播客户{i:03d}有限公司", phone=f"021-6{i:07d}")
                     for i in range(300)]
        c.execute(insert(Customer), customers)
        venues = [dict(id=i + 1, customer_id=i + 1, name=f"场馆{i:03d}", address=f"上海市某区某路{i}号",
                       lat=31.2 + i / 1000, lon=121.4 + i / 1000, datum="WGS-84",
                       region="urban" if i % 3 else "suburban") for i in range(300)]
        c.execute(insert(Venue), venues)

        requests, clocks, jobs, pauses, audit = [], [], [], [], []
        job_id = 0
        total = n_open + n_closed
        for i in range(total):
            rid = i + 1
            is_open = i < n_open
            received = now - timedelta(minutes=rng.uniform(1, 200)) if is_open else \
                now - timedelta(days=rng.uniform(2, 30))
            priority = rng.choices(["P1", "P2", "P3"], weights=[15, 35, 50])[0]
            stream = "live" if priority == "P1" else ("upcoming" if priority == "P2" else "none")
            starts = received + timedelta(minutes=rng.uniform(60, 900)) if stream == "upcoming" else None
            venue = venues[i % 300]
            status = (rng.choices(["new", "handed_off", "assigned", "in_progress"],
                                  weights=[10, 30, 25, 35])[0] if is_open else "closed")
            classification = "onsite" if rng.random() < 0.45 else "remote"
            handed = received + timedelta(minutes=rng.uniform(1, 9))
            requests.append(dict(
                id=rid, number=f"FO-BENCH-{rid:06d}", channel="hotline", received_at=received,
                customer_id=venue["customer_id"], customer_name=customers[i % 300]["name"],
                contact_name="王先生", phone="13800138000", address=venue["address"],
                venue_id=venue["id"], region=venue["region"], device_type=rng.choice(DEVICES),
                symptom=rng.choice(SYMPTOMS), stream_state=stream, stream_starts_at=starts,
                classification=classification, priority=priority, status=status,
                handed_off_at=None if status == "new" else handed, is_drill=False, version=1))

            def add_clock(kind, start, stop=None, rid=rid, priority=priority, venue=venue,
                          starts=starts):
                region = venue["region"] if kind == "arrival" else None
                due = deadline(kind, start, priority, region, targets, stream_starts_at=starts)
                clocks.append(dict(id=len(clocks) + 1, request_id=rid, kind=kind,
                                   started_at=start, deadline_at=due, stopped_at=stop,
                                   paused_seconds=0))
                return len(clocks)

            add_clock("handoff", received, None if status == "new" else handed)
            audit.append(dict(at=received, actor_id=None, action="request.received",
                              request_id=rid, entity="request", entity_id=str(rid), details={}))
            if status == "new":
                continue
            accepted = handed + timedelta(minutes=rng.uniform(1, 6))
            add_clock("first_response", handed, accepted if status in ("in_progress", "closed") else None)
            res = add_clock("resolution", handed, handed + timedelta(minutes=50) if status == "closed" else None)
            if is_open and rng.random() < 0.03:
                pauses.append(dict(clock_id=res, started_at=now - timedelta(minutes=5), ended_at=None,
                                   reason="联系不上客户", by_id=1))
            if status in ("assigned", "in_progress", "closed"):
                kinds = [classification] + (["remote"] if classification == "onsite" and priority == "P1" else [])
                for kind in kinds:
                    job_id += 1
                    pool = on_now[(kind, venue["region"] if kind == "onsite" else None)]
                    jobs.append(dict(id=job_id, request_id=rid, kind=kind, assignee_id=rng.choice(pool),
                                     status={"assigned": "offered", "in_progress": "accepted",
                                             "closed": "done"}[status],
                                     assigned_at=handed, assigned_by=1,
                                     accepted_at=accepted if status != "assigned" else None,
                                     ack_step=0, outcome="", notes="", version=1))
                if classification == "onsite":
                    add_clock("arrival", handed, handed + timedelta(minutes=40) if status == "closed" else None)
        c.execute(insert(SupportRequest), requests)
        c.execute(insert(SlaClock), clocks)
        c.execute(insert(Job), jobs)
        if pauses:
            c.execute(insert(SlaPause), pauses)
        c.execute(insert(AuditEntry), audit)
    engine.dispose()
    return {"staff": n_staff, "shifts": len(shifts), "open requests": n_open,
            "closed requests": n_closed, "clocks": len(clocks), "jobs": len(jobs)}


# -- measurements ---------------------------------------------------------------------------


def sign_in(client, base: str = "") -> None:
    client.get(base + "/login")
    r = client.post(base + "/login", data={"username": "dispatcher", "password": PASSWORD,
                                           "_csrf_token": client.cookies.get("csrftoken"),
                                           "next": "/"})
    assert r.status_code in (200, 303), r.status_code


def render_board(app, renders: int) -> None:
    """GET the board N times: the page as a browser opens it (the 200 most urgent rows,
    more on scroll), the same with every row (``?rows=all``), and the live-refresh
    fragment. Wall time, CPU time of this process, and bytes. Each GET computes and
    renders the board anew (the render shared between boards is dropped first), so these
    figures are the work done once per change."""
    try:
        from server.routes.board_shared import renders_of
    except ImportError:  # before the shared render
        renders_of = None
    cases = [
        ("board page, 200 most urgent rows", "/board", {}),
        ("full board, every row (?rows=all)", "/board?rows=all", {}),
        ("  the same, gzip (as browsers ask)", "/board?rows=all", {"accept-encoding": "gzip"}),
        ("htmx refresh fragment (HX-Request)", "/board", {"hx-request": "true"}),
    ]
    with TestClient(app=app) as client:
        client.headers["accept"] = "text/html"
        sign_in(client)
        for _ in range(5):  # warm-up: templates compiled, caches filled
            client.get("/board?rows=all")
        wall: dict[str, list[float]] = {c[0]: [] for c in cases}
        cpu: dict[str, list[float]] = {c[0]: [] for c in cases}
        sizes: dict[str, tuple[int, int]] = {}
        for _ in range(renders):
            for label, url, headers in cases:
                if renders_of is not None:
                    renders_of(app).clear()
                t, c = time.perf_counter(), time.process_time()
                r = client.get(url, headers={"accept-encoding": "identity", **headers})
                wall[label].append((time.perf_counter() - t) * 1000)
                cpu[label].append((time.process_time() - c) * 1000)
                assert r.status_code == 200, url
                if label not in sizes:
                    sizes[label] = (r.text.count('<tr data-r="'), len(r.content))
        print("\nBoard computed and rendered through the app, in-process (2,000 open requests "
              "in the database):")
        for label, _url, _h in cases:
            rows, size = sizes[label]
            print(line(f"{label}", wall[label]) + f"  {rows} rows, {size / 1024:.0f} KiB")
            print(line("    CPU time of this process", cpu[label]))


def hello_app(settings):
    """The app with a hello-world route added (this bench's instance only): the floor of
    the same server, middleware, session and guards included."""
    import litestar

    from server.app import create_app

    @litestar.get("/bench/hello", include_in_schema=False)
    async def hello() -> str:
        return "hello"

    app = create_app(settings)
    app.register(hello)
    return app


def serve(app) -> tuple[uvicorn.Server, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def served_board(app, renders: int) -> None:
    """The board over real HTTP from uvicorn, against a hello-world route of the same
    server. "after a change": another dispatcher pauses or resumes a clock (not timed),
    then the board is fetched, as every open board does when the change event arrives
    (the dispatcher's event goes out once the board for the change is rendered)."""
    server, base = serve(app)
    viewer = httpx.Client(base_url=base, timeout=30, headers={"accept": "text/html",
                                                               "accept-encoding": "identity"})
    actor = httpx.Client(base_url=base, timeout=30, headers={"accept": "text/html"})
    sign_in(viewer)
    sign_in(actor)
    csrf = {"x-csrftoken": actor.cookies["csrftoken"], "hx-request": "true"}
    refresh = {"hx-request": "true"}
    cases = {"hello-world route (/bench/hello)": ("/bench/hello", {}),
             "board page (/board)": ("/board", {}),
             "htmx refresh fragment (/board?rows=200)": ("/board?rows=200", refresh)}
    for _ in range(10):  # warm-up
        for url, headers in cases.values():
            viewer.get(url, headers=headers)
    wall: dict[str, list[float]] = {label: [] for label in cases}
    sizes: dict[str, int] = {}

    def timed(label: str, url: str, headers: dict) -> None:
        t = time.perf_counter()
        r = viewer.get(url, headers=headers)
        wall.setdefault(label, []).append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)
        sizes.setdefault(label, len(r.content))

    for _ in range(renders):
        for label, (url, headers) in cases.items():
            timed(label, url, headers)
    arrivals: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    def listen() -> None:  # the viewer's /events stream, reconnecting like a browser
        with httpx.Client(base_url=base, timeout=30, cookies=viewer.cookies) as c:
            while not stop.is_set():
                with c.stream("GET", "/events") as r:
                    for raw in r.iter_lines():
                        arrivals.put(raw)
                        if stop.is_set():
                            return

    def change(rid: int, pause: bool) -> bool:
        while not arrivals.empty():
            arrivals.get_nowait()
        if pause:
            r = actor.post(f"/board/requests/{rid}/clocks/resolution/pause",
                           data={"reason": "客户要求等待"}, headers=csrf)
        else:
            r = actor.post(f"/board/requests/{rid}/clocks/resolution/resume", headers=csrf)
        return r.status_code == 200

    def on_event() -> None:  # until the viewer's stream announces the change (not timed)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if arrivals.get(timeout=1).startswith("event: change"):
                    return
            except queue.Empty:
                pass
        print("  (no change event within 10 s)")

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.5)
    rid, done = 1, 0
    while done < renders and rid < 2000:  # a change, then the fetch every open board makes
        if not change(rid, pause=True):  # no running resolution clock on this one
            rid += 1
            continue
        on_event()
        timed("  page, fetched on the change event", "/board", {})
        change(rid, pause=False)
        on_event()
        timed("  fragment, fetched on the change event", "/board?rows=200", refresh)
        change(rid, pause=True)  # the fetch before the event: not what a board does
        timed("  page, fetched as the POST answers (before its event)", "/board", {})
        on_event()  # (its event, so that it is not taken for the next change's)
        change(rid, pause=False)
        timed("  fragment, fetched as the POST answers (before its event)",
              "/board?rows=200", refresh)
        on_event()
        done += 1
    stop.set()
    server.should_exit = True
    hello = pct(wall["hello-world route (/bench/hello)"], 95)
    print(f"\nServed by uvicorn over loopback HTTP (2,000 open requests), {load_note()}:")
    for label, values in wall.items():
        ratio = "" if label.startswith("hello") else f"   {pct(values, 95) / hello:5.1f}x hello p95"
        print(line(label, values) + f"  {sizes[label] / 1024:4.0f} KiB" + ratio)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_latency(app, changes: int) -> None:
    server, base = serve(app)
    watcher = httpx.Client(base_url=base, timeout=30, headers={"accept": "text/html"})
    actor = httpx.Client(base_url=base, timeout=30, headers={"accept": "text/html"})
    sign_in(watcher)
    sign_in(actor)
    arrivals: queue.Queue[float] = queue.Queue()
    connected = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():  # the stream ends every 25 s; reconnect like a browser
            with watcher.stream("GET", "/events") as r:
                for raw in r.iter_lines():
                    connected.set()
                    if raw.startswith("event: change"):
                        arrivals.put(time.perf_counter())
                    if stop.is_set():
                        return

    threading.Thread(target=listen, daemon=True).start()
    connected.wait(10)
    time.sleep(0.3)
    csrf = {"x-csrftoken": actor.cookies["csrftoken"], "hx-request": "true"}
    event_ms, fragment_ms, post_ms = [], [], []
    for i in range(changes):
        rid = 1 + (i * 7) % 1500
        path = f"/board/requests/{rid}/clocks/resolution/" + ("pause" if i % 2 == 0 else "resume")
        # another dispatcher pauses / resumes a clock; the watcher's stream must say so
        rid_ok = actor.post(f"/board/requests/{rid}/clocks/resolution/pause",
                            data={"reason": "客户要求等待"}, headers=csrf)
        if rid_ok.status_code != 200:
            continue
        with contextlib.suppress(queue.Empty):  # the pause's own event, not the resume's
            arrivals.get(timeout=5)
        time.sleep(0.05)
        while not arrivals.empty():
            arrivals.get_nowait()
        t0 = time.perf_counter()
        r = actor.post(f"/board/requests/{rid}/clocks/resolution/resume", headers=csrf)
        t_post = time.perf_counter()
        try:
            arrived = arrivals.get(timeout=5)
        except queue.Empty:
            print("  (no event within 5 s)")
            continue
        event_ms.append((arrived - t0) * 1000)
        post_ms.append((t_post - t0) * 1000)
        watcher.get("/board", headers={"hx-request": "true"})  # what the page does next
        fragment_ms.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, path
        time.sleep(0.05)
    stop.set()
    print("\nLive update over server-sent events (real uvicorn, 2,000 open requests):")
    print(line("another dispatcher's POST answered", post_ms))
    print(line("POST sent -> change event at the watcher", event_ms))
    print(line("POST sent -> watcher has the new board fragment", fragment_ms))
    browser_latency(base, actor, max(4, changes // 4), app.state.settings.db_url)
    server.should_exit = True


CHROMIUM = "/usr/bin/chromium"


def not_breached_kinds(db_url: str, rid: str) -> list[str]:
    """The request's running clocks still before their deadline: pausing one of those shows
    on the board as paused (a breached clock stays breached, paused or not)."""
    from sqlalchemy import select

    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            return list(c.execute(select(SlaClock.kind).where(
                SlaClock.request_id == int(rid), SlaClock.stopped_at.is_(None),
                SlaClock.deadline_at > utcnow() + timedelta(minutes=1))).scalars())
    finally:
        engine.dispose()


def browser_latency(base: str, actor: httpx.Client, changes: int, db_url: str) -> None:
    """A real Chromium shows the board; another dispatcher pauses and resumes a clock over
    HTTP; how long until the page shows it (event, fetch, swap, paint), no reload."""
    if not Path(CHROMIUM).exists():
        print("  (no Chromium at /usr/bin/chromium: browser figures skipped)")
        return
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    csrf = {"x-csrftoken": actor.cookies["csrftoken"], "hx-request": "true"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_context(viewport={"width": 1366, "height": 820}, locale="zh-CN").new_page()
        t = time.perf_counter()
        page.goto(base + "/login")
        page.get_by_label("用户名").fill("dispatcher")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(base + "/")
        t = time.perf_counter()
        page.goto(base + "/board")
        page.wait_for_selector("[data-live-state].is-live", timeout=30_000)
        first = (time.perf_counter() - t) * 1000
        shown = []
        # rows with a clock still running: a breached clock stays red even when paused
        rows = page.eval_on_selector_all(
            "#board tr[data-r]", "rs => rs.filter(r => r.querySelector('.clk.running, .clk.warning'))"
            ".slice(0, 40).map(r => r.dataset.r)")
        for i in range(changes):
            rid = rows[i % len(rows)]
            kinds = not_breached_kinds(db_url, rid)
            if not kinds:
                continue
            for action, selector in (("pause", f"#board tr[data-r='{rid}'] .clk.paused"), ("resume", None)):
                t = time.perf_counter()
                data = {"reason": "客户要求等待"} if action == "pause" else {}
                for kind in kinds:
                    r = actor.post(f"/board/requests/{rid}/clocks/{kind}/{action}", data=data, headers=csrf)
                    if r.status_code == 200:
                        break
                if r.status_code != 200:
                    break
                if selector:
                    page.wait_for_selector(selector, timeout=20_000)
                else:
                    page.wait_for_selector(f"#board tr[data-r='{rid}'] .clk.paused", state="detached", timeout=20_000)
                shown.append((time.perf_counter() - t) * 1000)
        reloaded = page.evaluate("performance.getEntriesByType('navigation').length")
        browser.close()
    print(f"\nIn Chromium (1366x820), 2,000 open requests (the page holds the 200 most urgent): "
          f"first load until live {first:.0f} ms")
    print(line("change POSTed -> visible on the open board", shown))
    print(f"  (navigations during the run: {reloaded}, i.e. no reload)")


def load_note() -> str:
    try:
        one, five, _ = (float(x) for x in Path("/proc/loadavg").read_text().split()[:3])
    except (OSError, ValueError):
        return ""
    import os

    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} CPUs"


def main() -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=60)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--open", type=int, default=2000)
    parser.add_argument("--closed", type=int, default=3000)
    parser.add_argument("--staff", type=int, default=400)
    parser.add_argument("--served-only", action="store_true",
                        help="only the uvicorn-served figures (page, fragment, hello-world)")
    args = parser.parse_args()

    from server.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="fieldops-bench-"))
    settings = Settings(data_dir=folder, demo_data=False, background_loop=False,
                        push_enabled=False).with_secrets()
    upgrade(settings.db_url)
    t = time.perf_counter()
    summary = build(settings.db_url, utcnow(), args.open, args.closed, args.staff)
    print(f"Data ({time.perf_counter() - t:.1f} s, {folder}): "
          + ", ".join(f"{k} {v}" for k, v in summary.items()))
    app = create_app(settings)
    print("Before:", load_note())
    if not args.served_only:
        render_board(app, args.renders)
    served_board(hello_app(settings), args.renders)
    if args.served_only:
        return
    live_latency(create_app(settings), args.changes)
    print("After:", load_note(), "(wall-clock figures grow with other work on the machine)")


if __name__ == "__main__":
    main()
