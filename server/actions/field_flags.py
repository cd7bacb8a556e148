"""Flagged field facts: flagged for the dispatcher, who resolves them (D13, D14, D15).

A flagged fact was kept but not trusted: a check-in beyond the venue's radius, a fact
that reached a job already changed, a phone clock that looked wrong, a refused swap.
Its reasons are written for the dispatcher in the site's language (``for_dispatcher``;
the codes stay in ``data["flags"]``). The dispatcher decides, once, and the decision is
audited:

- ``accept``: the fact counts. For a check-in beyond the radius (D15) the arrival clock
  stops at the check-in's device time (D8c), the earliest such time if several.
- ``reject``: it does not count; a note saying why is required.
- ``equipment``: for a refused swap only: the report is handed to the equipment
  managers (they are told now; their own screens sort the units out).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from server.actions import ActionError, audit, changes, fact_queue, notify
from server.actions import sla as clocks
from server.actions.job_common import say
from server.domain import field as rules
from server.domain.text import N_, Message
from server.i18n import DEFAULT, translations
from server.models import FieldFact, Role, Staff, StaffRole, SupportRequest

DECISIONS = ("accept", "reject", "equipment")
RESOLUTIONS = {"accept": "accepted", "reject": "rejected", "equipment": "equipment"}


def flag_fact(fact: FieldFact | fact_queue.Draft, out: rules.Outcome, reason: str) -> None:
    """Flag a fact already kept (``server.actions.field``) for one more reason, e.g. the sync layer's
    clock correction (D8c)."""
    if reason in out.flags:
        return
    was_rejected = out.status == "rejected"
    out.flag(reason)
    if was_rejected:
        out.status = "rejected"
    fact.flagged = True
    fact.flag_reason = "\n".join(
        x for x in (fact.flag_reason, for_dispatcher(Message(rules.FLAG_REASONS[reason]))) if x)
    fact.data = dict(fact.data) | {"flags": list(out.flags)}
    out.say(rules.FLAG_REASONS[reason])


def for_dispatcher(message: Message) -> str:
    return message.render(translations(DEFAULT).gettext)


def flag_codes(fact: FieldFact) -> list[str]:
    return list((fact.data or {}).get("flags") or [])


def resolve_flag(db: Session, actor_id: int, fact_id: str, decision: str, note: str,
                 now: datetime, settings: Any = None, *, request_id: int | None = None) -> FieldFact:
    """Resolve one flagged fact; ``request_id``: the request the dispatcher is looking at
    (a fact of another request is refused). ActionError on a fact that is not flagged or
    already resolved, an unknown decision, a reject without a note."""
    fact = db.get(FieldFact, fact_id, with_for_update=True, populate_existing=True)
    if fact is None or (request_id is not None and fact.request_id != request_id):
        raise ActionError(N_("No such field report."))
    if not fact.flagged:
        raise ActionError(N_("This field report is not flagged."))
    if fact.flag_resolved_at is not None:
        raise ActionError(N_("This flag was already resolved."))
    if decision not in DECISIONS:
        raise ActionError(N_("Choose accept, reject or hand to the equipment manager."),
                          "decision")
    note = (note or "").strip()
    if len(note) > 500:
        raise ActionError(N_("Keep this under {limit} characters."), "note", limit=500)
    codes = flag_codes(fact)
    refused_swap = fact.kind == "swap" and "swap_refused" in codes
    if decision == "reject" and not note:
        raise ActionError(N_("Say why the report is rejected."), "note")
    if decision == "equipment" and not refused_swap:
        raise ActionError(N_("Only a refused swap is handed to the equipment manager."),
                          "decision")
    if decision == "accept" and refused_swap:
        raise ActionError(N_("A refused swap cannot be accepted as it is: hand it to the equipment manager or reject it."),
                          "decision")
    request = db.get(SupportRequest, fact.request_id, with_for_update=True,
                     populate_existing=True)
    fact.flag_resolved_at, fact.flag_resolved_by = now, actor_id
    fact.flag_resolution, fact.flag_note = RESOLUTIONS[decision], note
    db.add(fact)
    if decision == "accept" and fact.kind == "check_in" and "outside" in codes:
        clocks.stop_at_earliest(db, fact.request_id, "arrival", fact.effective_at)  # D8c
    if decision == "equipment":
        _tell_equipment(db, fact, request, now)
    audit.record(db, "fact.resolved", actor_id, request_id=fact.request_id, entity="fact",
                 entity_id=fact.id, at=now, decision=RESOLUTIONS[decision], note=note,
                 fact_kind=fact.kind, flags=codes)
    request.version += 1
    db.add(request)
    changes.changed(db, "fact", fact.id, staff_ids=[fact.author_id], request_id=fact.request_id)
    changes.changed(db, "request", fact.request_id, request_id=fact.request_id)
    return fact


def _tell_equipment(db: Session, fact: FieldFact, request: SupportRequest, now: datetime) -> None:
    managers = db.exec(select(Staff).join(StaffRole, StaffRole.staff_id == Staff.id)
                       .where(StaffRole.role == Role.equipment, Staff.active)
                       .order_by(Staff.id)).all()
    data = fact.data or {}
    for person in managers:
        notify.enqueue(
            db, staff_id=person.id, kind="swap.handed_over",
            title=say(person, N_("{number}: a refused swap needs the equipment manager"),
                      number=request.number),
            body=say(person, N_("{unit_out} → {unit_in}: {reason}"),
                     unit_out=data.get("unit_out", "?"), unit_in=data.get("unit_in", "?"),
                     reason=data.get("reason") or "—"),
            dedupe_key=f"fact:{fact.id}:equipment:{person.id}", request_id=request.id,
            now=now,
        )
