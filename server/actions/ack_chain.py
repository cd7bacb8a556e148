"""D8b: an assignment must be acknowledged, or it moves on.

An offered job not accepted within the ack timeout (3 min for P1, 10 for the others:
``server.domain.sla.ack_deadline``) goes, one step at a time:
  1. to the next on-duty engineer of that group (and region, onsite) not yet tried;
  2. then to a backup of the month (S12), called in for this job;
  3. then it is raised to the on-duty lead (every dispatcher), who decides.
A step with nobody to take it is skipped. Every step is on the request's timeline
(``job.ack_timeout`` / ``job.ack_backup`` / ``job.ack_lead``), on the board (``changes.changed``) and notified.

``Job.ack_step`` says how far the chain has gone. A step is taken by the conditional
UPDATE ... WHERE ack_step = <seen>, in the transaction that does the step: with two
server processes exactly one wins it; the other changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from server.actions import audit, changes, notify
from server.actions import jobs as job_actions
from server.actions.assign import month_backups
from server.domain import sla as sla_rules
from server.domain.text import N_
from server.models import (
    OPEN_STATUSES,
    Job,
    JobStatus,
    Notification,
    Role,
    Staff,
    StaffRole,
    SupportRequest,
)

NEXT_ENGINEER, BACKUP, LEAD = 1, 2, 3
STEP_NAMES = {NEXT_ENGINEER: "next_engineer", BACKUP: "backup", LEAD: "lead"}
STEP_ACTIONS = {NEXT_ENGINEER: "job.ack_timeout", BACKUP: "job.ack_backup", LEAD: "job.ack_lead"}


def overdue_jobs(db: Session, now: datetime, targets: sla_rules.SlaTargets) -> list[int]:
    """Offered jobs past their ack deadline whose chain has a step left, oldest first."""
    rows = db.exec(
        select(Job.id, Job.assigned_at, SupportRequest.priority)
        .join(SupportRequest, SupportRequest.id == Job.request_id)
        .where(Job.status == JobStatus.offered, col(Job.accepted_at).is_(None),
               Job.ack_step < LEAD, col(SupportRequest.status).in_(OPEN_STATUSES),
               col(Job.assigned_at).is_not(None))
        .order_by(Job.assigned_at, Job.id)
    ).all()
    return [job_id for job_id, assigned_at, priority in rows
            if now >= sla_rules.ack_deadline(assigned_at, priority, targets)]


def advance(db: Session, job_id: int, now: datetime, settings: Any,
            declined: bool = False) -> Job | None:
    """Take the next step for one overdue job. Answers the job now offered (or, after
    raising to the lead, the same job); None if there was nothing to do or another
    process took this step first. ``declined``: the engineer said no (field.decline):
    the next step is taken at once, not at the ack deadline."""
    job = db.exec(select(Job).where(Job.id == job_id)
                  .execution_options(populate_existing=True)).first()
    if job is None or job.status != JobStatus.offered or job.accepted_at is not None:
        return None
    request = db.get(SupportRequest, job.request_id)
    if request is None or request.status not in OPEN_STATUSES or job.ack_step >= LEAD:
        return None
    if not declined and now < sla_rules.ack_deadline(job.assigned_at, request.priority,
                                                     settings.sla):
        return None
    tried = set(db.exec(select(Job.assignee_id).where(Job.request_id == request.id,
                                                      Job.kind == job.kind)).all())
    step, target = _next_step(db, job, request, tried, now, settings)
    seen = job.ack_step
    won = db.exec(
        update(Job)
        .where(Job.id == job.id, Job.ack_step == seen, Job.status == JobStatus.offered,
               col(Job.accepted_at).is_(None))
        .values(ack_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        return None
    db.refresh(job)
    waited = int((now - job.assigned_at).total_seconds() // 60)
    previous = job.assignee_id
    if step == NEXT_ENGINEER:
        offered = job_actions.reassign_job(db, None, job.id, target.id, now, settings)
    elif step == BACKUP:
        offered = _offer_to_backup(db, job, request, target, now)
    else:
        offered = job
        _raise_to_lead(db, job, request, tried, now)
    offered.ack_step = step
    db.add(offered)
    audit.record(db, STEP_ACTIONS[step], None, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, step=STEP_NAMES[step], from_id=previous,
                 assignee_id=target.id if target else None, job_id=offered.id,
                 waited_minutes=waited)
    if request.priority == "P1" and getattr(settings, "sms_enabled", False):
        _also_by_sms(db, request, now)
    changes.changed(db, "job", job.id, staff_ids=[previous], request_id=request.id)
    return offered


SMS_KINDS = ("job.assigned", "job.offered", "job.unacknowledged")


def _also_by_sms(db: Session, request: SupportRequest, now: datetime) -> None:
    """Issue 17: Web Push and WeCom go at once; a P1 not acknowledged within the first step
    also goes by SMS, the last channel: every notice this step queued gets an SMS twin
    (same dedupe key, so it is queued once across processes)."""
    notes = db.exec(select(Notification).where(
        Notification.request_id == request.id, Notification.channel == "webpush",
        Notification.created_at == now)).all()
    for note in notes:
        if note.payload.get("kind") not in SMS_KINDS or note.staff_id is None:
            continue
        notify.enqueue(db, staff_id=note.staff_id, kind=note.payload["kind"],
                       title=note.payload.get("title", ""), body=note.payload.get("body", ""),
                       dedupe_key=note.dedupe_key.split(":", 1)[1], request_id=request.id,
                       job_id=note.job_id, urgency="high", channels=("sms",), now=now)


def _next_step(
    db: Session, job: Job, request: SupportRequest, tried: set[int | None], now: datetime,
    settings: Any,
) -> tuple[int, Staff | None]:
    if job.ack_step < NEXT_ENGINEER:
        for duty in job_actions.eligible_engineers(db, request, job.kind, now, settings):
            if duty.staff_id not in tried:
                return NEXT_ENGINEER, db.get(Staff, duty.staff_id)
    if job.ack_step < BACKUP:
        backup = _backup(db, job.kind, request.region, tried, now, settings)
        if backup is not None:
            return BACKUP, backup
    return LEAD, None


def _backup(
    db: Session, kind: str, region: str, tried: set[int | None], now: datetime, settings: Any
) -> Staff | None:
    """S12: one of this month's backups in the job's group, not on duty now (a shift, or
    D17's office hours as configured) and not tried yet; someone from the request's region
    first."""
    free = [s for s in month_backups(db, kind, None, now, settings) if s.id not in tried]
    if kind == "onsite":
        free.sort(key=lambda s: s.region != region)
    return free[0] if free else None


def _offer_to_backup(
    db: Session, old: Job, request: SupportRequest, backup: Staff, now: datetime
) -> Job:
    """Like ``jobs.reassign_job``, for someone who is not on duty: being offered the job
    is their call-in (S12, D11 'or backups called in')."""
    old.status, old.finished_at = JobStatus.reassigned, now
    old.version += 1
    db.add(old)
    job = Job(request_id=request.id, kind=old.kind, assignee_id=backup.id,
              status=JobStatus.offered, assigned_at=now, assigned_by=None)
    db.add(job)
    db.flush()
    audit.record(db, "job.reassigned", None, request_id=request.id, entity="job",
                 entity_id=job.id, at=now, from_job_id=old.id, from_id=old.assignee_id,
                 assignee_id=backup.id, kind=old.kind, backup=True)
    urgency = "high" if request.priority == "P1" else "normal"
    previous = db.get(Staff, old.assignee_id) if old.assignee_id else None
    if previous is not None:
        notify.enqueue(
            db, staff_id=previous.id, kind="job.reassigned",
            title=_say(previous, N_("Job {number} was given to someone else"),
                       number=request.number),
            body=_say(previous, N_("You no longer need to handle it.")),
            dedupe_key=f"job:{old.id}:reassigned", request_id=request.id, job_id=old.id,
            urgency=urgency, now=now,
        )
    notify.enqueue(
        db, staff_id=backup.id, kind="job.assigned",
        title=_say(backup, N_("{priority} job {number}: {customer}"), priority=request.priority,
                   number=request.number, customer=request.customer_name),
        body=_say(backup, N_("You are called in as a backup: {kind} · {symptom}"),
                  kind=_say(backup, old.kind), symptom=request.symptom[:80]),
        dedupe_key=f"job:{job.id}:assigned", request_id=request.id, job_id=job.id,
        urgency=urgency, now=now,
    )
    request.version += 1
    db.add(request)
    changes.changed(db, "job", job.id, staff_ids=[backup.id], request_id=request.id)
    changes.changed(db, "request", request.id, request_id=request.id)
    return job


def _raise_to_lead(
    db: Session, job: Job, request: SupportRequest, tried: set[int | None], now: datetime
) -> None:
    leads = db.exec(
        select(Staff).join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role == Role.dispatcher, Staff.active == True)  # noqa: E712 - SQL
        .order_by(Staff.id)
    ).all()
    names = db.exec(select(Staff.display_name).where(col(Staff.id).in_(
        [t for t in tried if t is not None]))).all()
    for lead in leads:
        notify.enqueue(
            db, staff_id=lead.id, kind="job.unacknowledged",
            title=_say(lead, N_("{priority} {number}: nobody accepted the job"),
                       priority=request.priority, number=request.number),
            body=_say(lead, N_("Offered to {names}; not accepted in time. Call them or assign it by hand."),
                      names="、".join(names) or "—"),
            dedupe_key=f"job:{job.id}:ack:lead:{lead.id}", request_id=request.id, job_id=job.id,
            urgency="high" if request.priority == "P1" else "normal", now=now,
        )
    changes.changed(db, "request", request.id, request_id=request.id)


def _say(staff: Staff | None, msgid: str, **params: Any) -> str:
    """A notice's text in the recipient's language."""
    from server.i18n import translations

    text = translations(staff.locale if staff else "zh_CN").gettext(msgid)
    return text.format(**params) if params else text
