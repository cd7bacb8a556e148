"""Draining the notification outbox: claim due rows, send with no transaction open, record.

Several server processes may drain one database. A row is *claimed* by one atomic
UPDATE that moves it to 'sending' and sets a lease (``next_attempt_at`` = now + lease);
PostgreSQL first picks the rows with ``FOR UPDATE SKIP LOCKED`` so drains do not queue
behind each other, SQLite serialises writers anyway. Only the claimer sends, so each
notice goes out once; a process that dies mid-send leaves the row to be claimed again
when its lease runs out. The result is recorded only if the row is still the same
claim (status 'sending', same attempt), so a late answer never overwrites a newer one.

Statuses: pending (waiting, maybe to retry) → sending → sent | gave_up | no_device | off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, update
from sqlmodel import Session, select

from server.actions import audit, changes
from server.actions.push import endpoint_allowed
from server.models import Job, Notification, PushSubscription, Staff, SupportRequest
from server.push import message
from server.push.channels import Channels, Device, Limits, Outcome, Outgoing, channels_from_settings

DUE = ("pending", "sending")  # 'sending' past its lease: the claimer died
FINAL = ("sent", "gave_up", "no_device", "off")


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 5  # then the row 'gave_up', on the request's timeline and the board
    backoff_base_seconds: float = 10.0  # 10 s, 20 s, 40 s, 80 s ... between attempts
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 300.0  # longer than any send of one batch can take
    workers: int = 8  # sends in flight at once
    limits: Limits = field(default_factory=Limits)


DEFAULT_POLICY = DeliveryPolicy()


@dataclass
class DrainResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    ended: int = 0  # no_device / off
    subscriptions_deleted: int = 0


def backoff(attempts: int, policy: DeliveryPolicy = DEFAULT_POLICY) -> timedelta:
    seconds = policy.backoff_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, policy.backoff_max_seconds))


def drain_outbox(
    db: Session,
    now: datetime,
    settings: Any,
    limit: int = 50,
    *,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    channels: Channels | None = None,
) -> DrainResult:
    """Send up to ``limit`` due notices. Commits twice (claim, record): the sending
    between them must not hold a transaction, or a slow push service would hold locks."""
    started = time.monotonic()
    items = claim(db, now, limit, settings, policy)
    result = DrainResult(claimed=len(items))
    if not items:
        return result
    channels = channels or channels_from_settings(settings, policy.limits)
    outcomes = send_all(items, channels, policy.workers)
    at = now + timedelta(seconds=time.monotonic() - started)
    record(db, items, outcomes, at, policy, result)
    return result


def claim(
    db: Session, now: datetime, limit: int, settings: Any, policy: DeliveryPolicy = DEFAULT_POLICY
) -> list[Outgoing]:
    due = (Notification.status.in_(DUE), Notification.next_attempt_at <= now)
    pick = (
        select(Notification.id).where(*due)
        .order_by(case((Notification.urgency == "high", 0), else_=1), Notification.next_attempt_at,
                  Notification.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    try:
        ids = list(db.exec(pick).all())
        if not ids:
            db.commit()
            return []
        claimed = db.exec(
            update(Notification).where(Notification.id.in_(ids), *due)
            .values(status="sending", attempts=Notification.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=policy.lease_seconds))
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        items = _detach(db, list(claimed), settings)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return items


def _detach(db: Session, ids: list[int], settings: Any) -> list[Outgoing]:
    """Everything a channel needs, loaded in a fixed handful of queries."""
    if not ids:
        return []
    notes = db.exec(select(Notification).where(Notification.id.in_(ids))
                    .execution_options(populate_existing=True)).all()
    staff_ids = {n.staff_id for n in notes if n.staff_id}
    request_ids = {n.request_id for n in notes if n.request_id}
    job_ids = {n.job_id for n in notes if n.job_id}
    people = {s.id: s for s in db.exec(select(Staff).where(Staff.id.in_(staff_ids))).all()} if staff_ids else {}
    priority = dict(db.exec(select(SupportRequest.id, SupportRequest.priority)
                            .where(SupportRequest.id.in_(request_ids))).all()) if request_ids else {}
    job_kind = dict(db.exec(select(Job.id, Job.kind).where(Job.id.in_(job_ids))).all()) if job_ids else {}
    devices: dict[int, list[Device]] = {}
    push_staff = {n.staff_id for n in notes if n.channel == "webpush" and n.staff_id}
    if push_staff:
        insecure = bool(getattr(settings, "push_allow_insecure_endpoints", False))
        for sub in db.exec(select(PushSubscription).where(PushSubscription.staff_id.in_(push_staff))
                           .order_by(PushSubscription.id)).all():
            if not endpoint_allowed(sub.endpoint, insecure):
                db.delete(sub)  # stored before endpoints were checked: never send there (SSRF)
                continue
            devices.setdefault(sub.staff_id, []).append(Device(sub.id, sub.endpoint, sub.p256dh, sub.auth))
    items = []
    for n in notes:
        person = people.get(n.staff_id)
        data = message.payload(
            n.id, n.payload or {}, secret=settings.secret_key,
            priority=priority.get(n.request_id), job_kind=job_kind.get(n.job_id),
            for_dispatcher=person is not None and not person.group,
            locale=person.locale if person else "zh_CN",
        )
        items.append(Outgoing(
            id=n.id, channel=n.channel, staff_id=n.staff_id, urgency=n.urgency, attempt=n.attempts,
            payload=data, devices=tuple(devices.get(n.staff_id, ())),
            phone=person.phone if person else "", name=person.display_name if person else "",
            wecom_userid=person.wecom_userid if person else "",
        ))
    return items


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """Sending threads kept for the life of the process (starting them per drain costs
    milliseconds a P1 alert should not wait)."""
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push-send")
        return _pools[workers]


def send_all(items: list[Outgoing], channels: Channels, workers: int) -> list[Outcome]:
    """In parallel; each item's failure stays that item's (``Channels.send`` never raises)."""
    if len(items) == 1 or workers <= 1:
        return [channels.send(item) for item in items]
    return list(_pool(workers).map(channels.send, items))


def record(
    db: Session,
    items: Iterable[Outgoing],
    outcomes: Iterable[Outcome],
    at: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    result: DrainResult | None = None,
) -> DrainResult:
    result = result or DrainResult()
    try:
        for item, outcome in zip(items, outcomes, strict=True):
            _record_one(db, item, outcome, at, policy, result)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return result


def _record_one(
    db: Session, item: Outgoing, outcome: Outcome, at: datetime, policy: DeliveryPolicy,
    result: DrainResult,
) -> None:
    values: dict[str, Any]
    if outcome.ok:
        values = {"status": "sent", "delivered_at": at, "last_error": outcome.error[:500]}
    elif outcome.final:
        values = {"status": outcome.final, "last_error": outcome.error[:500]}
    elif item.attempt >= policy.max_attempts:
        values = {"status": "gave_up", "last_error": outcome.error[:500]}
    else:
        values = {"status": "pending", "next_attempt_at": at + backoff(item.attempt, policy),
                  "last_error": outcome.error[:500]}
    same_claim = (Notification.id == item.id, Notification.status == "sending",
                  Notification.attempts == item.attempt)
    done = db.exec(update(Notification).where(*same_claim).values(**values)
                   .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return  # the lease ran out and another drain has it now: its answer counts
    if outcome.gone:
        deleted = db.exec(delete(PushSubscription).where(PushSubscription.id.in_(outcome.gone)))
        result.subscriptions_deleted += deleted.rowcount
    if outcome.reached:
        db.exec(update(PushSubscription).where(PushSubscription.id.in_(outcome.reached))
                .values(last_success_at=at))
    status = values["status"]
    if status == "sent":
        result.sent += 1
    elif status == "pending":
        result.retrying += 1
    elif status == "gave_up":
        result.gave_up += 1
        note = db.get(Notification, item.id)
        audit.record(db, "notification.gave_up", None, request_id=note.request_id,
                     entity="notification", entity_id=item.id, at=at, channel=item.channel,
                     staff_id=item.staff_id, attempts=item.attempt, error=outcome.error[:200],
                     title=item.payload.get("title", ""))
    else:
        result.ended += 1
    if item.channel == "customer" and status in ("sent", "off"):
        _customer_timeline(db, item, status, outcome, at)
    request_id = item.payload.get("request_id")
    changes.changed(db, "notification", item.id, staff_ids=[item.staff_id], request_id=request_id)


def _customer_timeline(db: Session, item: Outgoing, status: str, outcome: Outcome,
                       at: datetime) -> None:
    """A message to a customer (their status link, D19) arrived or could not be sent: on
    the request's timeline (giving up after retries is there already, as for everyone)."""
    note = db.get(Notification, item.id)
    if note is None or note.request_id is None:
        return
    to = (note.payload or {}).get("to") or {}
    via = {"hotline": "sms"}.get(to.get("channel", ""), to.get("channel", ""))
    audit.record(db, "customer.message_sent" if status == "sent" else "customer.message_failed",
                 None, request_id=note.request_id, entity="notification", entity_id=item.id,
                 at=at, via=via, error=outcome.error[:200])
