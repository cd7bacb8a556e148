"""Every movement of a unit (S15, D8a, D13): one function, one audit record, one version.

``move`` is the only writer of ``Unit.status`` / ``held_for_request_id`` / ``depot_id``
and of order lines opened or closed by a movement. It asks the pure state machine
(``server.domain.equipment``) whether the move fits, then changes the unit with a
conditional update on its version: two movements racing for one unit (two engineers
swapping it in at once, a shipment and a swap) cannot both succeed; the loser gets
``MoveRefused`` with the reason and changes nothing. Each movement writes its audit
entry (entity ``unit``): that is the unit's history. Callers own the transaction.

Spare-unit requests and shipments are in ``server.actions.spares``; returns, repair and
refused-swap corrections in ``server.actions.repairs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, select

from server.actions import ActionError, audit, changes
from server.actions.job_common import unflushed
from server.domain import equipment as rules
from server.domain.text import N_, Message
from server.models import (
    Depot,
    OrderLine,
    RentalOrder,
    RepairTicket,
    SpareRequest,
    SpareStatus,
    SupportRequest,
    Unit,
    UnitSwap,
)


class MoveRefused(ActionError):
    """The unit's state does not allow the movement (or changed under us); nothing changed."""


def facts(db: Session, unit: Unit) -> rules.UnitFacts:
    return rules.UnitFacts(unit.asset_tag, rules.unit_state(unit.status, unit.held_for_request_id),
                           unit.held_for_request_id, open_lines(db, unit.id))


def open_lines(db: Session, unit_id: int) -> int:
    return db.exec(select(func.count()).select_from(OrderLine).where(
        OrderLine.unit_id == unit_id, OrderLine.removed_at.is_(None))).one()


def unit_by_tag(db: Session, tag: str) -> Unit | None:
    tag = (tag or "").strip().upper()
    return db.exec(select(Unit).where(Unit.asset_tag == tag)).first() if tag else None


