"""The mutation log that makes offline replays apply exactly once (architecture promise 2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.base import instant, json_field


class ClientMutation(SQLModel, table=True):
    """(client_id, mutation_id) with its stored result, written in the change's transaction."""

    __tablename__ = "client_mutation"
    # a phone's newest entry (max seq) without reading its whole history
    __table_args__ = (Index("ix_client_mutation_client_seq", "client_id", "seq"),)
    client_id: str = Field(primary_key=True, max_length=64)
    mutation_id: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    name: str = Field(max_length=32)
    args: dict = json_field()
    device_time: datetime | None = instant()
    received_at: datetime | None = instant(nullable=False)
    seq: int = Field(index=True)  # order of arrival, for 'last mutation applied'
    result: str = Field(max_length=16)  # applied | flagged | rejected
    message: str = ""  # in English, for logs; ``detail`` keeps it for any language
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)
    fact_id: str | None = Field(default=None, max_length=36)
    detail: dict = json_field()  # {"messages": [[msgid, params], ...], "flags": [...]}


class ChangeRecord(SQLModel, table=True):
    """A server-side version counter: what changed, for whom, so /sync/pull can say since N."""

    __tablename__ = "change_record"
    version: int | None = Field(default=None, primary_key=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    entity: str = Field(max_length=16)  # job | request | fact
    entity_id: str = Field(max_length=36)
    at: datetime | None = instant(nullable=False)


class SyncInbox(SQLModel, table=True):
    """A mutation durably received from a phone and not applied yet (receive, then apply).

    ``id`` is the order of receipt: mutations are applied per (client, person) in that
    order, each exactly once (the mutation log decides), and the row is deleted once its
    result is in ``client_mutation``. Only the push's own rows are written at receipt,
    so the answer "received" (the phone may delete its copy) costs one small commit."""

    __tablename__ = "sync_inbox"
    __table_args__ = (UniqueConstraint("client_id", "mutation_id", name="uq_sync_inbox_mutation"),)
    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64)
    mutation_id: str = Field(max_length=64)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    name: str = Field(max_length=200)
    # as sent (a photo's data included), JSON text: escapes keep what PostgreSQL's JSON
    # types refuse (a NUL) storable, so the applier can refuse it with the reason
    args: str = Field(sa_column=Column(Text, nullable=False))
    device_time: datetime | None = instant()
    sent_at: datetime | None = instant()  # the phone's clock when it sent the push (D8c)
    received_at: datetime | None = instant(nullable=False)
