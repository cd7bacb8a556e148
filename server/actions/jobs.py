"""Jobs: assigning, reassigning, accepting, escalating, finishing and cancelling (D4-D11).

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
from server.actions.requests import release_holds
from server.domain import sla as sla_rules
from server.domain.text import N_
from server.models import (
    ACTIVE_JOB_STATUSES,
    OPEN_STATUSES,
    Job,
    JobStatus,
    RequestStatus,
    SlaClock,
    Staff,
    SupportRequest,
)
from server.queries.duty import OnDuty, on_duty

JOB_KINDS = ("remote", "onsite")
REMOTE_OUTCOMES = ("solved", "needs_onsite")
WORKING = (JobStatus.accepted, JobStatus.en_route, JobStatus.on_site)


# -- who may get a job (D11) -------------------------------------------------------------


def eligible_engineers(
    db: Session, request: SupportRequest, kind: str, now: datetime
) -> list[OnDuty]:
    """D11: on duty now, in the right group and, for onsite work, the request's region.

    A backup called in for an absent colleague (S12) holds that colleague's shift and
    is listed like them (``OnDuty.called_in``).
    """
    region = request.region if kind == "onsite" else None
    return on_duty(db, now, group=kind, region=region)


def _check_engineer(
    db: Session, request: SupportRequest, engineer_id: int, kind: str, now: datetime
) -> Staff:
    if kind not in JOB_KINDS:
        raise ActionError(N_("Choose remote or onsite."), "kind")
    engineer = db.get(Staff, engineer_id) if engineer_id else None
    if engineer is None or not engineer.active:
        raise ActionError(N_("Choose an engineer."), "engineer_id")
    if any(d.staff_id == engineer_id for d in eligible_engineers(db, request, kind, now)):
        return engineer
    duty = next((d for d in on_duty(db, now) if d.staff_id == engineer_id), None)
    name = engineer.display_name
    if duty is None:
        raise ActionError(
            N_("{name} is not on duty now: only people on duty (or a called-in backup) can get jobs."),
            "engineer_id", name=name,
        )
    if duty.group != kind:
        raise ActionError(
            N_("{name} is on duty in the {group} group, not the {kind} group."),
            "engineer_id", name=name, group=_word(duty.group), kind=_word(kind),
        )
    raise ActionError(
        N_("{name} covers the {region} region; this venue is in the {venue_region} region."),
        "engineer_id", name=name, region=_word(duty.region or ""),
        venue_region=_word(request.region),
    )


def _word(code: str) -> str:
    """A vocabulary code in the current language, for a message's placeholder."""
    from server.i18n import gettext

    return gettext(code) if code else ""


# -- assign and reassign -----------------------------------------------------------------


def assign_job(
    db: Session,
    actor_id: int,
    request_id: int,
    engineer_id: int,
    kind: str,
    now: datetime,
    settings: Any,
) -> Job:
    """Offer a job to an on-duty engineer (D11); onsite dispatch starts the arrival clock."""
    request = _open_request(db, request_id)
    if request.status == RequestStatus.new:
        raise ActionError(N_("This request has not been handed off to technical service yet."))
    engineer = _check_engineer(db, request, engineer_id, kind, now)
    for job in _active_jobs(db, request.id):
        if job.kind == kind:
            who = _name(db, job.assignee_id)
            raise ActionError(
                N_("{name} already has this request's {kind} job: reassign it instead."),
                "engineer_id", name=who, kind=_word(kind),
            )
    job = _new_job(db, actor_id, request, engineer, kind, now, settings)
    audit.record(db, "job.assigned", actor_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, assignee_id=engineer.id, kind=kind)
    _touch(db, request, job, [engineer.id])
    return job


