"""Several processes under a night's load: 300 phones, 20 dispatch boards, an agent.

    .venv/bin/python bench/load.py [--seconds 300] [--db both|sqlite|postgres]
        [--phones 300] [--boards 20] [--workers 2] [--client-procs 1]

Against a real server (``python -m server.cli serve``) on 127.0.0.1: ``--workers`` (2)
processes on a scratch PostgreSQL database ``<name>_bench_load`` made beside the one
``FIELDOPS_DATABASE_URL`` names (or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``;
dropped at the end), and one process on SQLite in a temporary folder. The demo data,
plus one onsite engineer per phone with an accepted job on a live P1 request, and one
dispatcher per board. Every device signs in through the sign-in form (its own session).
Then, for ``--seconds`` (5 minutes):

- each phone pulls ``GET /sync/pull`` every 15 s and pushes one field mutation a minute
  on its job (``POST /sync/push``: on my way, check-in at the venue, then fix notes),
  at random offsets; a push answered "retry" or failing is sent again (as the outbox does);
- each board loads ``/board/``, listens on ``GET /events`` (server-sent events, reconnecting
  with ``Last-Event-ID`` when the server ends a stream) and re-fetches its fragment
  (``GET /board?rows=N``, ``HX-Request``) 50 ms after a change, one fetch at a time, one
  more queued (as app.js and htmx do);
- the agent files a new request every 10 s: the intake form, its POST with the form's
  CSRF token (htmx), and the page it is sent to.

Before the load, the same client machinery measures the highest throughput of the
cheapest route of the app (``/manifest.webmanifest``: public, no session, no database),
of the cheapest signed-in route (``/sync/saved``: session lookup, the signed-in person, a
small template), and of a bare Litestar hello-world app on uvicorn with as many
processes. Printed: requests, errors and p50/p95/p99 per kind and overall, the first
errors, whether every pushed mutation was applied exactly once (at the end, from the
database: one ``client_mutation`` row and one field fact per mutation id, each job's
facts as many as its mutations; a final result for every one is awaited, bounded),
the throughput and its ratio to those routes, server and client CPU, the client's event
loop lag (is the client the bottleneck?), and the load average before and after.

Bounded: loopback only, a fixed number of devices, at most ``--connections`` pooled
connections plus one per board stream, 30 s request timeouts, ``--seconds`` of load.
Figures, not assertions (testing.md: benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.loadkit import (  # noqa: E402
    Device,
    Group,
    Servers,
    Stats,
    database,
    load_average,
    pct,
    pool,
    postgres_cpu,
    sign_in,
)
from bench.sync import PASSWORD, add_phones, free_port  # noqa: E402

DEMO_PASSWORD = "fieldops-demo"
PULL_EVERY, PUSH_EVERY, INTAKE_EVERY = 15.0, 60.0, 10.0
DEBOUNCE = 0.05  # app.js: several commits at once, one refresh
KINDS = ["sync pull", "sync push", "board page", "board events", "board refresh",
         "intake form", "intake post", "intake filed page"]
ROWS_RE = re.compile(r"<tr data-r=")
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
OPENED_RE = re.compile(r'name="opened_at" value="([^"]*)"')


# -- what each client process runs (picklable) --------------------------------------------------


@dataclass
class Phone:
    username: str
    client_id: str
    job_id: int
    where: tuple[float, float]
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    base: str
    start: float  # time.time() when the load starts
    seconds: float
    phones: list[Phone]
    boards: list[dict[str, str]]  # cookies
    agent: dict[str, str] | None
    tz: str
    seed: int
    connections: int


@dataclass
class Outcome:
    stats: Stats
    pushed: dict[str, tuple[str, int]]  # mutation id -> (client id, job id)
    statuses: dict[str, int]
    events: int
    cpu_s: float
    wall_s: float
    lag_ms: list[float]


class Run:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.end = plan.start + plan.seconds
        self.stats = Stats()
        self.pushed: dict[str, tuple[str, int]] = {}
        self.statuses: dict[str, int] = {}
        self.events = 0
        self.rng = random.Random(plan.seed)

    async def call(self, client: httpx.AsyncClient, kind: str, dev: Device, method: str, url: str,
                   ok: tuple[int, ...] = (200,), **kw) -> httpx.Response | None:
        t = time.perf_counter()
        try:
            r = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.stats.fail(kind, f"{method} {url}: {type(exc).__name__} {exc}"[:300])
            return None
        ms = (time.perf_counter() - t) * 1000
        dev.absorb(r)
        if r.status_code not in ok:
            self.stats.fail(kind, f"{method} {url}: {r.status_code} {r.text[:200]!r}")
            return None
        self.stats.ok(kind, ms)
        return r

    # -- phones

    async def pulls(self, client: httpx.AsyncClient, phone: Phone) -> None:
        dev, cursor = Device(phone.username, phone.cookies), 0
        t = self.plan.start + self.rng.uniform(0, PULL_EVERY)
        while t < self.end:
            await _until(t)
            r = await self.call(client, "sync pull", dev, "GET", "/sync/pull",
                                params={"cursor": cursor, "client_id": phone.client_id},
                                headers=dev.headers(accept="application/json"))
            if r is not None:
                cursor = r.json()["cursor"]
            t += PULL_EVERY

    async def pushes(self, client: httpx.AsyncClient, phone: Phone) -> None:
        dev, k = Device(phone.username, phone.cookies), 0
        t = self.plan.start + self.rng.uniform(0, PUSH_EVERY)
        while t < self.end:
            await _until(t)
            m = _mutation(phone, k)
            k += 1
            self.pushed[m["id"]] = (phone.client_id, phone.job_id)
            for attempt in range(4):  # the outbox sends it again until it has an answer
                r = await self.call(client, "sync push", dev, "POST", "/sync/push",
                                    json={"client_id": phone.client_id, "mutations": [m]},
                                    headers=dev.headers(accept="application/json",
                                                        **{"x-csrftoken": dev.csrf}))
                status = r.json()["results"][0]["status"] if r is not None else "no answer"
                if status not in ("retry", "no answer") or attempt == 3:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    break
                await asyncio.sleep(1)
            t += PUSH_EVERY

    # -- boards

    async def board(self, client: httpx.AsyncClient, streams: httpx.AsyncClient,
                    cookies: dict[str, str]) -> None:
        dev = Device("board", cookies)
        state = {"rows": 0, "busy": False, "again": False, "timer": False, "seen": None}
        tasks: set[asyncio.Task] = set()
        await _until(self.plan.start + self.rng.uniform(0, 5))
        r = await self.call(client, "board page", dev, "GET", "/board/",
                            headers=dev.headers(accept="text/html"))
        state["rows"] = len(ROWS_RE.findall(r.text)) if r is not None else 0

        async def refresh() -> None:
            await asyncio.sleep(DEBOUNCE)
            state["timer"] = False
            if state["busy"]:  # htmx: one request per element, the last trigger queued
                state["again"] = True
                return
            state["busy"] = True
            try:
                while True:
                    state["again"] = False
                    r = await self.call(client, "board refresh", dev, "GET", "/board",
                                        params={"rows": state["rows"]},
                                        headers=dev.headers(accept="text/html", **{
                                            "hx-request": "true", "hx-current-url": self.plan.base + "/board/",
                                            **({"fo-seen": state["seen"]} if state["seen"] else {})}))
                    if r is not None:
                        state["rows"] = len(ROWS_RE.findall(r.text))
                    if not state["again"] or time.time() >= self.end:
                        break
            finally:
                state["busy"] = False

        def changed(version: str | None) -> None:
            self.events += 1
            state["seen"] = version
            if not state["timer"]:
                state["timer"] = True
                task = asyncio.create_task(refresh())
                tasks.add(task)
                task.add_done_callback(tasks.discard)

        last: str | None = None
        while (left := self.end - time.time()) > 0:
            try:
                async with asyncio.timeout(left):
                    last = await self.stream(streams, dev, last, changed)
            except TimeoutError:
                break
            await asyncio.sleep(1.0)  # the stream's retry
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    async def stream(self, streams: httpx.AsyncClient, dev: Device, last: str | None,
                     changed) -> str | None:  # noqa: ANN001
        headers = dev.headers(accept="text/event-stream", **({"last-event-id": last} if last else {}))
        t = time.perf_counter()
        try:
            async with streams.stream("GET", "/events", headers=headers) as r:
                if r.status_code != 200:
                    self.stats.fail("board events", f"GET /events: {r.status_code}")
                    return last
                self.stats.ok("board events", (time.perf_counter() - t) * 1000)
                event = ""
                async for line in r.aiter_lines():
                    if line.startswith("id:"):
                        last = line[3:].strip()
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif not line:
                        if event == "change":
                            changed(last)
                        event = ""
        except httpx.HTTPError as exc:
            self.stats.fail("board events", f"GET /events: {type(exc).__name__} {exc}"[:300])
        return last

    # -- the agent

    async def intake(self, client: httpx.AsyncClient, cookies: dict[str, str]) -> None:
        dev, n = Device("agent", cookies), 0
        t = self.plan.start + 1
        tz = ZoneInfo(self.plan.tz)
        while t < self.end:
            await _until(t)
            t += INTAKE_EVERY
            r = await self.call(client, "intake form", dev, "GET", "/requests/new",
                                headers=dev.headers(accept="text/html"))
            token = CSRF_RE.search(r.text) if r is not None else None
            if token is None:
                continue
            opened = OPENED_RE.search(r.text)
            n += 1
            now = datetime.now(tz)
            form = {"_csrf_token": token.group(1), "opened_at": opened.group(1) if opened else "",
                    "channel": "hotline", "received_at": now.strftime("%Y-%m-%dT%H:%M"),
                    "order_no": "", "customer_name": f"压测客户{n:03d}有限公司",
                    "contact_name": "王女士", "phone": "138 1234 5678",
                    "address": "上海市浦东新区世博大道1200号", "region": "urban",
                    "device_type": "encoder", "device_model": "LiveU Solo", "scenario": "演唱会直播",
                    "symptom_kind": "push_failed", "symptom": "推流失败，直播中断",
                    "fault_started_at": now.strftime("%Y-%m-%dT%H:%M"), "stream_state": "live",
                    "stream_starts_at": "", "classification": "", "priority": "",
                    "action": "handoff"}
            r = await self.call(client, "intake post", dev, "POST", "/requests/new", data=form,
                                headers=dev.headers(accept="text/html", **{
                                    "hx-request": "true", "x-csrftoken": dev.csrf}))
            target = r.headers.get("hx-redirect") if r is not None else None
            if r is not None and not target:
                self.stats.fail("intake post", f"no HX-Redirect: {r.text[:200]!r}")
            elif target:
                await self.call(client, "intake filed page", dev, "GET", target,
                                headers=dev.headers(accept="text/html"))

    async def main(self) -> Outcome:
        lag: list[float] = []
        cpu, wall = time.process_time(), time.time()
        async with pool(self.plan.base, self.plan.connections) as client, \
                pool(self.plan.base, len(self.plan.boards) + 1, timeout=60) as streams:
            work = [self.pulls(client, p) for p in self.plan.phones]
            work += [self.pushes(client, p) for p in self.plan.phones]
            work += [self.board(client, streams, c) for c in self.plan.boards]
            if self.plan.agent is not None:
                work.append(self.intake(client, self.plan.agent))
            await asyncio.gather(_lag(self.end, lag), *work)
        await_start = max(0.0, self.plan.start - wall)
        return Outcome(self.stats, self.pushed, self.statuses, self.events,
                       time.process_time() - cpu, time.time() - wall - await_start, lag)


def _mutation(phone: Phone, k: int) -> dict:
    args: dict = {"job_id": phone.job_id}
    if k == 0:
        name = "on_my_way"
    elif k == 1:
        name = "check_in"
        args |= {"lat": phone.where[0], "lon": phone.where[1], "accuracy_m": 12}
    else:
        name = "fix_note"
        args |= {"fault_kind": "cabling", "text": f"第 {k} 步：重新插拔并测试推流"}
    return {"id": str(uuid.uuid4()), "name": name, "args": args,
            "device_time": datetime.now().astimezone().isoformat()}


async def _until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _lag(end: float, out: list[float]) -> None:
    """How late the client's event loop wakes up (ms): a busy client inflates every figure."""
    loop = asyncio.get_running_loop()
    while time.time() < end:
        t = loop.time()
        await asyncio.sleep(0.05)
        out.append((loop.time() - t - 0.05) * 1000)


