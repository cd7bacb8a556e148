"""Push subscriptions per device, and the notification outbox drained in the background."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.base import instant, json_field


class PushSubscription(SQLModel, table=True):
    __tablename__ = "push_subscription"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True, ondelete="CASCADE")
    endpoint: str = Field(unique=True, max_length=1024)
    p256dh: str = Field(max_length=256)
    auth: str = Field(max_length=64)
    device_label: str = Field(default="", max_length=128)
    created_at: datetime | None = instant(nullable=False)
    last_success_at: datetime | None = instant()


class Notification(SQLModel, table=True):
    """One message to one person on one channel; ``dedupe_key`` is unique across processes."""

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=160)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    channel: str = Field(max_length=16)  # webpush | wecom | board
    request_id: int | None = Field(default=None, foreign_key="support_request.id", index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    payload: dict = json_field()
    urgency: str = Field(default="normal", max_length=8)
    status: str = Field(default="pending", index=True, max_length=16)  # pending|sent|failed|gave_up
    attempts: int = 0
    next_attempt_at: datetime | None = instant(index=True)
    created_at: datetime | None = instant(nullable=False)
    delivered_at: datetime | None = instant()
    shown_at: datetime | None = instant()
    acknowledged_at: datetime | None = instant()
    last_error: str = ""
