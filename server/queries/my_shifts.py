"""An engineer's own shifts (S11, S12): my published shifts, the ones I took over as a
backup, the colleagues who could take one of mine, my days off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from server.domain.roster import RosterRules
from server.models import Absence, DayOffRequest, Roster, Shift, Staff, SwapRequest
from server.queries.staff import names_of


@dataclass
class MyShift:
    shift: Shift
    month: str
    absent: bool = False  # I reported unable to work (S12)
    covering: bool = False  # I am the backup who took it over
    covered_by: str | None = None
    pending_swap: SwapRequest | None = None
    swap_open: bool = False  # still at least swap_min_days ahead (S11)


def my_shifts(
    db: Session, staff_id: int, now: datetime, rules: RosterRules, days: int = 62
) -> list[MyShift]:
    """My published shifts that have not ended, plus those I took over as a backup."""
    until = now + timedelta(days=days)
    own = db.exec(
        select(Shift, Roster.month)
        .join(Roster, Roster.id == Shift.roster_id)
        .where(
            Roster.status == "published",
            Shift.staff_id == staff_id,
            Shift.ends_at > now,
            Shift.starts_at < until,
        )
    ).all()
    covering = db.exec(
        select(Shift, Roster.month)
        .join(Roster, Roster.id == Shift.roster_id)
        .join(Absence, Absence.shift_id == Shift.id)
        .where(Absence.covered_by == staff_id, Shift.ends_at > now)
    ).all()
    ids = [s.id for s, _ in [*own, *covering]]
    absences = {}
    pending = {}
    if ids:
        absences = {
            a.shift_id: a for a in db.exec(select(Absence).where(Absence.shift_id.in_(ids)))
        }
        for sw in db.exec(
            select(SwapRequest).where(
                SwapRequest.shift_id.in_(ids), SwapRequest.status == "pending"
            )
        ):
            pending[sw.shift_id] = sw
    names = names_of(db, {a.covered_by for a in absences.values() if a.covered_by})
    out = []
    for shift, month in own:
        a = absences.get(shift.id)
        out.append(
            MyShift(
                shift,
                month,
                absent=a is not None,
                covered_by=names.get(a.covered_by) if a and a.covered_by else None,
                pending_swap=pending.get(shift.id),
                swap_open=a is None
                and shift.starts_at - now >= timedelta(days=rules.swap_min_days),
            )
        )
    out += [MyShift(shift, month, covering=True) for shift, month in covering]
    return sorted(out, key=lambda m: m.shift.starts_at)


def swap_candidates(db: Session, shift: Shift, eligible: set[int]) -> list[Staff]:
    """Colleagues who could take ``shift``: same group and region, qualified, not on it."""
    on_it = set(
        db.exec(
            select(Shift.staff_id).where(
                Shift.roster_id == shift.roster_id, Shift.day == shift.day, Shift.kind == shift.kind
            )
        )
    )
    query = select(Staff).where(Staff.active, Staff.group == shift.group)
    if shift.region:
        query = query.where(Staff.region == shift.region)
    return [
        s
        for s in db.exec(query.order_by(Staff.display_name))
        if s.id in eligible and s.id not in on_it and s.id != shift.staff_id
    ]


def my_days_off(db: Session, staff_id: int, from_day: date) -> list[DayOffRequest]:
    return list(
        db.exec(
            select(DayOffRequest)
            .where(DayOffRequest.staff_id == staff_id, DayOffRequest.day >= from_day)
            .order_by(DayOffRequest.day)
        )
    )
