"""Offline sync speed and the engineer's page weight.

    .venv/bin/python bench/sync.py [--phones 50] [--per-push 20] [--no-browser] [--durability]

A real server (``python -m server.cli serve``, uvicorn, SQLite in WAL mode) on a free
127.0.0.1 port with the demo data plus one onsite engineer and job per phone. Prints:

1. N phones each pushing one batch of M mutations (on my way, check-in, fix notes,
   done) at the same moment: total time until all are applied, and p50 / p95 / max of
   one push as the phones saw it; then the same batches replayed (answered from the
   mutation log);
2. one phone at a time (no other load): p50 / p95 of a M-mutation push;
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


def add_phones(settings: Settings, n: int) -> list[tuple[str, int, tuple[float, float]]]:
    """(username, job id, venue WGS-84) for n onsite engineers, each with an accepted job."""
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
            received = now - timedelta(minutes=30)
            request = SupportRequest(
                number=f"BENCH-{i:05d}", channel="hotline", received_at=received,
                customer_id=order.customer_id, customer_name="压测客户", contact_name="王先生",
                phone="13800138000", address=venue.address, venue_id=venue.id,
                region=venue.region, order_id=order.id, order_no=order.order_no,
                device_type="encoder", symptom="推流失败", stream_state="live",
                classification="onsite", priority="P1", status="in_progress",
                handed_off_at=received + timedelta(minutes=2))
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
            phones.append((staff.username, job.id, to_wgs84(venue.lat, venue.lon, venue.datum)))
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


# -- the server ----------------------------------------------------------------------------


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "FIELDOPS_HOST": "127.0.0.1", "FIELDOPS_PORT": str(self.port),
                    "FIELDOPS_DATA_DIR": str(data_dir), "FIELDOPS_DEMO_DATA": "1"}
        self.env.pop("FIELDOPS_DATABASE_URL", None)
        self.log = data_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    def prepare(self) -> None:
        subprocess.run([sys.executable, "-m", "server.cli", "demo-data"], cwd=ROOT, env=self.env,
                       check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], cwd=ROOT,
                                     env=self.env, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


# -- phones ----------------------------------------------------------------------------------


async def signed_in(base: str, username: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60, headers={"accept": "application/json"})
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


async def run_sync(base: str, phones: list, concurrent: int, per_push: int) -> None:
    crowd, alone = phones[:concurrent], phones[concurrent:]
    gate = asyncio.Semaphore(1)  # one at a time: concurrent sign-ins stall on SQLite (see note)

    async def one(username: str) -> httpx.AsyncClient:
        async with gate:
            return await signed_in(base, username, PASSWORD)

    clients = await asyncio.gather(*(one(u) for u, _, _ in phones))
    batches = [batch(job_id, where, per_push) for _, job_id, where in phones]

    print(f"\n1. {len(crowd)} phones x {per_push} mutations at once "
          f"({len(crowd) * per_push} in all), SQLite")
    t = time.perf_counter()
    got = await asyncio.gather(*(push(clients[i], f"bench-phone-{i}", batches[i])
                                 for i in range(len(crowd))))
    total = time.perf_counter() - t
    statuses = [r["status"] for _, results in got for r in results]
    print(f"  all applied in {total:.2f} s ({len(statuses) / total:.0f} mutations/s); "
          f"results: " + ", ".join(f"{s} {statuses.count(s)}" for s in sorted(set(statuses))))
    figures("one push, as a phone saw it under this load", [ms for ms, _ in got])
    t = time.perf_counter()
    again = await asyncio.gather(*(push(clients[i], f"bench-phone-{i}", batches[i])
                                   for i in range(len(crowd))))
    replayed = sum(r["replayed"] for _, results in again for r in results)
    print(f"  replayed at once: {time.perf_counter() - t:.2f} s, {replayed} answered from the log")
    figures("one replayed push", [ms for ms, _ in again])

    print(f"\n2. one phone at a time, {per_push}-mutation pushes, no other load")
    alone_ms = []
    for k, (_, job_id, where) in enumerate(alone):
        ms, _ = await push(clients[concurrent + k], f"bench-alone-{k}",
                           batch(job_id, where, per_push))
        alone_ms.append(ms)
    figures("one push", alone_ms)
    await asyncio.gather(*(c.aclose() for c in clients))


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
    parser.add_argument("--alone", type=int, default=30)
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
    with tempfile.TemporaryDirectory(prefix="fieldops-bench-sync-") as tmp:
        data = Path(tmp)
        server = Server(data)
        server.prepare()
        settings = Settings(data_dir=data).with_secrets()
        phones = add_phones(settings, args.phones + args.alone)
        server.start()
        try:
            print(f"FieldOps sync bench: {server.url}, SQLite {data / 'fieldops.db'}, "
                  f"{os.cpu_count()} CPUs")
            asyncio.run(run_sync(server.url, phones, args.phones, args.per_push))
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
