"""Shift swaps on a published roster (S11): an engineer asks to hand a shift to a named
colleague, the support manager approves or refuses; the rules are the grid's."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.changes import changed
from server.actions.roster import RosterRefused, slot_params, tell
from server.domain.calendar import SpecialCalendar
from server.domain.roster import (
    RosterRules,
    SwapError,
    Violation,
    apply_swap,
    roster_violations,
    swap_check,
)
from server.domain.text import N_, Message
from server.models import (
    Absence,
    Roster,
    Shift,
    Staff,
    SwapRequest,
)
from server.queries import roster as q
from server.queries import staff as staff_q
from server.queries.roster import MonthView


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
    params = {"from_staff": actor_id, "to_staff": to_id, **slot_params(shift)}
    for manager in staff_q.managers(db):
        tell(db, manager, "roster.swap_requested", f"swap:{swap.id}:asked:{manager.id}",
              Message(N_("Swap to approve: {from_staff} → {to_staff}"), params),
              Message(N_("{day} {kind}"), params), names=names, now=now)  # fmt: skip
    tell(db, colleague, "roster.swap_requested", f"swap:{swap.id}:asked:{to_id}",
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
              **slot_params(shift)}  # fmt: skip
    if approve:
        title = Message(N_("Swap approved: {day} {kind}"), params)
        body = Message(N_("{to_staff} now works this shift instead of {from_staff}."), params)
    else:
        title = Message(N_("Swap refused: {day} {kind}"), params)
        body = Message(N_("{from_staff} keeps this shift."), params)
    for sid, staff in people.items():
        tell(db, staff, "roster.swap_decided", f"swap:{swap.id}:decided:{sid}", title, body,
              names=names, now=now)  # fmt: skip
    return swap
