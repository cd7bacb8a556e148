"""The customer's private status link (D19), and sending it on the customer's own channel.

The link is ``<public_base_url>/s/<token>``: 32 random bytes, made once per request, never
derived from its id. It works until the request closes + 24 h (``status_link_hours_after_close``).
A request that came from an inbound contact is told its link at once (``tell_customer``);
any request's link can be made and sent from its page (``make_link``, ``send_link``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.actions import ActionError, audit, changes, notify
from server.domain.text import N_
from server.models import InboundContact, Notification, SupportRequest
from server.queries import status_link as q

CUSTOMER_CHANNEL = "customer"  # the outbox channel that answers on the contact's channel


def ensure_token(db: Session, request: SupportRequest) -> str:
    if not request.status_token:
        request.status_token = secrets.token_urlsafe(32)
        db.add(request)
        db.flush()
    return request.status_token


def link(settings: Any, token: str) -> str:
    return q.status_url(settings, token)


def tell_customer(db: Session, request: SupportRequest, contact: InboundContact, now: datetime,
                  settings: Any) -> None:
    """Queue one message to the customer: the request number and the status link, on the
    channel they wrote from (WeChat, WeCom customer service) or by SMS for a call."""
    url = link(settings, ensure_token(db, request))
    text = f"已收到，需求单号 {request.number}。技术支持进度：{url}"
    notify.enqueue(
        db, staff_id=None, kind=q.KIND, title=request.number, body=text,
        dedupe_key=f"status_link:{request.id}:{contact.id}", request_id=request.id,
        urgency="high" if request.priority == "P1" else "normal", channels=(CUSTOMER_CHANNEL,),
        now=now, to={"channel": contact.channel, "sender": contact.sender,
                     "reply_to": contact.reply_to, "url": url, "number": request.number},
    )


def _request(db: Session, request_id: int) -> SupportRequest:
    request = db.get(SupportRequest, request_id)
    if request is None:
        raise ActionError(N_("There is no request {request_id}."), request_id=request_id)
    return request


def make_link(db: Session, actor_id: int, request_id: int, now: datetime) -> SupportRequest:
    """D19 for any request (not only those from an inbound contact): its status link, made
    once; asking again changes nothing."""
    request = _request(db, request_id)
    if not request.status_token:
        ensure_token(db, request)
        audit.record(db, "request.status_link_made", actor_id, request_id=request.id,
                     entity="request", entity_id=request.id, at=now)
        changes.changed(db, "request", request.id, request_id=request.id)
    return request


def send_link(db: Session, actor_id: int, request_id: int, via: str, now: datetime,
              settings: Any) -> Notification:
    """Send the request's status link to its customer ``via`` wechat | wecom | sms
    (server.queries.status_link.ways says to whom). Queued for the outbox, which sends it
    at once and retries; the sending is on the request's timeline. ActionError when this
    request's customer cannot be reached that way (no such contact, not set up, no mobile)."""
    request = _request(db, request_id)
    if request.status in ("closed", "cancelled"):
        raise ActionError(N_("This request is closed: its status link is no use any more."))
    way = next((w for w in q.ways(db, request, settings) if w.via == via), None)
    if way is None:
        raise ActionError(N_("Choose how to send the link."), "via")
    if way.problem:
        raise ActionError(way.problem, "via")
    url = link(settings, make_link(db, actor_id, request_id, now).status_token)
    text = f"您的技术支持需求 {request.number} 的实时进度：{url}（仅您本人可见）"
    queued = notify.enqueue(
        db, staff_id=None, kind=q.KIND, title=request.number, body=text,
        dedupe_key=f"status_link:{request.id}:{via}:{secrets.token_hex(6)}",
        request_id=request.id, urgency="high", channels=(CUSTOMER_CHANNEL,), now=now,
        to=way.to | {"url": url, "number": request.number},
    )
    audit.record(db, "request.status_link_sent", actor_id, request_id=request.id,
                 entity="notification", entity_id=queued[0].id, at=now, via=via,
                 to=way.shown_to)
    changes.changed(db, "request", request.id, request_id=request.id)
    return queued[0]
