"""Shared pieces of the load bench (``bench/load.py``): the database, the server
processes, their CPU time, latency figures, and an HTTP client that keeps one cookie set
per simulated device over one bounded connection pool.

Nothing here asserts anything: benchmarks print figures (testing.md).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench import sync as sync_bench  # noqa: E402
from bench.sync import Server  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


# -- the database ------------------------------------------------------------------------------


def database(data_dir: Path, postgres: bool, suffix: str = "bench_load"):  # noqa: ANN201
    """The URL a server runs on: SQLite in ``data_dir``, or (``postgres``) a scratch
    database ``<name>_<suffix>`` beside the one ``FIELDOPS_DATABASE_URL`` names (made
    fresh, dropped at the end; the named database itself is never touched). A context
    manager: ``bench/sync.py``'s."""
    return sync_bench.database(data_dir, postgres, suffix)


# -- the server ---------------------------------------------------------------------------------


class Servers(Server):
    """``python -m server.cli serve --workers N`` (bench/sync.py's Server, N processes);
    CPU time is summed over every process of the server's process group."""

    def __init__(self, data_dir: Path, db_url: str, workers: int = 1) -> None:
        super().__init__(data_dir, db_url)
        self.workers = workers

    def start(self) -> None:
        command = [sys.executable, "-m", "server.cli", "serve", "--workers", str(self.workers)]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        ok = 0
        while time.monotonic() < deadline:
            try:  # every worker answers: a few good answers in a row
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    ok += 1
                if ok >= 3 * self.workers:
                    return
            except OSError:
                ok = 0
                time.sleep(0.2)
        raise RuntimeError(self.log.read_text()[-2000:])

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return group_cpu(self.proc.pid)

    def processes(self) -> str:
        """The processes in the server's group, by kind: "7 (1 uvicorn supervisor, 2 server,
        2 sync applier, 2 multiprocessing helper)"."""
        assert self.proc is not None
        group: dict[int, tuple[int, bytes]] = {}  # pid -> (parent, command line)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                    command = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if int(fields[2]) == self.proc.pid:
                    group[int(entry)] = (int(fields[1]), command)
        leader = self.proc.pid
        helpers = {p for p, (_, c) in group.items() if b"resource_tracker" in c}
        # uvicorn's workers are spawned by its supervisor; each server spawns its applier
        servers = ({p for p, (parent, _) in group.items() if parent == leader} - helpers
                   if self.workers > 1 else {leader})
        kinds = {"uvicorn supervisor": int(self.workers > 1), "server": len(servers),
                 "sync applier": len({p for p, (parent, _) in group.items()
                                      if parent in servers} - helpers),
                 "multiprocessing helper": len(helpers)}
        return f"{len(group)} (" + ", ".join(f"{n} {k}" for k, n in kinds.items() if n) + ")"


class Group:
    """Any process group (a server started with ``start_new_session``): its CPU time."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid

    def cpu_seconds(self) -> float:
        return group_cpu(self.pgid)


def group_cpu(pgid: int) -> float:
    """User + system CPU seconds of every live process in a group (Linux /proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_cpu(db_url: str) -> float:
    """CPU seconds of the live PostgreSQL backends serving this database (their process
    title names it); 0 for SQLite. Backends that ended meanwhile are not counted."""
    if db_url.startswith("sqlite"):
        return 0.0
    from sqlalchemy import make_url

    name = f" {make_url(db_url).database} ".encode()
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if name not in Path(f"/proc/{entry}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


# -- figures -------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Latencies (ms) per kind of request, and every failure (first few kept in full)."""

    ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def ok(self, kind: str, ms: float) -> None:
        self.ms.setdefault(kind, []).append(ms)

    def fail(self, kind: str, what: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.examples) < 8:
            self.examples.append(f"{kind}: {what}")

    def merge(self, other: Stats) -> None:
        for kind, values in other.ms.items():
            self.ms.setdefault(kind, []).extend(values)
        for kind, n in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n
        self.examples.extend(other.examples[: max(0, 8 - len(self.examples))])

    def count(self, kind: str | None = None) -> int:
        if kind is not None:
            return len(self.ms.get(kind, [])) + self.errors.get(kind, 0)
        return sum(len(v) for v in self.ms.values()) + sum(self.errors.values())

    def table(self, kinds: list[str] | None = None) -> list[str]:
        kinds = kinds or sorted(set(self.ms) | set(self.errors))
        out = [f"  {'kind':<22} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
               f"{'p99 ms':>8} {'max ms':>8}"]
        every: list[float] = []
        for kind in kinds:
            values = self.ms.get(kind, [])
            every += values
            out.append(self._row(kind, values, self.errors.get(kind, 0)))
        out.append(self._row("overall", every, sum(self.errors.get(k, 0) for k in kinds)))
        return out

    @staticmethod
    def _row(kind: str, values: list[float], errors: int) -> str:
        if not values:
            return f"  {kind:<22} {errors:>8} {errors:>6}"
        return (f"  {kind:<22} {len(values) + errors:>8} {errors:>6} {statistics.median(values):>8.1f} "
                f"{pct(values, 95):>8.1f} {pct(values, 99):>8.1f} {max(values):>8.1f}")


# -- HTTP: one pool, one cookie set per device -------------------------------------------------------


class _NoCookies(DefaultCookiePolicy):
    def set_ok(self, cookie, request) -> bool:  # noqa: ANN001 - the stdlib's signature
        return False


def pool(base: str, connections: int, timeout: float = 30) -> httpx.AsyncClient:
    """A client whose connections are shared by every simulated device; it keeps no
    cookies itself (each device sends its own), and drops idle connections before
    uvicorn's 5 s keep-alive ends so none is reused as the server closes it."""
    client = httpx.AsyncClient(
        base_url=base, timeout=timeout,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                            keepalive_expiry=3))
    client.cookies.jar.set_policy(_NoCookies())
    return client


@dataclass
class Device:
    """One browser or phone: its cookies (the session and the CSRF token)."""

    name: str
    cookies: dict[str, str] = field(default_factory=dict)

    def headers(self, **extra: str) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"cookie": cookie} if cookie else {}), **extra}

    def absorb(self, response: httpx.Response) -> None:
        """Keep what the server set (a max-age=0 or empty value deletes the cookie)."""
        for header in response.headers.get_list("set-cookie"):
            pair, *attrs = header.split(";")
            key, _, value = pair.strip().partition("=")
            gone = not value or any(a.strip().lower() in ("max-age=0", "max-age=-1") for a in attrs)
            if gone:
                self.cookies.pop(key, None)
            else:
                self.cookies[key] = value

    @property
    def csrf(self) -> str:
        return self.cookies.get("csrftoken", "")


async def sign_in(client: httpx.AsyncClient, device: Device, username: str, password: str) -> None:
    """As the browser: the sign-in page (its CSRF cookie), then the form with the token."""
    r = await client.get("/login", headers=device.headers(accept="text/html"))
    device.absorb(r)
    r = await client.post("/login", headers=device.headers(accept="text/html"),
                          data={"username": username, "password": password,
                                "_csrf_token": device.csrf, "next": "/"})
    device.absorb(r)
    if r.status_code not in (302, 303) or "fieldops_session" not in device.cookies:
        raise RuntimeError(f"sign-in as {username}: {r.status_code} {r.text[:200]}")
