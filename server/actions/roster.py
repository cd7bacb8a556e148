"""Changes to rosters: drafting, publishing, the draft reminder and the private calendar
feed (S9, S10, S13, D10); and how the roster's people are told.

A draft changes freely (each change is audited and re-checked by the screen). A
published roster changes only through an approved swap (S11, ``server.actions.swaps``)
or an absence a backup takes over (S12, ``server.actions.absences``); both are audited,
both are announced with ``changes.changed`` so the dispatch board sees them at once, and
the people concerned are told through the notification outbox (``tell``). "Fill for me"
is ``server.actions.roster_fill``. The rules themselves are the domain's:
``roster_violations``, ``swap_check``, ``apply_swap``, ``publish_check``, ``fill_roster``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.changes import changed
from server.actions.notify import enqueue
from server.domain import bounds
from server.domain.calendar import SpecialCalendar
from server.domain.roster import (
    RosterRules,
    draft_overdue,
    draft_reminder_due,
    publish_check,
)
from server.domain.text import N_, Message
from server.models import (
    DayOffRequest,
    Notification,
    Roster,
    RosterBackup,
    Shift,
    Staff,
)
from server.queries import roster as q
from server.queries import staff as staff_q
from server.queries.roster import MonthView, describe


class RosterRefused(ActionError):
    """Several reasons at once (publishing, a swap that breaks rules, "Fill for me")."""

    def __init__(self, messages: list[Message], names: dict | None = None) -> None:
        self.messages = messages
        self.names = names or {}
        super().__init__(messages[0])

    def lines(self, locale: str | None = None) -> list[str]:
        return [describe(m, self.names, locale) for m in self.messages]


# -- telling people ---------------------------------------------------------------------


def tell(
    db: Session,
    staff: Staff | None,
    kind: str,
    dedupe_key: str,
    title: Message,
    body: Message | None = None,
    *,
    names: dict | None = None,
    urgency: str = "normal",
    now: datetime | None = None,
) -> list[Notification]:
    """Queue a notice about the roster in the recipient's own language (none to an
    inactive or missing person)."""
    if staff is None or not staff.active:
        return []
    return enqueue(
        db,
        staff_id=staff.id,
        kind=kind,
        title=describe(title, names, staff.locale),
        body=describe(body, names, staff.locale) if body else "",
        dedupe_key=dedupe_key,
        urgency=urgency,
        now=now,
    )


def slot_params(shift: Shift) -> dict:
    """The ``day`` and ``kind`` of a shift, as a notice's message parameters."""
    return {"day": shift.day, "kind": shift.kind}


# -- drafts ---------------------------------------------------------------------------


def get_roster(db: Session, roster_id: int) -> Roster:
    """The roster; ActionError when there is none."""
    roster = db.get(Roster, roster_id)
    if roster is None:
        raise ActionError(N_("There is no roster for this month yet."))
    return roster


def draft_of(db: Session, roster_id: int) -> Roster:
    """The roster if it is still a draft; ActionError once it is published."""
    roster = get_roster(db, roster_id)
    if roster.status != "draft":
        raise ActionError(
            N_("This roster is published: it changes only through approved swaps and absences.")
        )
    return roster


def create_draft(db: Session, actor_id: int, year: int, month: int, today: date) -> Roster:
    key = q.month_key(year, month)
    if db.exec(select(Roster.id).where(Roster.month == key)).first():
        raise ActionError(N_("A roster for {month} already exists."), month=key)
    ny, nm = q.add_months(year, month, 1)
    if date(ny, nm, 1) <= today:
        raise ActionError(N_("{month} is over; rosters are made for the months ahead."), month=key)
    roster = Roster(month=key, status="draft")
    db.add(roster)
    db.flush()
    record(db, "roster.draft_created", actor_id, entity="roster", entity_id=roster.id, month=key)
    changed(db, "roster", roster.id)
    return roster


