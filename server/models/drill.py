"""Emergency drills (S14, D12): simulated requests run through the real system."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.base import instant, json_field


class Drill(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    script: str = Field(max_length=32)  # a key of server.domain.drill.SCRIPTS
    started_at: datetime | None = instant(nullable=False, index=True)
    started_by: int = Field(foreign_key="staff.id")
    review: str = ""  # the written review (S14)
    reviewed_by: int | None = Field(default=None, foreign_key="staff.id")
    reviewed_at: datetime | None = instant()
    recorded_at: datetime | None = instant()  # put on the team's training record
    cleaned_at: datetime | None = instant()  # its requests removed
    summary: dict = json_field()  # the report's figures, kept when the requests are removed
