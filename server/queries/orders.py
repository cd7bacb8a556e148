"""Looking up a caller at intake: a rental order number or a phone number (D3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from server.models import Contact, Customer, OrderLine, RentalOrder, Unit, Venue
from server.queries.catalog import caller_by_phone


@dataclass(frozen=True)
class OrderInfo:
    """What an order number tells the agent: who, where, and the units rented (D3)."""

    order: RentalOrder
    customer: Customer
    contact: Contact | None
    venue: Venue | None
    units: list[Unit] = field(default_factory=list)

    @property
    def region(self) -> str | None:
        return self.venue.region if self.venue else None


@dataclass(frozen=True)
class CallerInfo:
    """Who a phone number belongs to: a customer, and the contact person if it is theirs."""

    customer: Customer
    contact: Contact | None


def find_order(db: Session, order_no: str) -> OrderInfo | None:
    """The order with this number (case and spaces ignored), with the units on it now."""
    wanted = "".join(order_no.split()).upper()
    if not wanted:
        return None
    order = db.exec(select(RentalOrder).where(func.upper(RentalOrder.order_no) == wanted,
                                              RentalOrder.archived_at.is_(None))).first()
    if order is None:
        return None
    units = db.exec(
        select(Unit)
        .join(OrderLine, OrderLine.unit_id == Unit.id)
        .where(OrderLine.order_id == order.id, OrderLine.removed_at.is_(None))
        .order_by(Unit.device_type, Unit.asset_tag)
    ).all()
    return OrderInfo(
        order=order,
        customer=db.get(Customer, order.customer_id),
        contact=db.get(Contact, order.contact_id) if order.contact_id else None,
        venue=db.get(Venue, order.venue_id) if order.venue_id else None,
        units=list(units),
    )


def find_caller(db: Session, phone: str) -> CallerInfo | None:
    """A contact person's number first, then a customer's switchboard number: the same
    search as the customers screen (server.queries.catalog)."""
    card = caller_by_phone(db, phone)
    return CallerInfo(card.customer, card.matched) if card else None


def current_orders(db: Session, customer_id: int, now: datetime) -> list[RentalOrder]:
    """The customer's orders running now or soon, to suggest when the caller has no number."""
    return list(
        db.exec(
            select(RentalOrder)
            .where(RentalOrder.customer_id == customer_id, RentalOrder.archived_at.is_(None))
            .where((RentalOrder.ends_at.is_(None)) | (RentalOrder.ends_at >= now))
            .order_by(RentalOrder.starts_at)
            .limit(5)
        )
    )