def reassign_job(
    db: Session,
    actor_id: int,
    job_id: int,
    engineer_id: int,
    now: datetime,
    settings: Any,
    *,
    request_id: int | None = None,
) -> Job:
    """Give an active job to someone else; the old job stays on record as 'reassigned'.

    ``request_id``: the request the dispatcher is looking at; a job of another request
    is refused rather than moved from the wrong screen."""
    old = _job(db, job_id)
    if request_id is not None and old.request_id != request_id:
        raise ActionError(N_("No such job."))
    request = _open_request(db, old.request_id)
    if old.status not in ACTIVE_JOB_STATUSES:
        raise ActionError(N_("This job is no longer active: assign a new one instead."))
    if old.assignee_id == engineer_id:
        raise ActionError(N_("This job is already assigned to {name}."), "engineer_id",
                          name=_name(db, engineer_id))
    engineer = _check_engineer(db, request, engineer_id, old.kind, now)
    old.status, old.finished_at = JobStatus.reassigned, now
    old.version += 1
    db.add(old)
    job = _new_job(db, actor_id, request, engineer, old.kind, now, settings)
    audit.record(db, "job.reassigned", actor_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, from_job_id=old.id, from_id=old.assignee_id,
                 assignee_id=engineer.id, kind=old.kind)
    previous = db.get(Staff, old.assignee_id) if old.assignee_id else None
    if previous is not None:
        notify.enqueue(
            db, staff_id=previous.id, kind="job.reassigned",
            title=_say(previous, N_("Job {number} was given to someone else"),
                       number=request.number),
            body=_say(previous, N_("You no longer need to handle it.")),
            dedupe_key=f"job:{old.id}:reassigned", request_id=request.id, job_id=old.id,
            urgency=_urgency(request), now=now,
        )
    changes.changed(db, "job", old.id, staff_ids=[old.assignee_id], request_id=request.id)
    _touch(db, request, job, [engineer.id])
    return job


def _new_job(
    db: Session, actor_id: int, request: SupportRequest, engineer: Staff, kind: str,
    now: datetime, settings: Any,
) -> Job:
    job = Job(request_id=request.id, kind=kind, assignee_id=engineer.id,
              status=JobStatus.offered, assigned_at=now, assigned_by=actor_id)
    db.add(job)
    db.flush()
    if kind == "onsite":
        arrival = _clock(db, request.id, "arrival")
        if arrival is None or arrival.stopped_at is not None:
            clocks.start_clock(db, request, "arrival", now, settings.sla)
    _set_status(db, request)
    notify.enqueue(
        db, staff_id=engineer.id, kind="job.assigned",
        title=_say(engineer, N_("{priority} job {number}: {customer}"),
                   priority=request.priority, number=request.number,
                   customer=request.customer_name),
        body=_say(engineer, N_("{kind} · {symptom}"), kind=_say(engineer, kind),
                  symptom=request.symptom[:80]),
        dedupe_key=f"job:{job.id}:assigned", request_id=request.id, job_id=job.id,
        urgency=_urgency(request), now=now,
    )
    return job


# -- accept ------------------------------------------------------------------------------


def accept_job(
    db: Session, staff_id: int, job_id: int, at: datetime, now: datetime, settings: Any
) -> Job:
    """The assignee accepts (D8b); the first-response clock stops when they did (D8c).

    Idempotent: accepting an accepted job returns it unchanged, so a replayed outbox or
    a second tap on the notification changes nothing.
    """
    job = _job(db, job_id)
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
    _set_status(db, request)
    details: dict[str, Any] = {"kind": job.kind}
    if doubtful:
        details.update(device_time=at.isoformat() if at else None, flagged=True)
    audit.record(db, "job.accepted", staff_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=when, **details)
    _touch(db, request, job, [staff_id])
    return job


# -- escalate (D8) -----------------------------------------------------------------------


