"""Dispatch: who may get a job (D11, D17), assigning and reassigning it, and the next
step when nobody on duty fits (S12: call the backups now; or raise it to the on-duty lead).

Like every action, each function is one state change that never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, select

from server.actions import ActionError, audit, changes, notify
from server.actions import sla as clocks
from server.actions.job_common import (
    JOB_KINDS,
    active_jobs,
    clock_of,
    locked_job,
    name_of,
    open_request,
    say,
    set_status,
    touch,
    urgency,
    word,
)
from server.domain.sla import SlaTargets
from server.domain.text import N_
from server.models import (
    ACTIVE_JOB_STATUSES,
    Job,
    JobStatus,
    RequestBackupCall,
    RequestStatus,
    Role,
    Roster,
    RosterBackup,
    Staff,
    StaffRole,
    SupportRequest,
)
from server.queries.calendar import load_calendar
from server.queries.duty import OnDuty, on_duty

# -- who may get a job (D11) -------------------------------------------------------------


def eligible_engineers(
    db: Session, request: SupportRequest, kind: str, now: datetime, settings: Any
) -> list[OnDuty]:
    """D11: on duty now, in the right group and, for onsite work, the request's region.

    A backup called in for an absent colleague (S12) holds that colleague's shift and
    is listed like them (``OnDuty.called_in``).
    """
    region = request.region if kind == "onsite" else None
    return on_duty(db, now, settings, group=kind, region=region)


def _check_engineer(
    db: Session, request: SupportRequest, engineer_id: int, kind: str, now: datetime,
    settings: Any,
) -> Staff:
    if kind not in JOB_KINDS:
        raise ActionError(N_("Choose remote or onsite."), "kind")
    engineer = db.get(Staff, engineer_id) if engineer_id else None
    if engineer is None or not engineer.active:
        raise ActionError(N_("Choose an engineer."), "engineer_id")
    if any(d.staff_id == engineer_id for d in eligible_engineers(db, request, kind, now, settings)):
        return engineer
    duty = next((d for d in on_duty(db, now, settings)
                 if d.staff_id == engineer_id), None)
    name = engineer.display_name
    if duty is None:
        raise ActionError(
            N_("{name} is not on duty now: only people on duty (or a called-in backup) can get jobs."),
            "engineer_id", name=name,
        )
    if duty.group != kind:
        raise ActionError(
            N_("{name} is on duty in the {group} group, not the {kind} group."),
            "engineer_id", name=name, group=word(duty.group), kind=word(kind),
        )
    raise ActionError(
        N_("{name} covers the {region} region; this venue is in the {venue_region} region."),
        "engineer_id", name=name, region=word(duty.region or ""),
        venue_region=word(request.region),
    )


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
    request = open_request(db, request_id)
    if request.status == RequestStatus.new:
        raise ActionError(N_("This request has not been handed off to technical service yet."))
    engineer = _check_engineer(db, request, engineer_id, kind, now, settings)
    for job in active_jobs(db, request.id):
        if job.kind == kind:
            who = name_of(db, job.assignee_id)
            raise ActionError(
                N_("{name} already has this request's {kind} job: reassign it instead."),
                "engineer_id", name=who, kind=word(kind),
            )
    job = _new_job(db, actor_id, request, engineer, kind, now, settings)
    audit.record(db, "job.assigned", actor_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, assignee_id=engineer.id, kind=kind)
    touch(db, request, job, [engineer.id])
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
    old = locked_job(db, job_id)
    if request_id is not None and old.request_id != request_id:
        raise ActionError(N_("No such job."))
    request = open_request(db, old.request_id)
    if old.status not in ACTIVE_JOB_STATUSES:
        raise ActionError(N_("This job is no longer active: assign a new one instead."))
    if old.assignee_id == engineer_id:
        raise ActionError(N_("This job is already assigned to {name}."), "engineer_id",
                          name=name_of(db, engineer_id))
    engineer = _check_engineer(db, request, engineer_id, old.kind, now, settings)
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
            title=say(previous, N_("Job {number} was given to someone else"),
                       number=request.number),
            body=say(previous, N_("You no longer need to handle it.")),
            dedupe_key=f"job:{old.id}:reassigned", request_id=request.id, job_id=old.id,
            urgency=urgency(request), now=now,
        )
    changes.changed(db, "job", old.id, staff_ids=[old.assignee_id], request_id=request.id)
    touch(db, request, job, [engineer.id])
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
        arrival = clock_of(db, request.id, "arrival")
        if arrival is None or arrival.stopped_at is not None:
            clocks.start_clock(db, request, "arrival", now, settings.sla)
    set_status(db, request)
    notify.enqueue(
        db, staff_id=engineer.id, kind="job.assigned",
        title=say(engineer, N_("{priority} job {number}: {customer}"),
                   priority=request.priority, number=request.number,
                   customer=request.customer_name),
        body=say(engineer, N_("{kind} · {symptom}"), kind=say(engineer, kind),
                  symptom=request.symptom[:80]),
        dedupe_key=f"job:{job.id}:assigned", request_id=request.id, job_id=job.id,
        urgency=urgency(request), now=now,
    )
    return job


# -- nobody on duty fits: the next step, in one click (S12, D8b) ------------------------


def month_backups(db: Session, kind: str, region: str | None, now: datetime,
                  settings: Any) -> list[Staff]:
    """S12: this month's backups of the job's group (onsite: of the request's region, when
    given) who are active and not on duty themselves now (shifts and D17's configured
    office hours), by name. The month is the duty night's: 02:00 on 1 December belongs
    to the night of 30 November, so to November's roster and its backups (D10)."""
    slot = load_calendar(db, settings.time_zone).slot_at(now)
    day = slot.day if slot is not None else now.astimezone(ZoneInfo(settings.time_zone)).date()
    month = day.strftime("%Y-%m")
    query = (select(Staff).join(RosterBackup, RosterBackup.staff_id == Staff.id)
             .join(Roster, Roster.id == RosterBackup.roster_id)
             .where(Roster.month == month, Staff.active, Staff.group == kind)
             .order_by(Staff.display_name, Staff.id))
    if kind == "onsite" and region:
        query = query.where(Staff.region == region)
    busy = {d.staff_id for d in on_duty(db, now, settings)}
    return [s for s in db.exec(query).all() if s.id not in busy]


