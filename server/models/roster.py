"""Monthly rosters, shifts, backups, swaps, absences and calendar overrides (S9-S12, D2, D10)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from server.models.base import instant


class Roster(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(unique=True, index=True, max_length=7)  # YYYY-MM
    status: str = Field(default="draft", max_length=16)  # draft | published
    published_at: datetime | None = instant()
    published_by: int | None = Field(default=None, foreign_key="staff.id")


class Shift(SQLModel, table=True):
    """One person on one special-period shift; starts/ends are stored for fast 'on duty now'."""

    __table_args__ = (UniqueConstraint("roster_id", "staff_id", "day", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    roster_id: int = Field(foreign_key="roster.id", index=True, ondelete="CASCADE")
    staff_id: int = Field(foreign_key="staff.id", index=True)
    day: date = Field(index=True)
    kind: str = Field(max_length=8)  # night | day
    starts_at: datetime | None = instant(nullable=False, index=True)
    ends_at: datetime | None = instant(nullable=False, index=True)
    group: str = Field(max_length=16)
    region: str | None = Field(default=None, max_length=16)


class RosterBackup(SQLModel, table=True):
    roster_id: int = Field(foreign_key="roster.id", primary_key=True, ondelete="CASCADE")
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)


class DayOffRequest(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("staff_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    day: date


class SwapRequest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="shift.id", index=True)
    from_staff_id: int = Field(foreign_key="staff.id")
    to_staff_id: int = Field(foreign_key="staff.id")
    status: str = Field(default="pending", max_length=16)  # pending | approved | refused
    requested_at: datetime | None = instant(nullable=False)
    decided_at: datetime | None = instant()
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    reason: str = ""


class Absence(SQLModel, table=True):
    """Someone on a shift cannot work (S12); a backup who accepts takes it over."""

    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="shift.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    reported_at: datetime | None = instant(nullable=False)
    reported_by: int = Field(foreign_key="staff.id")
    reason: str = ""
    covered_by: int | None = Field(default=None, foreign_key="staff.id")
    covered_at: datetime | None = instant()


class CalendarOverride(SQLModel, table=True):
    """An official day entered by the manager; wins over the chinesecalendar package (D2)."""

    day: date = Field(primary_key=True)
    kind: str = Field(max_length=16)  # holiday | weekend | workday
    name: str = Field(default="", max_length=64)
