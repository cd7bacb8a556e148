"""Machine clients (the rental business system) and the files staff upload to import."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Column, Field, SQLModel

from server.models.base import instant, required_instant


class IntegrationToken(SQLModel, table=True):
    """A per-integration bearer token; only its SHA-256 is kept, and it can be revoked."""

    __tablename__ = "integration_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    token_hash: str = Field(unique=True, index=True, max_length=64)  # sha256 hex
    prefix: str = Field(max_length=12)  # the first characters, to tell tokens apart
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = required_instant()
    revoked_at: datetime | None = instant()
    last_used_at: datetime | None = instant()


class ImportUpload(SQLModel, table=True):
    """An uploaded CSV/XLSX between its dry run and "apply" (kept in the database so any
    server process can apply it)."""

    __tablename__ = "import_upload"
    id: str = Field(primary_key=True, max_length=36)  # uuid4 hex
    kind: str = Field(max_length=16)  # customers | venues | orders | units
    filename: str = Field(max_length=128)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = required_instant()
    applied_at: datetime | None = instant()
