"""Sign-in and session costs: does a sign-in for an unknown name cost what a real one
costs (no username enumeration by timing), and what does a server-side session add to a
signed-in page view?

    .venv/bin/python bench/signin.py [--tries 30] [--views 200]

Builds a fresh SQLite database with one person, then through the app:
1. times failed sign-ins for the real name and for an unknown name (p50 / p95, ms);
2. times GET /me signed in (the session row is read, the idle clock touched at most
   once a minute) and GET /login signed out (no session row), p50 / p95 in ms.

Figures, not assertions (testing.md: benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from litestar.testing import TestClient  # noqa: E402
from sqlmodel import Session  # noqa: E402

from server.app import create_app  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.models import Staff, StaffRole  # noqa: E402
from server.security import hash_password  # noqa: E402
from server.settings import Settings  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=30)
    parser.add_argument("--views", type=int, default=200)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="fieldops-bench-signin-"))
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'fieldops.db'}",
                        demo_data=False, background_loop=False, push_enabled=False,
                        login_max_failures=10**6, login_max_failures_per_address=10**6)
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    with Session(engine) as db:
        staff = Staff(username="dispatcher", display_name="王建国", password_hash=hash_password("right-one-1"))
        db.add(staff)
        db.flush()
        db.add(StaffRole(staff_id=staff.id, role="dispatcher"))
        db.commit()
    engine.dispose()

    with TestClient(app=create_app(settings)) as c:
        c.headers["accept"] = "text/html"
        c.get("/login")
        token = c.cookies.get("csrftoken")

        def attempt(name: str):
            return lambda: c.post("/login", data={"username": name, "password": "wrong-guess",
                                                  "_csrf_token": token}, follow_redirects=False)

        real = timed(attempt("dispatcher"), args.tries)
        unknown = timed(attempt("no-such-person"), args.tries)
        print(f"failed sign-in, real name:    p50 {statistics.median(real):6.1f} ms  p95 {pct(real, 95):6.1f} ms")
        print(f"failed sign-in, unknown name: p50 {statistics.median(unknown):6.1f} ms  p95 {pct(unknown, 95):6.1f} ms")
        signed_out = timed(lambda: c.get("/login"), args.views)
        c.post("/login", data={"username": "dispatcher", "password": "right-one-1", "_csrf_token": token},
               follow_redirects=False)
        signed_in = timed(lambda: c.get("/me"), args.views)
        print(f"GET /login signed out (no session row): p50 {statistics.median(signed_out):5.1f} ms  "
              f"p95 {pct(signed_out, 95):5.1f} ms")
        print(f"GET /me signed in (session row read):   p50 {statistics.median(signed_in):5.1f} ms  "
              f"p95 {pct(signed_in, 95):5.1f} ms")


if __name__ == "__main__":
    main()
