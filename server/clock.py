"""The one clock the server reads: every "now" in FieldOps comes from ``utcnow()``.

Production reads the wall clock. Tests and demos can move it, so that a rule depending on the
hour (special periods S1, office hours D17, SLA clocks D5) is exercised at a chosen instant
whatever the date the suite runs on:

- ``freeze(at)`` stops the clock at ``at`` (the test suite's ``clock`` fixture does this for
  every test, so the test and the app under test agree on "now");
- ``start_at(at)`` lets time run on from ``at`` (``FIELDOPS_CLOCK_START`` for a server process
  started by a browser test, or a demo of a holiday night).

Instants are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None
_offset = timedelta(0)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (frozen or shifted when a test or demo asks)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (aware) until ``freeze`` is called again or ``reset``."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at.astimezone(UTC)


def start_at(at: datetime) -> None:
    """Let the clock run on from ``at`` (aware): now = at + real time elapsed since this call."""
    global _frozen, _offset
    if at.tzinfo is None:
        raise ValueError("start_at() needs an aware datetime")
    _frozen = None
    _offset = at.astimezone(UTC) - datetime.now(UTC)


def state() -> tuple[datetime | None, timedelta]:
    """This process's clock, to hand to another process (``set_state``)."""
    return _frozen, _offset


def set_state(value: tuple[datetime | None, timedelta] | None) -> None:
    """Run as the process whose ``state()`` this is (None: the wall clock). The offset is
    to the wall clock both share, so the two agree; a frozen clock stays where it was."""
    global _frozen, _offset
    _frozen, _offset = value if value is not None else (None, timedelta(0))


def reset() -> None:
    """Back to the wall clock."""
    global _frozen, _offset
    _frozen, _offset = None, timedelta(0)


def parse_start(raw: str) -> datetime:
    """``FIELDOPS_CLOCK_START``: an ISO 8601 instant with its offset, e.g.
    ``2026-12-01T13:26:00+08:00``. Raises ValueError for anything else."""
    at = datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise ValueError(f"FIELDOPS_CLOCK_START={raw!r} needs a UTC offset, e.g. +08:00")
    return at
