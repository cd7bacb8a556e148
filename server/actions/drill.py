"""Running an emergency drill (S14, D12): start, inject its calls, review, record, clean up.

Each simulated call goes through the same intake actions an agent uses
(``record_request`` then ``hand_off``), so the real clocks start, the on-duty leads are
told, and the dispatcher assigns real on-duty engineers. Every drill request carries
``is_drill`` and ``drill_id`` (the board, the request page and every notification say
"drill"; the KPIs leave them out). Calls due later are injected by the background loop
(``inject_due``), each exactly once: the drill row is locked while its steps are counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, delete, func, select, update

from server.actions import ActionError, audit
from server.actions.changes import changed
from server.actions.requests import hand_off, record_request, release_holds
from server.actions.team import add_training
from server.domain import drill as scripts
from server.domain.text import N_
from server.models import (
    AuditEntry,
    ClientMutation,
    Drill,
    Feedback,
    FeedbackLink,
    FieldFact,
    Job,
    Notification,
    Photo,
    SlaClock,
    SlaEvent,
    SlaPause,
    SupportRequest,
    UnitSwap,
)
from server.models.equipment import RepairTicket, SpareRequest
from server.models.inbound import InboundContact

REVIEW_LIMIT = 10000


def start_drill(db: Session, actor_id: int, script_key: str, now: datetime, settings: Any
                ) -> Drill:
    """Start a drill now; its first calls arrive at once, the rest on their minute."""
    if script_key not in scripts.SCRIPTS:
        raise ActionError(N_("Choose one of the drill scripts."), "script")
    running = db.exec(select(Drill).where(Drill.cleaned_at.is_(None),
                                          Drill.started_at > now - timedelta(hours=2))).first()
    if running is not None:
        raise ActionError(N_("Drill {id} started less than two hours ago: finish it first."),
                          id=running.id)
    drill = Drill(script=script_key, started_at=now, started_by=actor_id)
    db.add(drill)
    db.flush()
    audit.record(db, "drill.started", actor_id, entity="drill", entity_id=drill.id, at=now,
                 script=script_key)
    inject_due(db, drill.id, now, settings)
    return drill


def inject_due(db: Session, drill_id: int, now: datetime, settings: Any) -> list[SupportRequest]:
    """Inject the calls of a drill that are due by ``now``; safe to call any number of times."""
    drill = db.get(Drill, drill_id, with_for_update=True)
    if drill is None or drill.cleaned_at is not None:
        return []
    done = db.exec(select(func.count()).select_from(SupportRequest)
                   .where(SupportRequest.drill_id == drill.id)).one()  # fmt: skip
    script = scripts.SCRIPTS[drill.script]
    made = []
    for i, step in enumerate(scripts.due_steps(script, drill.started_at, now, done), start=done + 1):
        at = drill.started_at + timedelta(minutes=step.at_minute)
        request = record_request(db, drill.started_by, scripts.step_form(step, i, at), now, settings)
        request.is_drill, request.drill_id = True, drill.id
        db.add(request)
        db.flush()
        priority = "P1" if step.stream_state == "live" else "P2"
        hand_off(db, drill.started_by, request.id, step.classification, priority, now, settings)
        made.append(request)
    return made


def inject_all_running(db: Session, now: datetime, settings: Any) -> None:
    """The background loop's tick: every drill of the last two hours gets its due calls."""
    for drill_id in db.exec(select(Drill.id).where(
            Drill.cleaned_at.is_(None), Drill.started_at > now - timedelta(hours=2))).all():
        inject_due(db, drill_id, now, settings)


def review_drill(db: Session, actor_id: int, drill_id: int, text: str, now: datetime) -> Drill:
    """S14: the written review of the drill."""
    drill = _drill(db, drill_id)
    text = (text or "").strip()
    if not text:
        raise ActionError(N_("Write the review: what went well, what must change."), "review")
    if len(text) > REVIEW_LIMIT:
        raise ActionError(N_("Keep this under {limit} characters."), "review", limit=REVIEW_LIMIT)
    drill.review, drill.reviewed_by, drill.reviewed_at = text, actor_id, now
    db.add(drill)
    audit.record(db, "drill.reviewed", actor_id, entity="drill", entity_id=drill.id, at=now,
                 length=len(text))
    return drill


