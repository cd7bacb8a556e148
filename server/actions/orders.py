"""Rental orders and the units on them: create, change, add or take off a unit, archive.

D13: a unit is on at most one open order; adding one that is on another order, retired,
in repair or held for a request is refused with the reason. The database's partial
unique index on open order lines backs the rule when two people race.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.catalog import (
    Outcome,
    _changed,
    find_customer,
    find_venue,
    open_order_of,
    upsert_customer,
)
from server.domain import catalog as rules
from server.domain.text import N_, Message
from server.models import (
    OPEN_STATUSES,
    Contact,
    Customer,
    OrderLine,
    RentalOrder,
    SupportRequest,
    Unit,
    UnitStatus,
    Venue,
)


def find_order(db: Session, order_no: str) -> RentalOrder | None:
    return db.exec(select(RentalOrder).where(RentalOrder.order_no == order_no)).first()


def open_units(db: Session, order_id: int) -> list[Unit]:
    return list(db.exec(
        select(Unit).join(OrderLine, OrderLine.unit_id == Unit.id)
        .where(OrderLine.order_id == order_id, OrderLine.removed_at.is_(None))
        .order_by(Unit.asset_tag)
    ))


def save_order(db: Session, actor_id: int | None, order_id: int | None, values: Mapping[str, Any],
               zone: tzinfo, now: datetime) -> RentalOrder:
    """The order screen: number, customer and contact, venue, scenario, start and end."""
    order = db.get(RentalOrder, order_id) if order_id else None
    if order_id and (order is None or order.archived_at):
        raise ActionError(N_("No such order."))
    customer = _get_id(db, Customer, values.get("customer_id"))
    data, errors = rules.clean_order(
        dict(values) | {"customer_name": customer.name if customer else "",
                        "customer_phone": customer.phone if customer else ""}, zone)
    errors = {k: v for k, v in errors.items() if not k.startswith("customer_")}
    if customer is None or customer.archived_at:
        errors["customer_id"] = Message(N_("Choose the customer."))
    contact = _get_id(db, Contact, values.get("contact_id"))
    if contact is not None and (customer is None or contact.customer_id != customer.id):
        errors["contact_id"] = Message(N_("This contact belongs to another customer."))
    venue = _get_id(db, Venue, values.get("venue_id"))
    if venue is not None and venue.archived_at:
        errors["venue_id"] = Message(N_("No such venue."))
    if data["order_no"] and "order_no" not in errors:
        twin = find_order(db, data["order_no"])
        if twin is not None and twin.id != order_id:
            errors["order_no"] = Message(N_("Order {order_no} already exists."),
                                         {"order_no": data["order_no"]})
    if errors:
        raise FieldErrors(errors)
    fields = {"order_no": data["order_no"], "customer_id": customer.id,
              "contact_id": contact.id if contact else None,
              "venue_id": venue.id if venue else None, "scenario": data["scenario"],
              "starts_at": data["starts_at"], "ends_at": data["ends_at"]}
    return _write_order(db, actor_id, order, fields, now)[0]


def _get_id(db: Session, model: Any, raw: Any) -> Any:
    value = rules.text(raw)
    return db.get(model, int(value)) if value.isdigit() and len(value) < 10 else None


def _write_order(db: Session, actor_id: int | None, order: RentalOrder | None,
                 fields: dict[str, Any], now: datetime) -> tuple[RentalOrder, Outcome]:
    if order is None:
        order = RentalOrder(**fields)
        db.add(order)
        db.flush()
        record(db, "order.created", actor_id, entity="order", entity_id=order.id, at=now,
               order_no=order.order_no)
        return order, "created"
    diff = _changed(order, fields)
    if diff:
        record(db, "order.changed", actor_id, entity="order", entity_id=order.id, at=now,
               order_no=order.order_no, changes=diff)
    return order, "updated" if diff else "unchanged"


def unit_refusal(db: Session, unit: Unit | None, tag: str, order: RentalOrder | None) -> Message | None:
    """Why this unit cannot go on this order now (D13), or None."""
    if unit is None:
        return Message(N_("Unknown unit: {tag}."), {"tag": tag})
    on_order = open_order_of(db, unit.id)
    if on_order and (order is None or on_order != order.order_no):
        return Message(N_("{tag} is already on order {order_no}."),
                       {"tag": unit.asset_tag, "order_no": on_order})
    if on_order:
        return None
    if unit.status in (UnitStatus.retired, UnitStatus.in_repair):
        return Message(N_("{tag} is {status} and cannot be rented."),
                       {"tag": unit.asset_tag, "status": Message(unit.status)})
    if unit.held_for_request_id:
        return Message(N_("{tag} is held for request {request}."),
                       {"tag": unit.asset_tag, "request": unit.held_for_request_id})
    return None


def add_unit(db: Session, actor_id: int | None, order_id: int, asset_tag: str,
             now: datetime) -> Unit:
    order = db.get(RentalOrder, order_id)
    if order is None or order.archived_at:
        raise ActionError(N_("No such order."))
    tag = "".join(asset_tag.split()).upper()
    unit = db.exec(select(Unit).where(Unit.asset_tag == tag)).first() if tag else None
    refusal = unit_refusal(db, unit, tag or "—", order)
    if refusal is None and open_order_of(db, unit.id) == order.order_no:
        refusal = Message(N_("{tag} is on this order already."), {"tag": unit.asset_tag})
    if refusal:
        raise ActionError(refusal, "asset_tag")
    _put_on(db, actor_id, order, unit, now)
    return unit


def _put_on(db: Session, actor_id: int | None, order: RentalOrder, unit: Unit, now: datetime) -> None:
    db.add(OrderLine(order_id=order.id, unit_id=unit.id, added_at=now))
    unit.status = UnitStatus.rented
    unit.version += 1
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:  # another order took it meanwhile (the partial index)
        raise ActionError(N_("{tag} is already on another order."), "asset_tag",
                          tag=unit.asset_tag) from exc
    record(db, "order.unit_added", actor_id, entity="order", entity_id=order.id, at=now,
           order_no=order.order_no, asset_tag=unit.asset_tag)


def remove_unit(db: Session, actor_id: int | None, order_id: int, unit_id: int,
                now: datetime) -> Unit:
    """Take a unit off an order: the line is closed (kept), the unit goes back to reserve."""
    order = db.get(RentalOrder, order_id)
    line = db.exec(select(OrderLine).where(OrderLine.order_id == order_id,
                                           OrderLine.unit_id == unit_id,
                                           OrderLine.removed_at.is_(None))).first()
    if order is None or line is None:
        raise ActionError(N_("This unit is not on this order."))
    unit = db.get(Unit, unit_id)
    line.removed_at = now
    if unit.status == UnitStatus.rented:
        unit.status = UnitStatus.reserve
    unit.version += 1
    record(db, "order.unit_removed", actor_id, entity="order", entity_id=order.id, at=now,
           order_no=order.order_no, asset_tag=unit.asset_tag)
    return unit


def archive_order(db: Session, actor_id: int | None, order_id: int, now: datetime) -> RentalOrder:
    """An order that is over: its units come off it, it leaves the lists and the intake
    lookup; refused while an open request points to it."""
    order = db.get(RentalOrder, order_id)
    if order is None or order.archived_at:
        raise ActionError(N_("No such order."))
    request_id = db.exec(select(SupportRequest.id).where(
        SupportRequest.order_id == order_id, SupportRequest.status.in_(OPEN_STATUSES))).first()
    if request_id:
        raise ActionError(N_("Request {request} about this order is still open."),
                          request=request_id)
    for unit in open_units(db, order_id):
        remove_unit(db, actor_id, order_id, unit.id, now)
    order.archived_at = now
    record(db, "order.archived", actor_id, entity="order", entity_id=order_id, at=now,
           order_no=order.order_no)
    return order


def upsert_order(db: Session, actor_id: int | None, values: Mapping[str, Any], zone: tzinfo,
                 now: datetime) -> tuple[RentalOrder, Outcome]:
    """By order number (import, rental system): the customer is created if new, the
    contact added by phone, the venue named within the customer's venues, and the order's
    units become exactly the listed ones (D13 checked for each). All or nothing."""
    data, errors = rules.clean_order(values, zone)
    order = find_order(db, data["order_no"]) if data["order_no"] else None
    if order is not None and order.archived_at:
        errors["order_no"] = Message(N_("Order {order_no} is archived."), {"order_no": order.order_no})
    customer = None
    if not any(k.startswith("customer_") for k in errors):
        customer = find_customer(db, data["customer_name"], data["customer_phone"])
    venue = None
    if data["venue"]:
        venue = find_venue(db, customer.id, data["venue"]) if customer else None
        if venue is None:
            errors["venue"] = Message(N_("Unknown venue of this customer: {name}."),
                                      {"name": data["venue"]})
    units: list[Unit] = []
    for tag in data["units"]:
        unit = db.exec(select(Unit).where(Unit.asset_tag == tag)).first()
        refusal = unit_refusal(db, unit, tag, order)
        if refusal:
            errors.setdefault("units", refusal)
        else:
            units.append(unit)
    if errors:
        raise FieldErrors(errors)
    contacts = ([{"name": data["contact_name"] or data["customer_name"], "phone": data["contact_phone"]}]
                if data["contact_phone"] else [])
    customer, customer_outcome = upsert_customer(
        db, actor_id, {"name": data["customer_name"], "phone": data["customer_phone"]},
        contacts, now)
    contact = None
    if data["contact_phone"]:
        contact = db.exec(select(Contact).where(Contact.customer_id == customer.id,
                                                Contact.phone == data["contact_phone"])).first()
    fields = {"order_no": data["order_no"], "customer_id": customer.id,
              "contact_id": contact.id if contact else None,
              "venue_id": venue.id if venue else None, "scenario": data["scenario"],
              "starts_at": data["starts_at"], "ends_at": data["ends_at"]}
    order, outcome = _write_order(db, actor_id, order, fields, now)
    wanted = {u.id for u in units}
    current = {u.id for u in open_units(db, order.id)}
    for unit_id in current - wanted:
        remove_unit(db, actor_id, order.id, unit_id, now)
    for unit in units:
        if unit.id not in current:
            _put_on(db, actor_id, order, unit, now)
    if outcome == "unchanged" and (current != wanted or customer_outcome != "unchanged"):
        outcome = "updated"
    return order, outcome
