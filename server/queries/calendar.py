"""The special-period calendar with the manager's overrides from the database (D2)."""

from __future__ import annotations

from sqlmodel import Session, select

from server.domain.calendar import DayOverride, SpecialCalendar
from server.models import CalendarOverride


def load_calendar(db: Session, tz_name: str = "Asia/Shanghai") -> SpecialCalendar:
    overrides = [
        DayOverride(o.day, o.kind, o.name) for o in db.exec(select(CalendarOverride)).all()
    ]
    return SpecialCalendar(overrides, tz_name=tz_name)
