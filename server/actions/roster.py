"""Changes to rosters: drafting, "Fill for me", publishing, swaps, absences and backups
(S9-S13, D10).

A draft changes freely (each change is audited and re-checked by the screen). A
published roster changes only through an approved swap (S11) or an absence a backup
takes over (S12); both are audited, both are announced with ``changes.changed`` so the
dispatch board sees them at once, and the people concerned are told through the
notification outbox. The rules themselves are the domain's: ``roster_violations``,
``swap_check``, ``apply_swap``, ``publish_check``, ``fill_roster``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.changes import changed
from server.actions.notify import enqueue
from server.domain import bounds
from server.domain.calendar import SpecialCalendar
from server.domain.roster import (
    RosterRules,
    SwapError,
    Violation,
    apply_swap,
    draft_overdue,
    draft_reminder_due,
    publish_check,
    roster_violations,
    swap_check,
)
from server.domain.roster_solver import SolveResult, fill_roster
from server.domain.text import N_, Message
from server.models import (
    Absence,
    DayOffRequest,
    Notification,
    Roster,
    RosterBackup,
    Shift,
    Staff,
    SwapRequest,
)
from server.queries import roster as q
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


def _tell(
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
    """Queue a notice in the recipient's own language."""
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


def _slot_params(shift: Shift) -> dict:
    return {"day": shift.day, "kind": shift.kind}


# -- drafts ---------------------------------------------------------------------------


def _get_roster(db: Session, roster_id: int) -> Roster:
    roster = db.get(Roster, roster_id)
    if roster is None:
        raise ActionError(N_("There is no roster for this month yet."))
    return roster


def _draft(db: Session, roster_id: int) -> Roster:
    roster = _get_roster(db, roster_id)
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
    roster = _draft(db, roster_id)
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
    roster = _draft(db, roster_id)
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


def fill_draft(
    db: Session,
    actor_id: int,
    view: MonthView,
    *,
    keep: bool,
    time_limit_s: float = 8.0,
) -> SolveResult:
    """'Fill for me' (CP-SAT): replace the draft's shifts and backups with a roster that
    meets every rule, or change nothing and return the solver's reasons."""
    roster = _draft(db, view.roster.id)
    backups = view.backups if keep and view.backups else None
    result = fill_roster(
        view.slots,
        view.people,
        view.eligible,
        view.days_off,
        view.rules,
        fixed=view.assignments if keep else (),
        time_limit_s=time_limit_s,
        backups=backups,
    )
    if not result.feasible:
        record(db, "roster.fill_failed", actor_id, entity="roster", entity_id=roster.id,
               reasons=[m.msgid for m in result.reasons], status=result.status)  # fmt: skip
        return result
    by_key = {s.key: s for s in view.slots}
    db.exec(delete(Shift).where(Shift.roster_id == roster.id))
    db.exec(delete(RosterBackup).where(RosterBackup.roster_id == roster.id))
    for a in result.assignments:
        slot = by_key[a.slot_key]
        person = view.people[a.staff_id]
        db.add(
            Shift(
                roster_id=roster.id,
                staff_id=a.staff_id,
                day=slot.day,
                kind=slot.kind,
                starts_at=slot.starts_at.astimezone(UTC),
                ends_at=slot.ends_at.astimezone(UTC),
                group=person.group,
                region=person.region if person.group == "onsite" else None,
            )
        )
    for sid in sorted(result.backups):
        db.add(RosterBackup(roster_id=roster.id, staff_id=sid))
    db.flush()
    record(db, "roster.filled", actor_id, entity="roster", entity_id=roster.id,
           shifts=len(result.assignments), backups=sorted(result.backups), kept=keep,
           status=result.status, seconds=round(result.wall_time_s, 2))  # fmt: skip
    changed(db, "roster", roster.id)
    return result


def publish(db: Session, actor_id: int, view: MonthView, now: datetime) -> Roster:
    """S10: only an error-free roster, at least 3 days before its first shift."""
    roster = _get_roster(db, view.roster.id) if view.roster else None
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
        _tell(db, db.get(Staff, sid), "roster.published", f"roster.published:{roster.id}:{sid}",
              Message(N_("The roster for {month} is published"), {"month": roster.month}),
              Message(N_("Open My shifts to see your shifts.")), now=now)  # fmt: skip
    return roster


# -- swaps (S11) ------------------------------------------------------------------------


def _vkey(v: Violation) -> tuple:
    return (v.code, v.slot_key, v.staff_id, tuple(sorted(v.message.params.items(), key=str)))


