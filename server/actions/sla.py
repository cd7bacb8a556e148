"""Starting, stopping and pausing a request's SLA clocks (D5, D6, D8a, D8c).

The numbers and the deadline rule are in ``server.domain.sla``; this module only
writes the rows. Every pause and resume is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, event
from sqlmodel import Session, delete, select

from server.actions import ActionError
from server.actions.audit import record
from server.domain import sla as rules
from server.domain.text import N_
from server.models import SlaClock, SlaEvent, SlaPause, SlaRun, SupportRequest

# session.info: request id -> {kind: clock}, every clock of the request read with one query
# and held for a sync push (``server.sync.apply``), as ``field.LOCKED_JOBS`` holds its rows;
# without it (None) each call reads its clock. A rollback empties it (read them again).
HELD_CLOCKS = "fieldops_held_clocks"
# session.info, beside HELD_CLOCKS: clock id -> its open pause (None: not paused), read in
# the same query as the clocks, so stopping a held clock asks nothing more
HELD_PAUSES = "fieldops_held_pauses"


def start_clock(
    db: Session, request: SupportRequest, kind: str, started_at: datetime, targets: rules.SlaTargets
) -> SlaClock:
    """Start (or restart, for a reopened request) one clock of a request."""
    stream_start = request.stream_starts_at if request.stream_state == "upcoming" else None
    deadline = rules.deadline(kind, started_at, request.priority, request.region, targets,
                              stream_starts_at=stream_start)
    clock = _clock(db, request.id, kind)
    if clock is None:
        clock = SlaClock(request_id=request.id, kind=kind, started_at=started_at,
                         deadline_at=deadline)
        held = db.info.get(HELD_CLOCKS) is not None  # the request's clocks were read just now
        if held:
            db.info[HELD_CLOCKS][request.id][kind] = clock
    else:
        held = False
        _held_pause(db, clock, None)  # its pauses are deleted below
        if clock.stopped_at is not None:  # S5: the finished run still counts in the KPIs
            db.add(SlaRun(clock_id=clock.id, request_id=clock.request_id, kind=clock.kind,
                          started_at=clock.started_at, deadline_at=clock.deadline_at,
                          stopped_at=clock.stopped_at, paused_seconds=clock.paused_seconds,
                          breach_reason=clock.breach_reason))  # fmt: skip
        clock.started_at, clock.deadline_at = started_at, deadline
        clock.breach_reason = ""
        clock.stopped_at, clock.paused_seconds = None, 0
        # A new run warns and escalates again (D7): forget the last run's firings and pauses.
        db.exec(delete(SlaEvent).where(SlaEvent.clock_id == clock.id))
        db.exec(delete(SlaPause).where(SlaPause.clock_id == clock.id))
    db.add(clock)
    if not held:  # held: written with the push's other rows; never paused, its pauses
        db.flush()  # are asked for (none) only if it stops in the same push
    return clock


def stop_clock(db: Session, request_id: int, kind: str, at: datetime) -> SlaClock | None:
    """Stop a running clock at the moment the thing happened; a stopped clock stays stopped."""
    clock = _clock(db, request_id, kind)
    if clock is None or clock.stopped_at is not None:
        return clock
    _close_open_pause(db, clock, at)
    clock.stopped_at = max(at, clock.started_at)
    db.add(clock)
    return clock


def stop_at_earliest(db: Session, request_id: int, kind: str, at: datetime) -> SlaClock | None:
    """D8c: the clock stops when the thing first happened, even if that report came last
    (a stopped clock moves back to ``at``, never before it started)."""
    clock = stop_clock(db, request_id, kind, at)
    if clock is not None and clock.stopped_at is not None and at < clock.stopped_at:
        clock.stopped_at = max(at, clock.started_at)
        db.add(clock)
    return clock


def pause_clock(
    db: Session, request_id: int, kind: str, reason: str, by_id: int, at: datetime
) -> SlaPause:
    """D6: only with a recorded reason (customer unreachable, customer asked to wait)."""
    if not reason.strip():
        raise ActionError(N_("Give the reason for pausing the clock."), "reason")
    clock = _running(db, request_id, kind)
    if _open_pause(db, clock) is not None:
        raise ActionError(N_("This clock is already paused."))
    pause = SlaPause(clock_id=clock.id, started_at=at, reason=reason.strip(), by_id=by_id)
    db.add(pause)
    _held_pause(db, clock, pause)
    record(db, "sla.paused", by_id, request_id=request_id, entity="sla_clock",
           entity_id=clock.id, at=at, clock=kind, reason=reason.strip())
    return pause


def resume_clock(db: Session, request_id: int, kind: str, by_id: int, at: datetime) -> SlaClock:
    clock = _running(db, request_id, kind)
    if _open_pause(db, clock) is None:
        raise ActionError(N_("This clock is not paused."))
    _close_open_pause(db, clock, at)
    record(db, "sla.resumed", by_id, request_id=request_id, entity="sla_clock",
           entity_id=clock.id, at=at, clock=kind)
    return clock


def pauses_of(db: Session, clock: SlaClock) -> list[rules.Pause]:
    rows = db.exec(select(SlaPause).where(SlaPause.clock_id == clock.id)).all()
    return [rules.Pause(p.started_at, p.ended_at, p.reason) for p in rows]


# a request's clocks, each with its open pause: built once (a push reads them per request)
# the clocks of some requests, each with its open pause (if any)
_HELD = (select(SlaClock, SlaPause)
         .outerjoin(SlaPause, (SlaPause.clock_id == SlaClock.id) & SlaPause.ended_at.is_(None))
         .where(SlaClock.request_id.in_(bindparam("ids", expanding=True))))


def _clock(db: Session, request_id: int, kind: str) -> SlaClock | None:
    held = db.info.get(HELD_CLOCKS)
    if held is None:
        return db.exec(select(SlaClock).where(SlaClock.request_id == request_id,
                                              SlaClock.kind == kind)).first()
    if request_id not in held:
        hold_clocks(db, {request_id})
    return held[request_id].get(kind)


def hold_clocks(db: Session, request_ids: set[int]) -> None:
    """Read the clocks (with their open pauses) of these requests in one statement and
    hold them for this transaction (``HELD_CLOCKS``): a group of sync pushes reads each
    request's clocks once, not once a push."""
    held = db.info.setdefault(HELD_CLOCKS, {})
    pauses = db.info.setdefault(HELD_PAUSES, {})
    wanted = set(request_ids) - set(held)
    if not wanted:
        return
    for request_id in wanted:
        held[request_id] = {}
    for clock, pause in db.exec(_HELD, params={"ids": sorted(wanted)}).all():
        held[clock.request_id][clock.kind] = clock
        if pauses.get(clock.id) is None:
            pauses[clock.id] = pause


