"""Inbound contacts (S2, S4, D18): every customer message or call recorded once, at arrival.

``record_incoming`` is the one way in for the WeChat callback, WeCom customer service's
pulled messages and the call center's webhook. A message is unique by (channel, the
service's own message id): a repeated callback or a re-pulled page records nothing
twice. Messages from a sender whose contact is still open join that contact; once the
contact became a request that is still open, they go onto the request's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.actions import ActionError, audit, changes, notify
from server.channels import Incoming
from server.channels.callcenter import CallEvent
from server.domain import inbound as rules
from server.domain.text import N_
from server.models import (
    OPEN_STATUSES,
    ChannelCursor,
    InboundContact,
    InboundMessage,
    Staff,
    SupportRequest,
)
from server.queries.staff import active_with_roles

CHANNELS = ("hotline", "wechat", "wecom")


@dataclass(frozen=True)
class Recorded:
    contact: InboundContact
    message: InboundMessage | None  # None: this message was recorded before
    request_number: str | None  # the contact's request, once there is one
    fresh: bool = False  # the message opened a new contact

    @property
    def duplicate(self) -> bool:
        return self.message is None


def record_incoming(db: Session, incoming: Incoming, now: datetime,
                    data: dict[str, Any] | None = None) -> Recorded:
    """Record one message exactly once (D18); answers its contact and the request number."""
    seen = db.exec(select(InboundMessage).where(
        InboundMessage.channel == incoming.channel,
        InboundMessage.external_id == incoming.external_id)).first()
    if seen is not None:
        contact = db.get(InboundContact, seen.contact_id)
        return Recorded(contact, None, _number(db, contact))
    contact = _current_contact(db, incoming.channel, incoming.sender)
    fresh = contact is None
    if fresh:
        contact = InboundContact(channel=incoming.channel, sender=incoming.sender,
                                 reply_to=incoming.reply_to, received_at=incoming.received_at,
                                 last_message_at=incoming.received_at)
    message = InboundMessage(channel=incoming.channel, external_id=incoming.external_id,
                             kind=incoming.kind, text=incoming.text, media_id=incoming.media_id,
                             received_at=incoming.received_at, data=data or {})
    try:
        with db.begin_nested():
            db.add(contact)
            db.flush()
            message.contact_id = contact.id
            contact.last_message_at = incoming.received_at
            if incoming.reply_to:
                contact.reply_to = incoming.reply_to
            db.add(message)
            db.flush()
    except IntegrityError:  # another process recorded it at the same moment
        again = db.exec(select(InboundMessage).where(
            InboundMessage.channel == incoming.channel,
            InboundMessage.external_id == incoming.external_id)).one()
        contact = db.get(InboundContact, again.contact_id)
        return Recorded(contact, None, _number(db, contact))
    if fresh:
        audit.record(db, "contact.received", None, entity="contact", entity_id=contact.id,
                     at=incoming.received_at, channel=contact.channel, sender=contact.sender,
                     kind=incoming.kind)
    if contact.request_id is not None:  # kept on the request's timeline
        _on_timeline(db, contact, message)
        changes.changed(db, "request", contact.request_id, request_id=contact.request_id)
    changes.changed(db, "contact", contact.id)
    return Recorded(contact, message, _number(db, contact), fresh)


def acknowledge(db: Session, recorded: Recorded, now: datetime) -> None:
    """The immediate Chinese auto-reply for channels that cannot answer in the callback
    itself (WeCom customer service): once per new contact, through the outbox."""
    if not recorded.fresh or recorded.message is None:
        return
    contact = recorded.contact
    notify.enqueue(db, staff_id=None, kind="customer.received", title="",
                   body=rules.auto_reply(recorded.request_number),
                   dedupe_key=f"received:{contact.id}", channels=("customer",), now=now,
                   to={"channel": contact.channel, "sender": contact.sender,
                       "reply_to": contact.reply_to})


def _current_contact(db: Session, channel: str, sender: str) -> InboundContact | None:
    """The sender's contact still in the inbox, or still tied to an open request."""
    rows = db.exec(select(InboundContact).where(
        InboundContact.channel == channel, InboundContact.sender == sender,
        col(InboundContact.status).in_(("open", "request")))
        .order_by(col(InboundContact.received_at).desc())).all()
    for contact in rows:
        if contact.status == "open":
            return contact
        request = db.get(SupportRequest, contact.request_id)
        if request is not None and request.status in OPEN_STATUSES:
            return contact
    return None


