"""Inbound contacts (D18): every hotline call, WeChat or WeCom message, recorded as it arrives.

A contact is one customer's conversation on one channel until it becomes a request or is
closed with a reason; its messages are kept one row each, unique by the service's own
message id, so a repeated callback records nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from server.models.base import instant, json_field


class InboundContact(SQLModel, table=True):
    __tablename__ = "inbound_contact"
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)  # hotline | wechat | wecom
    sender: str = Field(index=True, max_length=128)  # phone / openid / external_userid
    sender_name: str = Field(default="", max_length=64)
    reply_to: str = Field(default="", max_length=128)  # WeCom customer service: open_kfid
    received_at: datetime | None = instant(nullable=False, index=True)  # S4's clock starts here
    last_message_at: datetime | None = instant()
    status: str = Field(default="open", index=True, max_length=16)  # open | request | closed
    request_id: int | None = Field(default=None, foreign_key="support_request.id", index=True)
    close_reason: str = Field(default="", max_length=200)
    closed_by: int | None = Field(default=None, foreign_key="staff.id")
    closed_at: datetime | None = instant()
    agents_alerted_at: datetime | None = instant()
    lead_alerted_at: datetime | None = instant()


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="inbound_contact.id", index=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)  # the service's message id / call id + event
    kind: str = Field(max_length=16)  # text | image | voice | call | missed_call | other
    text: str = ""
    media_id: str = Field(default="", max_length=256)
    received_at: datetime | None = instant(nullable=False)
    data: dict = json_field()


class ChannelCursor(SQLModel, table=True):
    """Where a pulled feed (WeCom customer service's kf/sync_msg) was read up to."""

    __tablename__ = "channel_cursor"
    name: str = Field(primary_key=True, max_length=128)
    cursor: str = Field(default="", max_length=256)
    updated_at: datetime | None = instant()


class UsedLink(SQLModel, table=True):
    """A one-time signed link (a WeCom card's accept button) once it has been used."""

    __tablename__ = "used_link"
    nonce: str = Field(primary_key=True, max_length=64)
    used_at: datetime | None = instant(nullable=False)
