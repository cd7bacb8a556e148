"""SLA clocks: targets, deadlines, pauses, warnings and breaches (S4, S5, D5-D8c).

Every clock runs in wall-clock time (D6: a live event does not pause at night), so
nothing here looks at the special-period calendar. Every number is a field of
``SlaTargets``, which the settings object fills (``FIELDOPS_SLA_<FIELD>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Literal

ClockKind = Literal["handoff", "first_response", "arrival", "resolution", "follow_up"]
Priority = Literal["P1", "P2", "P3"]
Region = Literal["urban", "suburban"]
ClockState = Literal["running", "paused", "warning", "breached", "met", "missed"]
Level = Literal["warning", "breach"]

CLOCK_KINDS: tuple[ClockKind, ...] = (
    "handoff",
    "first_response",
    "arrival",
    "resolution",
    "follow_up",
)
PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3")
REGIONS: tuple[Region, ...] = ("urban", "suburban")

# D8a: the broadcast bounds the clocks that get the customer back on air. Follow-up
# (feedback after the fix) is not one of them: the stream start says nothing about when
# the customer can be asked how it went.
STREAM_BOUND_KINDS: frozenset[ClockKind] = frozenset(
    {"handoff", "first_response", "arrival", "resolution"}
)


_TARGET_PREFIXES = tuple(f"{kind}_p" for kind in CLOCK_KINDS) + ("ack_timeout_",)


@dataclass(frozen=True)
class SlaTargets:
    """Table D5 and the other D-rule numbers, one field per number so settings can set each."""

    # handoff: received -> handed to technical service (S4: 10 minutes)
    handoff_p1_minutes: int = 10
    handoff_p2_minutes: int = 10
    handoff_p3_minutes: int = 10
    # first response: handed off -> an engineer accepts / first contact
    first_response_p1_minutes: int = 5
    first_response_p2_minutes: int = 15
    first_response_p3_minutes: int = 15
    # onsite arrival: dispatched onsite -> GPS check-in at the venue, per region
    arrival_p1_urban_minutes: int = 45
    arrival_p1_suburban_minutes: int = 90
    arrival_p2_urban_minutes: int = 60
    arrival_p2_suburban_minutes: int = 120
    arrival_p3_urban_minutes: int = 60
    arrival_p3_suburban_minutes: int = 120
    # resolution: handed off -> fix confirmed (or a swap unit working)
    resolution_p1_minutes: int = 60
    resolution_p2_minutes: int = 240
    resolution_p3_minutes: int = 240
    # follow-up: resolved -> customer feedback recorded
    follow_up_p1_minutes: int = 1440
    follow_up_p2_minutes: int = 1440
    follow_up_p3_minutes: int = 1440
    # D7: the dispatcher is warned at this fraction of a clock
    warn_fraction: float = 0.8
    # D8a: deadlines end this long before an upcoming stream starts
    stream_buffer_minutes: int = 30
    # D8: a remote job unsolved this long offers "escalate to onsite"
    remote_escalate_after_minutes: int = 30
    # D8: an onsite P1 not fixed this long after check-in offers "swap the device"
    swap_offer_after_checkin_minutes: int = 20
    # D8b: an assignment not accepted within this is offered to the next engineer
    ack_timeout_p1_minutes: int = 3
    ack_timeout_p2_minutes: int = 10
    ack_timeout_p3_minutes: int = 10
    # D8c: a device time this far ahead of the server is not believed
    max_future_skew_seconds: int = 120
    # D8c: a phone clock off by more than this (measured at each push) is corrected and
    # the facts it dated are flagged; a smaller offset is corrected silently
    clock_flag_seconds: int = 300

    def __post_init__(self) -> None:
        if not 0 < self.warn_fraction < 1:
            raise ValueError("warn_fraction must be between 0 and 1")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "warn_fraction" and value < 0:
                raise ValueError(f"{f.name} must not be negative")
            if f.name.startswith(_TARGET_PREFIXES) and value <= 0:
                raise ValueError(f"{f.name} must be positive")


def _check_priority(priority: str) -> None:
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}")


def _check_aware(*instants: datetime | None) -> None:
    for instant in instants:
        if instant is not None and (instant.tzinfo is None or instant.utcoffset() is None):
            raise ValueError("SLA instants must be timezone-aware")


def target_minutes(
    kind: ClockKind, priority: Priority, region: Region | None, targets: SlaTargets
) -> int:
    """D5: the policy target of one clock. Only the arrival clock depends on the region."""
    if kind not in CLOCK_KINDS:
        raise ValueError(f"unknown clock kind {kind!r}")
    _check_priority(priority)
    name = f"{kind}_{priority.lower()}"
    if kind == "arrival":
        if region not in REGIONS:
            raise ValueError(f"the arrival clock needs a region, got {region!r}")
        name += f"_{region}"
    return getattr(targets, f"{name}_minutes")


def deadline(
    kind: ClockKind,
    started_at: datetime,
    priority: Priority,
    region: Region | None,
    targets: SlaTargets,
    stream_starts_at: datetime | None = None,
) -> datetime:
    """The deadline before pauses: the policy target, or earlier if a stream needs it.

    D8a: the earlier of the target and (stream start - buffer), never before the clock
    started: a request that comes in after the buffer has begun is due at once. A
    stream that had already started when the clock started no longer sets a deadline
    (it is live, and the P1 targets apply, D4).
    """
    _check_aware(started_at, stream_starts_at)
    policy = started_at + timedelta(minutes=target_minutes(kind, priority, region, targets))
    if stream_starts_at is None or kind not in STREAM_BOUND_KINDS:
        return policy
    if stream_starts_at <= started_at:
        return policy
    broadcast = stream_starts_at - timedelta(minutes=targets.stream_buffer_minutes)
    return max(started_at, min(policy, broadcast))


@dataclass(frozen=True)
class Pause:
    """D6: a clock pauses only with a recorded reason (customer unreachable, asked to wait)."""

    started_at: datetime
    ended_at: datetime | None
    reason: str

    def __post_init__(self) -> None:
        _check_aware(self.started_at, self.ended_at)
        if not self.reason.strip():
            raise ValueError("a pause needs a reason (D6)")
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("a pause cannot end before it starts")

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


def paused_seconds(pauses: Iterable[Pause], now: datetime, since: datetime | None = None) -> float:
    """Seconds paused up to ``now`` (and after ``since``); overlapping pauses count once."""
    _check_aware(now, since)
    spans = []
    for p in pauses:
        start = p.started_at if since is None else max(p.started_at, since)
        end = now if p.ended_at is None else min(p.ended_at, now)
        if end > start:
            spans.append((start, end))
    total = 0.0
    reach: datetime | None = None
    for start, end in sorted(spans):
        if reach is not None and start < reach:
            start = reach
        if end > start:
            total += (end - start).total_seconds()
        reach = end if reach is None else max(reach, end)
    return total


@dataclass(frozen=True)
class ClockStatus:
    """A clock as seen at one instant: ``at`` is now, or the stop time once stopped.

    ``remaining_seconds`` is negative when overdue; while paused it stays still.
    """

    state: ClockState
    at: datetime
    started_at: datetime
    deadline: datetime
    effective_deadline: datetime
    paused_seconds: float
    elapsed_seconds: float
    budget_seconds: float
    remaining_seconds: float
    fraction_used: float
    warn_fraction: float

    @property
    def stopped(self) -> bool:
        return self.state in ("met", "missed")


def clock_status(
    started_at: datetime,
    deadline: datetime,
    pauses: Iterable[Pause],
    stopped_at: datetime | None,
    now: datetime,
    targets: SlaTargets,
) -> ClockStatus:
    """D6: the deadline moves by the time paused; D7: warning at 80 %, breach at 100 %.

    A clock that stopped (D8c: at the field fact's time) is 'met' when it stopped on or
    before its effective deadline and 'missed' otherwise.
    """
    _check_aware(started_at, deadline, stopped_at, now)
    pauses = list(pauses)
    at = stopped_at if stopped_at is not None else now
    paused = paused_seconds(pauses, at, since=started_at)
    effective = deadline + timedelta(seconds=paused)
    budget = (deadline - started_at).total_seconds()
    elapsed = max(0.0, (at - started_at).total_seconds() - paused)
    remaining = (effective - at).total_seconds()
    fraction = elapsed / budget if budget > 0 else 1.0
    state: ClockState
    if stopped_at is not None:
        state = "met" if stopped_at <= effective else "missed"
    elif remaining <= 0:
        state = "breached"
    elif any(p.is_open and p.started_at <= at for p in pauses):
        state = "paused"
    elif fraction >= targets.warn_fraction:
        state = "warning"
    else:
        state = "running"
    return ClockStatus(
        state=state,
        at=at,
        started_at=started_at,
        deadline=deadline,
        effective_deadline=effective,
        paused_seconds=paused,
        elapsed_seconds=elapsed,
        budget_seconds=budget,
        remaining_seconds=remaining,
        fraction_used=fraction,
        warn_fraction=targets.warn_fraction,
    )


def due_levels(status: ClockStatus, fired: set[str] | frozenset[str]) -> list[Level]:
    """D7: the notices to fire now, each once (``fired`` holds those already recorded).

    After a pause in the loop both can be due at once; the caller records both so
    neither fires again. A stopped clock fires nothing: its outcome is its state.
    """
    if status.stopped:
        return []
    due: list[Level] = []
    if status.fraction_used >= status.warn_fraction and "warning" not in fired:
        due.append("warning")
    if status.remaining_seconds <= 0 and "breach" not in fired:
        due.append("breach")
    return due


def ack_deadline(assigned_at: datetime, priority: Priority, targets: SlaTargets) -> datetime:
    """D8b: when an unaccepted assignment moves on to the next engineer."""
    _check_aware(assigned_at)
    _check_priority(priority)
    minutes = getattr(targets, f"ack_timeout_{priority.lower()}_minutes")
    return assigned_at + timedelta(minutes=minutes)


def escalation_offered(remote_started_at: datetime, now: datetime, targets: SlaTargets) -> bool:
    """D8: a remote job not solved within 30 min offers "escalate to onsite"."""
    _check_aware(remote_started_at, now)
    return now - remote_started_at >= timedelta(minutes=targets.remote_escalate_after_minutes)


def swap_offered(
    priority: Priority, checked_in_at: datetime | None, now: datetime, targets: SlaTargets
) -> bool:
    """D8: an onsite P1 not fixed 20 min after check-in offers "swap the device"."""
    _check_priority(priority)
    if priority != "P1" or checked_in_at is None:
        return False
    _check_aware(checked_in_at, now)
    return now - checked_in_at >= timedelta(minutes=targets.swap_offer_after_checkin_minutes)


def plausible_fact_time(
    device_time: datetime | None,
    dispatched_at: datetime | None,
    server_now: datetime,
    targets: SlaTargets,
) -> tuple[datetime, bool]:
    """D8c: the moment a field fact happened, and whether it had to be flagged.

    The device's own time is believed unless it is in the future beyond the tolerated
    clock skew or before the job was dispatched (a phone clock hours wrong); then the
    server's time is used and the fact is flagged for the dispatcher. A small skew
    either way is clamped rather than flagged: a fact cannot predate its dispatch or
    postdate its arrival.
    """
    _check_aware(dispatched_at, server_now)
    if device_time is None or device_time.tzinfo is None or device_time.utcoffset() is None:
        return server_now, True
    skew = timedelta(seconds=targets.max_future_skew_seconds)
    if device_time > server_now + skew:
        return server_now, True
    if dispatched_at is not None and device_time < dispatched_at - skew:
        return server_now, True
    fact = min(device_time, server_now)
    if dispatched_at is not None:
        fact = max(fact, dispatched_at)
    return fact, False