def open_backup_call(db: Session, request_id: int, kind: str) -> RequestBackupCall | None:
    return db.exec(select(RequestBackupCall).where(
        RequestBackupCall.request_id == request_id, RequestBackupCall.kind == kind,
        RequestBackupCall.status == "open")).first()


def call_backups(db: Session, actor_id: int, request_id: int, kind: str, now: datetime,
                 settings: Any) -> RequestBackupCall:
    """S12: nobody on duty can take this request's ``kind`` job: alert every backup of
    that group (and region) at once; the first to accept takes the job
    (``accept_backup_call``). Calling again while a call is open changes nothing."""
    request = open_request(db, request_id)
    if request.status == RequestStatus.new:
        raise ActionError(N_("This request has not been handed off to technical service yet."))
    if kind not in JOB_KINDS:
        raise ActionError(N_("Choose remote or onsite."), "kind")
    if any(j.kind == kind for j in active_jobs(db, request.id)):
        raise ActionError(N_("This request already has a {kind} job."), kind=word(kind))
    existing = open_backup_call(db, request.id, kind)
    if existing is not None:
        return existing
    region = request.region if kind == "onsite" else None
    people = month_backups(db, kind, region, now, settings)
    if not people:
        raise ActionError(N_("No backup of this group and region is free this month: raise it to the on-duty lead."))
    call = RequestBackupCall(request_id=request.id, kind=kind, region=region, called_at=now,
                             called_by=actor_id, alerted=[s.id for s in people])
    db.add(call)
    db.flush()
    for person in people:
        notify.enqueue(
            db, staff_id=person.id, kind="job.backup_call",
            title=say(person, N_("{priority} {number}: you are called in as a backup"),
                      priority=request.priority, number=request.number),
            body=say(person, N_("{kind} · {symptom}: the first backup to accept takes the job."),
                     kind=say(person, kind), symptom=request.symptom[:80]),
            dedupe_key=f"backup_call:{call.id}:{person.id}", request_id=request.id,
            urgency=urgency(request), now=now,
        )
    audit.record(db, "request.backup_called", actor_id, request_id=request.id,
                 entity="request", entity_id=request.id, at=now, kind=kind,
                 alerted=[s.id for s in people], call_id=call.id)
    touch(db, request, staff_ids=[s.id for s in people])
    for person in people:
        changes.changed(db, "request", request.id, staff_ids=[person.id], request_id=request.id)
    return call