def _slot(calendar: SpecialCalendar, roster: Roster, day: date, kind: str):
    y, m = q.parse_month(roster.month)
    if (day.year, day.month) != (y, m):
        raise ActionError(N_("That day is not in {month}."), month=roster.month)
    if kind == "night":
        return calendar.night_slot(day)
    if kind == "day":
        if calendar.day_kind(day) == "workday":
            raise ActionError(
                N_("{day} is a working day: its day hours are not a special period."),
                day=q.fmt_day(day),
            )
        return calendar.day_slot(day)
    raise ActionError(N_("A shift is a night or a day shift."))


def _engineer(db: Session, staff_id: int) -> Staff:
    staff = db.get(Staff, staff_id)
    if staff is None or staff.group not in ("remote", "onsite"):
        raise ActionError(N_("Only engineers in the remote or an onsite group are rostered."))
    return staff


def toggle_shift(
    db: Session,
    actor_id: int,
    roster_id: int,
    staff_id: int,
    day: date,
    kind: str,
    calendar: SpecialCalendar,
) -> bool:
    """Put a person on a draft's shift, or take them off it; True when now on it."""
    roster = draft_of(db, roster_id)
    slot = _slot(calendar, roster, day, kind)
    staff = _engineer(db, staff_id)
    existing = db.exec(
        select(Shift).where(
            Shift.roster_id == roster.id,
            Shift.staff_id == staff_id,
            Shift.day == day,
            Shift.kind == kind,
        )
    ).first()
    if existing is not None:
        db.delete(existing)
        action, on = "roster.shift_removed", False
        db.flush()
    else:
        try:
            with db.begin_nested():  # another manager may have placed them a moment ago
                db.add(
                    Shift(
                        roster_id=roster.id,
                        staff_id=staff_id,
                        day=day,
                        kind=kind,
                        starts_at=slot.starts_at.astimezone(UTC),
                        ends_at=slot.ends_at.astimezone(UTC),
                        group=staff.group,
                        region=staff.region if staff.group == "onsite" else None,
                    )
                )
        except IntegrityError:
            return True
        action, on = "roster.shift_added", True
    record(db, action, actor_id, entity="roster", entity_id=roster.id, staff_id=staff_id,
           day=day.isoformat(), kind=kind)  # fmt: skip
    changed(db, "roster", roster.id)
    return on


def toggle_backup(db: Session, actor_id: int, roster_id: int, staff_id: int) -> bool:
    """Name a person as one of the month's backups (S12), or drop them; True when named."""
    roster = draft_of(db, roster_id)
    _engineer(db, staff_id)
    row = db.get(RosterBackup, (roster.id, staff_id))
    if row is not None:
        db.delete(row)
        on = False
    else:
        db.add(RosterBackup(roster_id=roster.id, staff_id=staff_id))
        on = True
    db.flush()
    record(db, "roster.backup_set" if on else "roster.backup_unset", actor_id, entity="roster",
           entity_id=roster.id, staff_id=staff_id)  # fmt: skip
    changed(db, "roster", roster.id)
    return on


def set_day_off(
    db: Session, actor_id: int, staff_id: int, day_text: str, on: bool, today: date
) -> DayOffRequest | None:
    """A day someone asked off; "Fill for me" keeps them off its shifts."""
    day = bounds.parse_day(day_text)
    if day is None:  # malformed, impossible, or outside years 1900..2100 (issue 11)
        raise FieldErrors({"day": bounds.day_message()})
    _engineer(db, staff_id)
    existing = db.exec(
        select(DayOffRequest).where(DayOffRequest.staff_id == staff_id, DayOffRequest.day == day)
    ).first()
    if on:
        if day <= today:
            raise FieldErrors({"day": Message(N_("Choose a day after today."))})
        roster = db.exec(
            select(Roster).where(Roster.month == q.month_key(day.year, day.month))
        ).first()
        if roster is not None and roster.status == "published":
            raise FieldErrors(
                {
                    "day": Message(
                        N_("The roster for {month} is published: ask for a swap instead."),
                        {"month": roster.month},
                    )
                }
            )
        if existing is not None:
            return existing
        row = DayOffRequest(staff_id=staff_id, day=day)
        db.add(row)
        db.flush()
        record(db, "roster.day_off_added", actor_id, entity="staff", entity_id=staff_id,
               day=day.isoformat())  # fmt: skip
        return row
    if existing is not None:
        db.delete(existing)
        record(db, "roster.day_off_removed", actor_id, entity="staff", entity_id=staff_id,
               day=day.isoformat())  # fmt: skip
    return None


