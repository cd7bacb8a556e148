"""What the dispatch board shows: read-only, loaded in bulk.

The board answers in a fixed handful of queries whatever the number of open requests
(requests, running clocks, their pauses, active jobs with their engineers, unresolved
field flags, who is on duty): no query per row. The clocks' views and their speed are
``server.queries.clocks``; who is on duty, per group, ``server.queries.duty``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, select

from server.domain import sla as rules
from server.domain.text import N_
from server.models import (
    ACTIVE_JOB_STATUSES,
    OPEN_STATUSES,
    FieldFact,
    Job,
    JobStatus,
    SlaClock,
    SlaPause,
    Staff,
    SupportRequest,
    Venue,
)
from server.queries.clocks import (
    CLOCK_ORDER,
    EPOCH,
    URGENCY,
    ClockView,
    clock_view,
    epoch,
    pauses_of,
)
from server.queries.duty import DutyGroup, duty_groups

if TYPE_CHECKING:
    from server.settings import Settings

PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2}


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    status: str
    assignee_id: int | None
    assignee_name: str
    assigned_at: datetime | None = None


@dataclass(slots=True)
class BoardRow:
    id: int
    number: str
    priority: str
    status: str
    classification: str
    stream_state: str
    stream_starts_at: datetime | None
    customer_name: str
    venue: str
    region: str
    device_type: str
    is_drill: bool
    clocks: list[ClockView] = field(default_factory=list)
    jobs: list[JobView] = field(default_factory=list)
    flags: int = 0
    arrival_unconfirmed: bool = False  # D15: a check-in beyond the radius awaits the dispatcher
    due: float | None = None  # the earliest effective deadline of the running clocks
    worst: str = ""  # the most urgent state of its clocks: breached > warning > paused > running

    @property
    def step(self) -> str:
        """The current step, as a msgid; the assignee names are shown next to it."""
        if self.status == "new":
            return N_("Being recorded by the agent")
        if not self.jobs:
            if self.classification == "onsite":
                return N_("Waiting for an onsite engineer")
            return N_("Waiting for a remote engineer")
        return STEP_BY_JOB_STATUS.get(self.jobs[0].status, N_("In progress"))


STEP_BY_JOB_STATUS = {
    JobStatus.offered: N_("Waiting for the engineer to accept"),
    JobStatus.accepted: N_("Engineer working on it"),
    JobStatus.en_route: N_("Engineer on the way"),
    JobStatus.on_site: N_("Engineer at the venue"),
}
STEPS = (N_("Being recorded by the agent"), N_("Waiting for an onsite engineer"),
         N_("Waiting for a remote engineer"), N_("In progress"), *STEP_BY_JOB_STATUS.values())


@dataclass(frozen=True, slots=True)
class Attention:
    """One line of the board's attention strip, linking to its request."""

    request_id: int
    number: str
    priority: str
    kind: str  # unacknowledged | breached | warning | flagged | arrival | nobody


ATTENTION_LABELS = {
    "nobody": N_("Nobody on duty can take it"),
    "breached": N_("Breached"),
    "unacknowledged": N_("Assignment not accepted in time"),
    "arrival": N_("Arrival unconfirmed"),
    "flagged": N_("Field facts flagged for the dispatcher"),
    "warning": N_("Warning"),
}
ATTENTION_ORDER = {kind: i for i, kind in enumerate(ATTENTION_LABELS)}


@dataclass(frozen=True, slots=True)
class Board:
    now: datetime
    rows: list[BoardRow]
    duty: list[DutyGroup]
    counts: dict[str, int]
    attention: list[Attention] = field(default_factory=list)


