"""D7: a warning at 80 % of a clock and an escalation at breach, each fired exactly once.

The loop calls ``fire_due_sla_events`` every few seconds. A firing is an ``SlaEvent``
row, unique per (clock, level): the row, its timeline entry, the board's change record
and the notices are written in one transaction, inside a savepoint for the row, so when
two server processes reach the same clock, the second one's insert fails on the
uniqueness key and it changes nothing at all.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.actions.audit import record
from server.actions.changes import changed
from server.actions.notify import Notice, enqueue_all
from server.domain import sla as rules
from server.domain.text import N_, Message
from server.i18n import translations
from server.jobs.loop import register_tick
from server.models import RequestStatus, SlaClock, SlaEvent, SlaPause, Staff, SupportRequest
from server.queries.staff import active_with_roles

FINISHED = (RequestStatus.closed, RequestStatus.cancelled)


def fire_due_sla_events(db: Session, now: datetime, settings) -> list[SlaEvent]:
    """Fire every warning and breach that is due now and not fired yet; returns the new ones.

    Each tick reads only three columns of the running clocks (a night's ~1,000 open clocks
    cost a few milliseconds, not ~50 ms of ORM rows holding the server's interpreter):
    a pause only ever moves a deadline later, so a clock whose time used, counting no
    pause, is below the warning fraction has nothing due, and is not read further."""
    warn = settings.sla.warn_fraction
    candidates = [
        clock_id for clock_id, started, deadline in db.exec(
            select(SlaClock.id, SlaClock.started_at, SlaClock.deadline_at)
            .join(SupportRequest, SupportRequest.id == SlaClock.request_id)
            .where(SlaClock.stopped_at.is_(None), SupportRequest.status.notin_(FINISHED),
                   ~(_fired("warning") & _fired("breach")))
        )
        if _may_be_due(started, deadline, now, warn)
    ]
    if not candidates:
        return []
    rows = db.exec(
        select(SlaClock, SupportRequest)
        .join(SupportRequest, SupportRequest.id == SlaClock.request_id)
        .where(SlaClock.id.in_(candidates))
        .order_by(SlaClock.deadline_at)
    ).all()
    fired: dict[int, set[str]] = defaultdict(set)
    for clock_id, level in db.exec(
        select(SlaEvent.clock_id, SlaEvent.level).where(SlaEvent.clock_id.in_(candidates))
    ):
        fired[clock_id].add(level)
    pauses: dict[int, list[rules.Pause]] = defaultdict(list)
    for p in db.exec(select(SlaPause).where(SlaPause.clock_id.in_(candidates))):
        pauses[p.clock_id].append(rules.Pause(p.started_at, p.ended_at, p.reason))

    new: list[SlaEvent] = []
    leads: list[Staff] | None = None
    managers: list[Staff] | None = None
    for clock, request in rows:
        if {"warning", "breach"} <= fired[clock.id]:
            continue
        status = rules.clock_status(clock.started_at, clock.deadline_at, pauses[clock.id], None,
                                    now, settings.sla)  # fmt: skip
        for level in rules.due_levels(status, fired[clock.id]):
            event = _insert_once(db, clock, level, now)
            if event is None:
                continue  # another server process fired it first
            fired[clock.id].add(level)
            new.append(event)
            if leads is None:
                leads = active_with_roles(db, "dispatcher")
                managers = active_with_roles(db, "manager")
            _announce(db, clock, request, level, status, now, settings, leads, managers or [])
    return new


def _fired(level: str):  # noqa: ANN202 - an SQL EXISTS clause
    return select(SlaEvent.id).where(SlaEvent.clock_id == SlaClock.id,
                                     SlaEvent.level == level).exists()


def _may_be_due(started: datetime, deadline: datetime, now: datetime, warn: float) -> bool:
    """Whether a running clock can have a notice due (D7), before reading its pauses: the
    fraction of its time used is at most the fraction elapsed since it started."""
    budget = (deadline - started).total_seconds()
    return budget <= 0 or (now - started).total_seconds() >= warn * budget


def _insert_once(db: Session, clock: SlaClock, level: str, now: datetime) -> SlaEvent | None:
    event = SlaEvent(clock_id=clock.id, level=level, fired_at=now)
    try:
        with db.begin_nested():
            db.add(event)
    except IntegrityError:
        return None
    return event


def _announce(
    db: Session,
    clock: SlaClock,
    request: SupportRequest,
    level: str,
    status: rules.ClockStatus,
    now: datetime,
    settings,
    leads: list[Staff],
    managers: list[Staff],
) -> None:
    """The timeline entry, the board's change, and a notice to each person who must know.

    D7: the warning goes to the on-duty leads (dispatchers); the breach also to the
    support manager. The agent who recorded a request hears about its handoff clock.
    """
    due = status.effective_deadline
    record(db, f"sla.{level}", None, request_id=request.id, entity="sla_clock",
           entity_id=clock.id, at=now, clock=clock.kind, deadline=due.isoformat(),
           priority=request.priority)  # fmt: skip
    changed(db, "request", request.id, request_id=request.id)
    people = {s.id: s for s in leads}
    if level == "breach":
        people.update({s.id: s for s in managers})
    if clock.kind == "handoff" and request.recorded_by and request.recorded_by not in people:
        agent = db.get(Staff, request.recorded_by)
        if agent is not None and agent.active:
            people[agent.id] = agent
    if level == "warning":
        title = Message(N_("{number}: {clock} time is {percent} % used"),
                        {"percent": round(settings.sla.warn_fraction * 100)})  # fmt: skip
    else:
        title = Message(N_("{number}: {clock} time is up"))
    body = Message(N_("{priority} · {customer} · due {due}"), {
        "priority": request.priority, "customer": request.customer_name,
        "due": due.astimezone(ZoneInfo(settings.time_zone)).strftime("%H:%M"),
    })  # fmt: skip
    urgent = request.priority == "P1" or level == "breach"
    run = int(clock.started_at.timestamp())  # a restarted clock is a new run: notify again
    notices = []
    for person in people.values():
        say = translations(person.locale).gettext
        words = {"number": request.number, "clock": say(clock.kind)}
        notices.append(Notice(person.id, say(title.msgid).format(**words, **title.params),
                              body.render(say), f"sla:{clock.id}:{run}:{level}:{person.id}"))
    enqueue_all(db, notices, kind=f"sla.{level}", request_id=request.id,
                urgency="high" if urgent else "normal", now=now)


@register_tick
def sla_timers(db: Session, now: datetime, settings) -> None:
    fire_due_sla_events(db, now, settings)
