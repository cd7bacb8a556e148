"""The drill report (S14, D12): each response and arrival time against its target, who did
what and when, and the written review."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from server.domain import drill as scripts
from server.domain import kpi
from server.domain import sla as rules
from server.models import AuditEntry, Drill, Job, SlaClock, SlaPause, Staff, SupportRequest

REPORT_CLOCKS = ("handoff", "first_response", "arrival", "resolution")


@dataclass
class ClockLine:
    kind: str
    minutes: float  # net of pauses; so far, while it runs
    target: float  # minutes
    outcome: str  # met | missed | breached | open


@dataclass
class RequestLine:
    id: int
    number: str
    priority: str
    customer: str
    status: str
    clocks: dict[str, ClockLine] = field(default_factory=dict)


@dataclass
class Step:
    at: datetime
    minute: float  # after the drill started
    who: str
    action: str
    number: str


@dataclass
class DrillReport:
    drill: Drill
    script: scripts.Script
    requests: list[RequestLine]
    steps: list[Step]
    participants: dict[int, str]
    met: int
    decided: int

    def summary(self) -> dict:
        """What the drill row keeps once its requests are cleaned up."""
        return {"met": self.met, "decided": self.decided,
                "requests": [{"number": r.number, "priority": r.priority,
                              "clocks": {k: [round(c.minutes, 1), c.target, c.outcome]
                                         for k, c in r.clocks.items()}}
                             for r in self.requests],
                "people": sorted(self.participants.values())}  # fmt: skip


def drills(db: Session) -> list[Drill]:
    return list(db.exec(select(Drill).order_by(Drill.started_at.desc()).limit(50)))


def report(db: Session, drill_id: int, now: datetime, targets: rules.SlaTargets
           ) -> DrillReport | None:
    drill = db.get(Drill, drill_id)
    if drill is None:
        return None
    reqs = db.exec(select(SupportRequest).where(SupportRequest.drill_id == drill.id)
                   .order_by(SupportRequest.received_at, SupportRequest.id)).all()  # fmt: skip
    ids = [r.id for r in reqs]
    clocks = db.exec(select(SlaClock).where(SlaClock.request_id.in_(ids))).all() if ids else []
    pauses: dict[int, list[rules.Pause]] = {}
    for p in (db.exec(select(SlaPause).where(SlaPause.clock_id.in_([c.id for c in clocks])))
              if clocks else []):  # fmt: skip
        pauses.setdefault(p.clock_id, []).append(rules.Pause(p.started_at, p.ended_at, p.reason))
    lines = {r.id: RequestLine(r.id, r.number, r.priority, r.customer_name, r.status)
             for r in reqs}  # fmt: skip
    met = decided = 0
    for c in clocks:
        if c.kind not in REPORT_CLOCKS:
            continue
        facts = kpi.ClockFacts(c.kind, c.started_at, c.deadline_at, c.stopped_at,
                               tuple(pauses.get(c.id, ())))
        outcome, status = kpi.clock_outcome(facts, now, targets)
        lines[c.request_id].clocks[c.kind] = ClockLine(
            c.kind, status.elapsed_seconds / 60, round(status.budget_seconds / 60, 1), outcome)
        if outcome != "open":
            decided += 1
            met += outcome == "met"
    people: dict[int, str] = {}
    steps = []
    numbers = {r.id: r.number for r in reqs}
    if ids:
        rows = db.exec(select(AuditEntry, Staff.display_name)
                       .join(Staff, Staff.id == AuditEntry.actor_id, isouter=True)
                       .where(AuditEntry.request_id.in_(ids))
                       .order_by(AuditEntry.at, AuditEntry.id)).all()  # fmt: skip
        for entry, name in rows:
            steps.append(Step(entry.at, (entry.at - drill.started_at).total_seconds() / 60,
                              name or "", entry.action, numbers.get(entry.request_id, "")))
            if entry.actor_id and entry.actor_id != drill.started_by:
                people[entry.actor_id] = name or ""
        for staff_id, name in db.exec(select(Job.assignee_id, Staff.display_name)
                                      .join(Staff, Staff.id == Job.assignee_id)
                                      .where(Job.request_id.in_(ids))).all():  # fmt: skip
            people[staff_id] = name
    return DrillReport(drill, scripts.SCRIPTS[drill.script], list(lines.values()), steps,
                       people, met, decided)
