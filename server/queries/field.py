"""What the onsite engineer's phone shows: my open jobs, one job, what I recorded there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from server.actions.sla import pauses_of
from server.domain import field as rules
from server.domain import sla
from server.models import (
    ACTIVE_JOB_STATUSES,
    ClientMutation,
    Contact,
    FieldFact,
    Job,
    OrderLine,
    RentalOrder,
    SlaClock,
    SupportRequest,
    Unit,
    UnitStatus,
    Venue,
)
from server.queries.equipment import spare_for_request

PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2}
# The clock that matters most at each step of an onsite job.
KEY_CLOCK = {"offered": "first_response", "accepted": "arrival", "en_route": "arrival",
             "on_site": "resolution"}


@dataclass(frozen=True)
class Clock:
    kind: str
    state: str
    deadline: datetime  # effective, pauses included (D6)
    warn_at: datetime
    remaining_seconds: float

    @property
    def deadline_ms(self) -> int:
        return int(self.deadline.timestamp() * 1000)

    @property
    def warn_ms(self) -> int:
        return int(self.warn_at.timestamp() * 1000)

    @property
    def remaining_text(self) -> str:
        whole = int(abs(self.remaining_seconds))
        hours, rest = divmod(whole, 3600)
        minutes, secs = divmod(rest, 60)
        text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
        return ("-" if self.remaining_seconds < 0 else "") + text


@dataclass
class JobCard:
    job: Job
    request: SupportRequest
    venue: Venue | None
    contact_phone: str
    clock: Clock | None
    nav: list[tuple[str, str]] = field(default_factory=list)
    clocks: list[Clock] = field(default_factory=list)  # every running one (the phone's guess)


@dataclass
class JobPage(JobCard):
    order: RentalOrder | None = None
    units_on_order: list[Unit] = field(default_factory=list)
    reserve: list[Unit] = field(default_factory=list)
    facts: list[FieldFact] = field(default_factory=list)
    refused: list[ClientMutation] = field(default_factory=list)
    swap_offered: bool = False  # D8: a P1 still not fixed 20 min after check-in
    spare: Any = None  # issue 15: the spare unit on its way (queries.equipment)


def my_open_jobs(db: Session, staff_id: int, now: datetime, targets: sla.SlaTargets) -> list[JobCard]:
    """Most urgent first: P1 before the rest (D4), then the nearest deadline."""
    rows = db.exec(
        select(Job, SupportRequest)
        .join(SupportRequest, SupportRequest.id == Job.request_id)
        .where(Job.assignee_id == staff_id, Job.status.in_(ACTIVE_JOB_STATUSES))
    ).all()
    cards = [_card(db, job, request, now, targets) for job, request in rows]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    cards.sort(key=lambda c: (PRIORITY_ORDER.get(c.request.priority, 9),
                              c.clock.deadline if c.clock else far, c.job.id))
    return cards


def my_open_job_ids(db: Session, staff_id: int) -> list[int]:
    return list(db.exec(select(Job.id).where(Job.assignee_id == staff_id,
                                             Job.status.in_(ACTIVE_JOB_STATUSES))).all())


def job_page(db: Session, job_id: int, now: datetime, targets: sla.SlaTargets) -> JobPage | None:
    job = db.get(Job, job_id)
    if job is None:
        return None
    request = db.get(SupportRequest, job.request_id)
    card = _card(db, job, request, now, targets)
    page = JobPage(**card.__dict__)
    if request.order_id:
        page.order = db.get(RentalOrder, request.order_id)
        page.units_on_order = list(db.exec(
            select(Unit).join(OrderLine, OrderLine.unit_id == Unit.id)
            .where(OrderLine.order_id == request.order_id, OrderLine.removed_at.is_(None))
            .order_by(Unit.asset_tag)).all())
    page.reserve = list(db.exec(  # the unit held or shipped for this request first
        select(Unit).where(or_(and_(Unit.status == UnitStatus.reserve,
                                    Unit.held_for_request_id.is_(None)),
                               Unit.held_for_request_id == request.id),
                           Unit.device_type == request.device_type)
        .order_by(Unit.held_for_request_id.is_(None), Unit.asset_tag).limit(30)).all())
    page.spare = spare_for_request(db, request.id)
    page.facts = list(db.exec(select(FieldFact).where(FieldFact.job_id == job.id)
                              .order_by(FieldFact.effective_at, FieldFact.received_at)).all())
    page.refused = list(db.exec(
        # a refusal whose report was kept (a refused swap, D13) shows on that fact instead
        select(ClientMutation).where(ClientMutation.job_id == job.id,
                                     ClientMutation.result == "rejected",
                                     ClientMutation.fact_id.is_(None))
        .order_by(ClientMutation.received_at.desc()).limit(10)).all())
    checked_in = min((f.effective_at for f in page.facts if f.kind == "check_in"), default=None)
    page.swap_offered = job.status == "on_site" and sla.swap_offered(
        request.priority, checked_in, now, targets)
    return page


def _card(db: Session, job: Job, request: SupportRequest, now: datetime,
          targets: sla.SlaTargets) -> JobCard:
    venue = db.get(Venue, request.venue_id) if request.venue_id else None
    phone = request.phone
    if not phone and request.order_id:
        order = db.get(RentalOrder, request.order_id)
        contact = db.get(Contact, order.contact_id) if order and order.contact_id else None
        phone = contact.phone if contact else ""
    nav = rules.navigation_links(venue.lat, venue.lon, venue.datum, venue.name) if venue else []
    running = {c.kind: c for c in db.exec(
        select(SlaClock).where(SlaClock.request_id == request.id, SlaClock.stopped_at.is_(None))
    ).all()}
    clocks = {c.kind: _clock(db, c, now, targets) for c in running.values()}
    return JobCard(job, request, venue, phone, _key_clock(job, clocks), nav, list(clocks.values()))


def _key_clock(job: Job, clocks: dict[str, Clock]) -> Clock | None:
    """The clock that matters most at the job's step (the phone repeats this in
    field-offline.js for the state its queued actions lead to)."""
    clock = clocks.get(KEY_CLOCK.get(job.status, "")) or clocks.get("resolution")
    if clock is None and clocks:
        clock = min(clocks.values(), key=lambda c: c.deadline)
    return clock


def _clock(db: Session, clock: SlaClock, now: datetime, targets: sla.SlaTargets) -> Clock:
    status = sla.clock_status(clock.started_at, clock.deadline_at, pauses_of(db, clock), None,
                              now, targets)
    # D7: the 80 % mark, moved by the time paused like the deadline (D6)
    warn_at = clock.started_at + timedelta(
        seconds=status.budget_seconds * targets.warn_fraction + status.paused_seconds)
    return Clock(clock.kind, status.state, status.effective_deadline, warn_at,
                 status.remaining_seconds)
