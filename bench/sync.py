"""Offline sync speed and the engineer's page weight.

    .venv/bin/python bench/sync.py [--phones 50] [--per-push 20] [--rounds 1]
                                   [--peer DIR] [--no-browser] [--durability]

A real server (``python -m server.cli serve``, uvicorn, one process) on a free 127.0.0.1
port with the demo data plus 2 x N onsite engineers, each with one accepted job per
round. SQLite (WAL) in a temporary folder by default; with ``FIELDOPS_DATABASE_URL`` set
(a PostgreSQL URL) the server runs on a scratch database ``<name>_bench_sync`` made
beside the one named there (dropped and made again each run, dropped at the end; the
named database itself is never touched). Each round prints:

1. N phones each pushing one batch of M mutations (on my way, check-in, fix notes,
   done) at the same moment: total time until all are durably received and applied
   (the answer comes after the commit), the server process's CPU seconds meanwhile, and
   p50 / p95 / max of one push as the phones saw it; then the same batches replayed
   (answered from the mutation log);
2. the other N phones one after another (no other load): the sequential total, the
   server's CPU seconds, and p50 / p95 of one M-mutation push.

With ``--peer DIR`` (a copy of ``../shared/peer-pouchdb`` after ``npm ci``) every round
is followed by one run of the PouchDB peer (``node bench_pouch.js --runs 1 --warmup 1``, as many
clients and documents as phones and mutations),
so the two alternate A B A B on this shared machine, and the round's ratios (ours /
peer, concurrent and sequential) are printed, with the load average before each run and
the share of CPU time the machine's host took away (``steal`` in /proc/stat) during each:
on a shared virtual machine that share moves the figures more than most changes do.
Before the first round one untimed warm-up round (as the peer's ``--warmup 1``). Then:

3. in Chromium (Playwright, /usr/bin/chromium): the compressed bytes of the engineer's
   first load of a job page (HTML, CSS, JS, fonts), and whether a repeat load asks the
   network for any part of the shell;
4. with --lighthouse PATH (``npm install lighthouse@12`` in a temp folder): Lighthouse's
   mobile scores for the job page.

Bounded: loopback only, one process, at most N connections, 60 s timeouts.
Figures, not assertions (testing.md: benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlmodel import select  # noqa: E402

from server.actions.sla import start_clock, stop_clock  # noqa: E402
from server.db import make_engine, session_scope, utcnow  # noqa: E402
from server.domain.geo import to_wgs84  # noqa: E402
from server.models import Job, RentalOrder, Staff, StaffRole, SupportRequest, Venue  # noqa: E402
from server.security import hash_password  # noqa: E402
from server.settings import Settings  # noqa: E402

PASSWORD = "bench-password-1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def figures(label: str, ms: list[float]) -> None:
    print(f"  {label}: p50 {statistics.median(ms):.0f} ms, p95 {pct(ms, 95):.0f} ms, "
          f"max {max(ms):.0f} ms  (n={len(ms)})")


# -- the world: demo data plus one engineer and one live job per phone ----------------------


def add_phones(settings: Settings, n: int, jobs: int) -> list[tuple[str, list[int], tuple[float, float]]]:
    """(username, job ids, venue WGS-84) for n onsite engineers, each with ``jobs``
    accepted jobs (one per round), each on its own live P1 request."""
    engine = make_engine(settings.db_url)
    now = utcnow()
    phones = []
    password_hash = hash_password(PASSWORD)
    with session_scope(engine) as db:
        orders = db.exec(select(RentalOrder).where(RentalOrder.venue_id.is_not(None))).all()
        for i in range(n):
            order = orders[i % len(orders)]
            venue = db.get(Venue, order.venue_id)
            staff = Staff(username=f"bench{i:03d}", display_name=f"压测{i:03d}",
                          password_hash=password_hash, group="onsite", region=venue.region)
            db.add(staff)
            db.flush()
            db.add(StaffRole(staff_id=staff.id, role="onsite"))
            job_ids = []
            for r in range(jobs):
                received = now - timedelta(minutes=30)
                request = SupportRequest(
                    number=f"BENCH-{i:04d}-{r:02d}", channel="hotline", received_at=received,
                    customer_id=order.customer_id, customer_name="压测客户",
                    contact_name="王先生", phone="13800138000", address=venue.address,
                    venue_id=venue.id, region=venue.region, order_id=order.id,
                    order_no=order.order_no, device_type="encoder", symptom="推流失败",
                    stream_state="live", classification="onsite", priority="P1",
                    status="in_progress", handed_off_at=received + timedelta(minutes=2))
                db.add(request)
                db.flush()
                stop_clock(db, request.id, "handoff", request.handed_off_at)
                for kind in ("first_response", "resolution"):
                    start_clock(db, request, kind, request.handed_off_at, settings.sla)
                dispatched = request.handed_off_at + timedelta(minutes=1)
                start_clock(db, request, "arrival", dispatched, settings.sla)
                job = Job(request_id=request.id, kind="onsite", assignee_id=staff.id,
                          status="accepted", assigned_at=dispatched,
                          accepted_at=dispatched + timedelta(minutes=1))
                db.add(job)
                db.flush()
                stop_clock(db, request.id, "first_response", job.accepted_at)
                job_ids.append(job.id)
            phones.append((staff.username, job_ids,
                           to_wgs84(venue.lat, venue.lon, venue.datum)))
    engine.dispose()
    return phones


def batch(job_id: int, where: tuple[float, float], size: int) -> list[dict]:
    start = utcnow() - timedelta(minutes=size)

    def m(k: int, name: str, **args) -> dict:
        return {"id": str(uuid.uuid4()), "name": name, "args": {"job_id": job_id, **args},
                "device_time": (start + timedelta(minutes=k)).isoformat()}

    out = [m(0, "on_my_way"), m(1, "check_in", lat=where[0], lon=where[1], accuracy_m=12)]
    out += [m(k, "fix_note", fault_kind="cabling", text=f"第 {k} 步：重新插拔并测试推流")
            for k in range(2, size - 1)]
    return out + [m(size - 1, "done", customer_name="王先生", stream_back=True)]


# -- the database: SQLite in the data folder, or a scratch PostgreSQL database ------------


@contextmanager
def database(data_dir: Path, postgres: bool | None = None,
             suffix: str = "bench_sync") -> Iterator[str]:
    """The URL the server runs on: SQLite in ``data_dir``, or PostgreSQL (``postgres``;
    by default when ``FIELDOPS_DATABASE_URL`` names a PostgreSQL server and database): the
    bench makes ``<name>_<suffix>`` beside it (never touching the named one), fresh each
    run, and drops it afterwards."""
    given = os.environ.get("FIELDOPS_DATABASE_URL", "")
    if not (bool(given) if postgres is None else postgres):
        yield f"sqlite:///{data_dir / 'fieldops.db'}"
        return
    from sqlalchemy import create_engine, make_url, text

    base = make_url(given or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"{base.database}_{suffix}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")

    def drop(conn) -> None:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))

    with admin.connect() as conn:
        drop(conn)
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            drop(conn)
        admin.dispose()


# -- the server ----------------------------------------------------------------------------


class Server:
    def __init__(self, data_dir: Path, db_url: str, profile: str = "") -> None:
        self.profile = profile  # a file: run under bench/profile_server.py
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url
        self.env = {**os.environ, "FIELDOPS_HOST": "127.0.0.1", "FIELDOPS_PORT": str(self.port),
                    "FIELDOPS_DATA_DIR": str(data_dir), "FIELDOPS_DEMO_DATA": "1",
                    "FIELDOPS_DATABASE_URL": "" if db_url.startswith("sqlite") else db_url}
        self.log = data_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def kind(self) -> str:
        return "SQLite" if self.db_url.startswith("sqlite") else "PostgreSQL"

    def prepare(self) -> None:
        subprocess.run([sys.executable, "-m", "server.cli", "demo-data"], cwd=ROOT, env=self.env,
                       check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        command = ([str(ROOT / "bench" / "profile_server.py"), self.profile] if self.profile
                   else ["-m", "server.cli", "serve"])
        self.proc = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=self.env,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(self.log.read_text()[-2000:])

    def wait_applied(self, timeout: float = 120) -> None:
        """Until the sync inbox is empty: everything received is applied and committed.

        It looks every 5 ms on one connection of its own, outside any transaction: a
        plain statement, 0.05 ms of this process's CPU and 0.06 ms of PostgreSQL's. The
        pool's way (a checkout with its ping, a transaction) cost 0.38 ms and 0.18 ms
        each time, about 0.1 s of CPU a round on the two cores the server needs."""
        engine = make_engine(self.db_url)
        raw = engine.raw_connection()
        try:
            if engine.dialect.name == "postgresql":
                raw.driver_connection.autocommit = True  # each look sees the newest commit
            cur = raw.cursor()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                cur.execute("SELECT 1 FROM sync_inbox LIMIT 1")
                if cur.fetchone() is None:
                    return
                time.sleep(0.005)
            raise RuntimeError("the sync inbox did not empty")
        finally:
            raw.close()
            engine.dispose()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process and its children so far (its sync
        applier process; Linux /proc)."""
        assert self.proc is not None
        total, todo, seen = 0.0, [self.proc.pid], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                if pid == self.proc.pid:
                    return float("nan")
                continue
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):  # a thread that has just ended
                    todo += [int(c) for c in task.read_text().split()]
            total += _cpu_of(stat)
        return total

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60 if self.profile else 10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


