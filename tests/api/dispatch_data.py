"""Builders for dispatch tests: engineers on a published roster, requests handed off.

Requests go through the intake actions (``record_request``, ``hand_off``), so the
clocks and the timeline start exactly as they do for an agent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from server.actions.requests import hand_off, record_request
from server.models import Absence, Roster, Shift, SlaClock, Staff, SupportRequest
from tests.conftest import add_staff

SHANGHAI_MONTH = "%Y-%m"


def engineer(db: Session, username: str, group: str, region: str | None = None, **kw) -> Staff:
    return add_staff(db, username, group, group=group, region=region, **kw)


def on_shift(db: Session, now: datetime, *people: Staff, hours: float = 8) -> list[Shift]:
    """Put people on a published shift that covers ``now`` (their own group and region)."""
    month = now.strftime(SHANGHAI_MONTH)
    roster = db.exec(select(Roster).where(Roster.month == month)).first()
    if roster is None:
        roster = Roster(month=month, status="published", published_at=now - timedelta(days=10))
        db.add(roster)
        db.flush()
    shifts = []
    for person in people:
        shift = Shift(roster_id=roster.id, staff_id=person.id, day=now.date(), kind="night",
                      starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=hours),
                      group=person.group, region=person.region)
        db.add(shift)
        shifts.append(shift)
    db.commit()
    return shifts


def call_in(db: Session, shift: Shift, backup: Staff, reporter: Staff, now: datetime) -> None:
    """S12: the person on ``shift`` cannot work; ``backup`` took the shift over."""
    db.add(Absence(shift_id=shift.id, staff_id=shift.staff_id, reported_at=now,
                   reported_by=reporter.id, reason="突发疾病", covered_by=backup.id,
                   covered_at=now))
    db.commit()


FORM = {
    "channel": "hotline",
    "customer_name": "星耀直播传媒（上海）有限公司",
    "contact_name": "王晓明",
    "phone": "13800138000",
    "address": "上海市黄浦区人民大道300号",
    "device_type": "encoder",
    "symptom": "推流失败，直播中断",
    "symptom_kind": "push_failed",
    "stream_state": "none",
    "region": "urban",
}


def handed_off(
    db: Session, agent: Staff, now: datetime, settings: Any, *, classification: str = "remote",
    priority: str = "P2", received_before: timedelta = timedelta(minutes=3), **form: Any,
) -> SupportRequest:
    """A request received a little before ``now`` and handed off at ``now``."""
    values = FORM | {"received_at": (now - received_before).isoformat()} | form
    request = record_request(db, agent.id, values, now, settings)
    hand_off(db, agent.id, request.id, classification, priority, now, settings)
    db.commit()
    return request


def clock(db: Session, request_id: int, kind: str) -> SlaClock | None:
    db.expire_all()
    return db.exec(
        select(SlaClock).where(SlaClock.request_id == request_id, SlaClock.kind == kind)
    ).first()
