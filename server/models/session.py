"""Who is signed in where: server-side sessions and the sign-in throttle's attempts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.base import instant


class WebSession(SQLModel, table=True):
    """One signed-in browser. The cookie holds a random id; the table holds only its
    SHA-256, so a copy of the database does not let anyone in. Deleting the row signs
    that browser out at once, in every server process."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's id
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True, ondelete="CASCADE")
    data: str = ""  # the session dict as JSON: {"uid": ..., "csrf": ...}
    created_at: datetime | None = instant(nullable=False)  # the absolute timeout counts from here
    seen_at: datetime | None = instant(nullable=False)  # the idle timeout counts from here
    expires_at: datetime | None = instant(nullable=False, index=True)  # the earlier of both


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in counted by the throttle: one row per key it counts against
    (``addr:<address>`` and ``pair:<address>|<username>``); a success removes its pair's rows."""

    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)
    at: datetime | None = instant(nullable=False, index=True)