# -- phones ----------------------------------------------------------------------------------


async def signed_in(base: str, username: str, password: str) -> httpx.AsyncClient:
    # keep-alive shorter than uvicorn's 5 s, so an idle connection is never reused as it closes
    client = httpx.AsyncClient(base_url=base, timeout=60, headers={"accept": "application/json"},
                               limits=httpx.Limits(max_connections=4, keepalive_expiry=2))
    await client.get("/login", headers={"accept": "text/html"})
    r = await client.post("/login", data={"username": username, "password": password,
                                          "_csrf_token": client.cookies["csrftoken"], "next": "/"},
                          headers={"accept": "text/html"})
    assert r.status_code in (302, 303), r.text[:300]
    return client


async def push(client: httpx.AsyncClient, client_id: str, mutations: list[dict]) -> tuple[float, list]:
    t = time.perf_counter()
    r = await client.post("/sync/push", json={"client_id": client_id, "mutations": mutations},
                          headers={"x-csrftoken": client.cookies["csrftoken"]})
    took = (time.perf_counter() - t) * 1000
    r.raise_for_status()
    return took, r.json()["results"]


@dataclass
class Round:
    received_s: float
    concurrent_s: float
    concurrent_cpu_s: float
    replay_s: float
    sequential_s: float
    sequential_cpu_s: float
    alone_p95_ms: float
    steal: float  # the share of CPU time the host took away during the round


