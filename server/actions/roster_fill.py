"""'Fill for me' (S9, S13, D10): the solver fills a draft month with a roster that meets
every rule, around the shifts kept if asked, or changes nothing and says why."""

from __future__ import annotations

from datetime import UTC

from sqlmodel import Session, delete

from server.actions.audit import record
from server.actions.changes import changed
from server.actions.roster import draft_of
from server.domain.roster_solver import SolveResult, fill_roster
from server.models import (
    RosterBackup,
    Shift,
)
from server.queries.roster import MonthView


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
    roster = draft_of(db, view.roster.id)
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
