"""The dispatch board as a page shows it: the most urgent rows only, counts by GROUP BY.

``server.queries.board.board`` builds every open request's row (2,000 rows to show 200:
most of a board's time). This module gives the same board for the first ``limit`` rows:

- the rows: the database orders the open requests by (priority, earliest deadline of the
  running clocks, id) and hands back the first ``limit + MARGIN``; only those become full
  rows. A clock that was ever paused has no fixed deadline (D6: it moves while paused), so
  requests with such a clock are taken whatever their stored deadline and worked out
  exactly in Python. Their effective deadline is never earlier than the stored one, and
  every other request's order is the database's, so the rows shown are exactly the first
  ``limit`` of the full computation (a test compares both);
- the counts: one GROUP BY (status, priority, most urgent clock state), the paused
  requests added from their exact rows;
- what needs attention: the first ``ATTENTION_SHOWN`` lines and how many in all, from
  narrow queries per kind (never a row per open request);
- who is on duty: every person with how many jobs they hold and the first
  ``DUTY_JOBS_SHOWN`` of them (``server.queries.board_duty``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Float, Integer, String, case, cast, exists, func, literal, null, union_all
from sqlmodel import Session, select

from server.domain import sla as rules
from server.models import (
    ACTIVE_JOB_STATUSES,
    OPEN_STATUSES,
    FieldFact,
    Job,
    JobStatus,
    SlaClock,
    SlaPause,
    SupportRequest,
)
from server.queries.board import (
    ATTENTION_ORDER,
    PRIORITY_ORDER,
    Attention,
    BoardRow,
    by_deadline,
    rows_for,
)
from server.queries.board_duty import BoardDutyGroup, board_duty
from server.queries.clocks import EPOCH, epoch

if TYPE_CHECKING:
    from server.settings import Settings

MARGIN = 20  # extra rows fetched past the limit: ties and float noise at the boundary
ATTENTION_SHOWN = 12  # lines of the attention strip; the rest is a count
STATE_CODE = {4: "breached", 3: "warning"}
COUNTS, FIRST = 0, 1  # parts of board_page's statement (the others: a STATE_CODE each)


@dataclass(frozen=True, slots=True)
class BoardPage:
    """The first rows of the board and everything around them.

    ``open``: how many open requests in all (``rows`` holds the first ``limit``);
    ``attention``: the first ``ATTENTION_SHOWN`` lines, ``attention_total`` of them in all.
    """

    now: datetime
    rows: list[BoardRow]
    open: int
    duty: list[BoardDutyGroup]
    counts: dict[str, int]
    attention: list[Attention]
    attention_total: int


def _clocks(now: datetime, now_s: float, warn_fraction: float):
    """Per open request with a running clock: the earliest deadline (epoch seconds) and the
    most urgent state (4 breached, 3 warning, 1 running: ``clocks.running_clock``'s
    arithmetic). Right for clocks never paused only: D6 moves a paused clock's deadline."""
    started, due = epoch(SlaClock.started_at), epoch(SlaClock.deadline_at)
    state = case(
        (SlaClock.deadline_at <= now, 4),
        (due - started <= 0, 3),
        ((literal(now_s) - started) / (due - started) >= warn_fraction, 3),
        else_=1,
    )
    return (
        select(SlaClock.request_id.label("rid"), func.min(due).label("due"),
               func.max(state).label("worst"))
        .join(SupportRequest, SupportRequest.id == SlaClock.request_id)
        .where(SlaClock.stopped_at.is_(None), SupportRequest.status.in_(OPEN_STATUSES))
        .group_by(SlaClock.request_id)
        .subquery()
    )


def _priority_rank():
    return case(*((SupportRequest.priority == p, rank) for p, rank in PRIORITY_ORDER.items()),
                else_=9)


