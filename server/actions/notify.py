"""Queue a notice for a person: one outbox row per channel, delivered by the background loop.

Never sends inside the request that caused it (architecture.md, "Push"). ``dedupe_key``
is unique per channel across every server process, so asking twice queues once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.db import utcnow
from server.models import Job, Notification, Staff, SupportRequest

CHANNELS = ("webpush", "wecom")
DRILL_TITLE = "【演练 DRILL】"
# Issue 17: a person with a WeCom user id on the profile also gets a WeCom application
# message, at once with Web Push (D8b); SMS is added by the ack chain for P1 escalations.
WECOM_APP = "wecom_app"
QUEUED = "fieldops_notices_queued"  # on the session: its commit wakes the sender (server.jobs.push)


def enqueue(
    db: Session,
    *,
    staff_id: int | None,
    kind: str,
    title: str,
    body: str = "",
    dedupe_key: str,
    request_id: int | None = None,
    job_id: int | None = None,
    urgency: str = "normal",
    channels: tuple[str, ...] = CHANNELS,
    now: datetime | None = None,
    to: dict | None = None,
) -> list[Notification]:
    """``kind``: job.assigned, job.reassigned, job.escalated, job.cancelled, sla.warning...
    ``to``: for a customer (staff_id None), where the customer is reached (channel, sender)."""
    now = now or utcnow()
    if _is_drill(db, request_id, job_id):  # D12: every drill notice says so, first thing
        title = f"{DRILL_TITLE}{title}"
    payload = {"kind": kind, "title": title, "body": body, "request_id": request_id,
               "job_id": job_id}
    if to:
        payload["to"] = to
    if channels == CHANNELS and staff_id is not None:
        wecom_id = db.exec(select(Staff.wecom_userid).where(Staff.id == staff_id)).first()
        if wecom_id:
            channels = (*channels, WECOM_APP)
    queued = []
    for channel in channels:
        key = f"{channel}:{dedupe_key}"
        if db.exec(select(Notification.id).where(Notification.dedupe_key == key)).first():
            continue
        note = Notification(dedupe_key=key, staff_id=staff_id, channel=channel,
                            request_id=request_id, job_id=job_id, payload=payload,
                            urgency=urgency, next_attempt_at=now, created_at=now)
        try:
            with db.begin_nested():
                db.add(note)
        except IntegrityError:  # another process queued it first
            continue
        queued.append(note)
    if queued:
        db.info[QUEUED] = True
    return queued


def _is_drill(db: Session, request_id: int | None, job_id: int | None) -> bool:
    if request_id is None and job_id is not None:
        job = db.get(Job, job_id)
        request_id = job.request_id if job else None
    request = db.get(SupportRequest, request_id) if request_id is not None else None
    return bool(request and request.is_drill)
