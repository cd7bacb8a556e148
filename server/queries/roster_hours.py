"""Hours worked per person in a month (D16): who actually held each shift (S12)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from server.domain.calendar import SpecialCalendar
from server.domain.roster import Assignment, HoursSplit, hours_report
from server.models import Absence, Roster, Shift, Staff
from server.queries.roster import parse_month


def worked_assignments(db: Session, roster: Roster) -> list[Assignment]:
    """Who actually holds each shift: the backup who took it over, nobody while an
    absence is uncovered, else the rostered person (S12)."""
    out = []
    rows = db.exec(
        select(Shift, Absence)
        .join(Absence, Absence.shift_id == Shift.id, isouter=True)
        .where(Shift.roster_id == roster.id)
    )
    for shift, absence in rows:
        if absence is not None:
            if absence.covered_by:
                out.append(Assignment(absence.covered_by, (shift.day, shift.kind)))
            continue
        out.append(Assignment(shift.staff_id, (shift.day, shift.kind)))
    return out


@dataclass
class HoursRow:
    staff: Staff
    split: HoursSplit


def month_hours(db: Session, roster: Roster, calendar: SpecialCalendar) -> list[HoursRow]:
    y, m = parse_month(roster.month)
    slots = calendar.month_slots(y, m)
    report = hours_report(slots, worked_assignments(db, roster))
    staff = (
        {s.id: s for s in db.exec(select(Staff).where(Staff.id.in_(list(report))))}
        if report
        else {}
    )
    rows = [HoursRow(staff[sid], split) for sid, split in report.items() if sid in staff]
    return sorted(
        rows, key=lambda r: (r.staff.group or "~", r.staff.region or "", r.staff.display_name)
    )