def rows_for(
    db: Session, ids_query, now: datetime, targets: rules.SlaTargets,
    by_person: dict[int, list[tuple[int, str, str, str]]] | None = None,
) -> dict[int, BoardRow]:
    """Board rows for the requests ``ids_query`` selects (a query, or a list of ids), in a
    fixed number of queries.

    Plain Core statements on the session's connection: the rows are tuples, which
    skips the ORM's per-row work (a third of the time at 2,000 requests).
    """
    conn = db.connection()
    requests = conn.execute(
        select(
            SupportRequest.id, SupportRequest.number, SupportRequest.priority,
            SupportRequest.status, SupportRequest.classification, SupportRequest.stream_state,
            SupportRequest.stream_starts_at, SupportRequest.customer_name,
            func.coalesce(Venue.name, SupportRequest.address), SupportRequest.region,
            SupportRequest.device_type, SupportRequest.is_drill,
        )
        .join(Venue, Venue.id == SupportRequest.venue_id, isouter=True)
        .where(SupportRequest.id.in_(ids_query))
    ).all()
    rows = {r[0]: BoardRow(*r) for r in requests}
    if not rows:
        return rows

    running = SlaClock.request_id.in_(ids_query), SlaClock.stopped_at.is_(None)
    clock_rows = conn.execute(
        select(SlaClock.id, SlaClock.request_id, SlaClock.kind, epoch(SlaClock.started_at),
               epoch(SlaClock.deadline_at))
        .where(*running)
    ).all()
    paused = conn.execute(select(SlaPause.clock_id).where(
        SlaPause.clock_id.in_(select(SlaClock.id).where(*running)))).all()
    pauses = pauses_of(db, select(SlaClock.id).where(*running)) if paused else {}
    now_s = (now - EPOCH).total_seconds()
    for clock_id, request_id, kind, started_s, deadline_s in clock_rows:
        # julianday() arithmetic leaves float noise (19:03:59.99998 for 19:04:00): the
        # stored instants have whole milliseconds at most, so round to them
        started_s, deadline_s = round(started_s, 3), round(deadline_s, 3)
        row = rows.get(request_id)
        if row is not None:
            view = clock_view(kind, started_s, deadline_s, pauses.get(clock_id), now, now_s,
                              targets)
            row.clocks.append(view)
            if row.due is None or view.deadline_s < row.due:
                row.due = view.deadline_s
            if URGENCY[view.state] > URGENCY[row.worst]:
                row.worst = view.state
    for row in rows.values():
        if len(row.clocks) > 1:
            row.clocks.sort(key=lambda v: CLOCK_ORDER[v.kind])

    jobs = conn.execute(
        select(Job.id, Job.request_id, Job.kind, Job.status, Job.assignee_id, Staff.display_name,
               Job.assigned_at)
        .join(Staff, Staff.id == Job.assignee_id, isouter=True)
        .where(Job.request_id.in_(ids_query), Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(Job.id)
    ).all()
    for job_id, request_id, kind, status, assignee_id, name, assigned_at in jobs:
        row = rows.get(request_id)
        if row is None:
            continue
        if assigned_at is not None and assigned_at.tzinfo is None:
            assigned_at = assigned_at.replace(tzinfo=UTC)
        row.jobs.append(JobView(job_id, kind, status, assignee_id, name or "—", assigned_at))
        if assignee_id is not None and by_person is not None:
            by_person[assignee_id].append((request_id, row.number, row.priority, status))
    # onsite first: the step shown is the one the customer waits on most
    for row in rows.values():
        if len(row.jobs) > 1:
            row.jobs.sort(key=lambda j: (j.kind != "onsite", j.id))

    for request_id, kind, data in conn.execute(
        select(FieldFact.request_id, FieldFact.kind, FieldFact.data)
        .where(FieldFact.flagged, FieldFact.flag_resolved_at.is_(None),
               FieldFact.request_id.in_(ids_query))
    ).all():
        row = rows.get(request_id)
        if row is not None:
            row.flags += 1
            if kind == "check_in" and "outside" in ((data or {}).get("flags") or ()):
                row.arrival_unconfirmed = True
    return rows


def by_deadline(rows) -> list[BoardRow]:
    """D4: P1 first in every queue; within a priority the earliest effective deadline
    first (no running clock last), then the oldest."""
    far = float("inf")
    return sorted(rows, key=lambda r: (PRIORITY_ORDER.get(r.priority, 9),
                                       far if r.due is None else r.due, r.id))


def board(db: Session, now: datetime, settings: Settings) -> Board:
    """Every open request with its running clocks (P1 first, then the soonest deadline;
    ``settings.sla``'s targets), who is on duty (D11, D17 with ``settings``' office hours)
    and what needs attention."""
    targets = settings.sla
    open_ids = select(SupportRequest.id).where(SupportRequest.status.in_(OPEN_STATUSES))
    by_person: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    rows = rows_for(db, open_ids, now, targets, by_person)
    duty = duty_groups(db, now, settings, by_person)
    ordered = by_deadline(rows.values())
    counts: dict[str, int] = defaultdict(int)
    for row in ordered:
        counts[row.status] += 1
        counts[row.priority] += 1
        worst = row.worst
        if worst in ("breached", "warning"):
            counts[worst] += 1
    counts["open"] = len(ordered)
    return Board(now, ordered, duty, dict(counts), attention(ordered, duty, now, targets))


def attention(rows: list[BoardRow], duty: list[DutyGroup], now: datetime,
              targets: rules.SlaTargets) -> list[Attention]:
    """What the dispatcher must look at now, most pressing first: requests nobody on duty
    can take, breaches, assignments not accepted in time (D8b), unconfirmed arrivals
    (D15), flagged field facts (D13-D14), warnings."""
    staffed = {(g.group, g.region) for g in duty if g.people}
    out: list[Attention] = []
    for r in rows:
        kinds = []
        if r.status == "handed_off" and not r.jobs:
            kind = r.classification if r.classification in ("remote", "onsite") else "remote"
            if (kind, r.region if kind == "onsite" else None) not in staffed:
                kinds.append("nobody")
        if r.worst in ("breached", "warning"):
            kinds.append(r.worst)
        if any(j.status == "offered" and j.assigned_at is not None
               and now >= rules.ack_deadline(j.assigned_at, r.priority, targets) for j in r.jobs):
            kinds.append("unacknowledged")
        if r.arrival_unconfirmed:
            kinds.append("arrival")
        elif r.flags:
            kinds.append("flagged")
        out.extend(Attention(r.id, r.number, r.priority, k) for k in kinds)
    out.sort(key=lambda a: (ATTENTION_ORDER[a.kind], PRIORITY_ORDER.get(a.priority, 9)))
    return out
