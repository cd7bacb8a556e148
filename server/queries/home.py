"""What each role's home screen shows at a glance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, select

from server.models import (
    ACTIVE_JOB_STATUSES,
    OPEN_STATUSES,
    Depot,
    Job,
    RequestStatus,
    Roster,
    Shift,
    Staff,
    StaffRole,
    SupportRequest,
    Unit,
    UnitStatus,
)
from server.queries.duty import on_duty

if TYPE_CHECKING:
    from server.settings import Settings


def request_counts(db: Session) -> dict[str, int]:
    rows = db.exec(
        select(SupportRequest.status, func.count())
        .where(SupportRequest.status.in_([*OPEN_STATUSES, RequestStatus.resolved]))
        .group_by(SupportRequest.status)
    ).all()
    return {status: n for status, n in rows}


def awaiting_handoff(db: Session, limit: int = 10) -> list[SupportRequest]:
    return list(
        db.exec(
            select(SupportRequest)
            .where(SupportRequest.status == RequestStatus.new)
            .order_by(SupportRequest.received_at)
            .limit(limit)
        )
    )


def my_jobs(db: Session, staff_id: int) -> list[tuple[Job, SupportRequest]]:
    rows = db.exec(
        select(Job, SupportRequest)
        .join(SupportRequest, SupportRequest.id == Job.request_id)
        .where(Job.assignee_id == staff_id, Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(SupportRequest.priority, Job.assigned_at)
    ).all()
    return list(rows)


def on_duty_count(db: Session, at: datetime, settings: Settings) -> dict[str, int]:
    """People on duty at ``at`` per group (remote | onsite): on a published shift, a backup
    called in, or counted in D17's office hours as ``settings`` configure them."""
    counts: dict[str, int] = {}
    for person in on_duty(db, at, settings):
        counts[person.group] = counts.get(person.group, 0) + 1
    return counts


def reserve_by_depot(db: Session) -> list[dict[str, Any]]:
    rows = db.exec(
        select(Depot.name, Unit.device_type, func.count())
        .join(Depot, Depot.id == Unit.depot_id)
        .where(Unit.status == UnitStatus.reserve)
        .group_by(Depot.name, Unit.device_type)
        .order_by(Depot.name, Unit.device_type)
    ).all()
    depots: dict[str, dict[str, int]] = {}
    for depot, device_type, n in rows:
        depots.setdefault(depot, {})[device_type] = n
    return [{"depot": d, "counts": c, "total": sum(c.values())} for d, c in depots.items()]


def roster_status(db: Session, months: list[str]) -> list[dict[str, Any]]:
    found = {r.month: r for r in db.exec(select(Roster).where(Roster.month.in_(months)))}
    result = []
    for month in months:
        roster = found.get(month)
        shifts = 0
        if roster:
            shifts = db.exec(select(func.count()).where(Shift.roster_id == roster.id)).one()
        result.append({"month": month, "roster": roster, "shifts": shifts})
    return result


def people_by_role(db: Session) -> dict[str, int]:
    rows = db.exec(
        select(StaffRole.role, func.count())
        .join(Staff, Staff.id == StaffRole.staff_id)
        .where(Staff.active)
        .group_by(StaffRole.role)
    ).all()
    return {role: n for role, n in rows}


def month_keys(now_local: datetime) -> list[str]:
    this = now_local.strftime("%Y-%m")
    nxt = (now_local.replace(day=28) + timedelta(days=4)).strftime("%Y-%m")
    return [this, nxt]
