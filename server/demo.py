"""Deterministic demo data: a busy night at a Shanghai live-stream equipment rental.

``load_demo`` fills an empty, migrated database with customers at real Shanghai venues,
the emergency reserve, rental orders, ~40 staff with their S8/S13 records, published
rosters for this month and the next, and support requests at every stage with their SLA
clocks, jobs, field facts, feedback and audit timeline. Everything comes from one seeded
``random.Random``, so the same ``now`` always gives the same rows. All text a user sees
is Simplified Chinese. It never loads twice (``AppMeta['demo_loaded']``).

The rosters are built by a deterministic rotation, not the CP-SAT solver (which is not
deterministic under a time limit), and checked with ``roster_violations``.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from server import demo_inbound
from server.demo_equipment import add_equipment_desk
from server.demo_history import add_history
from server.demo_parts.data import (  # noqa: F401 - public names of the demo
    DEMO_LOGINS,
    DEMO_PASSWORD,
    META_KEY,
    MOBILE_PREFIXES,
    SEED,
    STAFF,
)
from server.demo_parts.people import PeopleMixin
from server.demo_parts.plans import PlansMixin
from server.demo_parts.records import RecordsMixin
from server.demo_parts.shapes import Order
from server.demo_parts.stock import StockMixin
from server.domain.calendar import DayOverride, SpecialCalendar
from server.models import (
    AppMeta,
    CalendarOverride,
    Staff,
    Unit,
)

# -- the loader -------------------------------------------------------------------------


def load_demo(db: Session, now: datetime, settings) -> dict:
    """Fill an empty, migrated database with the demo; ``{"skipped": True}`` if already there."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if db.get(AppMeta, META_KEY) is not None:
        return {"skipped": True}
    if db.exec(select(func.count()).select_from(Staff)).one():
        return {"skipped": True, "reason": "database not empty"}
    return _Loader(db, now, settings).run()


class _Loader(PeopleMixin, StockMixin, PlansMixin, RecordsMixin):
    def __init__(self, db: Session, now: datetime, settings) -> None:
        self.db = db
        self.now = now.astimezone(UTC)
        self.settings = settings
        self.sla = settings.sla
        self.rules = settings.roster
        self.rng = random.Random(SEED)
        self.tz = ZoneInfo(settings.time_zone)
        self.today = self.now.astimezone(self.tz).date()
        overrides = [
            DayOverride(o.day, o.kind, o.name) for o in db.exec(select(CalendarOverride)).all()
        ]
        self.cal = SpecialCalendar(overrides, tz_name=settings.time_zone)
        self.staff: dict[str, Staff] = {}
        self.eligible: set[int] = set()
        self.pools: dict[tuple[str, str | None], list[int]] = {}
        self.duty: list[tuple[int, str, str | None, datetime, datetime]] = []
        self.orders: list[Order] = []
        self.reserve: dict[str, list[Unit]] = defaultdict(list)
        self.counts: dict[str, int] = {}
        self.audit_count = 0
        self.swapped: list[Order] = []  # one swap per order keeps the story simple

    def run(self) -> dict:
        self._staff()
        self._training()
        self._customers_and_venues()
        self._equipment()
        self._rosters()
        self._requests()
        self.counts["inbound_contacts"] = demo_inbound.load(self.db, self.now)  # issue 17
        self.counts.update(add_history(self.db, self.now, self.settings))  # KPIs (issue 16)
        self.counts |= add_equipment_desk(self.db, self.now)  # issue 15: spares, repairs
        for status in ("rented", "reserve", "in_repair", "in_transit"):
            self.counts[f"units_{status}"] = sum(1 for u in self.units if u.status == status)
        self.db.add(AppMeta(key=META_KEY, value=self.now.isoformat()))
        self.db.flush()
        return self.counts

    # -- small helpers ----------------------------------------------------------------

    def _minutes(self, a: float, b: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(a, b))

    def _mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _local(self, d: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(d, time(hour, minute), tzinfo=self.tz).astimezone(UTC)

    def _id(self, username: str) -> int:
        return self.staff[username].id

    def _add(self, rows: list) -> list:
        self.db.add_all(rows)
        self.db.flush()
        return rows
