"""The sign-in throttle's rule: a sliding window per client address and per address
and username together, so a stranger's guesses never lock the real person out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_USERNAME = 64  # longer names exist nowhere; they are counted under their first 64


@dataclass(frozen=True)
class Limits:
    per_pair: int = 5  # failures per address and username within the window
    per_address: int = 30  # failures per address, whatever the usernames
    window_s: int = 900


def keys(address: str, username: str, limits: Limits) -> list[tuple[str, int]]:
    """The counters one attempt counts against, each with its limit, in a fixed order
    (the order locks are taken in). The username alone is never a key: that would let
    anyone lock the dispatcher out by guessing from elsewhere."""
    name = username.replace("\x00", "")[:MAX_USERNAME]
    address = address.replace("\x00", "")[:64] or "unknown"
    return [(f"addr:{address}", limits.per_address), (f"pair:{address}|{name}", limits.per_pair)]


def over_limit(counts: list[int], limits: list[int]) -> bool:
    """Whether an attempt may not be evaluated: some counter already holds its limit."""
    return any(count >= limit for count, limit in zip(counts, limits, strict=True))


def retry_after(oldest_in_window: list[datetime], now: datetime, window_s: int) -> int:
    """Seconds until the full counters' oldest attempts leave the window (at least 1)."""
    waits = [window_s - (now - t).total_seconds() for t in oldest_in_window]
    return max(1, int(max(waits, default=1) + 0.999))
