"""For the dispatcher: did each notice reach the person? Delivered, shown, acknowledged.

One notice (say, "job 7 assigned to 王五") is one outbox row per channel; the views
here put a notice's channels back together, in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from server.domain.text import N_
from server.models import Notification, Staff

RETRYING = "retrying"  # shown for a pending row that has failed at least once

# What a notice was about, in the viewer's language (its stored title is in the
# recipient's language, which may not be the viewer's).
NOTICE_KINDS = {
    "job.assigned": N_("Job offered"),
    "job.reassigned": N_("Job given to someone else"),
    "job.cancelled": N_("Job cancelled"),
    "job.escalated": N_("Escalated to onsite"),
    "job.unacknowledged": N_("Nobody accepted the job"),
    "job.backup_call": N_("Called in as a backup"),
    "job.backup_taken": N_("A backup took the job"),
    "request.handed_off": N_("Request handed off"),
    "request.raised": N_("Raised to the on-duty lead"),
    "swap.handed_over": N_("Refused swap handed to the equipment manager"),
    "sla.warning": N_("SLA warning: the time is nearly up"),
    "sla.breach": N_("SLA breached"),
    "push.test": N_("Test alert"),
    "customer.status_link": N_("Status link for the customer"),
    "customer.received": N_("Automatic reply to the customer"),
}


@dataclass(frozen=True, slots=True)
class ChannelState:
    id: int
    channel: str  # webpush | wecom | board
    status: str  # pending | retrying | sending | sent | gave_up | no_device | off
    attempts: int
    delivered_at: datetime | None
    shown_at: datetime | None
    acknowledged_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str


@dataclass(frozen=True, slots=True)
class NoticeView:
    key: str  # the dedupe key without its channel
    staff_id: int | None
    name: str
    kind: str
    title: str
    urgency: str
    created_at: datetime
    job_id: int | None
    channels: tuple[ChannelState, ...]

    def _first(self, attr: str) -> datetime | None:
        times = [getattr(c, attr) for c in self.channels if getattr(c, attr)]
        return min(times) if times else None

    @property
    def delivered_at(self) -> datetime | None:
        return self._first("delivered_at")

    @property
    def shown_at(self) -> datetime | None:
        return self._first("shown_at")

    @property
    def acknowledged_at(self) -> datetime | None:
        return self._first("acknowledged_at")

    @property
    def state(self) -> str:
        """The furthest the notice got, or why it did not: what the dispatcher acts on."""
        if self.acknowledged_at:
            return "acknowledged"
        if self.shown_at:
            return "shown"
        if self.delivered_at:
            return "delivered"
        statuses = {c.status for c in self.channels if c.status != "off"}
        for status in (RETRYING, "sending", "pending", "gave_up", "no_device"):
            if status in statuses:
                return status
        return "off"


@dataclass(frozen=True, slots=True)
class PersonNotices:
    """A request's notices to one person, and whether any device of theirs has alerts on."""

    staff_id: int | None
    name: str
    notices: tuple[NoticeView, ...]

    @property
    def no_device(self) -> bool:
        """Said once per person (not per notice): the phone channel never had a device."""
        phone = [c for n in self.notices for c in n.channels if c.channel == "webpush"]
        return bool(phone) and all(c.status == "no_device" for c in phone)


def by_person(notices: list[NoticeView]) -> list[PersonNotices]:
    """Notices grouped by recipient, in the order each person was first told."""
    groups: dict[int | None, list[NoticeView]] = {}
    for n in notices:
        groups.setdefault(n.staff_id, []).append(n)
    return [PersonNotices(sid, ns[0].name, tuple(ns)) for sid, ns in groups.items()]


def _views(db: Session, rows: list[Notification]) -> list[NoticeView]:
    staff_ids = {n.staff_id for n in rows if n.staff_id}
    names = dict(db.exec(select(Staff.id, Staff.display_name).where(col(Staff.id).in_(staff_ids))).all()) if staff_ids else {}
    grouped: dict[str, list[Notification]] = {}
    for n in rows:
        grouped.setdefault(n.dedupe_key.split(":", 1)[-1], []).append(n)
    views = []
    for key, notes in grouped.items():
        first = min(notes, key=lambda n: n.id)
        channels = tuple(
            ChannelState(n.id, n.channel,
                         RETRYING if n.status == "pending" and n.attempts else n.status,
                         n.attempts, n.delivered_at, n.shown_at, n.acknowledged_at,
                         n.next_attempt_at, n.last_error)
            for n in sorted(notes, key=lambda n: n.channel != "webpush")
        )
        views.append(NoticeView(key, first.staff_id, names.get(first.staff_id, "—"),
                                (first.payload or {}).get("kind", ""),
                                (first.payload or {}).get("title", ""), first.urgency,
                                first.created_at, first.job_id, channels))
    return sorted(views, key=lambda v: (v.created_at, v.key))


def for_request(db: Session, request_id: int) -> list[NoticeView]:
    """Every notice about one request, oldest first (the request page)."""
    rows = db.exec(select(Notification).where(Notification.request_id == request_id)
                   .order_by(Notification.id)).all()
    return _views(db, list(rows))


def for_jobs(db: Session, job_ids: list[int]) -> dict[int, NoticeView]:
    """The 'job offered' notice of each job (the board's rows): did the engineer get it?"""
    if not job_ids:
        return {}
    rows = db.exec(select(Notification).where(col(Notification.job_id).in_(job_ids))
                   .order_by(Notification.id)).all()
    offered = [n for n in rows if (n.payload or {}).get("kind") in ("job.assigned", "job.offered")]
    return {v.job_id: v for v in _views(db, offered) if v.job_id is not None}


def for_staff(db: Session, staff_id: int, limit: int = 10) -> list[NoticeView]:
    """My latest notices (the profile page shows whether alerts reach me)."""
    rows = db.exec(select(Notification).where(Notification.staff_id == staff_id)
                   .order_by(col(Notification.id).desc()).limit(limit * 3)).all()
    return list(reversed(_views(db, list(rows))))[:limit]