@contextmanager
def client_collector_paused() -> Iterator[None]:
    """This client's garbage collector collects before a timed phase and not during it: a
    full collection of this process's heap (it imports the server's modules) took 79 ms
    in the middle of one round's receipts, every phone waiting, counted as the server's."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def one_round(server: Server, clients: list[httpx.AsyncClient], phones: list, job: int,
                    n: int, per_push: int, quiet: bool = False) -> Round:
    """Phones 0..n-1 push at once, then phones n..2n-1 one after another; each on its
    job number ``job``."""
    say = (lambda *a: None) if quiet else print
    ticks = cpu_ticks()
    batches = [batch(job_ids[job], where, per_push) for _, job_ids, where in phones]
    say(f"  1. {n} phones x {per_push} mutations at once ({n * per_push} in all), {server.kind}")
    with client_collector_paused():
        busy, own_cpu = busy_cpu(), time.process_time()
        cpu, t = server.cpu_seconds(), time.perf_counter()
        got = await asyncio.gather(*(push(clients[i], f"bench-phone-{i}-{job}", batches[i])
                                     for i in range(n)))
        received = time.perf_counter() - t
        await asyncio.to_thread(server.wait_applied)
        total, cpu = time.perf_counter() - t, server.cpu_seconds() - cpu
        busy, own_cpu = busy_cpu() - busy, time.process_time() - own_cpu
    statuses = [r["status"] for _, results in got for r in results]
    say(f"     durably received in {received:.2f} s (every push answered; "
        + ", ".join(f"{s} {statuses.count(s)}" for s in sorted(set(statuses))) + ")")
    say(f"     applied in {total:.2f} s ({len(statuses) / total:.0f} mutations/s: the inbox "
        f"empty, every result committed), server CPU {cpu:.2f} s")
    say(f"     the machine's CPU meanwhile: {busy:.2f} s of {total * (os.cpu_count() or 1):.2f} s"
        f" ({os.cpu_count()} cores): server {cpu:.2f} s, this bench (the phones, its look at "
        f"the inbox) {own_cpu:.2f} s, the rest ({'PostgreSQL, ' if server.kind == 'PostgreSQL' else ''}"
        f"the kernel, other processes) {max(0.0, busy - cpu - own_cpu):.2f} s")
    if not quiet:
        figures("   one push, as a phone saw it under this load", [ms for ms, _ in got])
    with client_collector_paused():
        cpu0, t = server.cpu_seconds(), time.perf_counter()
        again = await asyncio.gather(*(push(clients[i], f"bench-phone-{i}-{job}", batches[i])
                                       for i in range(n)))
        replay, replay_cpu = time.perf_counter() - t, server.cpu_seconds() - cpu0
    replayed = sum(r["replayed"] for _, results in again for r in results)
    say(f"     replayed at once: {replay:.2f} s, server CPU {replay_cpu:.2f} s, {replayed} "
        "answered from the log")
    statuses = [r["status"] for _, results in again for r in results]  # the final results

    say(f"  2. {n} phones one after another, {per_push}-mutation pushes, no other load")
    alone_ms = []
    with client_collector_paused():
        cpu0, t = server.cpu_seconds(), time.perf_counter()
        for i in range(n, 2 * n):
            ms, results = await push(clients[i], f"bench-phone-{i}-{job}", batches[i])
            alone_ms.append(ms)
            statuses += [r["status"] for r in results]
        sequential, seq_cpu = time.perf_counter() - t, server.cpu_seconds() - cpu0
    say(f"     all {n * per_push} in {sequential:.2f} s, server CPU {seq_cpu:.2f} s")
    if not quiet:
        figures("   one push", alone_ms)
    bad = [s for s in statuses if s != "applied"]
    if bad:
        say(f"     NOT APPLIED: {len(bad)} ({', '.join(sorted(set(bad)))})")
    steal = steal_since(ticks)
    say(f"     steal during the round: {steal:.0%} of the machine's CPU time")
    return Round(received, total, cpu, replay, sequential, seq_cpu, pct(alone_ms, 95), steal)


def run_peer(peer: Path, clients: int, docs: int) -> dict | None:
    """One run of the PouchDB peer (after its warm-up) with as many clients and documents
    as our phones and mutations: its seconds per case."""
    out = peer / "out-bench-sync.json"
    out.unlink(missing_ok=True)
    try:
        subprocess.run(["node", "bench_pouch.js", "--runs", "1", "--warmup", "1",
                        "--clients", str(clients), "--docs", str(docs), "--json", str(out)], cwd=peer, check=True, timeout=200,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        summary = json.loads(out.read_text())["summary"]
    except (subprocess.SubprocessError, OSError, ValueError, KeyError) as exc:
        print(f"  peer failed: {exc!r}")
        return None
    return {case: summary[case]["median"] for case in ("concurrent", "sequential")} | {
        "server_cpu": summary["concurrent"]["server_cpu_s_median"]}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def _cpu_of(stat: str) -> float:
    """User + system CPU seconds from a /proc/PID/stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> list[int]:
    """The first eight fields of /proc/stat's ``cpu`` line (user, nice, system, idle,
    iowait, irq, softirq, steal), in clock ticks; [] where there is none (not Linux)."""
    try:
        return [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return []


def busy_cpu() -> float:
    """CPU seconds the whole machine has spent busy so far, every core and process: user,
    nice, system, irq and softirq (0 where unknown). Ended processes count too, as the
    backends of connections the server's pool closes do."""
    ticks = _machine_ticks()
    if len(ticks) < 7:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def cpu_ticks() -> tuple[int, int]:
    """(steal, all) of the machine's CPU time so far, in clock ticks; (0, 0) where unknown."""
    ticks = _machine_ticks()
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks)