def escalate_to_onsite(
    db: Session, actor_id: int, job_id: int, now: datetime, settings: Any, notes: str = ""
) -> SupportRequest:
    """A remote job hands the request on to onsite work, keeping its whole history."""
    job = _job(db, job_id)
    if job.kind != "remote":
        raise ActionError(N_("Only a remote job can be escalated to onsite."))
    if job.status not in ACTIVE_JOB_STATUSES:
        raise ActionError(N_("This job is no longer active."))
    request = _open_request(db, job.request_id)
    _end_job(db, job, JobStatus.escalated, now, outcome="needs_onsite", notes=notes)
    if job.assigned_by and job.assigned_by != actor_id:
        dispatcher = db.get(Staff, job.assigned_by)
        notify.enqueue(
            db, staff_id=job.assigned_by, kind="job.escalated",
            title=_say(dispatcher, N_("{number} needs an onsite engineer"), number=request.number),
            body=_say(dispatcher, N_("Remote support could not solve it: assign an onsite engineer.")),
            dedupe_key=f"job:{job.id}:escalated", request_id=request.id, job_id=job.id,
            urgency=_urgency(request), now=now,
        )
    elif job.assignee_id and job.assignee_id != actor_id:
        engineer = db.get(Staff, job.assignee_id)
        notify.enqueue(
            db, staff_id=job.assignee_id, kind="job.escalated",
            title=_say(engineer, N_("{number} was escalated to onsite"), number=request.number),
            body=_say(engineer, N_("You no longer need to handle it.")),
            dedupe_key=f"job:{job.id}:escalated", request_id=request.id, job_id=job.id,
            urgency=_urgency(request), now=now,
        )
    changes.changed(db, "job", job.id, staff_ids=[job.assignee_id], request_id=request.id)
    return _escalate(db, actor_id, request, now, from_job=job)


def escalate_request(
    db: Session, actor_id: int, request_id: int, now: datetime, settings: Any
) -> SupportRequest:
    """The dispatcher sends a remote request onsite; an active remote job is escalated."""
    request = _open_request(db, request_id)
    remote = [j for j in _active_jobs(db, request.id) if j.kind == "remote"]
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
    _set_status(db, request)
    details: dict[str, Any] = {"from": before}
    if from_job is not None:
        details.update(job_id=from_job.id, notes=from_job.notes)
    audit.record(db, "request.escalated", actor_id, request_id=request.id, entity="request",
                 entity_id=request.id, at=now, **details)
    _touch(db, request)
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
    job = _job(db, job_id)
    if job.kind != "remote":
        raise ActionError(N_("This is not a remote job."))
    if job.assignee_id != staff_id:
        raise ActionError(N_("This job is assigned to someone else."))
    if job.status not in ACTIVE_JOB_STATUSES:
        raise ActionError(N_("This job is no longer active."))
    notes = notes.strip()
    if len(notes) > 2000:
        raise ActionError(N_("Keep this under {limit} characters."), "notes", limit=2000)
    request = _open_request(db, job.request_id)
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
    _end_job(db, job, JobStatus.done, now, outcome="solved", notes=notes)
    audit.record(db, "job.finished", staff_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, outcome=outcome, notes=notes, steps=steps)
    for other in _active_jobs(db, request.id):
        _cancel_job(db, other, request, now, N_("Solved remotely"))
    for kind in ("first_response", "arrival", "resolution"):
        clocks.stop_clock(db, request.id, kind, now)
    request.status, request.resolved_at = RequestStatus.resolved, now
    release_holds(db, request.id, staff_id, now)
    clocks.start_clock(db, request, "follow_up", now, settings.sla)
    audit.record(db, "request.resolved", staff_id, request_id=request.id, entity="request",
                 entity_id=request.id, at=now, outcome="solved")
    changes.changed(db, "job", job.id, staff_ids=[staff_id], request_id=request.id)
    _touch(db, request)
    return job


def save_job_notes(
    db: Session, staff_id: int, job_id: int, notes: str, now: datetime,
    steps_done: list[str] | None = None,
) -> Job:
    """The engineer keeps notes (and the checklist steps tried) while working; they go
    with the job to whoever is next."""
    job = _job(db, job_id)
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
    request = _open_request(db, request_id)
    for job in _active_jobs(db, request.id):
        _cancel_job(db, job, request, now, reason)
    for clock in db.exec(
        select(SlaClock).where(SlaClock.request_id == request.id, SlaClock.stopped_at.is_(None))
    ).all():
        clocks.stop_clock(db, request.id, clock.kind, now)
    request.status, request.closed_at, request.close_reason = RequestStatus.cancelled, now, reason
    release_holds(db, request.id, actor_id, now)
    audit.record(db, "request.cancelled", actor_id, request_id=request.id, entity="request",
                 entity_id=request.id, at=now, reason=reason)
    _touch(db, request)
    return request


