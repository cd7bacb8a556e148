"""The agents' inbox (D18): every contact not yet a request nor closed, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from server.domain import inbound as rules
from server.models import InboundContact, InboundMessage
from server.queries.orders import CallerInfo, current_orders, find_caller

RINGING_SECONDS = 120  # a call panel shows a call this long after its last event


@dataclass(frozen=True)
class InboxRow:
    contact: InboundContact
    messages: list[InboundMessage]  # oldest first, at most the last few
    clock: rules.ContactClock
    caller: CallerInfo | None  # D3: a known number names the customer
    call_back: bool  # a missed call: someone must ring back

    @property
    def last(self) -> InboundMessage | None:
        return self.messages[-1] if self.messages else None


def open_contacts(db: Session, now: datetime, settings: Any, limit: int = 200) -> list[InboxRow]:
    contacts = db.exec(select(InboundContact).where(InboundContact.status == "open")
                       .order_by(InboundContact.received_at, InboundContact.id)
                       .limit(limit)).all()
    if not contacts:
        return []
    messages: dict[int, list[InboundMessage]] = {}
    for m in db.exec(select(InboundMessage)
                     .where(col(InboundMessage.contact_id).in_([c.id for c in contacts]))
                     .order_by(InboundMessage.received_at, InboundMessage.id)).all():
        messages.setdefault(m.contact_id, []).append(m)
    minutes = settings.sla.handoff_p1_minutes
    rows = []
    for c in contacts:
        mine = messages.get(c.id, [])
        caller = find_caller(db, c.sender) if c.channel == "hotline" else None
        rows.append(InboxRow(
            contact=c, messages=mine[-5:],
            clock=rules.contact_clock(c.received_at, now, minutes, settings.sla.warn_fraction),
            caller=caller,
            call_back=any(m.kind == "missed_call" for m in mine)
            and not any(m.data.get("event") == "answered" for m in mine),
        ))
    return rows


def prefill(db: Session, contact_id: int, tz: str) -> dict[str, str] | None:
    """The request form's values for a contact: channel, number, what they wrote, and the
    moment they got in touch (the handoff clock's start, D18)."""
    contact = db.get(InboundContact, contact_id)
    if contact is None or contact.status != "open":
        return None
    texts = db.exec(select(InboundMessage.text).where(
        InboundMessage.contact_id == contact.id,
        col(InboundMessage.kind).in_(("text", "voice")))
        .order_by(InboundMessage.received_at, InboundMessage.id)).all()
    values = {
        "contact_id": str(contact.id),
        "channel": contact.channel,
        "received_at": contact.received_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M"),
        "opened_at": contact.received_at.isoformat(),
        "symptom": "\n".join(t for t in texts if t)[:1000],
    }
    if contact.channel == "hotline":
        values["phone"] = contact.sender
        caller = find_caller(db, contact.sender)
        if caller is not None:  # D3
            values["customer_name"] = caller.customer.name
            if caller.contact is not None:
                values["contact_name"] = caller.contact.name
    return values


@dataclass(frozen=True)
class RingingCall:
    contact: InboundContact
    event: str  # incoming | answered
    answered_by_me: bool
    caller: CallerInfo | None
    orders: list


def ringing(db: Session, staff_id: int, now: datetime) -> list[RingingCall]:
    """Hotline calls of the last two minutes still in the inbox: ringing for every agent,
    answered for the agent who took it (the intake form opens on their screen)."""
    recent = db.exec(select(InboundMessage).where(
        InboundMessage.channel == "hotline",
        InboundMessage.received_at >= now - timedelta(seconds=RINGING_SECONDS))
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())).all()
    calls: dict[int, InboundMessage] = {}
    for m in recent:
        calls.setdefault(m.contact_id, m)  # the latest event of each contact
    out = []
    for contact_id, m in calls.items():
        event = m.data.get("event")
        if event not in ("incoming", "answered"):
            continue
        if event == "answered" and m.data.get("agent_id") not in (staff_id, None):
            continue
        contact = db.get(InboundContact, contact_id)
        if contact is None or contact.status != "open":
            continue
        caller = find_caller(db, contact.sender)
        orders = current_orders(db, caller.customer.id, now) if caller else []
        out.append(RingingCall(contact, event, m.data.get("agent_id") == staff_id, caller, orders))
    return out
