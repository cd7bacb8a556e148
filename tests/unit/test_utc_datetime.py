"""Instants in the database (D1): stored in UTC, given back aware. On SQLite the text is
made and read with ``isoformat``/``fromisoformat``; it must stay byte for byte what
SQLAlchemy's own DATETIME wrote, so rows written before and after compare and sort alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, select, text
from sqlalchemy.dialects import sqlite

from server.models.base import UTCDateTime

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True),
               Column("at", UTCDateTime()))
SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("at", [
    datetime(2026, 12, 1, 13, 25, tzinfo=UTC),
    datetime(2026, 12, 1, 21, 25, 0, 123, tzinfo=SHANGHAI),
    datetime(1, 1, 1, 0, 0, 0, 5, tzinfo=UTC),
    datetime(2026, 12, 1, 13, 25, 7, tzinfo=ZoneInfo("UTC")),  # UTC, not the usual object
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
])
def test_the_stored_text_is_what_sqlalchemy_wrote(engine, at):
    dialect = sqlite.dialect()
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)(
        at.astimezone(UTC).replace(tzinfo=None))
    with engine.begin() as conn:
        conn.execute(things.insert(), {"id": 1, "at": at})
        stored = conn.execute(text("SELECT at FROM things")).scalar()
        back = conn.execute(select(things.c.at)).scalar()
    assert stored == theirs
    assert back == at and back.tzinfo == UTC


@pytest.mark.parametrize(("stored", "expected"), [
    ("2026-12-01 13:25:00.000123", datetime(2026, 12, 1, 13, 25, 0, 123, tzinfo=UTC)),
    ("2026-12-01 13:25:00", datetime(2026, 12, 1, 13, 25, tzinfo=UTC)),
    ("2026-12-01T13:25:00", datetime(2026, 12, 1, 13, 25, tzinfo=UTC)),
    ("2026-12-01 21:25:00+08:00", datetime(2026, 12, 1, 13, 25, tzinfo=UTC)),
    ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
])
def test_text_written_by_hand_is_read_as_an_aware_utc_instant(engine, stored, expected):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO things (id, at) VALUES (1, :at)"), {"at": stored})
        back = conn.execute(select(things.c.at)).scalar()
    assert back == expected and back.utcoffset() == timedelta(0)


def test_a_naive_instant_is_refused(engine):
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(things.insert(), {"id": 1, "at": datetime(2026, 12, 1, 13, 25)})


def test_instants_compare_in_queries(engine):
    early, late = (datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC))
    with engine.begin() as conn:
        conn.execute(things.insert(), [{"id": 1, "at": early}, {"id": 2, "at": late}])
        found = conn.execute(select(things.c.id).where(
            things.c.at > datetime(2026, 12, 1, 16, 30, tzinfo=SHANGHAI))).scalars().all()
    assert found == [2]
