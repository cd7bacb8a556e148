"""Who is on duty at an instant (D11, D17): the one query dispatch and the roster screens use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, or_, select

from server.models import Absence, RequestBackupCall, Roster, Shift, Staff, SupportRequest
from server.queries.calendar import load_calendar

if TYPE_CHECKING:
    from server.settings import Settings


@dataclass(frozen=True)
class OnDuty:
    staff_id: int
    display_name: str
    phone: str
    group: str  # remote | onsite
    region: str | None
    shift_id: int | None  # None in office hours (D17): no shift, the working day itself
    shift_kind: str  # night | day | office
    ends_at: datetime
    called_in: bool = False  # a backup who took over an absent person's shift (S12)

    @property
    def office_hours(self) -> bool:
        return self.shift_kind == "office"


def on_duty(
    db: Session, at: datetime, settings: Settings, group: str | None = None,
    region: str | None = None,
) -> list[OnDuty]:
    """Everyone rostered on a published shift covering ``at``, absences taken into account,
    plus, in a working day's office hours (D17), every active qualified engineer of a group
    not excluded on their profile and not marked away.

    ``settings``: the running app's settings, required so that every caller counts the
    configured office hours (``FIELDOPS_OFFICE_HOURS``), time zone and S8/S13 rules;
    there is no default to fall back on.

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
    for person in office_hours_people(db, at, settings, group, region):
        result.setdefault(person.staff_id, person)
    return sorted(result.values(), key=lambda d: (d.group, d.region or "", d.display_name))


def office_hours_people(
    db: Session, at: datetime, settings: Settings, group: str | None = None,
    region: str | None = None,
) -> list[OnDuty]:
    """D17: on a working day's office hours (make-up Saturdays too, never a holiday),
    every active engineer of a group who may be rostered (S8, S13), unless their profile
    excludes them or marks them away now. Empty outside office hours."""
    from server.queries.team import eligible_ids

    calendar = load_calendar(db, settings.time_zone)
    ends = calendar.office_hours_at(at, settings.office)
    if ends is None:
        return []
    query = select(Staff).where(Staff.active, Staff.office_hours_duty, Staff.group.is_not(None),
                                or_(Staff.away_until.is_(None), Staff.away_until <= at))
    if group:
        query = query.where(Staff.group == group)
    if region:
        query = query.where(Staff.region == region)
    people = db.exec(query).all()
    if not people:
        return []
    qualified = eligible_ids(db, calendar.local(at).date(), settings.roster)
    return [OnDuty(s.id, s.display_name, s.phone, s.group, s.region if s.group == "onsite" else None,
                   None, "office", ends)
            for s in people if s.id in qualified]


def is_on_duty(db: Session, staff_id: int, at: datetime, settings: Settings) -> bool:
    return any(d.staff_id == staff_id for d in on_duty(db, at, settings))


def job_calls(db: Session, staff_id: int) -> list[tuple[RequestBackupCall, SupportRequest]]:
    """S12: open calls for a backup on one request that alerted ``staff_id``, newest first."""
    rows = db.exec(select(RequestBackupCall, SupportRequest)
                   .join(SupportRequest, SupportRequest.id == RequestBackupCall.request_id)
                   .where(RequestBackupCall.status == "open")
                   .order_by(RequestBackupCall.called_at.desc())).all()
    return [(call, req) for call, req in rows if staff_id in (call.alerted or [])]
