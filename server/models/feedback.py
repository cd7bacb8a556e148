"""The customer's answer at follow-up (S6, S7, D9)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.base import instant


class Feedback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    recorded_by: int = Field(foreign_key="staff.id")
    recorded_at: datetime | None = instant(nullable=False)
    reached: bool = True  # False: no feedback possible, see reason
    score: int | None = None  # 1..5
    resolved: bool | None = None  # the customer confirms it is fixed
    comment: str = ""
    no_feedback_reason: str = ""
