"""Jobs: one engineer's piece of work on a request, remote or onsite."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from server.models.base import instant, json_field


class JobStatus(StrEnum):
    offered = "offered"  # assigned, waiting for the engineer to accept (D8b)
    accepted = "accepted"
    en_route = "en_route"
    on_site = "on_site"  # checked in at the venue
    done = "done"
    escalated = "escalated"  # a remote job handed on to onsite (D8)
    reassigned = "reassigned"  # given to someone else
    cancelled = "cancelled"
    declined = "declined"  # the engineer said no, with a reason; it moved on (D8b)


ACTIVE_JOB_STATUSES = (JobStatus.offered, JobStatus.accepted, JobStatus.en_route, JobStatus.on_site)


class Job(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    kind: str = Field(max_length=8)  # remote | onsite
    assignee_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    status: str = Field(default=JobStatus.offered, index=True, max_length=16)
    assigned_at: datetime | None = instant()
    assigned_by: int | None = Field(default=None, foreign_key="staff.id")
    accepted_at: datetime | None = instant()
    arrived_at: datetime | None = instant()
    finished_at: datetime | None = instant()
    ack_step: int = 0  # how far the acknowledgement chain has gone (D8b)
    outcome: str = ""  # solved | needs_onsite | fixed | swapped
    notes: str = ""
    version: int = 1


class RequestBackupCall(SQLModel, table=True):
    """S12 for one request nobody on duty can take: the backups of the job's group (and
    region, onsite) are alerted at once; the first to accept gets the job."""

    __tablename__ = "request_backup_call"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    kind: str = Field(max_length=8)  # remote | onsite
    region: str | None = Field(default=None, max_length=16)
    called_at: datetime | None = instant(nullable=False)
    called_by: int | None = Field(default=None, foreign_key="staff.id")
    alerted: list = json_field(list)  # staff ids alerted
    status: str = Field(default="open", max_length=16)  # open | taken | closed
    taken_by: int | None = Field(default=None, foreign_key="staff.id")
    taken_at: datetime | None = instant()
    job_id: int | None = Field(default=None, foreign_key="job.id")
