"""Who is on duty at an instant (D11): the one query dispatch and the roster screens use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from server.models import Absence, Roster, Shift, Staff


@dataclass(frozen=True)
class OnDuty:
    staff_id: int
    display_name: str
    phone: str
    group: str  # remote | onsite
    region: str | None
    shift_id: int
    shift_kind: str
    ends_at: datetime
    called_in: bool = False  # a backup who took over an absent person's shift (S12)


def on_duty(
    db: Session, at: datetime, group: str | None = None, region: str | None = None
) -> list[OnDuty]:
    """Everyone rostered on a published shift covering ``at``, absences taken into account.

    A shift whose person reported unable to work is held by the backup who accepted it
    (``Absence.covered_by``), or by nobody while no backup has accepted yet.
    """
    query = (
        select(Shift, Staff, Absence)
        .join(Roster, Roster.id == Shift.roster_id)
        .join(Absence, Absence.shift_id == Shift.id, isouter=True)
        .join(Staff, Staff.id == Shift.staff_id)
        .where(Roster.status == "published", Shift.starts_at <= at, Shift.ends_at > at)
    )
    if group:
        query = query.where(Shift.group == group)
    if region:
        query = query.where(Shift.region == region)
    result: dict[int, OnDuty] = {}
    backups: list[tuple[Shift, int]] = []
    for shift, staff, absence in db.exec(query):
        if absence is not None:
            if absence.covered_by:
                backups.append((shift, absence.covered_by))
            continue
        if staff.active:
            result[staff.id] = OnDuty(staff.id, staff.display_name, staff.phone, shift.group,
                                      shift.region, shift.id, shift.kind, shift.ends_at)
    for shift, backup_id in backups:
        staff = db.get(Staff, backup_id)
        if staff and staff.active and backup_id not in result:
            result[backup_id] = OnDuty(staff.id, staff.display_name, staff.phone, shift.group,
                                       shift.region, shift.id, shift.kind, shift.ends_at,
                                       called_in=True)
    return sorted(result.values(), key=lambda d: (d.group, d.region or "", d.display_name))


def is_on_duty(db: Session, staff_id: int, at: datetime) -> bool:
    return any(d.staff_id == staff_id for d in on_duty(db, at))