def _held_pause(db: Session, clock: SlaClock, pause: SlaPause | None) -> None:
    """Keep the held open pause of ``clock`` (if its clocks are held) in step."""
    pauses = db.info.get(HELD_PAUSES)
    if pauses is not None and clock.id in pauses:
        pauses[clock.id] = pause


@event.listens_for(Session, "after_rollback")
def _clocks_gone(session: Session) -> None:
    """A rollback, of a savepoint too, undoes clocks started and expires those changed."""
    for key in (HELD_CLOCKS, HELD_PAUSES):
        held = session.info.get(key)
        if held:
            held.clear()


def _running(db: Session, request_id: int, kind: str) -> SlaClock:
    clock = db.exec(
        select(SlaClock).where(SlaClock.request_id == request_id, SlaClock.kind == kind)
    ).first()
    if clock is None or clock.stopped_at is not None:
        raise ActionError(N_("This clock is not running."))
    return clock


def _open_pause(db: Session, clock: SlaClock) -> SlaPause | None:
    if clock.id is None:  # started in this push and not written yet: never paused
        return None
    pauses = db.info.get(HELD_PAUSES)
    if db.info.get(HELD_CLOCKS) is not None and pauses is not None and clock.id in pauses:
        return pauses[clock.id]
    return db.exec(
        select(SlaPause).where(SlaPause.clock_id == clock.id, SlaPause.ended_at.is_(None))
    ).first()


def _close_open_pause(db: Session, clock: SlaClock, at: datetime) -> None:
    pause = _open_pause(db, clock)
    if pause is not None:
        pause.ended_at = max(at, pause.started_at)
        clock.paused_seconds += (pause.ended_at - pause.started_at).total_seconds()
        db.add(pause)
        db.add(clock)
        _held_pause(db, clock, None)