def move(db: Session, unit: Unit, name: str, actor_id: int | None, at: datetime, *,
         request_id: int | None = None, order_id: int | None = None,
         depot_id: int | None = None, check: bool = True, **details: Any) -> None:
    """Apply movement ``name`` to ``unit``, or raise ``MoveRefused`` (nothing changed).

    ``request_id``: the request the unit is held / shipped / put in for; ``order_id``:
    the rental order a ``put_in`` opens a line on; ``depot_id``: the depot a move into
    the reserve ends at (default: the unit's own). ``check=False`` is for the audited
    correction of what physically happened (``repairs.resolve_refused_swap``) only.
    """
    rule = rules.MOVES[name]
    db.refresh(unit)  # decide on what is stored now; the version check guards the rest
    before = facts(db, unit)
    if check:
        refusal = rules.move_refusal(name, before, request_id)
        if refusal is not None:
            raise MoveRefused(refusal)
    if rule.at_depot and db.get(Depot, depot_id or unit.depot_id or 0) is None:
        raise MoveRefused(Message(N_("Choose the depot the unit goes back to.")), "depot_id")
    values: dict[str, Any] = {
        "status": rules.stored(rule.target),
        "held_for_request_id": request_id if rule.for_request else None,
        "depot_id": (depot_id or unit.depot_id) if rule.at_depot else None,
        "version": unit.version + 1,
    }
    done = db.execute(
        update(Unit).where(Unit.id == unit.id, Unit.version == unit.version).values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise MoveRefused(Message(N_("Unit {tag} was just changed by someone else: try again."),
                                  {"tag": unit.asset_tag}))
    db.refresh(unit)
    order_no = ""
    if rule.closes_line or not check:
        for line in db.exec(select(OrderLine).where(OrderLine.unit_id == unit.id,
                                                    OrderLine.removed_at.is_(None))):
            line.removed_at = at
            db.add(line)
            order_no = order_no or _order_no(db, line.order_id)
        db.flush()
    if rule.opens_line and order_id is not None:
        db.add(OrderLine(order_id=order_id, unit_id=unit.id, added_at=at))
        db.flush()  # the one-open-line index refuses a second line here, whatever the path
        order_no = _order_no(db, order_id)
    depot = db.get(Depot, unit.depot_id) if unit.depot_id else None
    audit.record(db, f"unit.{name}", actor_id, entity="unit", entity_id=unit.id, at=at,
                 asset_tag=unit.asset_tag, from_state=before.state, to_state=rule.target,
                 for_request=request_id, order_no=order_no, depot=depot.name if depot else "",
                 **details)
    changes.changed(db, "unit", unit.id, request_id=request_id)


def _order_no(db: Session, order_id: int | None) -> str:
    order = db.get(RentalOrder, order_id) if order_id else None
    return order.order_no if order else ""


# -- the engineer's swap (D13), called by server.actions.field.swap ------------------------


@dataclass
class Swapped:
    unit_out: Unit
    unit_in: Unit
    spare: SpareRequest | None  # the spare request this swap delivered, if any


def swap_units(db: Session, actor_id: int, request: SupportRequest, out_tag: str, in_tag: str,
               reason: str, at: datetime, fact_id: str) -> Swapped:
    """The unit out leaves the order for repair, the unit in goes on it: one transaction
    with its audit records, or ``MoveRefused`` with the reason and nothing changed.

    The unit in may be from the reserve, the one held for this request (D8a) or the one
    shipped to it (its spare request is then "delivered and swapped in"). The unit out
    gets a repair ticket with the fault copied from the spare request (or the request).
    """
    unit_out, unit_in = unit_by_tag(db, out_tag), unit_by_tag(db, in_tag)
    on_order = unit_out is not None and (
        _open_line(db, request.order_id, unit_out.id) if request.order_id
        # No rental order: only the unit named on the request can be the one taken out.
        else unit_out.id == request.unit_id)
    refusal = rules.swap_refusal(facts(db, unit_out) if unit_out else None,
                                 facts(db, unit_in) if unit_in else None,
                                 out_tag, in_tag, bool(on_order), request.id)
    if refusal is not None:
        raise MoveRefused(refusal)
    spare = _spare_for(db, request.id, unit_in)
    savepoint = db.begin_nested()  # both units move, or neither
    try:
        move(db, unit_in, "put_in", actor_id, at, request_id=request.id,
             order_id=request.order_id, fact_id=fact_id, swapped_for=unit_out.asset_tag)
        move(db, unit_out, "take_out", actor_id, at, request_id=request.id, fact_id=fact_id,
             swapped_for=unit_in.asset_tag, reason=reason)
    except MoveRefused:
        savepoint.rollback()
        raise
    savepoint.commit()
    if request.unit_id == unit_out.id:
        request.unit_id = unit_in.id
    db.add(UnitSwap(fact_id=fact_id, order_id=request.order_id, unit_out_id=unit_out.id,
                    unit_in_id=unit_in.id, reason=reason, swapped_at=at))
    audit.record(db, "unit.swapped", actor_id, request_id=request.id, entity="unit",
                 entity_id=unit_in.id, at=at, fact_id=fact_id, unit_out=unit_out.asset_tag,
                 unit_in=unit_in.asset_tag, order_no=_order_no(db, request.order_id),
                 delivered=spare.id if spare else None)
    fault = (spare.fault if spare and spare.fault else request.symptom) or reason
    db.add(RepairTicket(unit_id=unit_out.id, request_id=request.id, fault=fault[:2000],
                        opened_at=at, note=reason[:2000]))
    if spare is not None:
        spare.status, spare.closed_at, spare.unit_id = SpareStatus.delivered, at, unit_in.id
        spare.version += 1
        db.add(spare)
        audit.record(db, "spare.delivered", actor_id, request_id=request.id, entity="spare",
                     entity_id=spare.id, at=at, asset_tag=unit_in.asset_tag)
    _end_other_spares(db, actor_id, request.id, at)
    return Swapped(unit_out, unit_in, spare)


def _open_line(db: Session, order_id: int, unit_id: int) -> OrderLine | None:
    return db.exec(select(OrderLine).where(OrderLine.order_id == order_id,
                                           OrderLine.unit_id == unit_id,
                                           OrderLine.removed_at.is_(None))).first()


def _spare_for(db: Session, request_id: int, unit_in: Unit) -> SpareRequest | None:
    """The request's open or shipped spare request this unit answers: the one naming it
    first, else one of its type still waiting."""
    rows = list(db.exec(select(SpareRequest).where(
        SpareRequest.request_id == request_id,
        SpareRequest.status.in_([SpareStatus.open, SpareStatus.shipped])
    ).order_by(SpareRequest.id)))
    named = [s for s in rows if s.unit_id == unit_in.id]
    typed = [s for s in rows if s.device_type == unit_in.device_type]
    return (named or typed or [None])[0]


def _end_other_spares(db: Session, actor_id: int | None, request_id: int, at: datetime) -> None:
    """Once a swap put a unit in, what the request still holds at a depot goes back to the
    reserve, visibly; a unit still on its way stays in transit until it is back."""
    for unit in db.exec(select(Unit).where(Unit.held_for_request_id == request_id,
                                           Unit.status == "reserve")).all():
        move(db, unit, "release", actor_id, at, request_id=request_id,
             reason="swap done with another unit")
    for spare in db.exec(select(SpareRequest).where(SpareRequest.request_id == request_id,
                                                    SpareRequest.status == SpareStatus.open)):
        spare.status, spare.closed_at = SpareStatus.cancelled, at
        spare.version += 1
        db.add(spare)
        audit.record(db, "spare.cancelled", actor_id, request_id=request_id, entity="spare",
                     entity_id=spare.id, at=at, reason="swap done")


# built once: every field sign-off that resolves a request runs them
_HELD_UNITS = select(Unit).where(Unit.held_for_request_id == bindparam("request_id"),
                                 Unit.status == "reserve")
_WAITING_SPARES = select(SpareRequest).where(
    SpareRequest.request_id == bindparam("request_id"),
    SpareRequest.status.in_([SpareStatus.open, SpareStatus.shipped]))


def release_for_request(db: Session, actor_id: int | None, request_id: int, at: datetime,
                        why: str, found: tuple[list[Unit], list[SpareRequest]] | None = None,
                        ) -> None:
    """The request ended (resolved or cancelled): its held units go back to the reserve,
    visibly (each release is in the unit's history and the request's timeline), and its
    waiting spare requests are cancelled. A unit in transit stays tied to the request
    until the manager records it back at a depot (the queue lists it)."""
    released = []
    if found is not None:  # read by the caller (a field "done": ``sign_off_reads``)
        held, spares = found
    else:
        with unflushed(db, Unit):
            held = list(db.exec(_HELD_UNITS, params={"request_id": request_id}).all())
        with unflushed(db, SpareRequest):
            spares = list(db.exec(_WAITING_SPARES, params={"request_id": request_id}).all())
    for unit in held:
        move(db, unit, "release", actor_id, at, request_id=request_id, reason=why)
        released.append(unit.asset_tag)
    if released:
        audit.record(db, "unit.released", actor_id, request_id=request_id, entity="request",
                     entity_id=request_id, at=at, asset_tag=", ".join(released), reason=why)
    for spare in spares:
        spare.status, spare.closed_at = SpareStatus.cancelled, at
        spare.version += 1
        db.add(spare)
        audit.record(db, "spare.cancelled", actor_id, request_id=request_id, entity="spare",
                     entity_id=spare.id, at=at, reason=why)
