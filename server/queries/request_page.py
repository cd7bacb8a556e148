"""What a request's page shows: its clocks, jobs, photos, swaps, flagged field facts and
one timeline entry per event (who, device time and, where different, received time)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from server.domain import sla as rules
from server.domain.text import N_
from server.models import (
    AuditEntry,
    FieldFact,
    Job,
    SlaClock,
    SlaEvent,
    SlaPause,
    Staff,
    SupportRequest,
    Venue,
)
from server.queries.clocks import CLOCK_ORDER, EPOCH, ClockView, clock_view
from server.queries.equipment import spare_for_request


@dataclass(frozen=True, slots=True)
class ClockDetail:
    kind: str
    status: rules.ClockStatus
    pauses: tuple[rules.Pause, ...]
    view: ClockView | None  # for the countdown, while it runs


@dataclass(slots=True)
class TimelineItem:
    """One event: when it happened (a field fact's device time, D8c), who, and the field
    fact it carries, if any (photo, swap, check-in position, flags, when it arrived)."""

    at: datetime
    action: str  # an audit action code, or sla.warning / sla.breach / fact.<kind>
    actor: str
    details: dict
    fact: FieldFact | None = None

    @property
    def where(self) -> str:
        f = self.fact
        return f"{f.lat:.5f}, {f.lon:.5f}" if f is not None and f.lat is not None else ""

    @property
    def flagged(self) -> bool:
        return self.fact is not None and self.fact.flagged and self.fact.flag_resolved_at is None

    @property
    def flag_reason(self) -> str:
        return self.fact.flag_reason if self.fact is not None and self.fact.flagged else ""

    @property
    def received_late(self) -> datetime | None:
        """When the fact reached the server, if that was a minute or more after it happened."""
        f = self.fact
        if f is None or f.received_at is None:
            return None
        return f.received_at if (f.received_at - self.at).total_seconds() >= 60 else None


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
    "unit.released": N_("Held unit back in reserve"),
    "spare.asked": N_("Spare unit asked for"),
    "spare.shipped": N_("Spare unit shipped"),
    "spare.delivered": N_("Spare unit delivered and swapped in"),
    "spare.cancelled": N_("Spare request cancelled"),
    "swap.resolved": N_("Refused swap resolved"),
    "feedback.recorded": N_("Customer feedback recorded"),
    "sla.paused": N_("Clock paused"),
    "sla.resumed": N_("Clock resumed"),
    "sla.warning": N_("SLA warning: the time is nearly up"),
    "sla.breach": N_("SLA breached"),
    "fact.accept": N_("Accepted on the phone"),
    "fact.en_route": N_("On the way"),
    "fact.check_in": N_("Checked in at the venue"),
    "fact.fix_note": N_("Fix note"),
    "fact.swap": N_("Swap reported"),
    "fact.swap_refused": N_("Swap refused"),
    "fact.resolved": N_("Flag resolved"),
    "request.backup_called": N_("Backups called in"),
    "job.backup_took": N_("A backup took the job"),
    "request.raised_to_lead": N_("Raised to the on-duty lead"),
    "fact.photo": N_("Photo"),
    "fact.done": N_("Finished at the venue"),
    "fact.sign_off": N_("Customer signed off"),
    "job.declined": N_("Declined by the engineer"),
    "job.cannot_fix": N_("Cannot be fixed on site"),
    "fact.decline": N_("Declined by the engineer"),
    "fact.cannot_fix": N_("Cannot be fixed on site"),
    "contact.message": N_("Customer message"),
    "contact.request": N_("Inbound contact made into this request"),
    "request.status_link_made": N_("Status link for the customer made"),
    "request.status_link_sent": N_("Status link sent to the customer"),
    "customer.message_sent": N_("Message to the customer delivered"),
    "customer.message_failed": N_("Message to the customer not sent"),
    "feedback.link_made": N_("Feedback link made for the customer"),
}


@dataclass(frozen=True, slots=True)
class RequestPage:
    request: SupportRequest
    venue: Venue | None
    clocks: list[ClockDetail]
    jobs: list[tuple[Job, str]]  # every job, oldest first, with the assignee's name
    timeline: list[TimelineItem]
    names: dict[int, str]
    spare: Any = None  # issue 15: the spare unit asked / on its way (queries.equipment)


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

    timeline = _timeline(entries, events, facts, names)
    return RequestPage(request, venue, details, [(j, names.get(j.assignee_id, "—")) for j in jobs],
                       timeline, names, spare_for_request(db, request_id))


# a fact the phone recorded whose action writes its own audit entry without the fact id
_FACT_AUDIT = {"accept": "job.accepted"}
# an entry that repeats the one just before it (same instant): folded into that one
_FOLDED = {("request.resolved", "job.done"), ("request.resolved", "job.finished"),
           ("job.finished", "request.escalated")}


def _timeline(entries, events, facts, names: dict[int, str]) -> list[TimelineItem]:
    """One entry per event. A field fact and the audit entry its action wrote are one
    entry (at the fact's device time); "finished" and the "resolved" it causes are one;
    a remote escalation is one."""
    fact_by_id = {f.id: f for f in facts}
    used: set[str] = set()
    items: list[TimelineItem] = []
    for e in entries:
        details = dict(e.details or {})
        fact = fact_by_id.get(str(details.get("fact_id", "")))
        if fact is None:
            fact = next((f for f in facts if f.id not in used and _FACT_AUDIT.get(f.kind) == e.action
                         and str(f.job_id) == str(e.entity_id)), None)
        if fact is not None:
            used.add(fact.id)
        items.append(TimelineItem(e.at, e.action, names.get(e.actor_id, "") if e.actor_id else "",
                                  details, fact))
    audited_sla = {(e.entity_id, e.action) for e in entries if e.action in ("sla.warning", "sla.breach")}
    for event, kind in events:
        action = "sla.warning" if event.level == "warning" else "sla.breach"
        if (str(event.clock_id), action) not in audited_sla:
            items.append(TimelineItem(event.fired_at, action, "", {"clock": kind}))
    for f in facts:
        if f.id not in used:
            action = "fact.swap_refused" if f.kind == "swap" and (f.data or {}).get("refused") \
                else f"fact.{f.kind}"
            items.append(TimelineItem(f.effective_at, action, names.get(f.author_id, ""),
                                      dict(f.data or {}), f))
    items.sort(key=lambda t: t.at)
    out: list[TimelineItem] = []
    for item in items:
        before = out[-1] if out else None
        same = before is not None and abs((item.at - before.at).total_seconds()) < 1
        if same and (item.action, before.action) in _FOLDED:
            before.details = before.details | {"folded": item.action}
            continue
        if same and (before.action, item.action) == ("job.finished", "request.escalated"):
            item.details = before.details | item.details
            out[-1] = item
            continue
        out.append(item)
    return out
