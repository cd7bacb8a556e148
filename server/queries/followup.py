"""Resolved requests waiting for the customer's feedback (S6), oldest follow-up deadline first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from server.actions.sla import pauses_of
from server.domain import sla as rules
from server.models import Job, JobStatus, RequestStatus, SlaClock, SupportRequest


@dataclass
class Waiting:
    request: SupportRequest
    clock: SlaClock | None
    status: rules.ClockStatus | None
    job: Job | None  # the job that resolved it: what was done


def waiting(db: Session, now: datetime, settings: Any, request_id: int | None = None
            ) -> list[Waiting]:
    query = (
        select(SupportRequest, SlaClock)
        .join(SlaClock, (SlaClock.request_id == SupportRequest.id) & (SlaClock.kind == "follow_up"),
              isouter=True)
        .where(SupportRequest.status == RequestStatus.resolved)
        .order_by(SlaClock.deadline_at, SupportRequest.resolved_at, SupportRequest.id)
    )  # fmt: skip
    if request_id is not None:
        query = query.where(SupportRequest.id == request_id)
    rows = []
    for request, clock in db.exec(query.limit(200)).all():
        status = None
        if clock is not None:
            status = rules.clock_status(clock.started_at, clock.deadline_at, pauses_of(db, clock),
                                        clock.stopped_at, now, settings.sla)
        job = db.exec(
            select(Job).where(Job.request_id == request.id, Job.status == JobStatus.done)
            .order_by(Job.finished_at.desc(), Job.id.desc())
        ).first()  # fmt: skip
        rows.append(Waiting(request, clock, status, job))
    return rows
