"""People: sign-in, roles, the S8 qualifications, and training records (S13, S14)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from server.models.base import instant


class Role(StrEnum):
    agent = "agent"  # customer service agent
    dispatcher = "dispatcher"  # on-duty lead
    remote = "remote"  # remote engineer
    onsite = "onsite"  # onsite engineer
    equipment = "equipment"  # equipment manager
    manager = "manager"  # support manager
    admin = "admin"


class Group(StrEnum):
    remote = "remote"
    onsite = "onsite"


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    password_hash: str
    display_name: str = Field(max_length=64)
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=128)
    locale: str = Field(default="zh_CN", max_length=8)
    active: bool = True
    # Engineers only: which group they are rostered in, and for onsite their region.
    group: str | None = Field(default=None, max_length=16)
    region: str | None = Field(default=None, max_length=16)
    # S8 qualifications
    birth_date: date | None = None
    degree: str | None = Field(default=None, max_length=16)
    support_experience_months: int | None = None
    # D17: counts as on duty in office hours unless excluded here or marked away until then
    office_hours_duty: bool = True
    away_until: datetime | None = instant()
    ical_token: str | None = Field(default=None, unique=True, max_length=64)
    wecom_userid: str = Field(default="", max_length=64)  # WeCom application messages
    created_at: datetime | None = instant()


class StaffRole(SQLModel, table=True):
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(primary_key=True, max_length=16)


class TrainingRecord(SQLModel, table=True):
    """Onboarding hours, the practical exam, monthly sessions, quarterly drills (S13, S14)."""

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # onboarding | exam | monthly | drill
    held_on: date
    hours: float = 0
    passed: bool | None = None
    notes: str = ""
