"""The remote engineer's queue and job page (tablet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, and_, exists, or_, select

from server.domain import sla as rules
from server.domain.checklists import Checklist, checklists_for
from server.models import ACTIVE_JOB_STATUSES, AuditEntry, Job, RequestStatus, SupportRequest
from server.queries.board import BoardRow, JobView, by_deadline, rows_for
from server.queries.duty import on_duty
from server.queries.request_page import RequestPage, request_page

if TYPE_CHECKING:
    from server.settings import Settings

WAITING = (RequestStatus.handed_off, RequestStatus.assigned, RequestStatus.in_progress)


@dataclass(frozen=True)
class RemoteQueue:
    mine: list[tuple[BoardRow, JobView]]
    waiting: list[BoardRow]  # remote work nobody holds: take one if on duty
    on_duty: bool


def remote_queue(db: Session, staff_id: int, now: datetime, settings: Settings) -> RemoteQueue:
    """The remote engineer's own jobs and the remote work nobody holds (D8a), each P1 first
    then by deadline (``settings.sla``); ``on_duty``: whether they may take one now (a
    shift, or D17's office hours as ``settings`` configure them)."""
    targets = settings.sla
    mine_ids = select(Job.request_id).where(
        Job.assignee_id == staff_id, Job.kind == "remote", Job.status.in_(ACTIVE_JOB_STATUSES)
    )
    remote_job = exists().where(
        and_(Job.request_id == SupportRequest.id, Job.kind == "remote",
             Job.status.in_(ACTIVE_JOB_STATUSES))
    )
    # D8a: a live stream gets remote guidance at once, whatever its classification
    waiting_ids = select(SupportRequest.id).where(
        SupportRequest.status.in_(WAITING),
        or_(SupportRequest.classification == "remote", SupportRequest.stream_state == "live"),
        ~remote_job,
    )
    mine_rows = rows_for(db, mine_ids, now, targets)
    mine = []
    for row in by_deadline(mine_rows.values()):
        job = next(j for j in row.jobs if j.kind == "remote" and j.assignee_id == staff_id)
        mine.append((row, job))
    waiting = by_deadline(rows_for(db, waiting_ids, now, targets).values())
    duty = any(d.staff_id == staff_id for d in on_duty(db, now, settings, group="remote"))
    return RemoteQueue(mine, waiting, duty)


@dataclass(frozen=True)
class RemoteJobPage:
    job: Job
    page: RequestPage
    checklists: list[Checklist]
    steps_done: frozenset[str]
    escalation_offered: bool  # D8: unsolved for 30 min: offer onsite prominently
    working_minutes: int


def remote_job(db: Session, job_id: int, now: datetime, targets: rules.SlaTargets) -> RemoteJobPage | None:
    job = db.get(Job, job_id)
    if job is None or job.kind != "remote":
        return None
    data = request_page(db, job.request_id, now, targets)
    if data is None:
        return None
    latest = db.exec(
        select(AuditEntry.details)
        .where(AuditEntry.entity == "job", AuditEntry.entity_id == str(job.id),
               AuditEntry.action.in_(("job.notes", "job.finished")))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).first()
    steps = frozenset((latest or {}).get("steps") or ())
    since = job.accepted_at or job.assigned_at or now
    active = job.status in ACTIVE_JOB_STATUSES
    return RemoteJobPage(
        job=job,
        page=data,
        checklists=checklists_for(data.request.device_type, data.request.symptom),
        steps_done=steps,
        escalation_offered=active and rules.escalation_offered(since, now, targets),
        working_minutes=max(0, int((now - since).total_seconds() // 60)),
    )
