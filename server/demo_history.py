"""Demo data for closing the loop: three months of closed requests with feedback, so the
KPI dashboard, its weekly and monthly lines and the monthly review show something, plus
last quarter's drill (reviewed, on the training record, cleaned up).

Called once from ``server.demo`` after its own requests; deterministic (its own seed).
Rows are written directly, like the rest of the demo: they are history, not live work.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from server.actions.audit import record
from server.actions.requests import next_number
from server.domain.sla import deadline
from server.models import (
    Drill,
    Feedback,
    Job,
    SlaClock,
    Staff,
    SupportRequest,
    TrainingRecord,
    Unit,
)

SEED = 20261130
DAYS = (32, 120)  # history runs from 120 to 32 days ago (the main demo covers the last month)
COMMENTS = ("工程师很专业，十分钟就恢复了推流", "响应很快", "远程指导很清楚", "现场来得及时",
            "处理得不错，希望备用机更多", "等待时间有点长", "问题解决了但过程较慢")
REASONS = ("两名现场工程师同时在处理P1", "郊区场地交通拥堵", "客户场地门禁耽误入场",
           "备件需从另一仓库调拨")
NO_FEEDBACK = "连续三次致电未接通，微信未回复"


def add_history(db: Session, now: datetime, settings: Any) -> dict[str, int]:
    """Closed requests received 32-120 days before ``now``; returns counts for the demo."""
    rng = random.Random(SEED)
    tz = ZoneInfo(settings.time_zone)
    templates = db.exec(select(SupportRequest).order_by(SupportRequest.id)).all()
    remote = db.exec(select(Staff).where(Staff.group == "remote", Staff.active)).all()
    onsite = db.exec(select(Staff).where(Staff.group == "onsite", Staff.active)).all()
    agent = db.exec(select(Staff).where(Staff.username == "agent")).first()
    manager = db.exec(select(Staff).where(Staff.username == "manager")).first()
    units = db.exec(select(Unit).where(Unit.status == "rented").order_by(Unit.id)).all()
    if not (templates and remote and onsite and agent and manager):
        return {"history_requests": 0}
    flaky = units[:3]  # a few units fail again and again: the review's repeat faults
    made = 0
    day = now - timedelta(days=DAYS[1])
    while day < now - timedelta(days=DAYS[0]):
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2))):
            received = day + timedelta(hours=rng.choice((11, 12, 13, 14, 15, 20, 22)),
                                       minutes=rng.randrange(60))
            _one(db, rng, next_number(db, received, settings.time_zone), received,
                 rng.choice(templates),
                 remote, onsite, agent, rng.choice(flaky) if rng.random() < 0.12 else None,
                 settings)  # fmt: skip
            made += 1
        day += timedelta(days=1)
    _past_drill(db, now, manager, remote[:2] + onsite[:2], tz)
    return {"history_requests": made}


def _one(db: Session, rng: random.Random, number: str, received: datetime, like: SupportRequest,
         remote: list[Staff], onsite: list[Staff], agent: Staff, unit: Unit | None,
         settings: Any) -> None:
    targets = settings.sla
    priority = rng.choice(("P1", "P2", "P2", "P3", "P3", "P3"))
    kind = "onsite" if rng.random() < 0.35 else "remote"
    region = rng.choice(("urban", "urban", "urban", "suburban"))
    late = rng.random() < 0.08  # a few clocks run late, for the breaches list
    stream = {"P1": "live", "P2": "upcoming"}.get(priority, "none")  # D4
    starts = received + timedelta(hours=rng.uniform(3, 20)) if stream == "upcoming" else None
    handed = received + timedelta(minutes=rng.uniform(2, 9))
    first = handed + timedelta(minutes=rng.uniform(1, 4 if priority == "P1" else 12)
                               * (3 if late else 1))
    arrive = first + timedelta(minutes=rng.uniform(20, 55 if region == "urban" else 100)
                               * (1.6 if late else 1))
    resolved = (arrive if kind == "onsite" else first) + timedelta(minutes=rng.uniform(10, 40))
    asked = resolved + timedelta(hours=rng.uniform(1, 20))
    req = SupportRequest(
        number=number, channel=rng.choice(("hotline", "wechat", "wecom")), received_at=received,
        recorded_by=agent.id, customer_id=like.customer_id, customer_name=like.customer_name,
        contact_name=like.contact_name, phone=like.phone, address=like.address,
        venue_id=like.venue_id, region=region, order_id=like.order_id, order_no=like.order_no,
        device_type=unit.device_type if unit else like.device_type,
        device_model=unit.model if unit else like.device_model,
        unit_id=unit.id if unit else like.unit_id, scenario=like.scenario, symptom=like.symptom,
        symptom_kind=like.symptom_kind, stream_state=stream, stream_starts_at=starts,
        classification=kind, priority=priority, status="closed", handed_off_at=handed,
        resolved_at=resolved)  # fmt: skip
    db.add(req)
    db.flush()
    engineer = rng.choice(onsite if kind == "onsite" else remote)
    db.add(Job(request_id=req.id, kind=kind, assignee_id=engineer.id, status="done",
               assigned_at=handed, accepted_at=first, finished_at=resolved,
               arrived_at=arrive if kind == "onsite" else None,
               outcome="fixed" if kind == "onsite" else "solved"))  # fmt: skip
    spans = [("handoff", received, handed), ("first_response", handed, first),
             ("resolution", handed, resolved), ("follow_up", resolved, asked)]
    if kind == "onsite":
        spans.append(("arrival", first, arrive))
    for clock, start, stop in spans:
        due = deadline(clock, start, priority, region, targets, stream_starts_at=starts)
        reason = rng.choice(REASONS) if stop > due and rng.random() < 0.7 else ""
        db.add(SlaClock(request_id=req.id, kind=clock, started_at=start, deadline_at=due,
                        stopped_at=stop, breach_reason=reason))  # fmt: skip
    def log(action: str, who: Staff, at: datetime, **details: Any) -> None:
        record(db, action, who.id, request_id=req.id, entity="request", entity_id=req.id, at=at,
               **details)

    log("request.received", agent, received, channel=req.channel, priority=priority)
    log("request.handed_off", agent, handed, classification=kind, priority=priority)
    log("job.assigned", agent, handed, engineer=engineer.display_name)
    log("job.accepted", engineer, first)
    if kind == "onsite":
        log("job.checked_in", engineer, arrive)
    log("request.resolved", engineer, resolved)
    roll = rng.random()
    if roll < 0.03:  # nobody could be reached: closed with the reason (S6)
        db.add(Feedback(request_id=req.id, recorded_by=agent.id, recorded_at=asked,
                        reached=False, no_feedback_reason=NO_FEEDBACK))
        log("feedback.recorded", agent, asked, reached=False)
        req.closed_at, req.close_reason = asked, NO_FEEDBACK
    else:
        if roll < 0.06:  # first answer unhappy: reopened, fixed again, asked again (D9)
            db.add(Feedback(request_id=req.id, recorded_by=agent.id, recorded_at=asked,
                            score=rng.choice((2, 3)), resolved=rng.random() < 0.5,
                            comment=rng.choice(COMMENTS[-2:])))  # fmt: skip
            log("feedback.recorded", agent, asked, reached=True)
            log("request.reopened", agent, asked)
            asked += timedelta(hours=rng.uniform(3, 20))
        score = rng.choice((5,) * 8 + (4,) * 7 + (3,)) if roll >= 0.06 else 5
        fixed = rng.random() < 0.95
        db.add(Feedback(request_id=req.id, recorded_by=agent.id, recorded_at=asked,
                        via=rng.choice(("agent", "agent", "link")), score=score, resolved=fixed,
                        comment=rng.choice(COMMENTS)))  # fmt: skip
        log("feedback.recorded", agent, asked, reached=True, score=score)
        req.closed_at = asked
    db.add(req)


def _past_drill(db: Session, now: datetime, manager: Staff, people: list[Staff],
                tz: ZoneInfo) -> None:
    """Last quarter's drill, done properly: reviewed, recorded, its requests cleaned up."""
    at = (now - timedelta(days=75)).astimezone(tz).replace(hour=20, minute=0, second=0,
                                                           microsecond=0)
    drill = Drill(script="big_event", started_at=at, started_by=manager.id,
                  review="五通来电均在时限内转交；郊区导播台故障到场超时 18 分钟（交通），"
                         "下季度起郊区备岗增加一人，并在松江仓常备一台导播台。",
                  reviewed_by=manager.id, reviewed_at=at + timedelta(days=1),
                  recorded_at=at + timedelta(days=1), cleaned_at=at + timedelta(days=1),
                  summary={"met": 17, "decided": 18, "people": sorted(p.display_name for p in people),
                           "requests": []})  # fmt: skip
    db.add(drill)
    db.flush()
    for p in people:
        db.add(TrainingRecord(staff_id=p.id, kind="drill", held_on=at.date(), hours=1.5,
                              notes=f"#{drill.id} 大型活动故障演练"))
