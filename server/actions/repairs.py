"""Returns and repair (D13: the unit swapped out goes to repair), retiring a unit, and the
correction of a swap refused at sync once the manager knows what physically happened."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from server.actions import ActionError, audit, changes
from server.actions.equipment import MoveRefused, move, swap_units, unit_by_tag
from server.domain.field import refused_swap_awaits_equipment
from server.domain.text import N_
from server.models import Depot, FieldFact, RepairTicket, SupportRequest, Unit, UnitSwap

OUTCOMES = ("repaired", "retired")


def receive(db: Session, actor_id: int, ticket_id: int, now: datetime) -> RepairTicket:
    """The unit taken out by a swap has arrived at the workshop."""
    ticket = _open_ticket(db, ticket_id)
    if ticket.received_at is not None:
        raise ActionError(N_("This unit was already received."))
    ticket.received_at, ticket.received_by = now, actor_id
    db.add(ticket)
    unit = db.get(Unit, ticket.unit_id)
    audit.record(db, "unit.received", actor_id, entity="unit", entity_id=unit.id, at=now,
                 asset_tag=unit.asset_tag, from_state="in_repair", to_state="in_repair",
                 ticket=ticket.id)
    changes.changed(db, "unit", unit.id)
    return ticket


def finish_repair(db: Session, actor_id: int, ticket_id: int, outcome: str,
                  depot_id: int | None, note: str, now: datetime) -> RepairTicket:
    """Repaired: back in a depot's reserve. Retired: out of service for good."""
    ticket = _open_ticket(db, ticket_id)
    if outcome not in OUTCOMES:
        raise ActionError(N_("Choose repaired or retired."), "outcome")
    unit = db.get(Unit, ticket.unit_id)
    note = note.strip()[:2000]
    if outcome == "repaired":
        if depot_id is None or db.get(Depot, depot_id) is None:
            raise ActionError(N_("Choose the depot the unit goes back to."), "depot_id")
        move(db, unit, "repaired", actor_id, now, depot_id=depot_id, ticket=ticket.id, note=note)
    else:
        if not note:
            raise ActionError(N_("Say why the unit is retired."), "note")
        move(db, unit, "retire", actor_id, now, ticket=ticket.id, note=note)
    ticket.closed_at, ticket.closed_by, ticket.outcome = now, actor_id, outcome
    ticket.note = (ticket.note + "\n" + note).strip()[:2000]
    db.add(ticket)
    return ticket


def retire(db: Session, actor_id: int, unit_id: int, note: str, now: datetime) -> Unit:
    """A unit in the reserve (or in repair) leaves service for good, with the reason."""
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise ActionError(N_("There is no such unit."))
    note = note.strip()[:2000]
    if not note:
        raise ActionError(N_("Say why the unit is retired."), "note")
    ticket = db.exec(select(RepairTicket).where(RepairTicket.unit_id == unit_id,
                                                RepairTicket.closed_at.is_(None))).first()
    if ticket is not None:
        return db.get(Unit, finish_repair(db, actor_id, ticket.id, "retired", None, note,
                                          now).unit_id)
    move(db, unit, "retire", actor_id, now, note=note)
    return unit


def _open_ticket(db: Session, ticket_id: int) -> RepairTicket:
    ticket = db.get(RepairTicket, ticket_id, with_for_update=True)
    if ticket is None:
        raise ActionError(N_("There is no such repair."))
    if ticket.closed_at is not None:
        raise ActionError(N_("This repair is already closed."))
    return ticket


# -- swaps refused at sync (D13, D14) ---------------------------------------------------------


def refused_swap(fact: FieldFact) -> bool:
    return fact.kind == "swap" and bool((fact.data or {}).get("refused"))


def resolve_refused_swap(db: Session, actor_id: int, fact_id: str, happened: bool, note: str,
                         now: datetime) -> FieldFact:
    """The manager confirms what physically happened to a swap the server refused.

    ``happened``: the units were swapped as reported; the records are corrected to match
    (the unit out goes to repair, the unit in onto the request's order, leaving wherever
    the records had it), each correction in the unit's history. Otherwise the records
    stay as they are. Either way the fact is marked resolved, with who, when and the note
    (``data['resolution']``); a swap the dispatcher handed over from the request page
    (issue 13) keeps their hand-over as the flag's resolution. ActionError: no such
    refused swap, already resolved (or rejected by the dispatcher), no note.
    """
    fact = db.get(FieldFact, fact_id, with_for_update=True, populate_existing=True)
    if fact is None or not refused_swap(fact):
        raise ActionError(N_("There is no such refused swap."))
    if not refused_swap_awaits_equipment(fact.kind, fact.data, fact.flag_resolved_at,
                                         fact.flag_resolution):
        raise ActionError(N_("This swap has already been resolved."))
    note = note.strip()[:500]
    if not note:
        raise ActionError(N_("Say what physically happened."), "note")
    request = db.get(SupportRequest, fact.request_id, with_for_update=True)
    data = dict(fact.data)
    if happened:
        _correct(db, actor_id, request, data, fact, now)
    if fact.flag_resolved_at is None:  # else the dispatcher's hand-over stays on the flag
        fact.flag_resolved_at, fact.flag_resolved_by = now, actor_id
    fact.data = data | {"resolution": {"happened": happened, "note": note, "by": actor_id,
                                       "at": now.isoformat()}}
    db.add(fact)
    audit.record(db, "swap.resolved", actor_id, request_id=request.id, entity="fact",
                 entity_id=fact.id, at=now, happened=happened, reason=note,
                 unit_out=data.get("unit_out", ""), unit_in=data.get("unit_in", ""))
    request.version += 1
    db.add(request)
    changes.changed(db, "request", request.id, request_id=request.id)
    return fact


def _correct(db: Session, actor_id: int, request: SupportRequest, data: dict, fact: FieldFact,
             now: datetime) -> None:
    out_tag, in_tag = data.get("unit_out", ""), data.get("unit_in", "")
    unit_out, unit_in = unit_by_tag(db, out_tag), unit_by_tag(db, in_tag)
    if unit_out is None or unit_in is None or unit_out.id == unit_in.id:
        raise ActionError(N_("The reported units are not both known: correct the records "
                             "by hand and resolve it as not happened."))
    at = fact.effective_at or now
    try:  # first as the rules would have it (e.g. the unit came back to the reserve since)
        swap_units(db, actor_id, request, out_tag, in_tag, data.get("reason", ""), at, fact.id)
        return
    except MoveRefused:
        pass
    # What physically happened wins over what the records said: move both units, every
    # correction audited, the open order lines following the units.
    for ticket in db.exec(select(RepairTicket).where(RepairTicket.unit_id == unit_in.id,
                                                     RepairTicket.closed_at.is_(None))):
        ticket.closed_at, ticket.closed_by, ticket.outcome = now, actor_id, "corrected"
        db.add(ticket)
    move(db, unit_in, "put_in", actor_id, now, request_id=request.id, order_id=request.order_id,
         check=False, correction=True, fact_id=fact.id)
    if unit_out.status != "in_repair":
        move(db, unit_out, "take_out", actor_id, now, request_id=request.id, check=False,
             correction=True, fact_id=fact.id)
        db.add(RepairTicket(unit_id=unit_out.id, request_id=request.id,
                            fault=(request.symptom or "")[:2000], opened_at=now))
    if request.unit_id == unit_out.id:
        request.unit_id = unit_in.id
    db.add(UnitSwap(fact_id=fact.id, order_id=request.order_id, unit_out_id=unit_out.id,
                    unit_in_id=unit_in.id, reason=data.get("reason", ""), swapped_at=at))