def steal_since(before: tuple[int, int]) -> float:
    """The share (0..1) of the machine's CPU time its host took away since ``before``."""
    steal, total = cpu_ticks()
    return (steal - before[0]) / (total - before[1]) if total > before[1] else 0.0


async def run_sync(server: Server, phones: list, n: int, per_push: int, rounds: int,
                   peer: Path | None) -> None:
    gate = asyncio.Semaphore(1)  # one at a time: concurrent sign-ins stall on SQLite (see note)

    async def one(username: str) -> httpx.AsyncClient:
        async with gate:
            return await signed_in(server.url, username, PASSWORD)

    clients = await asyncio.gather(*(one(u) for u, _, _ in phones))
    await one_round(server, clients, phones, 0, n, per_push, quiet=True)  # warm-up
    table = []
    for k in range(1, rounds + 1):
        print(f"\nround {k} of {rounds}: FieldOps ({load()})")
        ours = await one_round(server, clients, phones, k, n, per_push)
        theirs = None
        if peer is not None:
            print(f"round {k} of {rounds}: PouchDB peer ({load()})")
            ticks = cpu_ticks()
            theirs = run_peer(peer, n, per_push)
            if theirs:
                theirs["steal"] = steal_since(ticks)
                print(f"  concurrent {theirs['concurrent']:.3f} s (server CPU "
                      f"{theirs['server_cpu']:.2f} s), sequential {theirs['sequential']:.3f} s; "
                      f"steal {theirs['steal']:.0%}")
                print(f"  ratio ours/peer: received {ours.received_s / theirs['concurrent']:.2f}x, "
                      f"applied {ours.concurrent_s / theirs['concurrent']:.2f}x, "
                      f"sequential {ours.sequential_s / theirs['sequential']:.2f}x")
        table.append((k, ours, theirs))
    await asyncio.gather(*(c.aclose() for c in clients))

    print(f"\nSummary, {server.kind}, {n} phones x {per_push} mutations ({n * per_push}); "
          f"seconds, server CPU seconds in brackets")
    print("  round  received  applied         replay  sequential       alone p95  steal"
          + ("   peer conc  peer seq  steal  ratio recv  ratio appl  ratio seq" if peer else ""))
    for k, ours, theirs in table:
        line = (f"  {k:>5}  {ours.received_s:8.2f}  {ours.concurrent_s:5.2f} ({ours.concurrent_cpu_s:4.2f})  "
                f"{ours.replay_s:6.2f}  {ours.sequential_s:5.2f} ({ours.sequential_cpu_s:4.2f})  "
                f"{ours.alone_p95_ms:6.0f} ms  {ours.steal:4.0%}")
        if theirs:
            line += (f"   {theirs['concurrent']:9.3f}  {theirs['sequential']:8.3f}  "
                     f"{theirs.get('steal', 0.0):4.0%}  "
                     f"{ours.received_s / theirs['concurrent']:9.2f}x  "
                     f"{ours.concurrent_s / theirs['concurrent']:9.2f}x  "
                     f"{ours.sequential_s / theirs['sequential']:8.2f}x")
        print(line)


