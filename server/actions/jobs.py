"""Jobs: accepting, escalating, finishing and cancelling (D4-D8); assigning lives in
``server.actions.assign`` (re-exported here).

Every function here is one state change. It loads what it needs, checks the rule,
writes, records the step on the request's timeline (``audit.record``), announces the
change (``changes.changed``: the live board and /sync/pull hear it) and queues a
notice for whoever must know. It never commits: the caller owns the transaction.

``accept_job`` keeps one signature for the three ways an acceptance arrives: a tap
online, the phone's outbox replayed hours later (``at`` is the device time, D8c) and
the push notification's accept action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from server.actions import ActionError, audit, changes, notify
from server.actions import sla as clocks
from server.actions.assign import (  # noqa: F401 - the dispatch actions, re-exported
    JOB_KINDS,
    assign_job,
    eligible_engineers,
    reassign_job,
)
from server.actions.job_common import (
    active_jobs,
    end_job,
    locked_job,
    open_request,
    say,
    set_status,
    touch,
    urgency,
)
from server.actions.requests import release_holds
from server.domain import sla as sla_rules
from server.domain.text import N_
from server.models import (
    ACTIVE_JOB_STATUSES,
    Job,
    JobStatus,
    RequestStatus,
    SlaClock,
    Staff,
    SupportRequest,
)

REMOTE_OUTCOMES = ("solved", "needs_onsite")


# -- accept ------------------------------------------------------------------------------


def accept_job(
    db: Session, staff_id: int, job_id: int, at: datetime, now: datetime, settings: Any
) -> Job:
    """The assignee accepts (D8b); the first-response clock stops when they did (D8c).

    Idempotent: accepting an accepted job returns it unchanged, so a replayed outbox or
    a second tap on the notification changes nothing.
    """
    job = locked_job(db, job_id)
    if job.assignee_id != staff_id:
        raise ActionError(N_("This job is assigned to someone else."))
    if job.status == JobStatus.reassigned:
        raise ActionError(N_("This job was given to someone else."))
    if job.status == JobStatus.cancelled:
        raise ActionError(N_("This job was cancelled."))
    if job.accepted_at is not None:
        return job
    if job.status != JobStatus.offered:
        raise ActionError(N_("This job is no longer active."))
    request = db.get(SupportRequest, job.request_id)
    when, doubtful = sla_rules.plausible_fact_time(at, job.assigned_at, now, settings.sla)
    job.status, job.accepted_at = JobStatus.accepted, when
    job.version += 1
    db.add(job)
    clocks.stop_clock(db, request.id, "first_response", when)
    set_status(db, request)
    details: dict[str, Any] = {"kind": job.kind}
    if doubtful:
        details.update(device_time=at.isoformat() if at else None, flagged=True)
    audit.record(db, "job.accepted", staff_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=when, **details)
    touch(db, request, job, [staff_id])
    return job


# -- escalate (D8) -----------------------------------------------------------------------


def escalate_to_onsite(
    db: Session, actor_id: int, job_id: int, now: datetime, settings: Any, notes: str = ""
) -> SupportRequest:
    """A remote job hands the request on to onsite work, keeping its whole history."""
    job = locked_job(db, job_id)
    if job.kind != "remote":
        raise ActionError(N_("Only a remote job can be escalated to onsite."))
    if job.status not in ACTIVE_JOB_STATUSES:
        raise ActionError(N_("This job is no longer active."))
    request = open_request(db, job.request_id)
    end_job(db, job, JobStatus.escalated, now, outcome="needs_onsite", notes=notes)
    if job.assigned_by and job.assigned_by != actor_id:
        dispatcher = db.get(Staff, job.assigned_by)
        notify.enqueue(
            db, staff_id=job.assigned_by, kind="job.escalated",
            title=say(dispatcher, N_("{number} needs an onsite engineer"), number=request.number),
            body=say(dispatcher, N_("Remote support could not solve it: assign an onsite engineer.")),
            dedupe_key=f"job:{job.id}:escalated", request_id=request.id, job_id=job.id,
            urgency=urgency(request), now=now,
        )
    elif job.assignee_id and job.assignee_id != actor_id:
        engineer = db.get(Staff, job.assignee_id)
        notify.enqueue(
            db, staff_id=job.assignee_id, kind="job.escalated",
            title=say(engineer, N_("{number} was escalated to onsite"), number=request.number),
            body=say(engineer, N_("You no longer need to handle it.")),
            dedupe_key=f"job:{job.id}:escalated", request_id=request.id, job_id=job.id,
            urgency=urgency(request), now=now,
        )
    changes.changed(db, "job", job.id, staff_ids=[job.assignee_id], request_id=request.id)
    return _escalate(db, actor_id, request, now, from_job=job)


def escalate_request(
    db: Session, actor_id: int, request_id: int, now: datetime, settings: Any
) -> SupportRequest:
    """The dispatcher sends a remote request onsite; an active remote job is escalated."""
    request = open_request(db, request_id)
    remote = [j for j in active_jobs(db, request.id) if j.kind == "remote"]
    if remote:
        return escalate_to_onsite(db, actor_id, remote[0].id, now, settings)
    if request.classification == "onsite":
        raise ActionError(N_("This request is already handled onsite."))
    return _escalate(db, actor_id, request, now)


def _escalate(
    db: Session, actor_id: int, request: SupportRequest, now: datetime, from_job: Job | None = None
) -> SupportRequest:
    before = request.classification
    request.classification = "onsite"
    set_status(db, request)
    details: dict[str, Any] = {"from": before}
    if from_job is not None:
        details.update(job_id=from_job.id, notes=from_job.notes)
    audit.record(db, "request.escalated", actor_id, request_id=request.id, entity="request",
                 entity_id=request.id, at=now, **details)
    touch(db, request)
    return request


# -- finish a remote job -----------------------------------------------------------------


def finish_remote_job(
    db: Session,
    staff_id: int,
    job_id: int,
    outcome: str,
    notes: str,
    now: datetime,
    settings: Any,
    steps_done: list[str] | None = None,
) -> Job:
    """'Solved' resolves the request (resolution stops, follow-up starts); 'needs onsite'
    escalates it (D8)."""
    if outcome not in REMOTE_OUTCOMES:
        raise ActionError(N_("Choose solved or needs onsite."), "outcome")
    job = locked_job(db, job_id)
    if job.kind != "remote":
        raise ActionError(N_("This is not a remote job."))
    if job.assignee_id != staff_id:
        raise ActionError(N_("This job is assigned to someone else."))
    if job.status not in ACTIVE_JOB_STATUSES:
        raise ActionError(N_("This job is no longer active."))
    notes = notes.strip()
    if len(notes) > 2000:
        raise ActionError(N_("Keep this under {limit} characters."), "notes", limit=2000)
    request = open_request(db, job.request_id)
    if job.accepted_at is None:  # talking to the customer is the first contact
        accept_job(db, staff_id, job.id, now, now, settings)
    job.notes = notes
    steps = sorted(set(steps_done or []))
    if outcome == "needs_onsite":
        if not notes:
            raise ActionError(N_("Write down what you tried, for the onsite engineer."), "notes")
        audit.record(db, "job.finished", staff_id, request_id=request.id, entity="job",
                     entity_id=job.id, at=now, outcome=outcome, notes=notes, steps=steps)
        escalate_to_onsite(db, staff_id, job.id, now, settings, notes=notes)
        return job
    end_job(db, job, JobStatus.done, now, outcome="solved", notes=notes)
    audit.record(db, "job.finished", staff_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, outcome=outcome, notes=notes, steps=steps)
    for other in active_jobs(db, request.id):
        _cancel_job(db, other, request, now, N_("Solved remotely"))
    for kind in ("first_response", "arrival", "resolution"):
        clocks.stop_clock(db, request.id, kind, now)
    request.status, request.resolved_at = RequestStatus.resolved, now
    release_holds(db, request.id, staff_id, now)
    clocks.start_clock(db, request, "follow_up", now, settings.sla)
    audit.record(db, "request.resolved", staff_id, request_id=request.id, entity="request",
                 entity_id=request.id, at=now, outcome="solved")
    changes.changed(db, "job", job.id, staff_ids=[staff_id], request_id=request.id)
    touch(db, request)
    return job


def save_job_notes(
    db: Session, staff_id: int, job_id: int, notes: str, now: datetime,
    steps_done: list[str] | None = None,
) -> Job:
    """The engineer keeps notes (and the checklist steps tried) while working; they go
    with the job to whoever is next."""
    job = locked_job(db, job_id)
    if job.assignee_id != staff_id:
        raise ActionError(N_("This job is assigned to someone else."))
    if job.status not in ACTIVE_JOB_STATUSES:
        raise ActionError(N_("This job is no longer active."))
    notes = notes.strip()
    if len(notes) > 2000:
        raise ActionError(N_("Keep this under {limit} characters."), "notes", limit=2000)
    steps = sorted(set(steps_done or []))
    job.notes = notes
    job.version += 1
    db.add(job)
    audit.record(db, "job.notes", staff_id, request_id=job.request_id, entity="job",
                 entity_id=job.id, at=now, notes=notes, steps=steps)
    changes.changed(db, "job", job.id, staff_ids=[staff_id], request_id=job.request_id)
    return job


# -- cancel ------------------------------------------------------------------------------


def cancel_request(
    db: Session, actor_id: int, request_id: int, reason: str, now: datetime, settings: Any
) -> SupportRequest:
    """S6: nothing closes without a recorded reason. Running clocks stop, jobs end."""
    reason = reason.strip()
    if not reason:
        raise ActionError(N_("Give the reason for cancelling."), "reason")
    if len(reason) > 500:
        raise ActionError(N_("Keep this under {limit} characters."), "reason", limit=500)
    request = open_request(db, request_id)
    for job in active_jobs(db, request.id):
        _cancel_job(db, job, request, now, reason)
    for clock in db.exec(
        select(SlaClock).where(SlaClock.request_id == request.id, SlaClock.stopped_at.is_(None))
    ).all():
        clocks.stop_clock(db, request.id, clock.kind, now)
    request.status, request.closed_at, request.close_reason = RequestStatus.cancelled, now, reason
    release_holds(db, request.id, actor_id, now)
    audit.record(db, "request.cancelled", actor_id, request_id=request.id, entity="request",
                 entity_id=request.id, at=now, reason=reason)
    touch(db, request)
    return request


def _cancel_job(db: Session, job: Job, request: SupportRequest, now: datetime, reason: str) -> None:
    end_job(db, job, JobStatus.cancelled, now)
    audit.record(db, "job.cancelled", None, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, assignee_id=job.assignee_id, reason=reason)
    engineer = db.get(Staff, job.assignee_id) if job.assignee_id else None
    if engineer is not None:
        notify.enqueue(
            db, staff_id=engineer.id, kind="job.cancelled",
            title=say(engineer, N_("Job {number} was cancelled"), number=request.number),
            body=say(engineer, reason),
            dedupe_key=f"job:{job.id}:cancelled", request_id=request.id, job_id=job.id,
            urgency=urgency(request), now=now,
        )
    changes.changed(db, "job", job.id, staff_ids=[job.assignee_id], request_id=request.id)


# -- clock pauses from the board (D6) ----------------------------------------------------


def pause_request_clock(
    db: Session, actor_id: int, request_id: int, kind: str, reason: str, now: datetime
) -> None:
    """D6: pause one running clock with a recorded reason; the board hears it."""
    request = open_request(db, request_id)
    clocks.pause_clock(db, request.id, kind, reason, actor_id, now)
    touch(db, request)


def resume_request_clock(
    db: Session, actor_id: int, request_id: int, kind: str, now: datetime
) -> None:
    request = open_request(db, request_id)
    clocks.resume_clock(db, request.id, kind, actor_id, now)
    touch(db, request)
