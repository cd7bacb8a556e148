"""The customer's answer at follow-up (S6, S7, D9)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.base import instant


class Feedback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    recorded_by: int | None = Field(default=None, foreign_key="staff.id")  # None: the customer
    via: str = Field(default="agent", max_length=8)  # agent (by phone) | link (the customer)
    recorded_at: datetime | None = instant(nullable=False)
    reached: bool = True  # False: no feedback possible, see reason
    score: int | None = None  # 1..5
    resolved: bool | None = None  # the customer confirms it is fixed
    comment: str = ""
    no_feedback_reason: str = ""


class FeedbackLink(SQLModel, table=True):
    """A private, single-use link the customer answers on (S6): only its hash is kept."""

    __tablename__ = "feedback_link"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the secret in the URL
    created_by: int | None = Field(default=None, foreign_key="staff.id")  # None: the status page
    created_at: datetime | None = instant(nullable=False)
    expires_at: datetime | None = instant(nullable=False)
    used_at: datetime | None = instant()
    revoked_at: datetime | None = instant()  # a newer link for the same request replaces it


class GuessFailure(SQLModel, table=True):
    """A wrong token on a public page, per client address: many in a row are refused."""

    __tablename__ = "guess_failure"
    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(index=True, max_length=64)
    at: datetime | None = instant(nullable=False, index=True)
