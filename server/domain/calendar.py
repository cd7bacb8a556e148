"""The special-period calendar: which instants are special and which shift owns them.

S1: special periods are every night 18:00-08:00 plus the whole day of weekends and
statutory holidays. D1: every rule works in Asia/Shanghai; instants may arrive in any
zone but must be timezone-aware. D2: the official schedule moves days around (a
Saturday can be a make-up working day, a Thursday a holiday); the ``chinesecalendar``
package knows it for the years it covers, overrides entered by the support manager win
over it, and a year nobody covers falls back to plain weekends instead of crashing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar

from server.domain.holidays import statutory_name
from server.domain.shifts import DayKind, ShiftSlot

DAY_KINDS: tuple[DayKind, ...] = ("workday", "weekend", "holiday")


@dataclass(frozen=True)
class DayOverride:
    """One day of the official schedule entered by hand (D2), e.g. for a year the
    package does not cover yet. ``kind='workday'`` on a Saturday is a make-up working day."""

    day: date
    kind: DayKind
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in DAY_KINDS:
            raise ValueError(f"unknown day kind {self.kind!r}")


@lru_cache(maxsize=64)
def _package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_holiday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _package_day(d: date) -> tuple[DayKind, str | None] | None:
    """The package's view of a day, or None when it has no data for that year.

    The package names the holiday a make-up working day belongs to, and a plain weekend
    has no name: a rest day with a name is a statutory holiday (or one of its moved days
    off), a rest day without one is an ordinary weekend.
    """
    try:
        rest, name = chinese_calendar.get_holiday_detail(d)
    except NotImplementedError:
        return None
    if not rest:
        return "workday", None
    if name is None:
        return "weekend", None
    return "holiday", name


@dataclass(frozen=True)
class OfficeHours:
    """D17: the daytime hours of an official working day, e.g. 08:00-18:00."""

    start: time = time(8)
    end: time = time(18)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("office hours must start before they end, within one day")

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """'08:00-18:00' (setting FIELDOPS_OFFICE_HOURS); ValueError on anything else."""
        try:
            first, last = (part.strip() for part in text.split("-"))
            return cls(time.fromisoformat(first), time.fromisoformat(last))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"office hours {text!r}: expected HH:MM-HH:MM, e.g. 08:00-18:00") from exc

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _ensure_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware (D1: store and compare real instants)")


class SpecialCalendar:
    """The official day kinds plus the night hours, in one local time zone (D1, D2)."""

    def __init__(
        self,
        overrides: Mapping[date, DayOverride] | Iterable[DayOverride] = (),
        tz_name: str = "Asia/Shanghai",
        night_start: time = time(18),
        night_end: time = time(8),
    ) -> None:
        if not night_end < night_start:
            raise ValueError("a night must start in the evening and end the next morning")
        if isinstance(overrides, Mapping):
            items = dict(overrides)
            for key, value in items.items():
                if key != value.day:
                    raise ValueError(f"override keyed by {key} is for {value.day}")
        else:
            items = {o.day: o for o in overrides}
        self.overrides: Mapping[date, DayOverride] = MappingProxyType(items)
        self.tz = ZoneInfo(tz_name)
        self.night_start = night_start
        self.night_end = night_end

    # -- days -------------------------------------------------------------------------

    def day_kind(self, d: date) -> DayKind:
        """'holiday', 'weekend' or 'workday' (a make-up working day is a workday, D2)."""
        override = self.overrides.get(d)
        if override is not None:
            return override.kind
        known = _package_day(d)
        if known is not None:
            return known[0]
        return "weekend" if d.weekday() >= 5 else "workday"

    def holiday_name(self, d: date) -> str | None:
        """The holiday's name on a holiday day; None on other days.

        Package names are English ('Spring Festival'); override names are whatever the
        manager typed. Either is data for display, never a msgid.
        """
        override = self.overrides.get(d)
        if override is not None:
            return (override.name or None) if override.kind == "holiday" else None
        known = _package_day(d)
        if known is not None and known[0] == "holiday":
            return known[1]
        return None

    def is_statutory(self, d: date) -> bool:
        """D16: one of the 13 days the national rule names, and a day off.

        The rule (``server.domain.holidays``) decides which days are statutory, for every
        year, from lunar dates; the day kind (package or the manager's override) decides
        whether it is a day off. A holiday block's other days off are rest days.
        """
        return self.day_kind(d) != "workday" and statutory_name(d) is not None

    def pay_kind(self, d: date) -> str:
        """D16: 'statutory', 'rest' (a weekend or another day off) or 'workday'."""
        if self.is_statutory(d):
            return "statutory"
        return "workday" if self.day_kind(d) == "workday" else "rest"

    def is_makeup_workday(self, d: date) -> bool:
        """A Saturday or Sunday that the official schedule turns into a working day."""
        return d.weekday() >= 5 and self.day_kind(d) == "workday"

    def is_covered(self, year: int) -> bool:
        """Whether the package has the official schedule for ``year``.

        Overrides do not count: the manager may have entered only a few days, so the
        warning stays until the package itself knows the year.
        """
        return _package_covers(year)

    def missing_years(self, years: Iterable[int]) -> list[int]:
        """Years the package lacks, for the manager's visible warning (D2)."""
        return sorted({y for y in years if not self.is_covered(y)})

    def override_count(self, year: int) -> int:
        """How many days of ``year`` the manager entered by hand, shown beside the warning."""
        return sum(1 for d in self.overrides if d.year == year)

    # -- instants ---------------------------------------------------------------------

    def local(self, instant: datetime) -> datetime:
        _ensure_aware(instant)
        return instant.astimezone(self.tz)

    def is_special(self, instant: datetime) -> bool:
        """S1: every night, plus the whole day of weekends and holidays."""
        return self.slot_at(instant) is not None

    def slot_at(self, instant: datetime) -> ShiftSlot | None:
        """The shift that owns ``instant``; None on a working day's office hours.

        02:00 on 2 May belongs to the night of 1 May (the night is named after the
        evening it starts on).
        """
        local = self.local(instant)
        t = local.time()
        if t >= self.night_start:
            return self.night_slot(local.date())
        if t < self.night_end:
            return self.night_slot(local.date() - timedelta(days=1))
        if self.day_kind(local.date()) != "workday":
            return self.day_slot(local.date())
        return None

    def office_hours_at(self, instant: datetime, hours: OfficeHours) -> datetime | None:
        """D17: when ``instant`` falls in a working day's office hours (make-up Saturdays
        included, holidays excluded), the local instant those hours end; else None."""
        local = self.local(instant)
        if self.day_kind(local.date()) != "workday":
            return None
        if not hours.start <= local.time() < hours.end:
            return None
        return self._at(local.date(), hours.end)

    # -- slots ------------------------------------------------------------------------

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def night_slot(self, d: date) -> ShiftSlot:
        """D10: the night of ``d`` runs from ``d`` 18:00 to the next day 08:00."""
        return ShiftSlot(
            day=d,
            kind="night",
            starts_at=self._at(d, self.night_start),
            ends_at=self._at(d + timedelta(days=1), self.night_end),
            day_kind=self.day_kind(d),
            statutory=self.is_statutory(d),
        )

    def day_slot(self, d: date) -> ShiftSlot:
        """D10: the day shift 08:00-18:00, which exists only on weekends and holidays."""
        kind = self.day_kind(d)
        if kind == "workday":
            raise ValueError(f"{d} is a working day: it has no special day shift")
        return ShiftSlot(
            day=d,
            kind="day",
            starts_at=self._at(d, self.night_end),
            ends_at=self._at(d, self.night_start),
            day_kind=kind,
            statutory=self.is_statutory(d),
        )

    def slots_between(self, first_day: date, last_day: date) -> list[ShiftSlot]:
        """Every special-period shift of the days ``first_day``..``last_day``, in order."""
        slots: list[ShiftSlot] = []
        d = first_day
        while d <= last_day:
            if self.day_kind(d) != "workday":
                slots.append(self.day_slot(d))
            slots.append(self.night_slot(d))
            d += timedelta(days=1)
        return slots

    def month_slots(self, year: int, month: int) -> list[ShiftSlot]:
        """The shifts a monthly roster (S10) has to cover."""
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return self.slots_between(first, following - timedelta(days=1))
