"""Support requests (特殊时段技术支持需求单, S3) from intake to feedback (S6)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from server.models.base import instant


class RequestStatus(StrEnum):
    new = "new"  # being recorded by the agent, not yet handed off
    handed_off = "handed_off"  # with technical service, nobody assigned
    assigned = "assigned"  # an engineer has been offered the job
    in_progress = "in_progress"  # accepted and being worked on
    resolved = "resolved"  # fix confirmed, waiting for the customer's feedback
    closed = "closed"  # feedback recorded (or a reason why none was possible)
    cancelled = "cancelled"


OPEN_STATUSES = (
    RequestStatus.new,
    RequestStatus.handed_off,
    RequestStatus.assigned,
    RequestStatus.in_progress,
)


class SupportRequest(SQLModel, table=True):
    __tablename__ = "support_request"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True, max_length=24)  # e.g. FO-20261126-0007
    channel: str = Field(max_length=16)  # hotline | wechat | wecom | other
    received_at: datetime | None = instant(nullable=False, index=True)
    recorded_by: int | None = Field(default=None, foreign_key="staff.id")
    # customer (S3)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    customer_name: str = Field(max_length=128)
    contact_name: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    address: str = Field(default="", max_length=256)
    venue_id: int | None = Field(default=None, foreign_key="venue.id")
    region: str = Field(default="urban", max_length=16)
    # device (S3)
    order_id: int | None = Field(default=None, foreign_key="rentalorder.id")
    order_no: str = Field(default="", max_length=32)
    device_type: str = Field(max_length=16)
    device_model: str = Field(default="", max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    scenario: str = Field(default="", max_length=128)
    # fault (S3) and the stream (D8a)
    symptom: str
    symptom_kind: str = Field(default="other", max_length=16)  # server.domain.intake.SYMPTOM_KINDS
    fault_started_at: datetime | None = instant()
    stream_state: str = Field(default="none", max_length=16)  # live | upcoming | none
    stream_starts_at: datetime | None = instant()
    # handling (S4, D4)
    classification: str = Field(default="remote", max_length=16)  # remote | onsite
    priority: str = Field(default="P3", max_length=2)
    status: str = Field(default=RequestStatus.new, index=True, max_length=16)
    handed_off_at: datetime | None = instant()
    resolved_at: datetime | None = instant()
    closed_at: datetime | None = instant()
    close_reason: str = ""
    status_token: str | None = Field(default=None, unique=True, max_length=64)  # D19 link
    is_drill: bool = False  # D12: same clocks and screens, excluded from KPIs
    drill_id: int | None = Field(default=None, foreign_key="drill.id", index=True)
    version: int = 1  # bumped on every change; the board and sync compare it
