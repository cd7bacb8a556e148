"""Slowing down repeated failed sign-ins (a brute-force guard)."""

from __future__ import annotations

from datetime import datetime


def wait_seconds(failures: list[datetime], now: datetime, max_failures: int, window_s: int) -> int:
    """Seconds the next attempt must wait, given recent failures (any order).

    Up to ``max_failures`` failures within the window cost nothing; each one beyond
    doubles the wait after the latest failure (2 s, 4 s, 8 s ...), capped at the window.
    """
    recent = sorted(t for t in failures if (now - t).total_seconds() < window_s)
    excess = len(recent) - max_failures + 1
    if excess <= 0:
        return 0
    delay = min(2**excess, window_s)
    waited = (now - recent[-1]).total_seconds()
    return max(0, int(delay - waited + 0.999))
