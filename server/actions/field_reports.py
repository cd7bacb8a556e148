"""What an engineer reports instead of fixing: "I cannot take this job" and "I cannot fix it
here". Both are field facts (offline-capable mutations, D14) that reach the dispatcher on
the request's timeline and as a notice; a decline also moves the job on along the
acknowledgement chain at once (D8b: next engineer, a backup, then the on-duty lead).

Same signature as every field action (``server.actions.field``).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlmodel import Session, select

from server.actions import ActionError, ack_chain, audit, changes, notify, spares
from server.actions import field as field_actions
from server.actions.field_args import JobArgs, Text
from server.actions.field_flags import for_dispatcher
from server.domain import field as rules
from server.domain.text import N_
from server.models import Job, JobStatus, Role, Staff, StaffRole, SupportRequest


class DeclineArgs(JobArgs):
    reason: Literal[tuple(rules.DECLINE_REASONS)] = Field(  # type: ignore[valid-type]
        description="busy | too_far | unwell")


class CannotFixArgs(JobArgs):
    need: Literal[tuple(rules.CANNOT_FIX_NEEDS)] = Field(  # type: ignore[valid-type]
        description="swap_unit | second_engineer | remote_help")
    note: Text = ""


def decline(db: Session, staff_id: int, args: DeclineArgs, device_time: datetime | None,
            now: datetime, settings: Any) -> rules.Outcome:
    """D8b: only an offered job (not yet accepted) can be declined; it is offered to the
    next in the chain now, not when the ack timeout would have run out."""
    ctx = field_actions._begin(db, staff_id, args, "decline", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    reason = for_dispatcher(rules.Message(rules.DECLINE_REASONS[args.reason]))
    fact.data = {"reason": reason, "reason_code": args.reason}
    if field_actions._changed_job(out):
        return field_actions._keep(db, job, request, fact, out)
    if job.status != JobStatus.offered:
        return rules.Outcome(job_id=job.id).reject(
            N_("You have already accepted this job: call the dispatcher to hand it back."))
    audit.record(db, "job.declined", staff_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=fact.effective_at, fact_id=fact.id, reason=reason)
    _tell_dispatchers(db, request, job, staff_id, fact.id, "job.declined",
                      N_("{name} declined {number}"), reason, now)
    db.flush()
    offered = ack_chain.advance(db, job.id, now, settings, declined=True)
    if offered is None or offered.id == job.id:  # raised to the lead: nobody else to offer
        job = db.get(Job, job.id, populate_existing=True)
        job.status, job.finished_at = JobStatus.declined, now
    else:
        job.status = JobStatus.declined  # not "reassigned": they said no
    job.version += 1
    db.add(job)
    changes.changed(db, "job", job.id, staff_ids=[staff_id], request_id=request.id)
    out.say(N_("Declined: the dispatcher is told and the job goes to the next engineer."))
    return field_actions._keep(db, job, request, fact, out)


def cannot_fix(db: Session, staff_id: int, args: CannotFixArgs, device_time: datetime | None,
               now: datetime, settings: Any) -> rules.Outcome:
    """The job stays the engineer's; the dispatcher decides (send a swap unit, a second
    engineer, or remote help)."""
    ctx = field_actions._begin(db, staff_id, args, "cannot_fix", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    need = for_dispatcher(rules.Message(rules.CANNOT_FIX_NEEDS[args.need]))
    fact.data = {"reason": need, "need": args.need, "text": args.note}
    if not field_actions._changed_job(out):
        audit.record(db, "job.cannot_fix", staff_id, request_id=request.id, entity="job",
                     entity_id=job.id, at=fact.effective_at, fact_id=fact.id, reason=need,
                     text=args.note)
        _tell_dispatchers(db, request, job, staff_id, fact.id, "job.cannot_fix",
                          N_("{name} cannot fix {number} on site"), need, now)
        if args.need == "swap_unit":  # S15: the phone's way to ask for a spare, offline too
            # A closed request refuses before writing: the dispatcher has the fact and decides.
            with contextlib.suppress(ActionError):
                spares.ask_for_spare(db, staff_id, request.id, "engineer", now, job_id=job.id,
                                     note=args.note)  # fmt: skip
    out.say(N_("Sent to the dispatcher: they will arrange what you need."))
    return field_actions._keep(db, job, request, fact, out)


def _tell_dispatchers(db: Session, request: SupportRequest, job: Job, staff_id: int,
                      fact_id: str, kind: str, title: str, reason: str, now: datetime) -> None:
    engineer = db.get(Staff, staff_id)
    leads = db.exec(select(Staff).join(StaffRole, StaffRole.staff_id == Staff.id)
                    .where(StaffRole.role == Role.dispatcher, Staff.active == True)  # noqa: E712
                    .order_by(Staff.id)).all()
    name = engineer.display_name if engineer else "—"
    notify.enqueue_all(
        db, [notify.Notice(lead.id, ack_chain._say(lead, title, name=name, number=request.number),
                           reason, f"{kind}:{fact_id}:{lead.id}") for lead in leads],
        kind=kind, request_id=request.id, job_id=job.id,
        urgency="high" if request.priority == "P1" else "normal", now=now,
    )
    changes.changed(db, "request", request.id, request_id=request.id)
