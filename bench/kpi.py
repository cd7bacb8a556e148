"""KPI dashboard speed (issue 16): prints figures, asserts nothing.

Loads the demo (about 56 recent requests and three months of history) into a real SQLite
file, then times the dashboard's query and arithmetic for a month (which also computes the
8-week and 6-month target lines) and the monthly review XLSX. Then multiplies the history
to about 3,000 requests and times again.

Run: ``.venv/bin/python bench/kpi.py``
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, select  # noqa: E402

from server.db import make_engine  # noqa: E402
from server.demo import load_demo  # noqa: E402
from server.demo_history import add_history  # noqa: E402
from server.domain import kpi  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.models import SupportRequest  # noqa: E402
from server.queries import kpi as q  # noqa: E402
from server.routes import kpi_view  # noqa: E402
from server.settings import Settings  # noqa: E402


def timed(fn, runs: int = 7) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    now = datetime.now(UTC)
    tz = ZoneInfo("Asia/Shanghai")
    month = kpi.month_of(now, tz)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/kpi.db",
                            demo_data=False).with_secrets()
        upgrade(settings.db_url)
        engine = make_engine(settings.db_url)
        with Session(engine) as db:
            load_demo(db, now, settings)
            db.commit()
            for label in ("demo", "x20 history"):
                n = len(db.exec(select(SupportRequest.id)).all())
                med, worst = timed(lambda: q.dashboard(db, month, now, settings))
                print(f"{label}: {n} requests; dashboard {month}: median {med:.0f} ms, max {worst:.0f} ms")
                med, worst = timed(lambda: kpi_view.review_xlsx(q.review(db, month, now, settings)), 3)
                print(f"{label}: monthly review XLSX: median {med:.0f} ms, max {worst:.0f} ms")
                for i in range(19):  # more history: the same generator, other days
                    add_history(db, now - (i + 1) * (now - now.replace(day=1)) / 20, settings)
                db.commit()


if __name__ == "__main__":
    main()