def swap_effect(
    db: Session,
    shift: Shift,
    to_staff_id: int,
    calendar: SpecialCalendar,
    rules: RosterRules,
    today: date,
) -> tuple[list[Violation], list[Violation], MonthView]:
    """The errors and warnings the swap would add to its month, judged by the same rules
    as the grid; plus an overlap with the colleague's shifts in a neighbouring month."""
    y, m = q.parse_month(db.get(Roster, shift.roster_id).month)
    view = q.month_view(db, y, m, calendar, rules, today)
    try:
        after = apply_swap(view.assignments, shift.staff_id, to_staff_id, (shift.day, shift.kind))
    except SwapError as exc:
        raise ActionError(exc.message) from None
    before = {_vkey(v) for v in view.violations}
    new = [
        v
        for v in roster_violations(
            view.slots, after, view.people, view.eligible, view.backups, rules
        )
        if _vkey(v) not in before
    ]
    errors = [v for v in new if v.severity == "error"]
    clash = db.exec(
        select(Shift)
        .join(Roster, Roster.id == Shift.roster_id)
        .where(
            Shift.staff_id == to_staff_id,
            Shift.roster_id != shift.roster_id,
            Roster.status == "published",
            Shift.starts_at < shift.ends_at,
            Shift.ends_at > shift.starts_at,
        )
    ).first()
    if clash is not None:
        errors.append(
            Violation(
                "overlap",
                "error",
                Message(
                    N_("{staff} is on two overlapping shifts: {first} and {second}"),
                    {
                        "staff": to_staff_id,
                        "first": f"{clash.day} {clash.kind}",
                        "second": f"{shift.day} {shift.kind}",
                    },
                ),
                (shift.day, shift.kind),
                to_staff_id,
            )
        )
    return errors, [v for v in new if v.severity == "warning"], view


def request_swap(
    db: Session,
    actor_id: int,
    shift_id: int,
    to_staff: str | int,
    reason: str,
    now: datetime,
    calendar: SpecialCalendar,
    rules: RosterRules,
    today: date,
) -> SwapRequest:
    """An engineer asks to hand one of their shifts to a named colleague (S11)."""
    shift = db.get(Shift, shift_id)
    if shift is None or shift.staff_id != actor_id:
        raise ActionError(N_("This is not one of your shifts."))
    roster = db.get(Roster, shift.roster_id)
    if roster.status != "published":
        raise ActionError(N_("This roster is not published yet; ask the support manager."))
    if db.exec(select(Absence.id).where(Absence.shift_id == shift.id)).first():
        raise ActionError(N_("You have been reported unable to work this shift."))
    if db.exec(
        select(SwapRequest.id).where(
            SwapRequest.shift_id == shift.id, SwapRequest.status == "pending"
        )
    ).first():
        raise ActionError(N_("A swap for this shift is already waiting for approval."))
    try:
        to_id = int(to_staff)
    except (TypeError, ValueError):
        raise FieldErrors({"to_staff_id": Message(N_("Choose the colleague."))}) from None
    colleague = db.get(Staff, to_id)
    if colleague is None or not colleague.active or to_id == actor_id:
        raise FieldErrors({"to_staff_id": Message(N_("Choose the colleague."))})
    if len(reason or "") > 500:
        raise FieldErrors({"reason": Message(N_("At most {n} characters."), {"n": 500})})
    too_late = swap_check(shift.starts_at, now, rules)
    if too_late is not None:
        raise ActionError(too_late)
    errors, _warnings, view = swap_effect(db, shift, to_id, calendar, rules, today)
    if errors:
        raise RosterRefused([v.message for v in errors], view.names)
    swap = SwapRequest(
        shift_id=shift.id,
        from_staff_id=actor_id,
        to_staff_id=to_id,
        status="pending",
        requested_at=now,
        reason=(reason or "").strip(),
    )
    db.add(swap)
    db.flush()
    record(db, "roster.swap_requested", actor_id, entity="shift", entity_id=shift.id,
           swap_id=swap.id, to_staff_id=to_id, day=shift.day.isoformat(), kind=shift.kind,
           at=now)  # fmt: skip
    changed(db, "shift", shift.id, staff_ids=[actor_id, to_id])
    names = {actor_id: db.get(Staff, actor_id).display_name, to_id: colleague.display_name}
    params = {"from_staff": actor_id, "to_staff": to_id, **_slot_params(shift)}
    for manager in q.managers(db):
        _tell(db, manager, "roster.swap_requested", f"swap:{swap.id}:asked:{manager.id}",
              Message(N_("Swap to approve: {from_staff} → {to_staff}"), params),
              Message(N_("{day} {kind}"), params), names=names, now=now)  # fmt: skip
    _tell(db, colleague, "roster.swap_requested", f"swap:{swap.id}:asked:{to_id}",
          Message(N_("{from_staff} asked to hand you {day} {kind}"), params),
          Message(N_("It takes effect once the support manager approves it.")),
          names=names, now=now)  # fmt: skip
    return swap


