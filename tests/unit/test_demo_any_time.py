"""The demo data makes sense whatever the instant `make run` first starts (issue 10).

A weekday afternoon, a holiday night, the last minutes of a month and of a year, and a
date in 2027 that chinesecalendar does not know: the demo loads, nothing in it happened
after "now", and the special period the instant falls in is staffed by its roster.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from server.db import make_engine
from server.demo import load_demo
from server.domain.calendar import SpecialCalendar
from server.migrate import upgrade
from server.models import FieldFact, Roster, SlaClock, SupportRequest
from server.queries.duty import on_duty
from server.settings import Settings

INSTANTS = [
    "2026-12-01T13:26:00+08:00",  # a Tuesday afternoon, an official working day
    "2026-10-01T22:40:00+08:00",  # National Day night
    "2026-02-17T03:00:00+08:00",  # the small hours of the Spring Festival
    "2026-12-31T23:50:00+08:00",  # the last minutes of a month and of the year
    "2027-03-15T10:00:00+08:00",  # chinesecalendar has no 2027 schedule
    "2027-02-28T23:59:00+08:00",  # the end of a short month in an unknown year
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo-any-time") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.mark.parametrize("raw", INSTANTS)
def test_the_demo_makes_sense_at(raw, template, tmp_path, clock):
    now = clock.set(datetime.fromisoformat(raw))
    db_file = tmp_path / "demo.db"
    db_file.write_bytes(template.read_bytes())
    engine = make_engine(f"sqlite:///{db_file}")
    settings = Settings(data_dir=tmp_path)
    try:
        with Session(engine) as db:
            summary = load_demo(db, now, settings)
            db.commit()
            assert not summary.get("skipped")
            requests = db.exec(select(SupportRequest)).all()
            assert requests, "the demo has requests"
            assert all(r.received_at.replace(tzinfo=UTC) <= now for r in requests), \
                "no request was received after now"
            for clock_row in db.exec(select(SlaClock)):
                assert clock_row.started_at.replace(tzinfo=UTC) <= now, clock_row
            for fact in db.exec(select(FieldFact)):
                assert fact.device_time.replace(tzinfo=UTC) <= now, fact
            month = now.astimezone(ZoneInfo(settings.time_zone)).strftime("%Y-%m")
            published = db.exec(select(Roster).where(
                Roster.month == month, Roster.status == "published")).first()
            assert published is not None, "this month's roster is published"
            if SpecialCalendar([], tz_name=settings.time_zone).is_special(now):
                groups = {(d.group, d.region) for d in on_duty(db, now, settings)}
                assert ("remote", None) in groups, "remote staff on duty in a special period"
                assert {r for g, r in groups if g == "onsite"} >= {"urban", "suburban"}
    finally:
        engine.dispose()

