"""What the customer's private status page shows (D19), and nothing more.

The page gets the request's number and stage, the engineer's name and masked phone, an
arrival estimate computed here from the engineer's last reported position and the venue
(the position itself never leaves this module), the arrival and the fix. No other
request, no customer data beyond the request's own number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.domain import inbound as rules
from server.domain.geo import distance_to_venue_m
from server.models import FieldFact, Job, Staff, SupportRequest, Venue

FeedbackLink = Callable[[Session, SupportRequest, Any], "str | None"]
_feedback_links: list[FeedbackLink] = []


def register_feedback_link(fn: FeedbackLink) -> FeedbackLink:
    """The hook for the customer's feedback link (issue 16 fills it): the first that
    answers a URL for a resolved request is shown at the end of the page."""
    if fn not in _feedback_links:
        _feedback_links.append(fn)
    return fn


@dataclass(frozen=True)
class StatusView:
    request_id: int
    number: str
    stage: str  # server.domain.inbound.STAGES
    engineer: str
    engineer_phone: str  # masked
    eta_minutes: int | None
    arrived_at: datetime | None
    resolved_at: datetime | None
    feedback_url: str | None
    received_at: datetime


def find(db: Session, token: str, now: datetime, settings: Any) -> SupportRequest | None:
    """The request behind a link, or None when unknown or expired (closed + 24 h)."""
    if not token or len(token) > 64:
        return None
    request = db.exec(select(SupportRequest).where(SupportRequest.status_token == token)).first()
    if request is None:
        return None
    ended = request.closed_at
    if ended is None and request.status == "cancelled":
        ended = request.resolved_at or request.received_at
    expires = rules.link_expires_at(ended, settings.status_link_hours_after_close)
    return None if expires is not None and now >= expires else request


def view(db: Session, request: SupportRequest, settings: Any) -> StatusView:
    jobs = db.exec(select(Job).where(Job.request_id == request.id,
                                     col(Job.status).not_in(("reassigned", "cancelled")))
                   .order_by(col(Job.assigned_at).desc(), col(Job.id).desc())).all()
    job = next((j for j in jobs if j.kind == "onsite"), jobs[0] if jobs else None)
    engineer = db.get(Staff, job.assignee_id) if job and job.assignee_id else None
    stage = rules.customer_stage(request.status, job.kind if job else None,
                                 job.status if job else None)
    eta = _eta(db, job, request) if stage == "on_the_way" else None
    feedback = None
    if stage in ("done", "closed"):
        for fn in _feedback_links:
            feedback = fn(db, request, settings)
            if feedback:
                break
    return StatusView(
        request_id=request.id, number=request.number, stage=stage,
        engineer=engineer.display_name if engineer else "",
        engineer_phone=rules.mask_phone(engineer.phone) if engineer else "",
        eta_minutes=eta, arrived_at=job.arrived_at if job else None,
        resolved_at=request.resolved_at, feedback_url=feedback, received_at=request.received_at,
    )


def _eta(db: Session, job: Job | None, request: SupportRequest) -> int | None:
    """From the latest position the engineer's phone reported on this job to the venue."""
    if job is None or request.venue_id is None:
        return None
    venue = db.get(Venue, request.venue_id)
    fact = db.exec(select(FieldFact).where(FieldFact.job_id == job.id,
                                           col(FieldFact.lat).is_not(None))
                   .order_by(col(FieldFact.effective_at).desc())).first()
    if venue is None or fact is None:
        return None
    meters = distance_to_venue_m(fact.lat, fact.lon, venue.lat, venue.lon, venue.datum)
    return rules.eta_minutes(meters)