def board_page(db: Session, now: datetime, settings: Settings, limit: int) -> BoardPage:
    """The first ``limit`` rows of ``board.board`` (same order, same content), its counts,
    attention and who is on duty (bounded), in a fixed number of queries."""
    targets = settings.sla
    conn = db.connection()
    clk = _clocks(now, (now - EPOCH).total_seconds(), targets.warn_fraction)
    is_open = SupportRequest.status.in_(OPEN_STATUSES)
    # requests with a running clock ever paused: worked out exactly, whatever their place
    paused_ids = sorted({r[0] for r in conn.execute(
        select(SlaClock.request_id).join(SlaPause, SlaPause.clock_id == SlaClock.id)
        .join(SupportRequest, SupportRequest.id == SlaClock.request_id)
        .where(SlaClock.stopped_at.is_(None), is_open)).all()})
    paused = SupportRequest.id.in_(paused_ids) if paused_ids else literal(False)

    counts: dict[str, int] = {}

    def add(key: str, n: int) -> None:
        counts[key] = counts.get(key, 0) + n

    # one statement: the open requests' keys worked out once (a materialized CTE), then the
    # counts per (status, priority, most urgent state), the first rows, and the first
    # breached and the first warning ones
    per = (
        select(SupportRequest.id.label("id"), SupportRequest.number.label("number"),
               SupportRequest.priority.label("priority"), SupportRequest.status.label("status"),
               _priority_rank().label("rank"), clk.c.due.label("due"),
               clk.c.worst.label("worst"))
        .outerjoin(clk, clk.c.rid == SupportRequest.id)
        .where(is_open, ~paused)
        .cte("per").prefix_with("MATERIALIZED")
    )
    order = (per.c.rank, per.c.due.is_(None), per.c.due, per.c.id)
    def part(code: int, *, group: bool = False):
        """One part's columns: (part, id, number, priority, status, due, worst, n); typed
        NULLs where a part has no value (PostgreSQL matches the parts' types)."""
        def none(type_):
            return cast(null(), type_)

        return select(
            literal(code).label("part"),
            (none(Integer) if group else per.c.id).label("id"),
            (none(String) if group else per.c.number).label("number"),
            per.c.priority,
            (per.c.status if group else none(String)).label("status"),
            (none(Float) if group else per.c.due).label("due"),
            per.c.worst,
            (func.count() if group else none(Integer)).label("n"))

    parts = [
        part(COUNTS, group=True).group_by(per.c.status, per.c.priority, per.c.worst),
        part(FIRST).order_by(*order).limit(limit + MARGIN),
        *(part(code).where(per.c.worst == code).order_by(*order).limit(ATTENTION_SHOWN)
          for code in STATE_CODE),
    ]
    ids: list[int] = list(paused_ids)
    states: list[tuple[int, str, str, float | None, int]] = []
    for part, rid, number, priority, status, due, worst, n in conn.execute(
        union_all(*(select(p.subquery()) for p in parts))
    ).all():
        if part == COUNTS:
            add(status, n)
            add(priority, n)
            if worst in STATE_CODE:
                add(STATE_CODE[worst], n)
            add("open", n)
        elif part == FIRST:
            ids.append(rid)
        else:
            states.append((rid, number, priority, due, worst))
    exact = rows_for(db, ids, now, targets)
    rows = by_deadline(exact.values())[:limit]
    paused_rows = [exact[i] for i in paused_ids if i in exact]
    for row in paused_rows:
        add(row.status, 1)
        add(row.priority, 1)
        if row.worst in ("breached", "warning"):
            add(row.worst, 1)
        add("open", 1)

    duty = board_duty(db, now, settings)
    lines, total = _attention(conn, states, is_open, exact, paused_rows, duty, counts, now,
                              targets)
    return BoardPage(now, rows, counts.get("open", 0), duty, counts, lines, total)


