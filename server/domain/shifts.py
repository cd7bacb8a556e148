"""The special-period shift slots every roster rule and report talks about (D10)."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

ShiftKind = Literal["night", "day"]
DayKind = Literal["workday", "weekend", "holiday"]


@dataclass(frozen=True, order=True)
class ShiftSlot:
    """One special-period shift: a night (18:00-08:00) or a weekend/holiday day (08:00-18:00).

    ``day`` is the local date the shift belongs to: the night of 1 May runs from 1 May
    18:00 to 2 May 08:00. ``day_kind`` is the kind of that date, which with ``statutory``
    decides how the hours are paid (D16). ``starts_at``/``ends_at`` are timezone-aware.
    """

    day: date
    kind: ShiftKind
    starts_at: datetime
    ends_at: datetime
    day_kind: DayKind
    statutory: bool = False  # one of the 13 statutory holidays (D16): paid as a holiday

    @property
    def key(self) -> tuple[date, ShiftKind]:
        return (self.day, self.kind)

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600