def publish(db: Session, actor_id: int, view: MonthView, now: datetime) -> Roster:
    """S10: only an error-free roster, at least 3 days before its first shift."""
    roster = get_roster(db, view.roster.id) if view.roster else None
    if roster is None:
        raise ActionError(N_("There is no roster for this month yet."))
    if roster.status == "published":
        raise ActionError(N_("This roster is already published."))
    reasons = publish_check(view.first_shift_starts_at, now, view.violations, view.rules)
    if reasons:
        raise RosterRefused(reasons, view.names)
    roster.status, roster.published_at, roster.published_by = "published", now, actor_id
    db.add(roster)
    people = sorted({sid for sid, _ in view.shifts} | view.backups)
    record(db, "roster.published", actor_id, entity="roster", entity_id=roster.id,
           month=roster.month, shifts=len(view.shifts), backups=sorted(view.backups))  # fmt: skip
    changed(db, "roster", roster.id, staff_ids=people)
    for sid in people:
        tell(db, db.get(Staff, sid), "roster.published", f"roster.published:{roster.id}:{sid}",
              Message(N_("The roster for {month} is published"), {"month": roster.month}),
              Message(N_("Open My shifts to see your shifts.")), now=now)  # fmt: skip
    return roster


# -- reminders (S10) --------------------------------------------------------------------


def remind_draft(
    db: Session,
    now: datetime,
    rules: RosterRules,
    tz_name: str = "Asia/Shanghai",
    from_hour: int = 9,
) -> list[Notification]:
    """From the 20th, once a day, tell the support managers that next month has no draft.

    Called by the background loop's tick (``server.jobs.roster``) every few seconds; the
    dedupe key (month, date, person) makes every call after the first of the day, or a
    second server process, harmless. Nobody is woken at midnight: the day's notice goes
    out from ``from_hour`` local time.
    """
    local_now = now.astimezone(ZoneInfo(tz_name))
    if local_now.hour < from_hour:
        return []
    today = local_now.date()
    ny, nm = q.add_months(today.year, today.month, 1)
    key = q.month_key(ny, nm)
    has_draft = db.exec(select(Roster.id).where(Roster.month == key)).first() is not None
    if not draft_reminder_due(today, has_draft, rules):
        return []
    overdue = draft_overdue(today, has_draft, rules)
    params = {"month": key, "deadline": rules.draft_deadline_day}
    if overdue:
        title = Message(N_("The roster for {month} is overdue"), params)
    else:
        title = Message(N_("Draft the roster for {month}"), params)
    body = Message(N_("Next month's roster is due by the {deadline}th of this month."), params)
    queued = []
    for manager in staff_q.managers(db):
        queued += tell(db, manager, "roster.draft_reminder",
                        f"roster.draft_reminder:{key}:{today.isoformat()}:{manager.id}",
                        title, body, now=now)  # fmt: skip
    return queued


# -- the private calendar feed ----------------------------------------------------------


def ical_token(db: Session, staff_id: int, reset: bool = False) -> str:
    """The secret in my calendar feed's address; a reset makes the old address useless."""
    staff = db.get(Staff, staff_id)
    if staff.ical_token and not reset:
        return staff.ical_token
    staff.ical_token = secrets.token_urlsafe(24)
    db.add(staff)
    db.flush()
    record(db, "staff.ical_token_reset" if reset else "staff.ical_token_created", staff_id,
           entity="staff", entity_id=staff_id)  # fmt: skip
    return staff.ical_token

