"""The audit log; entries with a request id form that request's timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from server.models.base import instant, json_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    # A unit's history is its entries (issue 15): looked up by entity and id.
    __table_args__ = (Index("ix_audit_entry_entity", "entity", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = instant(nullable=False, index=True)
    actor_id: int | None = Field(default=None, foreign_key="staff.id")
    action: str = Field(max_length=48)  # e.g. request.handed_off, job.accepted, sla.breach
    request_id: int | None = Field(default=None, foreign_key="support_request.id", index=True)
    entity: str = Field(default="", max_length=24)
    entity_id: str = Field(default="", max_length=36)
    device: str = Field(default="", max_length=64)  # browser · address, or the phone's client id
    details: dict = json_field()


class AppMeta(SQLModel, table=True):
    """Small facts about this installation, e.g. that the demo data has been loaded."""

    __tablename__ = "app_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = ""