def run_share(plan: Plan) -> Outcome:
    return asyncio.run(Run(plan).main())


def share(plan: Plan, parts: int) -> list[Plan]:
    """The devices dealt out to ``parts`` client processes (the agent to the first)."""
    return [Plan(plan.base, plan.start, plan.seconds, plan.phones[i::parts], plan.boards[i::parts],
                 plan.agent if i == 0 else None, plan.tz, plan.seed + i,
                 max(8, plan.connections // parts)) for i in range(parts)]


def in_processes(func, args: list) -> list:  # noqa: ANN001
    if len(args) == 1:
        return [func(args[0])]
    with multiprocessing.get_context("spawn").Pool(len(args)) as procs:
        return procs.map(func, args)


# -- the most a route gives with the same client -------------------------------------------------


@dataclass
class Saturation:
    base: str
    path: str
    cookies: dict[str, str]
    seconds: float
    concurrency: int
    start: float


def saturate(job: Saturation) -> tuple[int, int, list[float], float]:
    """(answers, failures, latencies ms, client CPU s) of ``concurrency`` loops asking
    ``path`` as fast as the answers come, for ``seconds``."""

    async def go() -> tuple[int, int, list[float], float]:
        ms: list[float] = []
        bad = 0
        dev = Device("hello", dict(job.cookies))
        headers = dev.headers(accept="application/json")
        async with pool(job.base, job.concurrency) as client:
            await _until(job.start)
            cpu, end = time.process_time(), job.start + job.seconds

            async def loop() -> None:
                nonlocal bad
                while time.time() < end:
                    t = time.perf_counter()
                    try:
                        r = await client.get(job.path, headers=headers)
                        good = r.status_code == 200
                    except httpx.HTTPError:
                        good = False
                    if good:
                        ms.append((time.perf_counter() - t) * 1000)
                    else:
                        bad += 1

            await asyncio.gather(*(loop() for _ in range(job.concurrency)))
            return len(ms), bad, ms, time.process_time() - cpu

    return asyncio.run(go())


def max_throughput(base: str, path: str, cookies: dict[str, str], seconds: float, procs: int,
                   concurrency: int, server: Servers | Group | None = None) -> tuple[float, str]:
    start = time.time() + 2
    cpu0 = server.cpu_seconds() if server else 0.0
    jobs = [Saturation(base, path, cookies, seconds, concurrency, start) for _ in range(procs)]
    got = in_processes(saturate, jobs)
    n, bad = sum(g[0] for g in got), sum(g[1] for g in got)
    ms = [x for g in got for x in g[2]]
    client_cpu = sum(g[3] for g in got)
    rate = n / seconds
    server_cpu = (server.cpu_seconds() - cpu0) if server else float("nan")
    note = (f"{rate:7.0f} req/s  p50 {pct(ms, 50) if ms else 0:.1f} ms, p99 "
            f"{pct(ms, 99) if ms else 0:.1f} ms, {bad} failed; client CPU {client_cpu / seconds:.2f} "
            f"cores" + (f", server CPU {server_cpu / seconds:.2f} cores = "
                        f"{server_cpu / max(n, 1) * 1000:.2f} ms a request" if server else ""))
    return rate, note


def hello_app():  # noqa: ANN201 - uvicorn's factory
    """A bare Litestar app with one route: the reference for 'hello world'."""
    from litestar import Litestar, get

    @get("/hello", sync_to_thread=False)
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return Litestar([hello])


def bare_hello(workers: int, seconds: float, procs: int, concurrency: int) -> tuple[float, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.load:hello_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning"], cwd=ROOT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                httpx.get(base + "/hello", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        return max_throughput(base, "/hello", {}, seconds, procs, concurrency, Group(proc.pid))
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(20)


# -- the world and the check at the end -------------------------------------------------------------


def add_boards(db_url: str, n: int) -> list[str]:
    from server.db import make_engine, session_scope
    from server.models import Staff, StaffRole
    from server.security import hash_password

    engine = make_engine(db_url)
    names = [f"board{i:02d}" for i in range(n)]
    with session_scope(engine) as db:
        pw = hash_password(PASSWORD)
        for name in names:
            staff = Staff(username=name, display_name=f"调度{name[-2:]}", password_hash=pw)
            db.add(staff)
            db.flush()
            db.add(StaffRole(staff_id=staff.id, role="dispatcher"))
    engine.dispose()
    return names


async def sign_in_all(base: str, people: list[tuple[str, str]], at_once: int) -> list[dict[str, str]]:
    gate = asyncio.Semaphore(at_once)
    async with pool(base, at_once) as client:
        async def one(username: str, password: str) -> dict[str, str]:
            async with gate:
                dev = Device(username)
                await sign_in(client, dev, username, password)
                return dev.cookies

        return await asyncio.gather(*(one(u, p) for u, p in people))


def check_exactly_once(db_url: str, pushed: dict[str, tuple[str, int]], wait_s: float) -> list[str]:
    """Every pushed mutation: one final client_mutation row, one fact, each job's facts as
    many as its mutations. Waits (at most ``wait_s``) for results still to come."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from server.db import make_engine
    from server.models import ClientMutation, FieldFact

    engine = make_engine(db_url)
    ids = list(pushed)
    final = ("applied", "flagged", "rejected")
    lines: list[str] = []
    deadline = time.monotonic() + wait_s
    with Session(engine) as db:
        while True:
            rows = []
            for i in range(0, len(ids), 500):
                rows += db.exec(select(ClientMutation.client_id, ClientMutation.mutation_id,
                                       ClientMutation.result)
                                .where(ClientMutation.mutation_id.in_(ids[i:i + 500]))).all()
            waiting = len(ids) - sum(r.result in final for r in rows)
            if waiting <= 0 or time.monotonic() > deadline:
                break
            db.rollback()
            time.sleep(0.5)
        facts = []
        for i in range(0, len(ids), 500):
            facts += db.exec(select(FieldFact.id).where(FieldFact.id.in_(ids[i:i + 500]))).all()
        jobs = sorted({job for _, job in pushed.values()})
        per_job = dict(db.exec(select(FieldFact.job_id, func.count()).where(FieldFact.job_id.in_(jobs))
                               .group_by(FieldFact.job_id)).all()) if jobs else {}
        clients = sorted({c for c, _ in pushed.values()})
        logged = db.exec(select(func.count()).select_from(ClientMutation)
                         .where(ClientMutation.client_id.in_(clients))).one() if clients else 0
    engine.dispose()
    by_id: dict[str, int] = {}
    for r in rows:
        by_id[r.mutation_id] = by_id.get(r.mutation_id, 0) + 1
    results: dict[str, int] = {}
    for r in rows:
        results[r.result] = results.get(r.result, 0) + 1
    fact_count: dict[str, int] = {}
    for f in facts:
        fact_count[f] = fact_count.get(f, 0) + 1
    expected_per_job: dict[int, int] = {}
    for _, job in pushed.values():
        expected_per_job[job] = expected_per_job.get(job, 0) + 1
    missing = [m for m in ids if m not in by_id]
    doubled = [m for m, n in by_id.items() if n > 1]
    no_fact = [m for m in ids if fact_count.get(m, 0) == 0]
    job_off = [j for j, n in expected_per_job.items() if per_job.get(j, 0) != n]
    ok = not (missing or doubled or no_fact or job_off or waiting > 0) and logged == len(ids)
    lines.append(f"  {len(ids)} mutations pushed; log rows: {len(rows)} ("
                 + ", ".join(f"{k} {v}" for k, v in sorted(results.items())) + f"), "
                 f"{logged} for these phones in all; facts: {len(facts)}")
    lines.append(f"  missing {len(missing)}, doubled {len(doubled)}, without a fact {len(no_fact)}, "
                 f"without a final result {max(0, waiting)}, jobs whose fact count is off "
                 f"{len(job_off)} of {len(expected_per_job)}")
    lines.append("  EXACTLY ONCE: yes" if ok else "  EXACTLY ONCE: NO " + repr(
        (missing[:3], doubled[:3], no_fact[:3], job_off[:3])))
    return lines


# -- one setup ---------------------------------------------------------------------------------


def run_setup(args: argparse.Namespace, postgres: bool) -> None:
    workers = args.workers if postgres else 1
    label = f"{'PostgreSQL' if postgres else 'SQLite'}, {workers} server process{'es' if workers > 1 else ''}"
    print(f"\n=== {label} ===")
    with tempfile.TemporaryDirectory(prefix="fieldops-bench-load-") as tmp, \
            database(Path(tmp), postgres) as db_url:
        data = Path(tmp)
        server = Servers(data, db_url, workers)
        server.prepare()
        from server.settings import Settings

        settings = Settings(data_dir=data, database_url=server.env["FIELDOPS_DATABASE_URL"]).with_secrets()
        t = time.perf_counter()
        phones = add_phones(settings, args.phones, 1)
        boards = add_boards(settings.db_url, args.boards)
        print(f"  world: demo data + {args.phones} engineers with a live job, {args.boards} "
              f"dispatchers ({time.perf_counter() - t:.1f} s)")
        server.start()
        try:
            print(f"  server {server.url}: processes in its group {server.processes()}, "
                  f"{os.cpu_count()} CPUs, {load_average()}")
            t = time.perf_counter()
            people = ([(u, PASSWORD) for u, _, _ in phones] + [(b, PASSWORD) for b in boards]
                      + [("agent", DEMO_PASSWORD)])
            cookies = asyncio.run(sign_in_all(server.url, people, 2 if postgres else 1))
            print(f"  {len(people)} devices signed in, one session each "
                  f"({time.perf_counter() - t:.1f} s)")
            run_load(args, server, settings, db_url, phones, cookies)
        except Exception:
            print((data / "server.log").read_text()[-3000:])
            raise
        finally:
            server.stop()


def run_load(args: argparse.Namespace, server: Servers, settings, db_url: str, phones: list,
             cookies: list[dict[str, str]]) -> None:  # noqa: ANN001
    n = len(phones)
    procs = args.client_procs
    print(f"\n  the most one route gives, same client ({procs} process{'es' if procs > 1 else ''}, "
          f"{args.concurrency} loops, {args.hello_seconds:.0f} s each):")
    hello, note = max_throughput(server.url, "/manifest.webmanifest", {}, args.hello_seconds,
                                 procs, args.concurrency, server)
    print(f"    app, cheapest route (/manifest.webmanifest): {note}")
    _, note = max_throughput(server.url, "/sync/saved", cookies[0], args.hello_seconds,
                             procs, args.concurrency, server)
    print(f"    app, cheapest signed-in route (/sync/saved): {note}")
    bare = None
    if not args.no_bare:
        bare, note = bare_hello(server.workers, args.hello_seconds, procs, args.concurrency)
        print(f"    bare Litestar hello world, uvicorn x{server.workers}:  {note}")
    if args.references_only:
        return

    plan = Plan(server.url, time.time() + 3, args.seconds,
                [Phone(u, f"load-phone-{i:03d}", jobs[0], where, cookies[i])
                 for i, (u, jobs, where) in enumerate(phones)],
                cookies[n:n + args.boards], cookies[-1], settings.time_zone, 20261130,
                args.connections)
    before = load_average()
    print(f"\n  load: {n} phones (pull every {PULL_EVERY:.0f} s, push every {PUSH_EVERY:.0f} s), "
          f"{args.boards} boards on live updates, an intake every {INTAKE_EVERY:.0f} s, for "
          f"{args.seconds:.0f} s; {before}")
    cpu0, pg0 = server.cpu_seconds(), postgres_cpu(db_url)
    got = in_processes(run_share, share(plan, procs))
    server_cpu, pg_cpu = server.cpu_seconds() - cpu0, postgres_cpu(db_url) - pg0
    after = load_average()
    stats = Stats()
    pushed: dict[str, tuple[str, int]] = {}
    statuses: dict[str, int] = {}
    for o in got:
        stats.merge(o.stats)
        pushed |= o.pushed
        for k, v in o.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    wall = max(o.wall_s for o in got)
    print("\n".join(stats.table([k for k in KINDS if stats.count(k)])))
    total = stats.count()
    errors = sum(stats.errors.values())
    print(f"  errors: {errors}" + ("".join(f"\n    {e}" for e in stats.examples) if errors else ""))
    print("  push answers: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print(f"  live updates heard by the boards: {sum(o.events for o in got)}")
    rate = total / wall
    print(f"  throughput: {total} requests in {wall:.1f} s = {rate:.1f} req/s; "
          f"{rate / hello:.3f}x the cheapest route's most"
          + (f", {rate / bare:.3f}x the bare hello world's" if bare else ""))
    print(f"  server CPU {server_cpu:.1f} s ({server_cpu / wall:.2f} cores, "
          f"{server_cpu / max(total, 1) * 1000:.1f} ms a request); client CPU "
          + ", ".join(f"{o.cpu_s / o.wall_s:.2f}" for o in got) + " cores per client process"
          + (f"; PostgreSQL backends on this database {pg_cpu:.1f} s ({pg_cpu / wall:.2f} cores, "
             "those alive at the end)" if not db_url.startswith("sqlite") else ""))
    lag = [x for o in got for x in o.lag_ms]
    if lag:
        busy = max(o.cpu_s / o.wall_s for o in got) > 0.7
        print(f"  client event loop lag: p50 {pct(lag, 50):.1f} ms, p99 {pct(lag, 99):.1f} ms, "
              f"max {max(lag):.1f} ms" + (
                  "" if pct(lag, 99) <= 20 else
                  "  <- the client is busy: try --client-procs 2" if busy else
                  "  <- the client waits for a CPU (not busy itself): the machine is overloaded, "
                  "every figure above is inflated"))
    print(f"  {before.replace('load average', 'load average before:')}; "
          f"{after.replace('load average', 'after:')}")
    print("\n  exactly once, from the database:")
    print("\n".join(check_exactly_once(db_url, pushed, wait_s=60)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  (client peak memory {peak:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--db", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--boards", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="server processes on PostgreSQL")
    parser.add_argument("--client-procs", type=int, default=1,
                        help="client processes sharing the devices")
    parser.add_argument("--connections", type=int, default=100, help="pooled connections (all client processes)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="loops asking a route at once per client process (max throughput; "
                             "httpx's pool slows down past a few)")
    parser.add_argument("--hello-seconds", type=float, default=5)
    parser.add_argument("--references-only", action="store_true",
                        help="only the most the reference routes give (no load)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare Litestar hello world")
    args = parser.parse_args()
    args.seconds = max(1.0, min(args.seconds, 3600))
    args.phones = max(1, min(args.phones, 2000))
    args.boards = max(0, min(args.boards, 200))
    print(f"FieldOps load bench: {args.phones} phones, {args.boards} boards, one agent, "
          f"{args.seconds:.0f} s; {os.cpu_count()} CPUs, {load_average()}")
    if args.db in ("both", "postgres"):
        run_setup(args, postgres=True)
    if args.db in ("both", "sqlite"):
        run_setup(args, postgres=False)


if __name__ == "__main__":
    main()
