"""Field facts: what an engineer recorded at the venue, with the device's own time (D14)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Column, Field, SQLModel

from server.models.base import instant, json_field


class FieldFact(SQLModel, table=True):
    """Check-in, fix note, device swap, photo, sign-off... never dropped, maybe flagged."""

    __tablename__ = "field_fact"
    id: str = Field(primary_key=True, max_length=36)  # client-made UUID
    job_id: int = Field(foreign_key="job.id", index=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    author_id: int = Field(foreign_key="staff.id", index=True)
    kind: str = Field(max_length=16)  # accept | en_route | check_in | fix_note | swap | photo | done
    device_time: datetime | None = instant(nullable=False)
    effective_at: datetime | None = instant(nullable=False)  # D8c: what the clocks use
    received_at: datetime | None = instant(nullable=False)
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    distance_m: float | None = None
    data: dict = json_field()
    flagged: bool = Field(default=False, index=True)
    flag_reason: str = ""
    flag_resolved_at: datetime | None = instant()
    flag_resolved_by: int | None = Field(default=None, foreign_key="staff.id")
    # accepted (the fact counts) | rejected (with a note) | equipment (handed to the
    # equipment manager, for a refused swap)
    flag_resolution: str = Field(default="", max_length=16)
    flag_note: str = Field(default="", max_length=500)


class Photo(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=36)
    fact_id: str = Field(foreign_key="field_fact.id", index=True)
    content_type: str = Field(max_length=32)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class UnitSwap(SQLModel, table=True):
    """A device swap (D13): the unit taken out, the unit put in, why, who, where, when."""

    __tablename__ = "unit_swap"
    id: int | None = Field(default=None, primary_key=True)
    fact_id: str = Field(foreign_key="field_fact.id", unique=True)
    order_id: int | None = Field(default=None, foreign_key="rentalorder.id")
    unit_out_id: int = Field(foreign_key="unit.id")
    unit_in_id: int = Field(foreign_key="unit.id")
    reason: str = ""
    swapped_at: datetime | None = instant(nullable=False)
