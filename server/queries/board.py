"""What the dispatch board and a request's page show: read-only, loaded in bulk.

The board answers in a fixed handful of queries whatever the number of open requests
(requests, running clocks, their pauses, active jobs with their engineers, unresolved
field flags, who is on duty): no query per row.

Speed (2,000 open requests in well under 100 ms): clock instants are read as epoch
seconds computed by the database, and a running clock without pauses is worked out
with plain arithmetic (``running_clock``), which gives exactly what
``server.domain.sla.clock_status`` gives (a property test checks it); a clock with
pauses goes through ``clock_status`` itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Float, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, select

from server.domain import sla as rules
from server.domain.text import N_
from server.models import (
    ACTIVE_JOB_STATUSES,
    OPEN_STATUSES,
    AuditEntry,
    FieldFact,
    Job,
    JobStatus,
    SlaClock,
    SlaEvent,
    SlaPause,
    Staff,
    SupportRequest,
    Venue,
)
from server.queries.duty import OnDuty, on_duty

CLOCK_ORDER = {kind: i for i, kind in enumerate(rules.CLOCK_KINDS)}
PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2}
URGENCY = {"": 0, "running": 1, "paused": 2, "warning": 3, "breached": 4}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class epoch(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """An instant column as seconds since 1970 (UTC), computed by the database."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element, compiler, **kw) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