def decide_swap(
    db: Session,
    actor_id: int,
    swap_id: int,
    approve: bool,
    now: datetime,
    calendar: SpecialCalendar,
    rules: RosterRules,
    today: date,
    note: str = "",
) -> SwapRequest:
    """The support manager approves (the shift changes hands) or refuses; both told."""
    swap = db.get(SwapRequest, swap_id)
    if swap is None:
        raise ActionError(N_("This swap request no longer exists."))
    if swap.status != "pending":
        raise ActionError(N_("This swap request was already decided."))
    shift = db.get(Shift, swap.shift_id)
    if approve:
        if shift.staff_id != swap.from_staff_id:
            raise ActionError(N_("The shift changed hands since the request; refuse it."))
        if shift.starts_at <= now:
            raise ActionError(N_("The shift has already started; refuse the request."))
        if db.exec(select(Absence.id).where(Absence.shift_id == shift.id)).first():
            raise ActionError(N_("An absence was reported on this shift; refuse the request."))
        errors, _warnings, view = swap_effect(db, shift, swap.to_staff_id, calendar, rules, today)
        if errors:
            raise RosterRefused([v.message for v in errors], view.names)
        colleague = db.get(Staff, swap.to_staff_id)
        shift.staff_id = colleague.id
        shift.group = colleague.group
        shift.region = colleague.region if colleague.group == "onsite" else None
        db.add(shift)
    swap.status = "approved" if approve else "refused"
    swap.decided_at, swap.decided_by = now, actor_id
    db.add(swap)
    db.flush()
    record(db, "roster.swap_approved" if approve else "roster.swap_refused", actor_id,
           entity="shift", entity_id=shift.id, swap_id=swap.id, from_staff_id=swap.from_staff_id,
           to_staff_id=swap.to_staff_id, day=shift.day.isoformat(), kind=shift.kind,
           note=(note or "").strip(), at=now)  # fmt: skip
    changed(db, "shift", shift.id, staff_ids=[swap.from_staff_id, swap.to_staff_id])
    people = {sid: db.get(Staff, sid) for sid in (swap.from_staff_id, swap.to_staff_id)}
    names = {sid: s.display_name for sid, s in people.items()}
    params = {"from_staff": swap.from_staff_id, "to_staff": swap.to_staff_id,
              **_slot_params(shift)}  # fmt: skip
    if approve:
        title = Message(N_("Swap approved: {day} {kind}"), params)
        body = Message(N_("{to_staff} now works this shift instead of {from_staff}."), params)
    else:
        title = Message(N_("Swap refused: {day} {kind}"), params)
        body = Message(N_("{from_staff} keeps this shift."), params)
    for sid, staff in people.items():
        _tell(db, staff, "roster.swap_decided", f"swap:{swap.id}:decided:{sid}", title, body,
              names=names, now=now)  # fmt: skip
    return swap


# -- absences and backups (S12) ---------------------------------------------------------


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
    params = {"staff": absent.id, **_slot_params(shift)}
    for backup in called:
        _tell(db, backup, "roster.backup_call", f"absence:{absence.id}:call:{backup.id}",
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
    params = {"backup": actor_id, "staff": absent.id, **_slot_params(shift)}
    title = Message(N_("{backup} takes over {day} {kind} from {staff}"), params)
    told = {actor_id}
    for person in [*q.managers(db), db.get(Staff, absence.reported_by), absent]:
        if person is None or person.id in told:
            continue
        told.add(person.id)
        _tell(db, person, "roster.backup_accepted", f"absence:{absence.id}:covered:{person.id}",
              title, names=names, now=now)  # fmt: skip
    for other in others:
        _tell(db, other, "roster.backup_filled", f"absence:{absence.id}:filled:{other.id}",
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
    for manager in q.managers(db):
        queued += _tell(db, manager, "roster.draft_reminder",
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

