"""The support manager's changes to staff profiles and training records (S8, S13, S14).

Each function validates every field first and raises ``FieldErrors`` before writing
anything, so a form with one bad field saves nothing. Every change is audited.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlmodel import Session

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.changes import changed
from server.domain import bounds
from server.domain.qualification import DEGREES
from server.domain.text import N_, Message
from server.models import Staff, TrainingRecord
from server.queries.team import TRAINING_KINDS

PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EXPERIENCE_MONTHS = 600
MAX_SESSION_HOURS = 200


def _date(raw: str, errors: dict, key: str, *, required: bool) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        if required:
            errors[key] = Message(N_("Enter a date."))
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[key] = Message(N_("Enter a date as YYYY-MM-DD."))
        return None
    if not bounds.year_ok(day.year):  # year 0001 or 9999 (issue 11)
        errors[key] = bounds.day_message()
        return None
    return day


def _kept(sent: str | None, current: object) -> str:
    """What a partial update uses: the sent text, else the current value as text."""
    if sent is not None:
        return sent
    return "" if current is None else str(current)


def update_profile(
    db: Session,
    actor_id: int,
    staff_id: int,
    *,
    birth_date: str | None = None,
    degree: str | None = None,
    experience_months: str | None = None,
    group: str | None = None,
    region: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    today: date,
    regions: tuple[str, ...],
) -> Staff:
    """S8 qualifications, roster group/region and contact of one person.

    A partial update: a field given as None (not sent) keeps its value; only a field
    sent empty is cleared. (An empty form used to blank the profile and take the
    engineer out of dispatch, issue 11.)
    """
    staff = db.get(Staff, staff_id)
    if staff is None:
        raise ActionError(N_("No such person."))
    birth_date = _kept(birth_date, staff.birth_date.isoformat() if staff.birth_date else "")
    degree = _kept(degree, staff.degree)
    experience_months = _kept(experience_months, staff.support_experience_months)
    group = _kept(group, staff.group)
    region = _kept(region, staff.region)
    phone = _kept(phone, staff.phone)
    email = _kept(email, staff.email)
    errors: dict[str, Message] = {}
    born = _date(birth_date, errors, "birth_date", required=False)
    if born is not None and not date(1900, 1, 1) <= born <= today:
        errors["birth_date"] = Message(N_("The date of birth must be in the past."))
    degree = (degree or "").strip() or None
    if degree is not None and degree not in DEGREES:
        errors["degree"] = Message(N_("Choose a degree from the list."))
    months: int | None = None
    raw = (experience_months or "").strip()
    if raw:
        try:
            months = int(raw)
            if not 0 <= months <= MAX_EXPERIENCE_MONTHS:
                raise ValueError
        except ValueError:
            errors["experience_months"] = Message(
                N_("Enter whole months between 0 and {max}."), {"max": MAX_EXPERIENCE_MONTHS}
            )
    group = (group or "").strip() or None
    region = (region or "").strip() or None
    if group not in (None, "remote", "onsite"):
        errors["group"] = Message(N_("Choose remote or onsite."))
    if group == "onsite" and region not in regions:
        errors["region"] = Message(N_("An onsite engineer needs a service region."))
    phone = (phone or "").strip()
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = Message(N_("Enter a phone number of digits, e.g. 13800138000."))
    email = (email or "").strip()
    if email and not EMAIL_RE.match(email):
        errors["email"] = Message(N_("Enter an email address like name@example.com."))
    if errors:
        raise FieldErrors(errors)

    before = {
        "birth_date": staff.birth_date.isoformat() if staff.birth_date else None,
        "degree": staff.degree,
        "support_experience_months": staff.support_experience_months,
        "group": staff.group,
        "region": staff.region,
        "phone": staff.phone,
        "email": staff.email,
    }
    staff.birth_date = born
    staff.degree = degree
    staff.support_experience_months = months
    staff.group = group
    staff.region = region if group == "onsite" else None
    staff.phone = phone
    staff.email = email
    db.add(staff)
    after = {
        "birth_date": born.isoformat() if born else None,
        "degree": degree,
        "support_experience_months": months,
        "group": staff.group,
        "region": staff.region,
        "phone": phone,
        "email": email,
    }
    diff = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if diff:
        record(db, "staff.profile_updated", actor_id, entity="staff", entity_id=staff_id,
               changes=diff)  # fmt: skip
        changed(db, "staff", staff_id, staff_ids=[staff_id])
    return staff


def add_training(
    db: Session,
    actor_id: int,
    staff_id: int,
    *,
    kind: str,
    held_on: str,
    hours: str,
    passed: str,
    notes: str,
    today: date,
) -> TrainingRecord:
    """One onboarding session, exam result, monthly session or quarterly drill (S13, S14)."""
    if db.get(Staff, staff_id) is None:
        raise ActionError(N_("No such person."))
    errors: dict[str, Message] = {}
    if kind not in TRAINING_KINDS:
        errors["kind"] = Message(N_("Choose what kind of training this was."))
    held = _date(held_on, errors, "held_on", required=True)
    if held is not None and held > today:
        errors["held_on"] = Message(N_("Training is recorded once it has been held."))
    value = 0.0
    raw = (hours or "").strip()
    if raw:
        try:
            value = float(raw)
            if not 0 <= value <= MAX_SESSION_HOURS or value != value:
                raise ValueError
        except ValueError:
            errors["hours"] = Message(
                N_("Enter hours between 0 and {max}, e.g. 3.5."), {"max": MAX_SESSION_HOURS}
            )
    elif kind == "onboarding":
        errors["hours"] = Message(N_("Enter the hours of this onboarding session."))
    result: bool | None = None
    if kind == "exam":
        if passed not in ("1", "0"):
            errors["passed"] = Message(N_("Say whether the exam was passed."))
        result = passed == "1"
    if notes and len(notes) > 500:
        errors["notes"] = Message(N_("At most {n} characters."), {"n": 500})
    if errors:
        raise FieldErrors(errors)
    row = TrainingRecord(
        staff_id=staff_id, kind=kind, held_on=held, hours=value, passed=result,
        notes=(notes or "").strip(),
    )  # fmt: skip
    db.add(row)
    db.flush()
    record(db, "training.added", actor_id, entity="training", entity_id=row.id,
           staff_id=staff_id, kind=kind, held_on=held.isoformat(), hours=value,
           passed=result)  # fmt: skip
    changed(db, "staff", staff_id, staff_ids=[staff_id])
    return row


def remove_training(db: Session, actor_id: int, staff_id: int, record_id: int) -> None:
    row = db.get(TrainingRecord, record_id)
    if row is None or row.staff_id != staff_id:
        raise ActionError(N_("This training record no longer exists."))
    record(db, "training.removed", actor_id, entity="training", entity_id=record_id,
           staff_id=staff_id, kind=row.kind, held_on=row.held_on.isoformat(), hours=row.hours,
           passed=row.passed)  # fmt: skip
    db.delete(row)
    changed(db, "staff", staff_id, staff_ids=[staff_id])


def set_office_hours(db: Session, actor_id: int, staff_id: int, *, counts: bool,
                     away_until: datetime | None) -> Staff:
    """D17: whether a person counts as on duty in office hours, and until when they are
    away (None: not away). Audited."""
    from server.models import Staff as StaffRow

    staff = db.get(StaffRow, staff_id)
    if staff is None:
        raise ActionError(N_("No such person."))
    staff.office_hours_duty, staff.away_until = bool(counts), away_until
    db.add(staff)
    record(db, "staff.office_hours", actor_id, entity="staff", entity_id=staff.id,
           counts=bool(counts), away_until=away_until.isoformat() if away_until else None)
    changed(db, "staff", staff.id)
    return staff
