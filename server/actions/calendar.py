"""The support manager's hand-entered official days (D2): they win over the package."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.changes import changed
from server.domain import bounds
from server.domain.calendar import DAY_KINDS
from server.domain.text import N_, Message
from server.models import CalendarOverride

MAX_DAYS = 31  # one entry covers at most a month: a holiday week, a make-up day...
NAME_LENGTH = 64


def _day(value: Any) -> date | None:
    """A day within ``bounds`` (years 1900..2100), or None."""
    if isinstance(value, date):
        return value if bounds.year_ok(value.year) else None
    return bounds.parse_day(value)


def set_overrides(
    db: Session, actor_id: int, form: dict[str, Any], now: datetime
) -> list[CalendarOverride]:
    """Enter one official day, or every day from ``day`` to ``until``, as ``kind``.

    A 'workday' on a Saturday or Sunday is a make-up working day (调休上班); a
    'holiday' names the statutory holiday. Re-entering a day replaces it.
    """
    errors: dict[str, Message] = {}
    first = _day(form.get("day"))
    if first is None:
        errors["day"] = Message(N_("Enter a date such as 2027-02-06."))
    raw_until = str(form.get("until") or "").strip()
    last = _day(raw_until) if raw_until else first
    if raw_until and last is None:
        errors["until"] = Message(N_("Enter a date such as 2027-02-06."))
    elif first and last and last < first:
        errors["until"] = Message(N_("The last day cannot be before the first."))
    elif first and last and (last - first).days >= MAX_DAYS:
        errors["until"] = Message(N_("Enter at most {n} days at a time."), {"n": MAX_DAYS})
    kind = str(form.get("kind") or "").strip()
    if kind not in DAY_KINDS:
        errors["kind"] = Message(N_("Choose holiday, rest day or working day."))
    name = str(form.get("name") or "").strip()
    if len(name) > NAME_LENGTH:
        errors["name"] = Message(N_("Keep this under {limit} characters."), {"limit": NAME_LENGTH})
    elif kind == "holiday" and not name:
        errors["name"] = Message(N_("Enter the holiday's name, such as 春节."))
    if errors:
        raise FieldErrors(errors)
    saved = []
    day = first
    while day <= last:
        row = db.get(CalendarOverride, day) or CalendarOverride(day=day, kind=kind)
        row.kind, row.name = kind, name
        db.add(row)
        saved.append(row)
        record(db, "calendar.override_set", actor_id, entity="calendar", entity_id=day.isoformat(),
               at=now, kind=kind, name=name)  # fmt: skip
        changed(db, "calendar", day.isoformat())
        day += timedelta(days=1)
    return saved


def remove_override(db: Session, actor_id: int, day: Any, now: datetime) -> None:
    """Give the day back to the package (or to plain weekends for a year it lacks)."""
    when = _day(day)
    row = db.get(CalendarOverride, when) if when else None
    if row is None:
        raise ActionError(N_("No day was entered by hand for this date."))
    db.delete(row)
    record(db, "calendar.override_removed", actor_id, entity="calendar",
           entity_id=when.isoformat(), at=now, kind=row.kind, name=row.name)  # fmt: skip
    changed(db, "calendar", when.isoformat())