def _attention(conn, states, is_open, exact: dict[int, BoardRow],
               paused_rows: list[BoardRow], duty, counts: dict[str, int], now: datetime,
               targets: rules.SlaTargets) -> tuple[list[Attention], int]:
    """``board.attention``'s first lines and how many in all, without a row per request.

    Breached and warning: their number is in ``counts``, their first lines in ``states``
    (and the paused requests' exact rows). Nobody on duty, offers not accepted in time,
    flagged facts: narrow queries; the deadlines that order them (within a kind and a
    priority, the board's order) are read only for the kinds that reach the first lines.
    """
    candidates: dict[str, list[tuple[int, str, str]]] = {kind: [] for kind in ATTENTION_ORDER}
    due_of: dict[int, float | None] = {r.id: r.due for r in exact.values()}

    for rid, number, priority, due, worst in states:
        due_of.setdefault(rid, due)
        candidates[STATE_CODE[worst]].append((rid, number, priority))
    for row in paused_rows:
        if row.worst in STATE_CODE.values():
            candidates[row.worst].append((row.id, row.number, row.priority))
    total = counts.get("breached", 0) + counts.get("warning", 0)

    # nobody on duty can take it: handed off, no active job, its group unstaffed
    staffed = {(g.group, g.region) for g in duty if g.people}
    active = exists().where(Job.request_id == SupportRequest.id,
                            Job.status.in_(ACTIVE_JOB_STATUSES))
    for rid, number, priority, classification, region in conn.execute(
        select(SupportRequest.id, SupportRequest.number, SupportRequest.priority,
               SupportRequest.classification, SupportRequest.region)
        .where(SupportRequest.status == "handed_off", ~active)
    ).all():
        kind = classification if classification in ("remote", "onsite") else "remote"
        if (kind, region if kind == "onsite" else None) not in staffed:
            candidates["nobody"].append((rid, number, priority))
            total += 1

    # D8b: an offer not accepted in time (``rules.ack_deadline``: assigned + the priority's
    # timeout <= now, i.e. assigned <= now - timeout)
    timeout = {p: rules.ack_deadline(now, p, targets) - now for p in PRIORITY_ORDER}
    latest = case(*((SupportRequest.priority == p, literal(now - t, Job.assigned_at.type))
                    for p, t in timeout.items()), else_=None)
    late = conn.execute(
        select(SupportRequest.id, SupportRequest.number, SupportRequest.priority).distinct()
        .join(Job, Job.request_id == SupportRequest.id)
        .where(is_open, Job.status == JobStatus.offered, Job.assigned_at <= latest)
    ).all()
    candidates["unacknowledged"] = [tuple(r) for r in late]
    total += len(late)

    # D13-D15: flagged field facts; a check-in beyond the radius: "arrival unconfirmed"
    flagged: dict[int, tuple[str, str, bool]] = {}
    for rid, number, priority, kind, data in conn.execute(
        select(SupportRequest.id, SupportRequest.number, SupportRequest.priority,
               FieldFact.kind, FieldFact.data)
        .join(FieldFact, FieldFact.request_id == SupportRequest.id)
        .where(is_open, FieldFact.flagged, FieldFact.flag_resolved_at.is_(None))
    ).all():
        outside = kind == "check_in" and "outside" in ((data or {}).get("flags") or ())
        was = flagged.get(rid)
        flagged[rid] = (number, priority, outside or (was is not None and was[2]))
    for rid, (number, priority, arrival) in flagged.items():
        candidates["arrival" if arrival else "flagged"].append((rid, number, priority))
    total += len(flagged)

    # the first lines: kinds in order, each in the board's order (priority, deadline, id)
    shown: list[Attention] = []
    for kind in sorted(candidates, key=ATTENTION_ORDER.__getitem__):
        found = candidates[kind]
        if len(shown) >= ATTENTION_SHOWN or not found:
            continue
        _read_dues(conn, due_of, [rid for rid, _n, _p in found])
        far = float("inf")
        found.sort(key=lambda c: (PRIORITY_ORDER.get(c[2], 9),
                                  far if due_of[c[0]] is None else due_of[c[0]], c[0]))
        shown.extend(Attention(rid, number, priority, kind) for rid, number, priority in found)
    return shown[:ATTENTION_SHOWN], total


def _read_dues(conn, due_of: dict[int, float | None], ids: list[int]) -> None:
    """The earliest deadline of each request's running clocks, for those not known yet
    (None: no running clock). The requests with a paused clock are known already."""
    missing = [i for i in ids if i not in due_of]
    for start in range(0, len(missing), 500):
        chunk = missing[start:start + 500]
        due_of.update(dict.fromkeys(chunk))
        due_of.update(conn.execute(
            select(SlaClock.request_id, func.min(epoch(SlaClock.deadline_at)))
            .where(SlaClock.request_id.in_(chunk), SlaClock.stopped_at.is_(None))
            .group_by(SlaClock.request_id)
        ).all())