def record_training(db: Session, actor_id: int, drill_id: int, participants: list[int],
                    hours: float, now: datetime, settings: Any) -> int:
    """S14: the quarter's drill on the training record of everyone who took part.

    Needs the written review first. Recording twice is refused. Returns how many people
    were recorded (through the team's own ``add_training``).
    """
    drill = _drill(db, drill_id)
    if not drill.review:
        raise ActionError(N_("Write the review before recording the drill."), "review")
    if drill.recorded_at is not None:
        raise ActionError(N_("This drill is already on the training record."))
    if not participants:
        raise ActionError(N_("Nobody took part in this drill yet."))
    tz = ZoneInfo(settings.time_zone)
    day = drill.started_at.astimezone(tz).date()
    title = scripts.SCRIPTS[drill.script].title
    for staff_id in participants:
        add_training(db, actor_id, staff_id, kind="drill", held_on=day.isoformat(),
                     hours=f"{max(min(hours, 12), 0):.2f}", passed="",
                     notes=f"#{drill.id} {title}"[:500], today=now.astimezone(tz).date())
    drill.recorded_at = now
    db.add(drill)
    audit.record(db, "drill.recorded", actor_id, entity="drill", entity_id=drill.id, at=now,
                 people=len(participants))
    return len(participants)


def clean_up(db: Session, actor_id: int, drill_id: int, summary: dict, now: datetime) -> int:
    """Remove the drill's requests and everything hanging off them; real requests are never
    touched (every delete is bounded by the drill's own request ids). The drill row keeps
    its review and ``summary`` (the report's figures). Returns how many requests went."""
    drill = _drill(db, drill_id)
    ids = list(db.exec(select(SupportRequest.id).where(SupportRequest.drill_id == drill.id,
                                                       SupportRequest.is_drill.is_(True))).all())
    if ids:
        jobs = select(Job.id).where(Job.request_id.in_(ids))
        clocks = select(SlaClock.id).where(SlaClock.request_id.in_(ids))
        facts = select(FieldFact.id).where(FieldFact.request_id.in_(ids))
        for rid in ids:
            release_holds(db, rid)
        db.exec(delete(Photo).where(Photo.fact_id.in_(facts)))
        db.exec(delete(UnitSwap).where(UnitSwap.fact_id.in_(facts)))
        db.exec(update(ClientMutation).where(ClientMutation.job_id.in_(jobs)).values(job_id=None))
        db.exec(delete(FieldFact).where(FieldFact.request_id.in_(ids)))
        db.exec(delete(Notification).where(Notification.request_id.in_(ids)))
        db.exec(delete(Notification).where(Notification.job_id.in_(jobs)))
        db.exec(delete(SlaEvent).where(SlaEvent.clock_id.in_(clocks)))
        db.exec(delete(SlaPause).where(SlaPause.clock_id.in_(clocks)))
        db.exec(delete(SlaClock).where(SlaClock.request_id.in_(ids)))
        db.exec(delete(Job).where(Job.request_id.in_(ids)))
        db.exec(delete(FeedbackLink).where(FeedbackLink.request_id.in_(ids)))
        # A spare asked for a drill request goes with it; a real unit's repair ticket or an
        # inbound contact only loses its link to the drill request.
        db.exec(delete(SpareRequest).where(SpareRequest.request_id.in_(ids)))
        db.exec(update(RepairTicket).where(RepairTicket.request_id.in_(ids)).values(request_id=None))
        db.exec(update(InboundContact).where(InboundContact.request_id.in_(ids))
                .values(request_id=None))
        db.exec(delete(Feedback).where(Feedback.request_id.in_(ids)))
        # The audit trail of the drill stays readable: entries lose only their request link.
        db.exec(update(AuditEntry).where(AuditEntry.request_id.in_(ids)).values(request_id=None))
        db.exec(delete(SupportRequest).where(SupportRequest.id.in_(ids)))
    drill.cleaned_at, drill.summary = now, summary
    db.add(drill)
    audit.record(db, "drill.cleaned_up", actor_id, entity="drill", entity_id=drill.id, at=now,
                 requests=len(ids))
    for rid in ids:
        changed(db, "request", rid)
    return len(ids)


def _drill(db: Session, drill_id: int) -> Drill:
    drill = db.get(Drill, drill_id)
    if drill is None:
        raise ActionError(N_("There is no drill {id}."), id=drill_id)
    return drill