def _number(db: Session, contact: InboundContact | None) -> str | None:
    if contact is None or contact.request_id is None:
        return None
    request = db.get(SupportRequest, contact.request_id)
    return request.number if request else None


def _on_timeline(db: Session, contact: InboundContact, message: InboundMessage) -> None:
    audit.record(db, "contact.message", None, request_id=contact.request_id, entity="contact",
                 entity_id=contact.id, at=message.received_at, channel=message.channel,
                 kind=message.kind, text=message.text[:500], sender=contact.sender)


# -- the hotline -----------------------------------------------------------------------------


def record_call(db: Session, event: CallEvent, now: datetime) -> Recorded:
    """Every call is a contact from its first ring (D18). ``answered`` opens the intake
    form on that agent's screen (the change names them); ``missed`` leaves a contact to
    call back."""
    agent = None
    if event.agent:
        agent = db.exec(select(Staff).where(Staff.username == event.agent,
                                            Staff.active == True)).first()  # noqa: E712
    kind = {"missed": "missed_call"}.get(event.event, "call")
    recorded = record_incoming(
        db,
        Incoming(channel="hotline", external_id=f"{event.call_id}:{event.event}",
                 sender=event.caller or "unknown", kind=kind, text=event.event,
                 received_at=event.at),
        now,
        data={"call_id": event.call_id, "event": event.event, "callee": event.callee,
              "agent_id": agent.id if agent else None},
    )
    if not recorded.duplicate and event.event in ("incoming", "answered"):
        # the screens of every agent (ringing) or of the one who answered re-fetch the call panel
        changes.changed(db, "call", recorded.contact.id,
                        staff_ids=[agent.id] if agent and event.event == "answered" else [])
    return recorded


# -- WeCom customer service: the pulled feed -------------------------------------------------


def cursor_of(db: Session, name: str) -> str:
    row = db.get(ChannelCursor, name)
    return row.cursor if row else ""


def advance_cursor(db: Session, name: str, seen: str, cursor: str, now: datetime) -> bool:
    """Move the feed's cursor from ``seen`` to ``cursor`` in the transaction that recorded
    the messages before it (so a crash records neither). Answers False if another pull
    moved it meanwhile (its messages are recorded; ours were deduplicated)."""
    row = db.get(ChannelCursor, name)
    if row is None:
        try:
            with db.begin_nested():
                db.add(ChannelCursor(name=name, cursor=cursor, updated_at=now))
            return True
        except IntegrityError:
            pass
    done = db.exec(update(ChannelCursor).where(ChannelCursor.name == name,
                                               ChannelCursor.cursor == seen)
                   .values(cursor=cursor, updated_at=now)
                   .execution_options(synchronize_session=False))
    return done.rowcount == 1


# -- the agents' inbox -----------------------------------------------------------------------


