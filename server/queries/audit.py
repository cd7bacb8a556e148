"""The audit log screen's search (manager, admin): who, what, when, from which device,
which request / unit / shift. Reads ``audit_entry``, which every action writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, or_, select

from server.models import AuditEntry, Staff, SupportRequest

PAGE = 100
ENTITIES = ("request", "job", "unit", "shift", "swap", "roster", "staff", "feedback",
            "feedback_link", "sla_clock", "calendar", "drill", "notification")


@dataclass(frozen=True)
class AuditSearch:
    """Every field optional; text fields match anywhere, case-insensitively."""

    who: str = ""  # username or display name
    what: str = ""  # the action, e.g. 'job.' or 'reopened'
    device: str = ""
    request: str = ""  # a request number (or part of one)
    entity: str = ""  # one of ENTITIES
    entity_id: str = ""  # e.g. a unit's id or a shift's id
    since: date | None = None  # local dates, inclusive
    until: date | None = None
    before_id: int | None = None  # paging: entries older than this one


@dataclass
class AuditRow:
    entry: AuditEntry
    who: str
    request_number: str


def search(db: Session, s: AuditSearch, tz: ZoneInfo) -> tuple[list[AuditRow], int | None]:
    """Newest first, a page at a time; returns the rows and the id to page on (or None)."""
    query = (select(AuditEntry, Staff.display_name, Staff.username, SupportRequest.number)
             .join(Staff, Staff.id == AuditEntry.actor_id, isouter=True)
             .join(SupportRequest, SupportRequest.id == AuditEntry.request_id, isouter=True))
    if s.who:
        like = f"%{s.who}%"
        query = query.where(or_(Staff.username.ilike(like), Staff.display_name.ilike(like)))
    if s.what:
        query = query.where(AuditEntry.action.ilike(f"%{s.what}%"))
    if s.device:
        query = query.where(AuditEntry.device.ilike(f"%{s.device}%"))
    if s.request:
        query = query.where(SupportRequest.number.ilike(f"%{s.request}%"))
    if s.entity:
        query = query.where(AuditEntry.entity == s.entity)
    if s.entity_id:
        query = query.where(AuditEntry.entity_id == s.entity_id)
    if s.since:
        query = query.where(AuditEntry.at >= datetime.combine(s.since, time(), tz))
    if s.until:
        query = query.where(AuditEntry.at < datetime.combine(s.until + timedelta(days=1), time(), tz))
    if s.before_id:
        query = query.where(AuditEntry.id < s.before_id)
    rows = db.exec(query.order_by(AuditEntry.id.desc()).limit(PAGE + 1)).all()
    out = [AuditRow(e, name or username or "", number or "") for e, name, username, number in rows]
    more = out[PAGE - 1].entry.id if len(out) > PAGE else None
    return out[:PAGE], more
