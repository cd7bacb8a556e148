"""The request page's "status link for the customer" panel (D19): the link, the ways this
request's customer can be reached with it, and how each sending went.

A way is offered per channel: a WeChat customer-service message to the openid of a WeChat
contact that became (or joined) this request, WeCom customer service to a WeCom contact
(its external_userid, answered from its open_kfid), a template SMS to the request's
phone when it is a mobile. Each is usable only when its service is set up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.domain.inbound import mask_phone
from server.domain.intake import normalize_phone
from server.domain.text import N_
from server.models import InboundContact, Notification, SupportRequest

KIND = "customer.status_link"  # the outbox rows' payload kind
VIAS = ("wechat", "wecom", "sms")
VIA_LABELS = {"wechat": N_("WeChat message"), "wecom": N_("WeCom customer service"),
              "sms": N_("SMS")}


@dataclass(frozen=True, slots=True)
class Way:
    """One channel to send the link on: whom it reaches, or why it cannot be used."""

    via: str  # wechat | wecom | sms
    to: dict[str, str]  # the outbox row's ``to`` (channel, sender, reply_to): empty if none
    shown_to: str  # the recipient as the agent sees it (a masked phone, a shortened id)
    problem: str = ""  # a msgid: why this way cannot be used now; "" when it can


@dataclass(frozen=True, slots=True)
class Sending:
    id: int
    via: str
    shown_to: str
    status: str  # pending | retrying | sending | sent | gave_up | off
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    error: str

    @property
    def waiting(self) -> bool:
        return self.status in ("pending", "retrying", "sending")


@dataclass(frozen=True, slots=True)
class Panel:
    request: SupportRequest
    url: str  # "" until the link is made
    ways: tuple[Way, ...]
    sendings: tuple[Sending, ...]  # newest first

    @property
    def waiting(self) -> bool:
        return any(s.waiting for s in self.sendings)


def status_url(settings: Any, token: str) -> str:
    """``<public_base_url>/s/<token>``: what the customer opens."""
    return f"{settings.public_base_url.rstrip('/')}/s/{token}"


def _short(sender: str) -> str:
    return sender if len(sender) <= 10 else f"{sender[:4]}…{sender[-4:]}"


def _contact(db: Session, request_id: int, channel: str) -> InboundContact | None:
    return db.exec(select(InboundContact).where(
        InboundContact.request_id == request_id, InboundContact.channel == channel)
        .order_by(col(InboundContact.last_message_at).desc(), col(InboundContact.id).desc())
    ).first()  # fmt: skip


def ways(db: Session, request: SupportRequest, settings: Any) -> tuple[Way, ...]:
    s = settings
    found = []
    wechat = _contact(db, request.id, "wechat")
    if wechat is None:
        found.append(Way("wechat", {}, "", N_("No WeChat message of this customer is on this "
                                              "request: they have not written to the official account.")))
    else:
        problem = "" if s.wechat_app_id and s.wechat_app_secret else N_(
            "WeChat is not set up (FIELDOPS_WECHAT_APP_ID, FIELDOPS_WECHAT_APP_SECRET).")
        found.append(Way("wechat", {"channel": "wechat", "sender": wechat.sender},
                         _short(wechat.sender), problem))
    wecom = _contact(db, request.id, "wecom")
    if wecom is None:
        found.append(Way("wecom", {}, "", N_("No WeCom customer-service message of this "
                                             "customer is on this request.")))
    else:
        problem = "" if s.wecom_kf_secret and s.wecom_corp_id and wecom.reply_to else N_(
            "WeCom customer service is not set up (FIELDOPS_WECOM_CORP_ID, "
            "FIELDOPS_WECOM_KF_SECRET).")
        found.append(Way("wecom", {"channel": "wecom", "sender": wecom.sender,
                                   "reply_to": wecom.reply_to}, _short(wecom.sender), problem))
    phone = normalize_phone(request.phone) or ""
    if not (len(phone) == 11 and phone.startswith("1")):
        found.append(Way("sms", {}, request.phone, N_(
            "The request's phone is not a mobile number: an SMS cannot reach it.")))
    else:
        problem = "" if s.sms_enabled and s.sms_template_status and s.sms_access_key_id else N_(
            "SMS is not set up (FIELDOPS_SMS_ENABLED, FIELDOPS_SMS_TEMPLATE_STATUS and the "
            "Aliyun keys).")
        found.append(Way("sms", {"channel": "sms", "sender": phone}, mask_phone(phone), problem))
    return tuple(found)


def panel(db: Session, request: SupportRequest, settings: Any) -> Panel:
    rows = db.exec(select(Notification).where(
        Notification.request_id == request.id, Notification.channel == "customer")
        .order_by(col(Notification.id).desc()).limit(20)).all()  # fmt: skip
    sendings = []
    for n in rows:
        p = n.payload or {}
        if p.get("kind") != KIND:
            continue
        to = p.get("to") or {}
        via = {"hotline": "sms"}.get(to.get("channel", ""), to.get("channel", ""))
        shown = mask_phone(to.get("sender")) if via == "sms" else _short(to.get("sender", ""))
        status = "retrying" if n.status == "pending" and n.attempts else n.status
        sendings.append(Sending(n.id, via, shown, status, n.attempts, n.created_at,
                                n.delivered_at, n.next_attempt_at, n.last_error))
    url = status_url(settings, request.status_token) if request.status_token else ""
    return Panel(request, url, ways(db, request, settings), tuple(sendings))
