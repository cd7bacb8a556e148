"""Customers (with their contacts), venues, depots and units: create, change, archive,
retire. Every change is audited; nothing a request or an order points to is deleted.

Screens call the ``save_*`` functions by id; the import and the rental system's API call
the ``upsert_*`` functions by natural key (customer name + phone, venue name within its
customer, depot name, asset tag). Both check with ``server.domain.catalog`` first and
raise ``FieldErrors`` (field -> reason) having changed nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import func
from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors, equipment
from server.actions.audit import record
from server.domain import catalog as rules
from server.domain import equipment as equipment_rules
from server.domain.text import N_, Message
from server.i18n import translations
from server.models import (
    Contact,
    Customer,
    Depot,
    OrderLine,
    RentalOrder,
    SupportRequest,
    Unit,
    UnitStatus,
    Venue,
)

Outcome = Literal["created", "updated", "unchanged"]


@cache
def aliases() -> dict[str, str]:
    """Chinese words for stored codes (市区 -> urban, 摄像机 -> camera), for files and forms."""
    zh = translations("zh_CN")
    codes = ("urban", "suburban", *rules.DEVICE_TYPES, *rules.SETTABLE_UNIT_STATUSES)
    return {zh.gettext(code): code for code in codes if zh.gettext(code) != code}


def region_aliases(regions: Iterable[str]) -> dict[str, str]:
    zh = translations("zh_CN")
    return {zh.gettext(r): r for r in regions}


def _changed(obj: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set the fields that differ; returns field -> [old, new] for the audit entry."""
    diff: dict[str, Any] = {}
    for key, value in values.items():
        old = getattr(obj, key)
        if old != value:
            diff[key] = [_plain(old), _plain(value)]
            setattr(obj, key, value)
    return diff


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# --- customers ---------------------------------------------------------------------------


def find_customer(db: Session, name: str, phone: str) -> Customer | None:
    return db.exec(
        select(Customer).where(Customer.name == name, Customer.phone == phone,
                               Customer.archived_at.is_(None))
    ).first()


def save_customer(db: Session, actor_id: int | None, customer_id: int | None,
                  values: Mapping[str, Any], contacts: Iterable[Mapping[str, Any]],
                  now: datetime) -> Customer:
    """The customer screen: name, phone and the full list of contact people."""
    data, errors = rules.clean_customer(values)
    people, contact_errors = rules.clean_contacts(contacts)
    errors.update(contact_errors)
    customer = db.get(Customer, customer_id) if customer_id else None
    if customer_id and (customer is None or customer.archived_at):
        raise ActionError(N_("No such customer."))
    if not errors:
        twin = find_customer(db, data["name"], data["phone"])
        if twin is not None and twin.id != customer_id:
            errors["name"] = Message(N_("A customer with this name and phone already exists."))
    if errors:
        raise FieldErrors(errors)
    if customer is None:
        customer = Customer(**data)
        db.add(customer)
        db.flush()
        record(db, "customer.created", actor_id, entity="customer", entity_id=customer.id,
               at=now, **data)
    else:
        diff = _changed(customer, data)
        if diff:
            record(db, "customer.changed", actor_id, entity="customer", entity_id=customer.id,
                   at=now, changes=diff)
    _set_contacts(db, actor_id, customer, people, now, replace=True)
    return customer


def upsert_customer(db: Session, actor_id: int | None, values: Mapping[str, Any],
                    contacts: Iterable[Mapping[str, Any]], now: datetime
                    ) -> tuple[Customer, Outcome]:
    """By natural key (name + phone); contacts are added or renamed by their phone."""
    data, errors = rules.clean_customer(values)
    people, contact_errors = rules.clean_contacts(contacts)
    errors.update(contact_errors)
    if errors:
        raise FieldErrors(errors)
    customer = find_customer(db, data["name"], data["phone"])
    outcome: Outcome = "unchanged"
    if customer is None:
        customer = Customer(**data)
        db.add(customer)
        db.flush()
        record(db, "customer.created", actor_id, entity="customer", entity_id=customer.id,
               at=now, **data)
        outcome = "created"
    if _set_contacts(db, actor_id, customer, people, now, replace=False) and outcome != "created":
        outcome = "updated"
    return customer, outcome


