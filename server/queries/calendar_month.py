"""A month of the special-period calendar as the support manager sees it (S1, D2, D10)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from chinese_calendar.constants import Holiday
from sqlmodel import Session, select

from server.domain.calendar import SpecialCalendar
from server.domain.shifts import ShiftSlot
from server.models import CalendarOverride

# The package names holidays in English; the Chinese name comes with each of its members.
CHINESE_HOLIDAY_NAMES = {h.value: h.chinese for h in Holiday}


@dataclass(frozen=True)
class DayCell:
    day: date
    kind: str  # workday | weekend | holiday
    holiday_name: str | None
    makeup: bool  # a Saturday or Sunday made a working day (调休上班)
    override: bool  # entered by the manager
    in_month: bool
    today: bool
    shifts: list[ShiftSlot] = field(default_factory=list)


@dataclass(frozen=True)
class MonthView:
    year: int
    month: int
    weeks: list[list[DayCell]]
    missing_years: list[int]  # D2: years the package lacks, among those that matter now
    override_counts: dict[int, int]
    previous: str
    next: str

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def holiday_label(name: str | None, locale: str) -> str | None:
    """A package holiday name in the reader's language; a manager's own name as typed."""
    if name and locale.startswith("zh"):
        return CHINESE_HOLIDAY_NAMES.get(name, name)
    return name


def month_view(cal: SpecialCalendar, year: int, month: int, today: date, locale: str) -> MonthView:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    start = first - timedelta(days=first.weekday())  # weeks start on Monday
    end = following + timedelta(days=(7 - following.weekday()) % 7) - timedelta(days=1)
    slots: dict[date, list[ShiftSlot]] = {}
    for slot in cal.slots_between(start, end):
        slots.setdefault(slot.day, []).append(slot)
    cells = []
    day = start
    while day <= end:
        kind = cal.day_kind(day)
        cells.append(DayCell(
            day=day, kind=kind, holiday_name=holiday_label(cal.holiday_name(day), locale),
            makeup=cal.is_makeup_workday(day), override=day in cal.overrides,
            in_month=first <= day < following, today=day == today, shifts=slots.get(day, []),
        ))  # fmt: skip
        day += timedelta(days=1)
    years = sorted({today.year, today.year + 1, year})
    previous = first - timedelta(days=1)
    return MonthView(
        year=year,
        month=month,
        weeks=[cells[i : i + 7] for i in range(0, len(cells), 7)],
        missing_years=cal.missing_years(years),
        override_counts={y: cal.override_count(y) for y in years},
        previous=f"{previous.year:04d}-{previous.month:02d}",
        next=f"{following.year:04d}-{following.month:02d}",
    )


def overrides(db: Session) -> list[CalendarOverride]:
    return list(db.exec(select(CalendarOverride).order_by(CalendarOverride.day)))