# -- the page in Chromium -------------------------------------------------------------------


def run_browser(base: str) -> None:
    if not Path(CHROMIUM).exists():
        print("\n3. page weight: skipped (no /usr/bin/chromium)")
        return
    from playwright.sync_api import sync_playwright

    print("\n3. the engineer's job page in Chromium (390 x 844)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = ctx.new_page()
        page.goto(base + "/login")
        page.get_by_label("用户名").fill("onsite")
        page.get_by_label("密码").fill("fieldops-demo")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(base + "/")
        page.goto(base + "/field")
        job_url = base + page.get_attribute(".fcard-main", "href")
        state = ctx.storage_state()
        ctx.close()

        # First load: a fresh browser profile that is signed in, nothing cached.
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  storage_state=state)
        page = ctx.new_page()
        loads: list[tuple[str, str, int]] = []
        page.on("requestfinished", lambda r: loads.append(
            (r.resource_type, r.url, r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"])))
        page.goto(job_url, wait_until="load")
        page.wait_for_timeout(300)
        by_type: dict[str, int] = {}
        for kind, _url, size in loads:
            by_type[kind] = by_type.get(kind, 0) + size
        total = sum(by_type.values())
        print(f"  first load: {total / 1024:.1f} KB over the wire (compressed, with headers): "
              + ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in sorted(by_type.items())))
        for kind, url, size in loads:
            print(f"    {kind:<10} {size / 1024:6.1f} KB  {url.replace(base, '')[:70]}")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_timeout(500)

        # Repeat load: the shell comes from the service worker's cache.
        seen: list[tuple[str, bool]] = []
        page.on("response", lambda r: seen.append((r.url, r.from_service_worker)))
        by_worker: list[str] = []  # what the service worker itself asked the network for
        ctx.on("request", lambda r: by_worker.append(r.url.replace(base, ""))
               if r.service_worker is not None else None)
        page.reload(wait_until="load")
        page.wait_for_timeout(1000)
        static = [(u, sw) for u, sw in seen if "/static/" in u]
        from_sw = sum(sw for _, sw in static)
        shell = [u for u in by_worker if u.startswith("/static/")]
        print(f"  repeat load: {len(static)} shell files, {from_sw} answered by the service "
              f"worker's cache, {len(shell)} of them fetched from the network; the worker "
              f"went out only for: {', '.join(sorted(set(by_worker))) or 'nothing'}")
        ctx.close()
        browser.close()


def run_lighthouse(base: str, lighthouse: str) -> None:
    """Optional: `npm install lighthouse@12` in a temp folder, then --lighthouse PATH."""
    import json
    import re

    print("\n4. Lighthouse (mobile) on the engineer's job page")
    with httpx.Client(base_url=base, headers={"accept": "text/html"}) as c:
        c.get("/login")
        c.post("/login", data={"username": "onsite", "password": "fieldops-demo",
                               "_csrf_token": c.cookies["csrftoken"], "next": "/"})
        job = re.search(r'href="(/field/jobs/\d+)"', c.get("/field").text).group(1)
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        subprocess.run(
            [lighthouse, base + job, "--quiet", "--output=json", f"--output-path={out}",
             "--only-categories=performance,accessibility,best-practices",
             "--chrome-flags=" + " ".join(CHROMIUM_ARGS),
             "--extra-headers", json.dumps({"Cookie": cookie})],
            env={**os.environ, "CHROME_PATH": CHROMIUM}, check=True, timeout=300,
            capture_output=True)
        report = json.loads(out.read_text())
    print("  " + ", ".join(f"{c['title']} {round(c['score'] * 100)}"
                           for c in report["categories"].values()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--per-push", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1,
                        help="timed rounds (each alternated with the peer with --peer)")
    parser.add_argument("--profile", default="",
                        help="write the server's CPU profile (every thread) to this file")
    parser.add_argument("--peer", default="",
                        help="folder of the PouchDB peer benchmark after `npm ci`")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--lighthouse", default=os.environ.get("LIGHTHOUSE", ""),
                        help="path to a lighthouse@12 binary (optional)")
    parser.add_argument("--durability", action="store_true",
                        help="the sync figures twice: push commits with SQLite synchronous=FULL "
                             "(the default, README Durability) and with NORMAL, to see the cost")
    args = parser.parse_args()
    if args.durability:
        for durable in ("1", "0"):
            os.environ["FIELDOPS_SQLITE_DURABLE_SYNC"] = durable
            print(f"\n== sync push commits with synchronous={'FULL' if durable == '1' else 'NORMAL'}")
            run_once(argparse.Namespace(**{**vars(args), "no_browser": True, "lighthouse": ""}))
        return
    run_once(args)


def run_once(args: argparse.Namespace) -> None:
    peer = Path(args.peer).resolve() if args.peer else None
    if peer is not None and not (peer / "node_modules").is_dir():
        raise SystemExit(f"--peer {peer}: run `npm ci` there first (see its README)")
    with tempfile.TemporaryDirectory(prefix="fieldops-bench-sync-") as tmp, \
            database(Path(tmp)) as db_url:
        data = Path(tmp)
        server = Server(data, db_url, str(Path(args.profile).resolve()) if args.profile else "")
        server.prepare()
        settings = Settings(data_dir=data, database_url=server.env["FIELDOPS_DATABASE_URL"])
        phones = add_phones(settings.with_secrets(), 2 * args.phones, args.rounds + 1)
        server.start()
        try:
            print(f"FieldOps sync bench: {server.url}, {server.kind}, {os.cpu_count()} CPUs, "
                  f"{load()}")
            asyncio.run(run_sync(server, phones, args.phones, args.per_push, args.rounds, peer))
            if not args.no_browser:
                run_browser(server.url)
            if args.lighthouse:
                run_lighthouse(server.url, args.lighthouse)
        except Exception:
            print((data / "server.log").read_text()[-3000:])
            raise
        finally:
            server.stop()


if __name__ == "__main__":
    main()
