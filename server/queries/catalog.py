"""Reading customers, venues, orders, units and depots for their screens; the customer
search here is the one intake's phone lookup uses (D3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import Session, select

from server.domain.intake import normalize_phone
from server.models import (
    AuditEntry,
    Contact,
    Customer,
    Depot,
    OrderLine,
    RentalOrder,
    Staff,
    Unit,
    Venue,
)


@dataclass(frozen=True)
class CustomerCard:
    customer: Customer
    contacts: list[Contact] = field(default_factory=list)
    matched: Contact | None = None  # the contact whose number was searched


def caller_by_phone(db: Session, phone: str) -> CustomerCard | None:
    """A contact person's number first, then a customer's switchboard (archived skipped)."""
    number = normalize_phone(phone)
    if number is None:
        return None
    row = db.exec(
        select(Contact, Customer).join(Customer, Customer.id == Contact.customer_id)
        .where(Contact.phone == number, Customer.archived_at.is_(None)).order_by(Contact.id)
    ).first()
    if row is not None:
        return CustomerCard(row[1], matched=row[0])
    customer = db.exec(select(Customer).where(Customer.phone == number,
                                              Customer.archived_at.is_(None))
                       .order_by(Customer.id)).first()
    return CustomerCard(customer) if customer else None


def search_customers(db: Session, q: str, limit: int = 50) -> list[CustomerCard]:
    """By name (part of it) or phone (a whole number, any written form), with contacts."""
    q = q.strip()[:64]
    query = select(Customer).where(Customer.archived_at.is_(None))
    number = normalize_phone(q) if q else None
    if number:
        ids = select(Contact.customer_id).where(Contact.phone == number)
        query = query.where(or_(Customer.phone == number, Customer.id.in_(ids)))
    elif q:
        query = query.where(Customer.name.contains(q, autoescape=True))
    customers = db.exec(query.order_by(Customer.name).limit(limit)).all()
    contacts: dict[int, list[Contact]] = {}
    if customers:
        for c in db.exec(select(Contact).where(Contact.customer_id.in_([c.id for c in customers]))
                         .order_by(Contact.id)):
            contacts.setdefault(c.customer_id, []).append(c)
    return [CustomerCard(c, contacts.get(c.id, []),
                         next((x for x in contacts.get(c.id, []) if x.phone == number), None))
            for c in customers]


def customer_card(db: Session, customer_id: int) -> CustomerCard | None:
    customer = db.get(Customer, customer_id)
    if customer is None or customer.archived_at:
        return None
    contacts = db.exec(select(Contact).where(Contact.customer_id == customer_id)
                       .order_by(Contact.id)).all()
    return CustomerCard(customer, list(contacts))


def venues_of(db: Session, customer_id: int | None = None, q: str = "",
              limit: int = 100) -> list[tuple[Venue, Customer | None]]:
    query = (select(Venue, Customer).join(Customer, Customer.id == Venue.customer_id, isouter=True)
             .where(Venue.archived_at.is_(None)))
    if customer_id:
        query = query.where(Venue.customer_id == customer_id)
    if q.strip():
        like = q.strip()[:64]
        query = query.where(or_(Venue.name.contains(like, autoescape=True),
                                Venue.address.contains(like, autoescape=True),
                                Customer.name.contains(like, autoescape=True)))
    return [(v, c) for v, c in db.exec(query.order_by(Venue.name).limit(limit))]


@dataclass(frozen=True)
class OrderRow:
    order: RentalOrder
    customer: Customer
    venue: Venue | None
    units: int


def search_orders(db: Session, q: str = "", limit: int = 100) -> list[OrderRow]:
    """Open orders by number or customer name, newest start first."""
    q = q.strip()[:64]
    units = (select(OrderLine.order_id, func.count().label("n"))
             .where(OrderLine.removed_at.is_(None)).group_by(OrderLine.order_id).subquery())
    query = (select(RentalOrder, Customer, Venue, units.c.n)
             .join(Customer, Customer.id == RentalOrder.customer_id)
             .join(Venue, Venue.id == RentalOrder.venue_id, isouter=True)
             .join(units, units.c.order_id == RentalOrder.id, isouter=True)
             .where(RentalOrder.archived_at.is_(None)))
    if q:
        query = query.where(or_(RentalOrder.order_no.contains(q.upper(), autoescape=True),
                                Customer.name.contains(q, autoescape=True)))
    query = query.order_by(RentalOrder.starts_at.desc().nulls_last(), RentalOrder.order_no)
    return [OrderRow(o, c, v, n or 0) for o, c, v, n in db.exec(query.limit(limit))]


def units_list(db: Session, q: str = "", status: str = "", limit: int = 200
               ) -> list[tuple[Unit, Depot | None, str | None]]:
    """Units with their depot and the order they are on (D13)."""
    query = (select(Unit, Depot, RentalOrder.order_no)
             .join(Depot, Depot.id == Unit.depot_id, isouter=True)
             .join(OrderLine, (OrderLine.unit_id == Unit.id) & OrderLine.removed_at.is_(None),
                   isouter=True)
             .join(RentalOrder, RentalOrder.id == OrderLine.order_id, isouter=True))
    if q.strip():
        like = q.strip()[:64]
        query = query.where(or_(Unit.asset_tag.contains(like.upper(), autoescape=True),
                                Unit.model.contains(like, autoescape=True)))
    if status:
        query = query.where(Unit.status == status)
    return [tuple(r) for r in db.exec(query.order_by(Unit.asset_tag).limit(limit))]


def depots(db: Session) -> list[tuple[Depot, int]]:
    counts = dict(db.exec(select(Unit.depot_id, func.count()).where(Unit.status != "retired")
                          .group_by(Unit.depot_id)).all())
    rows = db.exec(select(Depot).where(Depot.archived_at.is_(None)).order_by(Depot.name)).all()
    return [(d, counts.get(d.id, 0)) for d in rows]


def history(db: Session, entity: str, entity_id: int, limit: int = 20
            ) -> list[tuple[AuditEntry, str | None]]:
    """Who changed this and when, newest first (no name: the rental system's API)."""
    return [tuple(r) for r in db.exec(
        select(AuditEntry, Staff.display_name)
        .join(Staff, Staff.id == AuditEntry.actor_id, isouter=True)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))]