def _set_contacts(db: Session, actor_id: int | None, customer: Customer,
                  people: list[dict[str, str]], now: datetime, replace: bool) -> bool:
    """Match contacts by phone; with replace, the ones not listed are removed (requests
    keep the caller's name and phone as typed, so none of their history is lost)."""
    existing = {c.phone: c for c in db.exec(select(Contact).where(Contact.customer_id == customer.id))}
    changed = False
    for person in people:
        contact = existing.pop(person["phone"], None)
        if contact is None:
            contact = Contact(customer_id=customer.id, **person)
            db.add(contact)
            changed = True
        elif contact.name != person["name"]:
            contact.name = person["name"]
            changed = True
    if replace:
        for contact in existing.values():
            if db.exec(select(RentalOrder.id).where(RentalOrder.contact_id == contact.id)).first():
                continue  # an order names this contact: kept
            db.delete(contact)
            changed = True
    if changed:
        db.flush()
        record(db, "customer.contacts_set", actor_id, entity="customer", entity_id=customer.id,
               at=now, contacts=[p["name"] + " " + p["phone"] for p in people])
    return changed


def archive_customer(db: Session, actor_id: int | None, customer_id: int, now: datetime) -> Customer:
    """Hidden from lists and lookups, kept for the requests and orders that name it; refused
    while one of its orders is still open."""
    customer = db.get(Customer, customer_id)
    if customer is None or customer.archived_at:
        raise ActionError(N_("No such customer."))
    open_order = db.exec(
        select(RentalOrder.order_no).where(RentalOrder.customer_id == customer_id,
                                           RentalOrder.archived_at.is_(None))
    ).first()
    if open_order:
        raise ActionError(N_("Order {order_no} of this customer is still open: archive it first."),
                          order_no=open_order)
    customer.archived_at = now
    record(db, "customer.archived", actor_id, entity="customer", entity_id=customer_id, at=now)
    return customer


# --- venues ------------------------------------------------------------------------------


def save_venue(db: Session, actor_id: int | None, venue_id: int | None, customer_id: int | None,
               values: Mapping[str, Any], regions: Iterable[str], now: datetime) -> Venue:
    """The venue screen: where a customer streams, its region (S9) and position (D15)."""
    regions = tuple(regions)
    data, errors = rules.clean_venue(values, regions, aliases() | region_aliases(regions))
    venue = db.get(Venue, venue_id) if venue_id else None
    if venue_id and (venue is None or venue.archived_at):
        raise ActionError(N_("No such venue."))
    customer = db.get(Customer, customer_id) if customer_id else None
    if customer_id and (customer is None or customer.archived_at):
        errors["customer_id"] = Message(N_("No such customer."))
    if errors:
        raise FieldErrors(errors)
    return _write_venue(db, actor_id, venue, customer_id, data, now)[0]


def _write_venue(db: Session, actor_id: int | None, venue: Venue | None, customer_id: int | None,
                 data: dict[str, Any], now: datetime) -> tuple[Venue, Outcome]:
    if venue is None:
        venue = Venue(customer_id=customer_id, **data)
        db.add(venue)
        db.flush()
        record(db, "venue.created", actor_id, entity="venue", entity_id=venue.id, at=now, **data)
        return venue, "created"
    diff = _changed(venue, data | {"customer_id": customer_id})
    if diff:
        record(db, "venue.changed", actor_id, entity="venue", entity_id=venue.id, at=now,
               changes=diff)
    return venue, "updated" if diff else "unchanged"


def find_venue(db: Session, customer_id: int | None, name: str) -> Venue | None:
    return db.exec(
        select(Venue).where(Venue.customer_id == customer_id, Venue.name == name,
                            Venue.archived_at.is_(None))
    ).first()