def instant(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class ClockView:
    """A running clock as the board shows it; instants in epoch seconds."""

    kind: str
    state: str  # running | paused | warning | breached
    deadline_s: float  # effective: moved by the time paused (D6)
    warn_s: float  # D7: when the warning is due, pauses included
    remaining_seconds: float
    pause_reason: str | None = None

    @property
    def deadline_ms(self) -> int:
        return int(self.deadline_s * 1000)

    @property
    def warn_ms(self) -> int:
        return int(self.warn_s * 1000)

    @property
    def deadline(self) -> datetime:
        return instant(self.deadline_s)

    @property
    def remaining_text(self) -> str:
        return countdown(self.remaining_seconds)


def countdown(seconds: float) -> str:
    """12:05, 1:02:03, or -3:10 once overdue (web/static/js/app.js writes the same)."""
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return ("-" if seconds < 0 else "") + text


def running_clock(
    started_s: float, deadline_s: float, now_s: float, warn_fraction: float
) -> tuple[str, float, float]:
    """``clock_status`` for a running clock that was never paused, in epoch seconds:
    (state, remaining seconds, fraction used)."""
    budget = deadline_s - started_s
    elapsed = max(0.0, now_s - started_s)
    remaining = deadline_s - now_s
    fraction = elapsed / budget if budget > 0 else 1.0
    if remaining <= 0:
        state = "breached"
    elif fraction >= warn_fraction:
        state = "warning"
    else:
        state = "running"
    return state, remaining, fraction


def clock_view(
    kind: str, started_s: float, deadline_s: float, pauses: list[rules.Pause] | None,
    now: datetime, now_s: float, targets: rules.SlaTargets,
) -> ClockView:
    budget = deadline_s - started_s
    if not pauses:
        state, remaining, _fraction = running_clock(started_s, deadline_s, now_s,
                                                    targets.warn_fraction)
        return ClockView(kind, state, deadline_s, started_s + budget * targets.warn_fraction,
                         remaining)
    status = rules.clock_status(instant(started_s), instant(deadline_s), pauses, None, now,
                                targets)
    shift = status.paused_seconds
    reason = next((p.reason for p in pauses if p.is_open), None)
    return ClockView(kind, status.state, deadline_s + shift,
                     started_s + budget * targets.warn_fraction + shift,
                     status.remaining_seconds, reason)


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    status: str
    assignee_id: int | None
    assignee_name: str


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
class DutyPerson:
    duty: OnDuty
    jobs: tuple[tuple[int, str, str, str], ...]  # (request id, number, priority, job status)


@dataclass(frozen=True, slots=True)
class DutyGroup:
    group: str
    region: str | None
    people: tuple[DutyPerson, ...]


@dataclass(frozen=True, slots=True)
class Board:
    now: datetime
    rows: list[BoardRow]
    duty: list[DutyGroup]
    counts: dict[str, int]


def _pauses(db: Session, clock_ids_query) -> dict[int, list[rules.Pause]]:
    out: dict[int, list[rules.Pause]] = defaultdict(list)
    rows = db.exec(
        select(SlaPause.clock_id, SlaPause.started_at, SlaPause.ended_at, SlaPause.reason)
        .where(SlaPause.clock_id.in_(clock_ids_query))
    ).all()
    for clock_id, started, ended, reason in rows:
        out[clock_id].append(rules.Pause(started, ended, reason or "-"))
    return out


def rows_for(
    db: Session, ids_query, now: datetime, targets: rules.SlaTargets,
    by_person: dict[int, list[tuple[int, str, str, str]]] | None = None,
) -> dict[int, BoardRow]:
    """Board rows for the requests ``ids_query`` selects, in a fixed number of queries.

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
    pauses = _pauses(db, select(SlaClock.id).where(*running)) if paused else {}
    now_s = (now - EPOCH).total_seconds()
    for clock_id, request_id, kind, started_s, deadline_s in clock_rows:
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
        select(Job.id, Job.request_id, Job.kind, Job.status, Job.assignee_id, Staff.display_name)
        .join(Staff, Staff.id == Job.assignee_id, isouter=True)
        .where(Job.request_id.in_(ids_query), Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(Job.id)
    ).all()
    for job_id, request_id, kind, status, assignee_id, name in jobs:
        row = rows.get(request_id)
        if row is None:
            continue
        row.jobs.append(JobView(job_id, kind, status, assignee_id, name or "—"))
        if assignee_id is not None and by_person is not None:
            by_person[assignee_id].append((request_id, row.number, row.priority, status))
    # onsite first: the step shown is the one the customer waits on most
    for row in rows.values():
        if len(row.jobs) > 1:
            row.jobs.sort(key=lambda j: (j.kind != "onsite", j.id))

    for request_id, n in conn.execute(
        select(FieldFact.request_id, func.count())
        .where(FieldFact.flagged, FieldFact.flag_resolved_at.is_(None),
               FieldFact.request_id.in_(ids_query))
        .group_by(FieldFact.request_id)
    ).all():
        if request_id in rows:
            rows[request_id].flags = n
    return rows


def by_deadline(rows) -> list[BoardRow]:
    """Soonest effective deadline first; then priority, then the oldest."""
    far = float("inf")
    return sorted(rows, key=lambda r: (far if r.due is None else r.due,
                                       PRIORITY_ORDER.get(r.priority, 9), r.id))


def board(db: Session, now: datetime, targets: rules.SlaTargets) -> Board:
    """Every open request with its running clocks, soonest deadline first, and who is on duty."""
    open_ids = select(SupportRequest.id).where(SupportRequest.status.in_(OPEN_STATUSES))
    by_person: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    rows = rows_for(db, open_ids, now, targets, by_person)
    ordered = by_deadline(rows.values())
    counts: dict[str, int] = defaultdict(int)
    for row in ordered:
        counts[row.status] += 1
        counts[row.priority] += 1
        worst = row.worst
        if worst in ("breached", "warning"):
            counts[worst] += 1
    counts["open"] = len(ordered)
    return Board(now, ordered, duty_groups(db, now, by_person), dict(counts))


def duty_groups(
    db: Session, now: datetime, jobs_by_person: dict[int, list[tuple[int, str, str, str]]] | None = None
) -> list[DutyGroup]:
    """S9/D11: who is on duty now, per group and region, with the jobs each one holds."""
    people = on_duty(db, now)
    if jobs_by_person is None:
        jobs_by_person = active_jobs_by_person(db, [p.staff_id for p in people])
    groups: dict[tuple[str, str | None], list[DutyPerson]] = {}
    for key in (("remote", None), ("onsite", "urban"), ("onsite", "suburban")):
        groups[key] = []
    for person in people:
        key = (person.group, person.region if person.group == "onsite" else None)
        groups.setdefault(key, []).append(
            DutyPerson(person, tuple(jobs_by_person.get(person.staff_id, ())))
        )
    return [DutyGroup(g, r, tuple(p)) for (g, r), p in groups.items()]


def active_jobs_by_person(db: Session, staff_ids: list[int]) -> dict[int, list[tuple[int, str, str, str]]]:
    out: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    if not staff_ids:
        return out
    rows = db.exec(
        select(Job.assignee_id, SupportRequest.id, SupportRequest.number, SupportRequest.priority,
               Job.status)
        .join(SupportRequest, SupportRequest.id == Job.request_id)
        .where(Job.assignee_id.in_(staff_ids), Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(Job.id)
    ).all()
    for assignee_id, request_id, number, priority, status in rows:
        out[assignee_id].append((request_id, number, priority, status))
    return out


# -- a request's page --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClockDetail:
    kind: str
    status: rules.ClockStatus
    pauses: tuple[rules.Pause, ...]
    view: ClockView | None  # for the countdown, while it runs


@dataclass(frozen=True, slots=True)
class TimelineItem:
    at: datetime
    action: str  # an audit action code, or sla.warning / sla.breach / fact.<kind>
    actor: str
    details: dict
    where: str = ""
    flagged: bool = False
    flag_reason: str = ""


TIMELINE_LABELS = {
    "request.received": N_("Request received"),
    "request.handed_off": N_("Handed off to technical service"),
    "request.updated": N_("Request updated"),
    "request.escalated": N_("Escalated to onsite"),
    "request.resolved": N_("Resolved"),
    "request.cancelled": N_("Cancelled"),
    "request.closed": N_("Closed"),
    "request.reopened": N_("Reopened"),
    "job.assigned": N_("Job assigned"),
    "job.reassigned": N_("Job reassigned"),
    "job.accepted": N_("Job accepted"),
    "job.offered_next": N_("Not accepted in time: offered to the next engineer"),
    "job.ack_timeout": N_("Not accepted in time: offered to the next engineer"),
    "job.ack_backup": N_("Not accepted in time: a backup is called in"),
    "job.ack_lead": N_("Nobody accepted in time: raised to the on-duty lead"),
    "notification.gave_up": N_("Alert not delivered: gave up after several tries"),
    "job.en_route": N_("On the way"),
    "job.done": N_("Finished at the venue"),
    "request.live_dispatch": N_("Live stream: remote guidance and onsite dispatch start at once"),
    "unit.held": N_("Reserve unit held"),
    "unit.hold_failed": N_("No reserve unit could be held"),
    "job.escalated": N_("Escalated"),
    "job.finished": N_("Remote job finished"),
    "job.notes": N_("Notes updated"),
    "job.cancelled": N_("Job cancelled"),
    "job.checked_in": N_("Checked in at the venue"),
    "unit.swapped": N_("Device swapped"),
    "feedback.recorded": N_("Customer feedback recorded"),
    "sla.paused": N_("Clock paused"),
    "sla.resumed": N_("Clock resumed"),
    "sla.warning": N_("SLA warning: the time is nearly up"),
    "sla.breach": N_("SLA breached"),
    "fact.accept": N_("Accepted on the phone"),
    "fact.en_route": N_("On the way"),
    "fact.check_in": N_("Checked in at the venue"),
    "fact.fix_note": N_("Fix note"),
    "fact.swap": N_("Device swapped"),
    "fact.photo": N_("Photo"),
    "fact.done": N_("Finished at the venue"),
    "fact.sign_off": N_("Customer signed off"),
    "job.declined": N_("Declined by the engineer"),
    "job.cannot_fix": N_("Cannot be fixed on site"),
    "fact.decline": N_("Declined by the engineer"),
    "fact.cannot_fix": N_("Cannot be fixed on site"),
}


@dataclass(frozen=True, slots=True)
class RequestPage:
    request: SupportRequest
    venue: Venue | None
    clocks: list[ClockDetail]
    jobs: list[tuple[Job, str]]  # every job, oldest first, with the assignee's name
    timeline: list[TimelineItem]
    names: dict[int, str]


def request_page(db: Session, request_id: int, now: datetime, targets: rules.SlaTargets) -> RequestPage | None:
    request = db.get(SupportRequest, request_id)
    if request is None:
        return None
    venue = db.get(Venue, request.venue_id) if request.venue_id else None
    clock_rows = db.exec(select(SlaClock).where(SlaClock.request_id == request_id)).all()
    clock_ids = [c.id for c in clock_rows]
    pause_rows = db.exec(select(SlaPause).where(SlaPause.clock_id.in_(clock_ids))).all() if clock_ids else []
    pauses: dict[int, list[rules.Pause]] = defaultdict(list)
    for p in pause_rows:
        pauses[p.clock_id].append(rules.Pause(p.started_at, p.ended_at, p.reason or "-"))
    details = []
    for c in sorted(clock_rows, key=lambda c: CLOCK_ORDER.get(c.kind, 9)):
        status = rules.clock_status(c.started_at, c.deadline_at, pauses[c.id], c.stopped_at, now,
                                    targets)
        view = None
        if c.stopped_at is None:
            view = clock_view(c.kind, (c.started_at - EPOCH).total_seconds(),
                              (c.deadline_at - EPOCH).total_seconds(), pauses[c.id], now,
                              (now - EPOCH).total_seconds(), targets)
        details.append(ClockDetail(c.kind, status, tuple(pauses[c.id]), view))

    jobs = db.exec(select(Job).where(Job.request_id == request_id).order_by(Job.id)).all()
    entries = db.exec(
        select(AuditEntry).where(AuditEntry.request_id == request_id).order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    facts = db.exec(select(FieldFact).where(FieldFact.request_id == request_id)).all()
    events = db.exec(
        select(SlaEvent, SlaClock.kind).join(SlaClock, SlaClock.id == SlaEvent.clock_id)
        .where(SlaClock.request_id == request_id)
    ).all() if clock_ids else []

    staff_ids = {e.actor_id for e in entries} | {j.assignee_id for j in jobs} | {f.author_id for f in facts}
    for e in entries:
        for key in ("assignee_id", "from_id"):
            if isinstance(e.details.get(key), int):
                staff_ids.add(e.details[key])
    staff_ids.discard(None)
    names = dict(db.exec(select(Staff.id, Staff.display_name).where(Staff.id.in_(staff_ids))).all()) if staff_ids else {}

    timeline: list[TimelineItem] = []
    audited_facts = {str(e.details.get("fact_id")) for e in entries if e.details.get("fact_id")}
    audited_sla = {(e.entity_id, e.action) for e in entries if e.action in ("sla.warning", "sla.breach")}
    for e in entries:
        timeline.append(TimelineItem(e.at, e.action, names.get(e.actor_id, "") if e.actor_id else "",
                                     e.details or {}))
    for event, kind in events:
        action = "sla.warning" if event.level == "warning" else "sla.breach"
        if (str(event.clock_id), action) in audited_sla:
            continue
        timeline.append(TimelineItem(event.fired_at, action, "", {"clock": kind}))
    for f in facts:
        if f.id in audited_facts:
            continue
        where = ""
        if f.lat is not None and f.lon is not None:
            where = f"{f.lat:.5f}, {f.lon:.5f}"
        timeline.append(TimelineItem(
            f.effective_at, f"fact.{f.kind}", names.get(f.author_id, ""),
            dict(f.data or {}) | {"received_at": f.received_at, "distance_m": f.distance_m,
                                  "accuracy_m": f.accuracy_m},
            where, f.flagged and f.flag_resolved_at is None, f.flag_reason,
        ))
    # a check-in's audit entry carries the fact id: show where it happened on that entry
    fact_by_id = {f.id: f for f in facts}
    for i, item in enumerate(timeline):
        fact = fact_by_id.get(str(item.details.get("fact_id", "")))
        if fact is not None and fact.lat is not None:
            timeline[i] = TimelineItem(
                item.at, item.action, item.actor,
                item.details | {"distance_m": fact.distance_m, "accuracy_m": fact.accuracy_m},
                f"{fact.lat:.5f}, {fact.lon:.5f}", fact.flagged and fact.flag_resolved_at is None,
                fact.flag_reason,
            )
    timeline.sort(key=lambda t: t.at)
    return RequestPage(request, venue, details, [(j, names.get(j.assignee_id, "—")) for j in jobs],
                       timeline, names)
