"""Small builders for roster tests: valid objects in one call, named overrides.

Slots are built here rather than from the special calendar, so roster tests do not
depend on the official holiday schedule.
"""

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.domain.qualification import StaffProfile
from server.domain.roster import Rostered
from server.domain.shifts import ShiftSlot

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def night(day: date, day_kind: str = "workday", statutory: bool | None = None) -> ShiftSlot:
    statutory = day_kind == "holiday" if statutory is None else statutory
    return ShiftSlot(day, "night", at(day, 18), at(day + timedelta(days=1), 8), day_kind,
                     statutory)


def day_shift(day: date, day_kind: str = "weekend", statutory: bool | None = None) -> ShiftSlot:
    statutory = day_kind == "holiday" if statutory is None else statutory
    return ShiftSlot(day, "day", at(day, 8), at(day, 18), day_kind, statutory)


def month_slots(
    year: int, month: int, holidays=frozenset(), workdays=frozenset(), days: int | None = None
) -> list[ShiftSlot]:
    """A night every day; a day shift on weekends and holidays (D10).

    ``workdays`` are make-up working days (调休上班); ``days`` cuts the month short.
    """
    last = days or calendar.monthrange(year, month)[1]
    slots = []
    for d in range(1, last + 1):
        day = date(year, month, d)
        if day in holidays:
            kind = "holiday"
        elif day.weekday() >= 5 and day not in workdays:
            kind = "weekend"
        else:
            kind = "workday"
        if kind != "workday":
            slots.append(day_shift(day, kind))
        slots.append(night(day, kind))
    return slots


def team(remote: int = 12, urban: int = 6, suburban: int = 6) -> dict[str, Rostered]:
    """People named by pool: r01.., u01.., s01.."""
    people = {}
    for prefix, count, group, region in (
        ("r", remote, "remote", None),
        ("u", urban, "onsite", "urban"),
        ("s", suburban, "onsite", "suburban"),
    ):
        for i in range(1, count + 1):
            staff_id = f"{prefix}{i:02d}"
            people[staff_id] = Rostered(staff_id, group, region)
    return people


def profile(**overrides) -> StaffProfile:
    """A qualified engineer: 30 years old on 2025-06-01, bachelor, 3 years, trained."""
    values = dict(
        id="e1",
        birth_date=date(1995, 1, 15),
        degree="bachelor",
        support_experience_months=36,
        onboarding_hours=20.0,
        exam_passed=True,
    )
    values.update(overrides)
    return StaffProfile(**values)