def upsert_venue(db: Session, actor_id: int | None, values: Mapping[str, Any],
                 regions: Iterable[str], now: datetime) -> tuple[Venue, Outcome]:
    """By natural key: the customer (name + phone, which must exist) and the venue's name."""
    regions = tuple(regions)
    data, errors = rules.clean_venue(values, regions, aliases() | region_aliases(regions))
    owner, owner_errors = rules.clean_customer(
        {"name": values.get("customer_name"), "phone": values.get("customer_phone")})
    errors.update({"customer_" + k: v for k, v in owner_errors.items()})
    customer = None if owner_errors else find_customer(db, owner["name"], owner["phone"])
    if not owner_errors and customer is None:
        errors["customer_name"] = Message(N_("Unknown customer: {name} {phone}."), owner)
    if errors:
        raise FieldErrors(errors)
    venue = find_venue(db, customer.id, data["name"])
    return _write_venue(db, actor_id, venue, customer.id, data, now)


def archive_venue(db: Session, actor_id: int | None, venue_id: int, now: datetime) -> Venue:
    venue = db.get(Venue, venue_id)
    if venue is None or venue.archived_at:
        raise ActionError(N_("No such venue."))
    open_order = db.exec(
        select(RentalOrder.order_no).where(RentalOrder.venue_id == venue_id,
                                           RentalOrder.archived_at.is_(None))
    ).first()
    if open_order:
        raise ActionError(N_("Order {order_no} is at this venue and still open: archive it first."),
                          order_no=open_order)
    venue.archived_at = now
    record(db, "venue.archived", actor_id, entity="venue", entity_id=venue_id, at=now)
    return venue


# --- depots and units --------------------------------------------------------------------


def save_depot(db: Session, actor_id: int | None, depot_id: int | None, values: Mapping[str, Any],
               regions: Iterable[str], now: datetime) -> Depot:
    regions = tuple(regions)
    data, errors = rules.clean_depot(values, regions, aliases() | region_aliases(regions))
    depot = db.get(Depot, depot_id) if depot_id else None
    if depot_id and (depot is None or depot.archived_at):
        raise ActionError(N_("No such depot."))
    if not errors:
        twin = find_depot(db, data["name"])
        if twin is not None and twin.id != depot_id:
            errors["name"] = Message(N_("A depot with this name already exists."))
    if errors:
        raise FieldErrors(errors)
    if depot is None:
        depot = Depot(**data)
        db.add(depot)
        db.flush()
        record(db, "depot.created", actor_id, entity="depot", entity_id=depot.id, at=now, **data)
    elif diff := _changed(depot, data):
        record(db, "depot.changed", actor_id, entity="depot", entity_id=depot.id, at=now,
               changes=diff)
    return depot


def find_depot(db: Session, name: str) -> Depot | None:
    return db.exec(select(Depot).where(Depot.name == name, Depot.archived_at.is_(None))).first()


def archive_depot(db: Session, actor_id: int | None, depot_id: int, now: datetime) -> Depot:
    depot = db.get(Depot, depot_id)
    if depot is None or depot.archived_at:
        raise ActionError(N_("No such depot."))
    count = db.exec(select(func.count()).select_from(Unit).where(
        Unit.depot_id == depot_id, Unit.status != UnitStatus.retired)).one()
    if count:
        raise ActionError(N_("{n} units are kept at this depot: move them first."), n=count)
    depot.archived_at = now
    record(db, "depot.archived", actor_id, entity="depot", entity_id=depot_id, at=now)
    return depot


def open_order_of(db: Session, unit_id: int) -> str | None:
    """The number of the order the unit is on now (D13: at most one)."""
    return db.exec(
        select(RentalOrder.order_no).join(OrderLine, OrderLine.order_id == RentalOrder.id)
        .where(OrderLine.unit_id == unit_id, OrderLine.removed_at.is_(None))
    ).first()


