"""Many writers at once against a real server process on SQLite: nobody deadlocks.

Regression: request transactions used to finish (commit) in a worker thread; with every
thread waiting for SQLite's write lock, the lock holder could not commit, and writers
got 500 "database is locked" after the 30 s busy timeout.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.conftest import LiveServer


def _sign_in(base: str) -> int:
    with httpx.Client(base_url=base, headers={"accept": "text/html"}, timeout=25) as c:
        c.get("/login")
        r = c.post("/login", data={"username": "dispatcher", "password": "fieldops-demo",
                                   "_csrf_token": c.cookies["csrftoken"]})
        return r.status_code


def test_forty_simultaneous_sign_ins_all_succeed(tmp_path):
    server = LiveServer(tmp_path / "live").start()
    try:
        with ThreadPoolExecutor(40) as pool:
            codes = list(pool.map(lambda _: _sign_in(server.url), range(40)))
    finally:
        server.stop()
    assert codes == [303] * 40
