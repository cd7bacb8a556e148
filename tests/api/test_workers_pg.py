"""`serve --workers 2` on one PostgreSQL (issue 18): two real server processes share the
port; sessions work on either, and every change reaches every open board whichever process
the board's stream and the change went through."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from server.db import make_engine
from server.migrate import upgrade
from server.models import Role, SupportRequest
from tests.api.test_board import read_events
from tests.api.test_intake import good_form
from tests.conftest import PASSWORD, add_staff

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def signed_in(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=httpx.Timeout(20.0), headers={"accept": "text/html"})
    c.get("/login")
    r = c.post("/login", data={"username": username, "password": PASSWORD,
                               "_csrf_token": c.cookies["csrftoken"], "next": "/"})
    assert r.status_code in (200, 303), r.text[:300]
    return c


@pytest.fixture
def two_workers(fresh_pg, tmp_path):
    upgrade(fresh_pg)
    engine = make_engine(fresh_pg)
    with Session(engine) as db:
        for role in Role:
            add_staff(db, role.value, role.value)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "FIELDOPS_DATABASE_URL": fresh_pg, "FIELDOPS_DATA_DIR": str(tmp_path),
           "FIELDOPS_HOST": "127.0.0.1", "FIELDOPS_PORT": str(port), "FIELDOPS_DEMO_DATA": "0",
           "FIELDOPS_PUSH_ENABLED": "0"}
    log = (tmp_path / "server.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--workers", "2"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # generous: a busy machine imports slowly
    while True:
        assert time.monotonic() < deadline, "the two workers did not start:\n" + \
            (tmp_path / "server.log").read_text()[-3000:]
        assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200 \
                    and len(children(proc.pid)) >= 2:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    yield base, proc, fresh_pg
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_two_processes_share_sessions_and_live_updates(two_workers):
    base, proc, url = two_workers
    workers = [p for p in children(proc.pid)
               if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
    assert len(workers) == 2, "two server processes run"

    boards = [signed_in(base, "dispatcher") for _ in range(4)]
    heard: list[list[dict]] = [[] for _ in boards]
    ready = threading.Barrier(len(boards) + 1)
    numbers = 4

    def watch(i: int) -> None:
        with boards[i].stream("GET", "/events") as r:
            lines = r.iter_lines()
            next(lines)  # ": ready"
            ready.wait(30)
            heard[i] = read_events(lines, lambda ev: len(requests_in(ev)) >= numbers, limit=60)

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(len(boards))]
    for t in threads:
        t.start()
    ready.wait(30)
    for _ in range(numbers):  # each on a new connection: the kernel picks the process
        agent = signed_in(base, "agent")
        r = agent.post("/requests/new", data=good_form(),
                       headers={"x-csrftoken": agent.cookies["csrftoken"], "hx-request": "true"})
        assert r.status_code == 200, r.text[:500]
        agent.close()
    for t in threads:
        t.join(60)

    engine = make_engine(url)
    with Session(engine) as db:
        ids = {str(r.id) for r in db.exec(select(SupportRequest))}
    engine.dispose()
    assert len(ids) == numbers
    for events in heard:
        assert requests_in(events) == {int(i) for i in ids}, events


def requests_in(events: list[dict]) -> set[int]:
    """The request ids the change events named (a fresh database numbers them from 1)."""
    found: set[int] = set()
    for e in events:
        if e.get("event") == "change":
            found |= set(json.loads(e["data"]).get("requests") or [])
    return found
