"""SLA clocks per request, their pauses (D6) and the warnings/escalations fired (D7)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from server.models.base import instant


class SlaClock(SQLModel, table=True):
    __tablename__ = "sla_clock"
    __table_args__ = (UniqueConstraint("request_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    kind: str = Field(max_length=16)  # handoff | first_response | arrival | resolution | follow_up
    started_at: datetime | None = instant(nullable=False)
    deadline_at: datetime | None = instant(nullable=False, index=True)  # before pauses
    stopped_at: datetime | None = instant(index=True)
    paused_seconds: float = 0  # closed pauses; an open pause is in SlaPause
    breach_reason: str = ""  # why it ran late, written by the manager for the review (S5)


class SlaPause(SQLModel, table=True):
    __tablename__ = "sla_pause"
    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="sla_clock.id", index=True)
    started_at: datetime | None = instant(nullable=False)
    ended_at: datetime | None = instant()
    reason: str
    by_id: int = Field(foreign_key="staff.id")


class SlaEvent(SQLModel, table=True):
    """A fired warning or breach; the unique key makes a second server process harmless."""

    __tablename__ = "sla_event"
    __table_args__ = (UniqueConstraint("clock_id", "level"),)
    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="sla_clock.id", index=True)
    level: str = Field(max_length=16)  # warning | breach
    fired_at: datetime | None = instant(nullable=False)


class SlaRun(SQLModel, table=True):
    """A finished run of a clock that was started again (a reopened request, D9; a new
    onsite job): kept so its outcome and breach reason still count in the KPIs (S5)."""

    __tablename__ = "sla_run"
    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="sla_clock.id", index=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    kind: str = Field(max_length=16)
    started_at: datetime | None = instant(nullable=False)
    deadline_at: datetime | None = instant(nullable=False)
    stopped_at: datetime | None = instant(nullable=False)
    paused_seconds: float = 0
    breach_reason: str = ""
