"""Who is on duty at an instant (D11, D17): the one query dispatch and the roster screens use;
the board's duty panel; the duty screen's shifts and absences, and the calls for a backup
(S12)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, or_, select

from server.models import (
    ACTIVE_JOB_STATUSES,
    Absence,
    AuditEntry,
    Job,
    RequestBackupCall,
    Roster,
    RosterBackup,
    Shift,
    Staff,
    SupportRequest,
)
from server.queries.calendar import load_calendar
from server.queries.staff import names_of

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


# -- the board's duty panel: per group and region, with the jobs each one holds ----------


@dataclass(frozen=True, slots=True)
class DutyPerson:
    duty: OnDuty
    jobs: tuple[tuple[int, str, str, str], ...]  # (request id, number, priority, job status)


@dataclass(frozen=True, slots=True)
class DutyGroup:
    group: str
    region: str | None
    people: tuple[DutyPerson, ...]


def duty_groups(
    db: Session, now: datetime, settings: Settings,
    jobs_by_person: dict[int, list[tuple[int, str, str, str]]] | None = None,
) -> list[DutyGroup]:
    """S9/D11/D17: who is on duty now, per group and region, with the jobs each one holds."""
    people = on_duty(db, now, settings)
    if jobs_by_person is None:
        jobs_by_person = active_jobs_by_person(db, [p.staff_id for p in people])
    groups: dict[tuple[str, str | None], list[DutyPerson]] = {}
    for key in (("remote", None), ("onsite", "urban"), ("onsite", "suburban")):
        groups[key] = []
    for person in people:
        key = (person.group, person.region if person.group == "onsite" else None)
        groups.setdefault(key, []).append(
            DutyPerson(person, tuple(jobs_by_person.get(person.staff_id, ())))
        )
    return [DutyGroup(g, r, tuple(p)) for (g, r), p in groups.items()]


def active_jobs_by_person(db: Session, staff_ids: list[int]) -> dict[int, list[tuple[int, str, str, str]]]:
    out: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    if not staff_ids:
        return out
    rows = db.exec(
        select(Job.assignee_id, SupportRequest.id, SupportRequest.number, SupportRequest.priority,
               Job.status)
        .join(SupportRequest, SupportRequest.id == Job.request_id)
        .where(Job.assignee_id.in_(staff_ids), Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(Job.id)
    ).all()
    for assignee_id, request_id, number, priority, status in rows:
        out[assignee_id].append((request_id, number, priority, status))
    return out


# -- the duty screen: shifts with their absences, and backup calls (S12) ---------------


@dataclass
class DutyShift:
    shift: Shift
    name: str
    absence: Absence | None
    covered_by_name: str | None
    called_names: list[str] = field(default_factory=list)  # the backups alerted (S12)


def shifts_between(db: Session, start: datetime, end: datetime) -> list[DutyShift]:
    """Published shifts overlapping [start, end), with their absences (for the duty screen)."""
    rows = db.exec(
        select(Shift, Staff, Absence)
        .join(Roster, Roster.id == Shift.roster_id)
        .join(Staff, Staff.id == Shift.staff_id)
        .join(Absence, Absence.shift_id == Shift.id, isouter=True)
        .where(Roster.status == "published", Shift.starts_at < end, Shift.ends_at > start)
        .order_by(Shift.starts_at, Shift.group, Shift.region, Staff.display_name)
    ).all()
    names = names_of(db, {a.covered_by for _, _, a in rows if a and a.covered_by})
    called = _called_backups(db, [a.id for _, _, a in rows if a])
    return [
        DutyShift(
            shift, staff.display_name, a, names.get(a.covered_by) if a and a.covered_by else None,
            called.get(a.id, []) if a else [],
        )
        for shift, staff, a in rows
    ]


def _called_backups(db: Session, absence_ids: list[int]) -> dict[int, list[str]]:
    """S12: the backups each absence alerted, by name (from the absence's audit entry)."""
    if not absence_ids:
        return {}
    entries = db.exec(select(AuditEntry).where(AuditEntry.action == "roster.absence_reported")).all()
    by_absence = {e.details.get("absence_id"): e.details.get("backups_alerted") or []
                  for e in entries if e.details.get("absence_id") in set(absence_ids)}
    names = names_of(db, {sid for ids in by_absence.values() for sid in ids})
    return {aid: [names.get(sid, "—") for sid in ids] for aid, ids in by_absence.items()}


@dataclass
class BackupCall:
    absence: Absence
    shift: Shift
    absent_name: str


def backup_calls(db: Session, staff_id: int, now: datetime) -> list[BackupCall]:
    """Uncovered absences on shifts of months where I am a backup, not yet over (S12)."""
    rows = db.exec(
        select(Absence, Shift, Staff)
        .join(Shift, Shift.id == Absence.shift_id)
        .join(Staff, Staff.id == Absence.staff_id)
        .join(RosterBackup, RosterBackup.roster_id == Shift.roster_id)
        .where(
            RosterBackup.staff_id == staff_id,
            Absence.covered_by.is_(None),
            Absence.staff_id != staff_id,
            Shift.ends_at > now,
        )
        .order_by(Shift.starts_at)
    ).all()
    return [BackupCall(a, sh, st.display_name) for a, sh, st in rows]