def upsert_unit(db: Session, actor_id: int | None, unit_id: int | None, values: Mapping[str, Any],
                now: datetime) -> tuple[Unit, Outcome]:
    """A unit by id (the screen) or by asset tag (import, API): type, model, depot, status.

    A new unit starts in the status given (reserve by default). On a known unit a new
    status is a movement of the state machine (``server.domain.equipment.STATUS_MOVES``)
    made by ``server.actions.equipment.move``, the one writer of unit state: version-
    checked, audited, refused with the reason when the unit's state does not allow it
    (D13: a unit on an open order is "rented" and not set by hand; D8a: a held unit keeps
    its status until its request lets it go). Raises ``FieldErrors``, or ``MoveRefused``
    when the unit changed meanwhile; the caller then rolls back.
    """
    data, errors = rules.clean_unit(values, aliases())
    unit = db.get(Unit, unit_id) if unit_id else None
    if unit_id and unit is None:
        raise ActionError(N_("No such unit."))
    if unit is not None:
        db.refresh(unit)  # decide on what is stored now
    if unit is None and not errors:
        unit = db.exec(select(Unit).where(Unit.asset_tag == data["asset_tag"])).first()
    elif (unit is not None and not errors and data["asset_tag"] != unit.asset_tag
          and db.exec(select(Unit.id).where(Unit.asset_tag == data["asset_tag"])).first()):
        errors["asset_tag"] = Message(N_("Another unit has this asset tag."))
    depot = None
    if data["depot"]:
        depot = find_depot(db, data["depot"])
        if depot is None:
            errors["depot"] = Message(N_("Unknown depot: {name}."), {"name": data["depot"]})
    status = data["status"]
    move_name = None
    if unit is not None and status and status != unit.status:
        move_name = _status_move(db, unit, status, depot, errors)
    if errors:
        raise FieldErrors(errors)
    fields = {"asset_tag": data["asset_tag"], "device_type": data["device_type"],
              "model": data["model"], "depot_id": depot.id if depot else None}
    if unit is None:
        unit = Unit(**fields, status=status or UnitStatus.reserve)
        db.add(unit)
        db.flush()
        record(db, "unit.created", actor_id, entity="unit", entity_id=unit.id, at=now,
               asset_tag=unit.asset_tag, status=unit.status)
        return unit, "created"
    moved_depot = fields.pop("depot_id")
    if move_name is None:
        fields["depot_id"] = moved_depot  # else the move says where the unit is
    diff = _changed(unit, fields)
    if diff:
        unit.version += 1
        record(db, "unit.changed", actor_id, entity="unit", entity_id=unit.id, at=now,
               asset_tag=unit.asset_tag, changes=diff)
        db.flush()  # the move reads the unit as stored
    if move_name is not None:
        equipment.move(db, unit, move_name, actor_id, now, depot_id=moved_depot)
    return unit, "updated" if diff or move_name else "unchanged"


def _status_move(db: Session, unit: Unit, status: str, depot: Depot | None,
                 errors: dict[str, Message]) -> str | None:
    """The move that sets ``unit``'s status to ``status``, or None with the reason added
    to ``errors`` (under "status", or "depot" when the unit needs a depot to go back to)."""
    refusal = _status_refusal(db, unit, status)
    if refusal is not None:
        errors["status"] = refusal
        return None
    name = equipment_rules.STATUS_MOVES[(equipment.facts(db, unit).state, status)]
    if equipment_rules.MOVES[name].at_depot and depot is None:  # the depot as edited
        errors["depot"] = Message(N_("Choose the depot the unit goes back to."))
        return None
    return name


def _status_refusal(db: Session, unit: Unit, status: str) -> Message | None:
    held = db.get(SupportRequest, unit.held_for_request_id) if unit.held_for_request_id else None
    return equipment_rules.status_refusal(equipment.facts(db, unit), status,
                                          open_order_of(db, unit.id),
                                          held.number if held else None)


def retire_unit(db: Session, actor_id: int | None, unit_id: int, reason: str, now: datetime) -> Unit:
    """Out of service for good (D13): the state machine's ``retire`` move, through
    ``server.actions.equipment.move`` (version-checked, audited as ``unit.retire``). Only a
    unit in the reserve or in repair can be retired: one on an open order, held or in
    transit for a request is refused with the reason. The unit and everything that names
    it stay."""
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise ActionError(N_("No such unit."))
    reason = reason.strip()
    if not reason:
        raise ActionError(N_("Say why the unit is retired."), "reason")
    db.refresh(unit)  # the reason names what is stored now; move() checks the version
    refusal = _status_refusal(db, unit, UnitStatus.retired)
    if refusal is not None:
        raise ActionError(refusal)  # about the unit, not a field of the retire form
    equipment.move(db, unit, "retire", actor_id, now, reason=reason[:200])
    return unit