def accept_backup_call(db: Session, staff_id: int, call_id: int, now: datetime,
                       settings: Any = None) -> Job:
    """The first alerted backup to accept gets the job, already accepted (being called in
    is the offer, D11 'or backups called in'); a later one is told who took it."""
    call = db.get(RequestBackupCall, call_id)
    if call is None or staff_id not in (call.alerted or []):
        raise ActionError(N_("This call for a backup no longer exists."))
    if call.status != "open":
        if call.taken_by == staff_id and call.job_id:
            return db.get(Job, call.job_id)
        raise ActionError(N_("{name} already took this job. Thank you."),
                          name=name_of(db, call.taken_by))
    request = open_request(db, call.request_id)
    won = db.exec(update(RequestBackupCall)
                  .where(RequestBackupCall.id == call.id, RequestBackupCall.status == "open")
                  .values(status="taken", taken_by=staff_id, taken_at=now)
                  .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.refresh(call)
        raise ActionError(N_("{name} already took this job. Thank you."),
                          name=name_of(db, call.taken_by))
    if any(j.kind == call.kind for j in active_jobs(db, request.id)):
        raise ActionError(N_("This request already has a {kind} job."), kind=word(call.kind))
    job = Job(request_id=request.id, kind=call.kind, assignee_id=staff_id,
              status=JobStatus.accepted, assigned_at=now, accepted_at=now,
              assigned_by=call.called_by)
    db.add(job)
    db.flush()
    db.exec(update(RequestBackupCall).where(RequestBackupCall.id == call.id)
            .values(job_id=job.id).execution_options(synchronize_session=False))
    clocks.stop_clock(db, request.id, "first_response", now)
    if call.kind == "onsite":
        arrival = clock_of(db, request.id, "arrival")
        if arrival is None or arrival.stopped_at is not None:
            clocks.start_clock(db, request, "arrival", now, settings.sla if settings else SlaTargets())
    set_status(db, request)
    audit.record(db, "job.backup_took", staff_id, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, assignee_id=staff_id, kind=call.kind,
                 call_id=call.id)
    taker = name_of(db, staff_id)
    for other_id in [call.called_by, *call.alerted]:
        if other_id in (None, staff_id):
            continue
        other = db.get(Staff, other_id)
        notify.enqueue(
            db, staff_id=other_id, kind="job.backup_taken",
            title=say(other, N_("{number}: {name} took the job"), number=request.number,
                      name=taker),
            dedupe_key=f"backup_call:{call.id}:taken:{other_id}", request_id=request.id,
            urgency=urgency(request), now=now,
        )
    touch(db, request, job, [staff_id, *call.alerted])
    return job


def raise_to_lead(db: Session, actor_id: int | None, request_id: int, now: datetime,
                  note: str = "") -> SupportRequest:
    """Nobody fits and no backup is free: every on-duty lead (dispatcher) is told now,
    high urgency for P1; the step is on the timeline."""
    request = open_request(db, request_id)
    note = note.strip()[:500]
    leads = db.exec(select(Staff).join(StaffRole, StaffRole.staff_id == Staff.id)
                    .where(StaffRole.role == Role.dispatcher, Staff.active)
                    .order_by(Staff.id)).all()
    stamp = int(now.timestamp())
    for lead in leads:
        if lead.id == actor_id:
            continue
        notify.enqueue(
            db, staff_id=lead.id, kind="request.raised",
            title=say(lead, N_("{priority} {number}: nobody on duty can take it"),
                      priority=request.priority, number=request.number),
            body=note or say(lead, N_("Decide who takes it: call someone in, or reassign.")),
            dedupe_key=f"request:{request.id}:raised:{stamp}:{lead.id}", request_id=request.id,
            urgency=urgency(request), now=now,
        )
    audit.record(db, "request.raised_to_lead", actor_id, request_id=request.id,
                 entity="request", entity_id=request.id, at=now, notes=note,
                 told=[lead.id for lead in leads if lead.id != actor_id])
    touch(db, request)
    return request