def _cancel_job(db: Session, job: Job, request: SupportRequest, now: datetime, reason: str) -> None:
    _end_job(db, job, JobStatus.cancelled, now)
    audit.record(db, "job.cancelled", None, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, assignee_id=job.assignee_id, reason=reason)
    engineer = db.get(Staff, job.assignee_id) if job.assignee_id else None
    if engineer is not None:
        notify.enqueue(
            db, staff_id=engineer.id, kind="job.cancelled",
            title=_say(engineer, N_("Job {number} was cancelled"), number=request.number),
            body=_say(engineer, reason),
            dedupe_key=f"job:{job.id}:cancelled", request_id=request.id, job_id=job.id,
            urgency=_urgency(request), now=now,
        )
    changes.changed(db, "job", job.id, staff_ids=[job.assignee_id], request_id=request.id)


# -- clock pauses from the board (D6) ----------------------------------------------------


def pause_request_clock(
    db: Session, actor_id: int, request_id: int, kind: str, reason: str, now: datetime
) -> None:
    """D6: pause one running clock with a recorded reason; the board hears it."""
    request = _open_request(db, request_id)
    clocks.pause_clock(db, request.id, kind, reason, actor_id, now)
    _touch(db, request)


def resume_request_clock(
    db: Session, actor_id: int, request_id: int, kind: str, now: datetime
) -> None:
    request = _open_request(db, request_id)
    clocks.resume_clock(db, request.id, kind, actor_id, now)
    _touch(db, request)


# -- helpers -----------------------------------------------------------------------------


def _open_request(db: Session, request_id: int) -> SupportRequest:
    # FOR UPDATE (PostgreSQL; SQLite's writers are serialised already): two dispatchers
    # assigning, or a cancel racing a field "done", take their turns on the request row.
    request = db.get(SupportRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise ActionError(N_("No such request."))
    if request.status not in OPEN_STATUSES:
        raise ActionError(N_("This request is {status}: nothing more can be done on it here."),
                          status=_word(request.status))
    return request


def _job(db: Session, job_id: int) -> Job:
    # FOR UPDATE: an accept and the acknowledgement chain moving the job on cannot both win.
    job = db.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None:
        raise ActionError(N_("No such job."))
    return job


def _active_jobs(db: Session, request_id: int) -> list[Job]:
    return list(db.exec(
        select(Job).where(Job.request_id == request_id, Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(Job.id)
    ).all())


def _clock(db: Session, request_id: int, kind: str) -> SlaClock | None:
    return db.exec(
        select(SlaClock).where(SlaClock.request_id == request_id, SlaClock.kind == kind)
    ).first()


def _end_job(db: Session, job: Job, status: str, now: datetime, outcome: str = "",
             notes: str | None = None) -> None:
    job.status, job.finished_at = status, now
    if outcome:
        job.outcome = outcome
    if notes is not None:
        job.notes = notes
    job.version += 1
    db.add(job)


def _set_status(db: Session, request: SupportRequest) -> None:
    """An open, handed-off request's status follows its jobs."""
    if request.status == RequestStatus.new:
        return
    db.flush()
    active = _active_jobs(db, request.id)
    if any(j.status in WORKING for j in active):
        request.status = RequestStatus.in_progress
    elif active:
        request.status = RequestStatus.assigned
    else:
        request.status = RequestStatus.handed_off
    db.add(request)


def _touch(db: Session, request: SupportRequest, job: Job | None = None,
           staff_ids: list[int | None] | None = None) -> None:
    request.version += 1
    db.add(request)
    if job is not None:
        changes.changed(db, "job", job.id, staff_ids=staff_ids or [job.assignee_id],
                        request_id=request.id)
    changes.changed(db, "request", request.id, request_id=request.id)


def _name(db: Session, staff_id: int | None) -> str:
    staff = db.get(Staff, staff_id) if staff_id else None
    return staff.display_name if staff else "—"


def _urgency(request: SupportRequest) -> str:
    return "high" if request.priority == "P1" else "normal"


def _say(staff: Staff | None, msgid: str, **params: Any) -> str:
    """A notice's text in the recipient's language, not the sender's."""
    from server.i18n import translations

    text = translations(staff.locale if staff else "zh_CN").gettext(msgid)
    return text.format(**params) if params else text
