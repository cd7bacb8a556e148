"""Queue a notice for a person: one outbox row per channel, delivered by the background loop.

Never sends inside the request that caused it (architecture.md, "Push"). ``dedupe_key``
is unique per channel across every server process, so asking twice queues once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.db import utcnow
from server.models import Job, Notification, Staff, SupportRequest

CHANNELS = ("webpush", "wecom")
DRILL_TITLE = "【演练 DRILL】"
# Issue 17: a person with a WeCom user id on the profile also gets a WeCom application
# message, at once with Web Push (D8b); SMS is added by the ack chain for P1 escalations.
WECOM_APP = "wecom_app"
_COPIED = ("dedupe_key", "staff_id", "channel", "request_id", "job_id", "payload", "urgency",
           "next_attempt_at", "created_at")
QUEUED = "fieldops_notices_queued"  # on the session: its commit wakes the sender (server.jobs.push)


@dataclass(frozen=True)
class Notice:
    """One person's notice: what ``enqueue_all`` queues on each of their channels."""

    staff_id: int | None
    title: str
    body: str
    dedupe_key: str


def enqueue(db: Session, *, staff_id: int | None, title: str, body: str = "", dedupe_key: str,
            **about: Any) -> list[Notification]:
    """One person's notice: ``enqueue_all`` with one ``Notice``. ``about``: its keyword
    arguments (``kind``: job.assigned, job.cancelled, sla.warning...; ``request_id``,
    ``job_id``, ``urgency``, ``channels``, ``now``; ``to``: for a customer, staff_id None,
    where the customer is reached: channel, sender)."""
    return enqueue_all(db, [Notice(staff_id, title, body, dedupe_key)], **about)


def enqueue_all(
    db: Session,
    notices: list[Notice],
    *,
    kind: str,
    request_id: int | None = None,
    job_id: int | None = None,
    urgency: str = "normal",
    channels: tuple[str, ...] = CHANNELS,
    now: datetime | None = None,
    to: dict | None = None,
) -> list[Notification]:
    """Several people's notices of one kind about one request or job, queued together:
    their WeCom ids and what is queued already are read in one query each, and the new
    rows inserted in one savepoint (a handoff tells every dispatcher: ~13 statements
    each, one by one). Returns the rows queued, in the order of ``notices`` and
    ``channels``; a (channel, dedupe key) queued before is skipped."""
    if not notices:
        return []
    now = now or utcnow()
    drill = _is_drill(db, request_id, job_id)  # D12: every drill notice says so, first thing
    wecom: set[int] = set()
    if channels == CHANNELS:
        ids = {n.staff_id for n in notices if n.staff_id is not None}
        if ids:
            wecom = set(db.exec(select(Staff.id).where(Staff.id.in_(ids),
                                                       Staff.wecom_userid.is_not(None),
                                                       Staff.wecom_userid != "")).all())
    wanted: list[Notification] = []
    for n in notices:
        payload = {"kind": kind, "title": f"{DRILL_TITLE}{n.title}" if drill else n.title,
                   "body": n.body, "request_id": request_id, "job_id": job_id}
        if to:
            payload["to"] = to
        own = (*channels, WECOM_APP) if n.staff_id in wecom else channels
        wanted += [Notification(dedupe_key=f"{channel}:{n.dedupe_key}", staff_id=n.staff_id,
                                channel=channel, request_id=request_id, job_id=job_id,
                                payload=payload, urgency=urgency, next_attempt_at=now,
                                created_at=now)
                   for channel in own]
    keys = {note.dedupe_key for note in wanted}
    queued_before = set(db.exec(select(Notification.dedupe_key)
                                .where(Notification.dedupe_key.in_(keys))).all())
    fresh, seen = [], set(queued_before)
    for note in wanted:
        if note.dedupe_key not in seen:
            seen.add(note.dedupe_key)
            fresh.append(note)
    if not fresh:
        return []
    try:
        with db.begin_nested():
            db.add_all(fresh)
    except IntegrityError:  # another process queued some of them first: one at a time
        fresh = [again for note in fresh if (again := _insert_once(db, note)) is not None]
    if fresh:
        db.info[QUEUED] = True
    return fresh


def _insert_once(db: Session, note: Notification) -> Notification | None:
    """A copy of ``note`` (the original went with the rolled-back savepoint), or None."""
    note = Notification(**{k: getattr(note, k) for k in _COPIED})
    try:
        with db.begin_nested():
            db.add(note)
    except IntegrityError:
        return None
    return note


def _is_drill(db: Session, request_id: int | None, job_id: int | None) -> bool:
    if request_id is None and job_id is not None:
        job = db.get(Job, job_id)
        request_id = job.request_id if job else None
    request = db.get(SupportRequest, request_id) if request_id is not None else None
    return bool(request and request.is_drill)
