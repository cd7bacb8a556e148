"""The support team as the manager sees it: S8 qualifications, training (S13, S14), eligibility.

Eligibility is computed, never stored: ``eligibility_reasons`` from the domain reads a
``StaffProfile`` built here from the staff row and the sum of the training records, so a
new training record or an edited birth date changes it at once, everywhere (the roster
grid, the swap check, "Fill for me").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, or_, select

from server.domain.qualification import StaffProfile, eligibility_reasons
from server.domain.roster import RosterRules
from server.domain.text import Message
from server.models import Staff, StaffRole, TrainingRecord

TRAINING_KINDS = ("onboarding", "exam", "monthly", "drill")
ENGINEER_ROLES = ("remote", "onsite")


@dataclass
class TrainingSummary:
    """What the training records add up to for one person (S13, S14)."""

    onboarding_hours: float = 0.0
    exam_passed: bool | None = None  # None: no exam recorded yet; the latest exam counts
    last_exam_on: date | None = None
    last_monthly: date | None = None
    last_drill: date | None = None
    monthly_this_month: bool = False
    drill_this_quarter: bool = False


@dataclass
class TeamMember:
    staff: Staff
    training: TrainingSummary
    reasons: list[Message] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.reasons


def summarise(records: list[TrainingRecord], today: date) -> TrainingSummary:
    out = TrainingSummary()
    quarter = (today.month - 1) // 3
    for r in sorted(records, key=lambda r: (r.held_on, r.id or 0)):
        if r.kind == "onboarding":
            out.onboarding_hours += r.hours or 0
        elif r.kind == "exam":  # a re-sit replaces the earlier result
            out.exam_passed, out.last_exam_on = bool(r.passed), r.held_on
        elif r.kind == "monthly":
            out.last_monthly = r.held_on
            if (r.held_on.year, r.held_on.month) == (today.year, today.month):
                out.monthly_this_month = True
        elif r.kind == "drill":
            out.last_drill = r.held_on
            if r.held_on.year == today.year and (r.held_on.month - 1) // 3 == quarter:
                out.drill_this_quarter = True
    out.onboarding_hours = round(out.onboarding_hours, 2)
    return out


def profile_of(staff: Staff, training: TrainingSummary) -> StaffProfile:
    return StaffProfile(
        id=staff.id,
        birth_date=staff.birth_date,
        degree=staff.degree,
        support_experience_months=staff.support_experience_months,
        onboarding_hours=training.onboarding_hours,
        exam_passed=bool(training.exam_passed),
    )


def engineers(db: Session, include_inactive: bool = False) -> list[Staff]:
    """People in a roster group, or holding an engineer role (who may still lack a group)."""
    with_role = select(StaffRole.staff_id).where(StaffRole.role.in_(ENGINEER_ROLES))
    query = select(Staff).where(or_(Staff.group.is_not(None), Staff.id.in_(with_role)))
    if not include_inactive:
        query = query.where(Staff.active)
    rows = db.exec(query).all()
    order = {"remote": 0, "onsite": 1}
    return sorted(rows, key=lambda s: (order.get(s.group, 2), s.region or "", s.display_name, s.id))


def team(
    db: Session, today: date, rules: RosterRules, include_inactive: bool = False
) -> list[TeamMember]:
    staff = engineers(db, include_inactive)
    records: dict[int, list[TrainingRecord]] = defaultdict(list)
    if staff:
        ids = [s.id for s in staff]
        for r in db.exec(select(TrainingRecord).where(TrainingRecord.staff_id.in_(ids))):
            records[r.staff_id].append(r)
    out = []
    for s in staff:
        summary = summarise(records[s.id], today)
        reasons = eligibility_reasons(profile_of(s, summary), today, rules)
        out.append(TeamMember(s, summary, reasons))
    return out


def member(db: Session, staff_id: int, today: date, rules: RosterRules) -> TeamMember | None:
    staff = db.get(Staff, staff_id)
    if staff is None:
        return None
    recs = list(db.exec(select(TrainingRecord).where(TrainingRecord.staff_id == staff_id)))
    summary = summarise(recs, today)
    return TeamMember(staff, summary, eligibility_reasons(profile_of(staff, summary), today, rules))


def training_records(db: Session, staff_id: int) -> list[TrainingRecord]:
    return list(
        db.exec(
            select(TrainingRecord)
            .where(TrainingRecord.staff_id == staff_id)
            .order_by(TrainingRecord.held_on.desc(), TrainingRecord.id.desc())
        )
    )


def eligible_ids(db: Session, today: date, rules: RosterRules) -> set[int]:
    """Who may be rostered today (S8, S13): active, in a group, and no reason against."""
    return {m.staff.id for m in team(db, today, rules) if m.eligible and m.staff.group}
