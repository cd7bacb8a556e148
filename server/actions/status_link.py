"""The customer's private status link (D19), and sending it on the customer's own channel.

The link is ``<public_base_url>/s/<token>``: 32 random bytes, made once per request, never
derived from its id. It works until the request closes + 24 h (``status_link_hours_after_close``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.actions import notify
from server.models import InboundContact, SupportRequest

CUSTOMER_CHANNEL = "customer"  # the outbox channel that answers on the contact's channel


def ensure_token(db: Session, request: SupportRequest) -> str:
    if not request.status_token:
        request.status_token = secrets.token_urlsafe(32)
        db.add(request)
        db.flush()
    return request.status_token


def link(settings: Any, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/s/{token}"


def tell_customer(db: Session, request: SupportRequest, contact: InboundContact, now: datetime,
                  settings: Any) -> None:
    """Queue one message to the customer: the request number and the status link, on the
    channel they wrote from (WeChat, WeCom customer service) or by SMS for a call."""
    url = link(settings, ensure_token(db, request))
    text = f"已收到，需求单号 {request.number}。技术支持进度：{url}"
    notify.enqueue(
        db, staff_id=None, kind="customer.status_link", title=request.number, body=text,
        dedupe_key=f"status_link:{request.id}:{contact.id}", request_id=request.id,
        urgency="high" if request.priority == "P1" else "normal", channels=(CUSTOMER_CHANNEL,),
        now=now, to={"channel": contact.channel, "sender": contact.sender,
                     "reply_to": contact.reply_to, "url": url, "number": request.number},
    )