def close_contact(db: Session, actor_id: int, contact_id: int, reason: str, note: str,
                  now: datetime) -> InboundContact:
    """D18: a contact leaves the inbox without a request only with a recorded reason."""
    if reason not in rules.CLOSE_REASONS:
        raise ActionError(N_("Choose why this contact needs no request."), "reason")
    note = (note or "").strip()[:150]
    if reason == "other" and not note:
        raise ActionError(N_("Say in a few words why this contact needs no request."), "note")
    contact = db.get(InboundContact, contact_id)
    if contact is None:
        raise ActionError(N_("There is no such contact."))
    done = db.exec(update(InboundContact).where(InboundContact.id == contact_id,
                                                InboundContact.status == "open")
                   .values(status="closed", close_reason=f"{reason}: {note}" if note else reason,
                           closed_by=actor_id, closed_at=now)
                   .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ActionError(N_("Someone has already handled this contact."))
    db.refresh(contact)
    audit.record(db, "contact.closed", actor_id, entity="contact", entity_id=contact.id, at=now,
                 reason=reason, note=note)
    changes.changed(db, "contact", contact.id)
    return contact


def open_contact(db: Session, contact_id: int) -> InboundContact:
    """The contact an agent is turning into a request; refused once it is handled."""
    contact = db.get(InboundContact, contact_id)
    if contact is None:
        raise ActionError(N_("There is no such contact."))
    if contact.status != "open":
        raise ActionError(N_("Someone has already handled this contact."))
    return contact


def link_request(db: Session, actor_id: int, contact: InboundContact, request: SupportRequest,
                 now: datetime, settings: Any) -> None:
    """The contact became ``request``: its messages go onto the request's timeline, and the
    customer hears the request number and their status link on their own channel (D19)."""
    done = db.exec(update(InboundContact).where(InboundContact.id == contact.id,
                                                InboundContact.status == "open")
                   .values(status="request", request_id=request.id)
                   .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ActionError(N_("Someone has already handled this contact."))
    db.refresh(contact)
    for message in db.exec(select(InboundMessage).where(InboundMessage.contact_id == contact.id)
                           .order_by(InboundMessage.received_at, InboundMessage.id)).all():
        _on_timeline(db, contact, message)
    audit.record(db, "contact.request", actor_id, request_id=request.id, entity="contact",
                 entity_id=contact.id, at=now, channel=contact.channel)
    changes.changed(db, "contact", contact.id, request_id=request.id)
    from server.actions.status_link import tell_customer

    tell_customer(db, request, contact, now, settings)


# -- alerts (background loop) ---------------------------------------------------------------


def alert_waiting(db: Session, now: datetime, settings: Any) -> int:
    """D18: an unhandled contact alerts every agent, and at 10 minutes the on-duty lead.
    Each alert fires once, even with several server processes (conditional update)."""
    fired = 0
    waiting = db.exec(select(InboundContact).where(
        InboundContact.status == "open",
        (col(InboundContact.agents_alerted_at).is_(None))
        | (col(InboundContact.lead_alerted_at).is_(None)))
        .order_by(InboundContact.received_at)).all()
    for contact in waiting:
        agents, lead = rules.alerts_due(
            contact.received_at, now, contact.agents_alerted_at is not None,
            contact.lead_alerted_at is not None, settings.inbox_agent_alert_minutes,
            settings.inbox_lead_alert_minutes)
        if agents and _mark(db, contact.id, "agents_alerted_at", now):
            _tell(db, contact, "agent", now, N_("A customer is waiting: {channel} {sender}"))
            fired += 1
        if lead and _mark(db, contact.id, "lead_alerted_at", now):
            _tell(db, contact, "dispatcher", now,
                  N_("Not handled for 10 minutes: {channel} {sender}"))
            audit.record(db, "contact.lead_alerted", None, entity="contact",
                         entity_id=contact.id, at=now)
            fired += 1
    return fired


def _mark(db: Session, contact_id: int, column: str, now: datetime) -> bool:
    field = getattr(InboundContact, column)
    done = db.exec(update(InboundContact).where(InboundContact.id == contact_id,
                                                InboundContact.status == "open",
                                                col(field).is_(None))
                   .values({column: now}).execution_options(synchronize_session=False))
    return done.rowcount == 1


def _tell(db: Session, contact: InboundContact, role: str, now: datetime, msgid: str) -> None:
    from server.i18n import translations

    first = db.exec(select(InboundMessage.text).where(InboundMessage.contact_id == contact.id)
                    .order_by(InboundMessage.id)).first() or ""
    notices = []
    for person in active_with_roles(db, role):
        say = translations(person.locale).gettext
        notices.append(notify.Notice(
            person.id, say(msgid).format(channel=say(contact.channel), sender=contact.sender),
            first[:120], f"contact:{contact.id}:{role}:{person.id}"))
    notify.enqueue_all(db, notices, kind=f"contact.{role}",
                       urgency="high" if role == "dispatcher" else "normal", now=now)
    changes.changed(db, "contact", contact.id)
