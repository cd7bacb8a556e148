"""Absences and backups (S12): someone on a published shift cannot work; the month's free
backups of their group are alerted at once and the first to accept takes the shift."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.changes import changed
from server.actions.roster import slot_params, tell
from server.domain.text import N_, Message
from server.models import (
    Absence,
    Roster,
    RosterBackup,
    Shift,
    Staff,
)
from server.queries import staff as staff_q


def report_absence(
    db: Session, actor_id: int, shift_id: int, reason: str, now: datetime
) -> Absence:
    """Someone on a published shift cannot work: the month's backups are alerted at once."""
    shift = db.get(Shift, shift_id)
    if shift is None:
        raise ActionError(N_("This shift no longer exists."))
    roster = db.get(Roster, shift.roster_id)
    if roster.status != "published":
        raise ActionError(N_("Only shifts of a published roster can have absences."))
    if shift.ends_at <= now:
        raise ActionError(N_("This shift is already over."))
    if db.exec(select(Absence.id).where(Absence.shift_id == shift.id)).first():
        raise ActionError(N_("An absence was already reported for this shift."))
    if len(reason or "") > 500:
        raise FieldErrors({"reason": Message(N_("At most {n} characters."), {"n": 500})})
    absence = Absence(
        shift_id=shift.id,
        staff_id=shift.staff_id,
        reported_at=now,
        reported_by=actor_id,
        reason=(reason or "").strip(),
    )
    db.add(absence)
    db.flush()
    absent = db.get(Staff, shift.staff_id)
    called = [s for s in _free_backups(db, shift) if s.id != shift.staff_id]
    record(db, "roster.absence_reported", actor_id, entity="shift", entity_id=shift.id,
           absence_id=absence.id, staff_id=shift.staff_id, reason=absence.reason,
           backups_alerted=[s.id for s in called], at=now)  # fmt: skip
    changed(db, "shift", shift.id, staff_ids=[shift.staff_id, *(s.id for s in called)])
    names = {absent.id: absent.display_name}
    params = {"staff": absent.id, **slot_params(shift)}
    for backup in called:
        tell(db, backup, "roster.backup_call", f"absence:{absence.id}:call:{backup.id}",
              Message(N_("Backup needed now: {day} {kind}"), params),
              Message(N_("{staff} cannot work this shift. Open My shifts and accept to take it."),
                      params),
              names=names, urgency="high", now=now)  # fmt: skip
    return absence


def _free_backups(db: Session, shift: Shift) -> list[Staff]:
    """The month's backups who are not themselves working at that time."""
    ids = list(
        db.exec(select(RosterBackup.staff_id).where(RosterBackup.roster_id == shift.roster_id))
    )
    out = []
    for sid in ids:
        staff = db.get(Staff, sid)
        if staff and staff.active and _fits(staff, shift) and not _busy(db, sid, shift):
            out.append(staff)
    return sorted(out, key=lambda s: s.display_name)


def _fits(staff: Staff, shift: Shift) -> bool:
    """D11: a backup covers only a shift of their own group (and region, for onsite), or
    dispatch would offer them jobs they cannot do."""
    return staff.group == shift.group and (shift.group != "onsite" or staff.region == shift.region)


def _busy(db: Session, staff_id: int, shift: Shift) -> bool:
    own = db.exec(
        select(Shift.id)
        .join(Roster, Roster.id == Shift.roster_id)
        .join(Absence, Absence.shift_id == Shift.id, isouter=True)
        .where(
            Roster.status == "published",
            Shift.staff_id == staff_id,
            Shift.id != shift.id,
            Shift.starts_at < shift.ends_at,
            Shift.ends_at > shift.starts_at,
            Absence.id.is_(None),
        )
    ).first()
    covering = db.exec(
        select(Shift.id)
        .join(Absence, Absence.shift_id == Shift.id)
        .where(
            Absence.covered_by == staff_id,
            Shift.starts_at < shift.ends_at,
            Shift.ends_at > shift.starts_at,
        )
    ).first()
    return bool(own or covering)


def accept_absence(db: Session, actor_id: int, absence_id: int, now: datetime) -> Absence:
    """The first backup to accept takes the shift; a later one is thanked and refused."""
    absence = db.get(Absence, absence_id)
    if absence is None:
        raise ActionError(N_("This call for a backup no longer exists."))
    shift = db.get(Shift, absence.shift_id)
    is_backup = db.get(RosterBackup, (shift.roster_id, actor_id)) is not None
    if not is_backup:
        raise ActionError(N_("You are not a backup for this month."))
    if absence.staff_id == actor_id:
        raise ActionError(N_("You reported unable to work this shift."))
    if not _fits(db.get(Staff, actor_id), shift):
        raise ActionError(N_("This shift needs someone of another group or region."))
    if absence.covered_by is not None:
        raise _already_covered(db, absence)
    if shift.ends_at <= now:
        raise ActionError(N_("This shift is already over."))
    if _busy(db, actor_id, shift):
        raise ActionError(N_("You are on another shift at that time."))
    # Conditional update: of two backups accepting at once, exactly one wins (any backend).
    won = db.exec(
        update(Absence)
        .where(Absence.id == absence.id, Absence.covered_by.is_(None))
        .values(covered_by=actor_id, covered_at=now)
    ).rowcount
    if not won:
        db.refresh(absence)
        raise _already_covered(db, absence)
    db.refresh(absence)
    me = db.get(Staff, actor_id)
    absent = db.get(Staff, absence.staff_id)
    record(db, "roster.absence_covered", actor_id, entity="shift", entity_id=shift.id,
           absence_id=absence.id, staff_id=absence.staff_id, covered_by=actor_id,
           at=now)  # fmt: skip
    others = [s for s in _free_backups(db, shift) if s.id not in (actor_id, absence.staff_id)]
    changed(db, "shift", shift.id, staff_ids=[actor_id, absence.staff_id, *(s.id for s in others)])
    names = {actor_id: me.display_name, absent.id: absent.display_name}
    params = {"backup": actor_id, "staff": absent.id, **slot_params(shift)}
    title = Message(N_("{backup} takes over {day} {kind} from {staff}"), params)
    told = {actor_id}
    for person in [*staff_q.managers(db), db.get(Staff, absence.reported_by), absent]:
        if person is None or person.id in told:
            continue
        told.add(person.id)
        tell(db, person, "roster.backup_accepted", f"absence:{absence.id}:covered:{person.id}",
              title, names=names, now=now)  # fmt: skip
    for other in others:
        tell(db, other, "roster.backup_filled", f"absence:{absence.id}:filled:{other.id}",
              Message(N_("No longer needed: {day} {kind} is covered"), params),
              Message(N_("{backup} took the shift. Thank you."), params),
              names=names, now=now)  # fmt: skip
    return absence


def _already_covered(db: Session, absence: Absence) -> ActionError:
    who = db.get(Staff, absence.covered_by)
    return ActionError(
        N_("Thank you, but {name} has already taken this shift."),
        name=who.display_name if who else "?",
    )
