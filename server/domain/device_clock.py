"""D8c: the phone's clock, measured and corrected, before a clock stops on its times.

Every push carries the phone's clock at the moment it was sent (``sent_at``). The server
compares it with its own clock on arrival: the difference is how far the phone's clock is
off (plus the network's delay, a second or two). Every device time in that push is moved
by the same offset, so a phone 14 minutes slow cannot make a late arrival look on time,
nor one 14 minutes fast make it look later than it was. An offset beyond the threshold
also flags the facts, so the dispatcher knows their times were corrected.

Instants outside the years 2000-2200 are not a phone's honest clock (and 9999-12-31 with
a -14:00 offset cannot even be turned into UTC): they count as no device time at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
NOISE = timedelta(seconds=30)  # network delay (a photo upload) and rounding: not corrected


def sane_instant(value: datetime | None) -> datetime | None:
    """The instant in UTC, or None when it is naive, unrepresentable or absurd."""
    if value is None or value.tzinfo is None or value.utcoffset() is None:
        return None
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST <= utc < LATEST else None


@dataclass(frozen=True)
class ClockOffset:
    """How far the phone's clock was behind the server's (positive: the phone is slow)."""

    offset: timedelta
    flagged: bool  # beyond the threshold: the dispatcher is told

    def correct(self, device_time: datetime | None) -> datetime | None:
        """The device time moved onto the server's clock; None stays None."""
        if device_time is None:
            return None
        return sane_instant(device_time + self.offset) if abs(self.offset) > NOISE else device_time


NO_OFFSET = ClockOffset(timedelta(0), False)


def measure(sent_at: datetime | None, received_at: datetime, flag_seconds: int) -> ClockOffset:
    """The phone's clock at send time against the server's at arrival (D8c).

    ``sent_at`` None (an older phone, or an unreadable value) measures nothing."""
    sent = sane_instant(sent_at)
    if sent is None:
        return NO_OFFSET
    offset = received_at - sent
    if abs(offset) <= NOISE:
        return NO_OFFSET
    return ClockOffset(offset, abs(offset) > timedelta(seconds=flag_seconds))
