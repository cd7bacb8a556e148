"""What the job actions share: loading with row locks, the request's status following
its jobs, the change announcements, and notices in the recipient's language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, select

from server import db_queue
from server.actions import ActionError, changes
from server.domain.text import N_
from server.models import (
    ACTIVE_JOB_STATUSES,
    OPEN_STATUSES,
    Job,
    JobStatus,
    RequestStatus,
    SlaClock,
    Staff,
    SupportRequest,
    Venue,
)

JOB_KINDS = ("remote", "onsite")
WORKING = (JobStatus.accepted, JobStatus.en_route, JobStatus.on_site)


def word(code: str) -> str:
    """A vocabulary code in the current language, for a message's placeholder."""
    from server.i18n import gettext

    return gettext(code) if code else ""


def open_request(db: Session, request_id: int) -> SupportRequest:
    # FOR UPDATE (PostgreSQL; SQLite's writers are serialised already): two dispatchers
    # assigning, or a cancel racing a field "done", take their turns on the request row.
    request = db.get(SupportRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise ActionError(N_("No such request."))
    if request.status not in OPEN_STATUSES:
        raise ActionError(N_("This request is {status}: nothing more can be done on it here."),
                          status=word(request.status))
    return request


def locked_job(db: Session, job_id: int) -> Job:
    # FOR UPDATE: an accept and the acknowledgement chain moving the job on cannot both win.
    job = db.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None:
        raise ActionError(N_("No such job."))
    return job


# The reads of a group of sync pushes (and of a push alone), built once: a statement built
# per call computes its cache key again each time.
_JOB_IDS = bindparam("job_ids", expanding=True)
_LOCK_REQUESTS = (select(SupportRequest)
                  .where(SupportRequest.id.in_(select(Job.request_id).where(Job.id.in_(_JOB_IDS))))
                  .order_by(SupportRequest.id).with_for_update()
                  .execution_options(populate_existing=True))
_LOCK_JOBS = (select(Job).where(Job.id.in_(_JOB_IDS)).order_by(Job.id).with_for_update()
              .execution_options(populate_existing=True))
_VENUES = select(Venue).where(Venue.id.in_(bindparam("venue_ids", expanding=True)))


def lock_jobs(db: Session, job_ids: set[int]) -> dict[int, tuple[Job, SupportRequest]]:
    """These jobs and their requests read FOR UPDATE (PostgreSQL) in two statements, the
    requests first and each kind in id order, as the actions take them one at a time
    (request, then job): ``{job id: (job, request)}`` for those that exist. What the
    sync fast path (a group of pushes, or one push) holds for its transaction
    (``field.LOCKED_JOBS``)."""
    if not job_ids:
        return {}
    params = {"job_ids": sorted(job_ids)}
    requests = db.exec(_LOCK_REQUESTS, params=params).all()
    jobs = db.exec(_LOCK_JOBS, params=params).all()
    by_id = {r.id: r for r in requests}
    return {j.id: (j, by_id[j.request_id]) for j in jobs if j.request_id in by_id}


def read_venues(db: Session, venue_ids: set[int]) -> list[Venue]:
    """These venues, read in one statement into the session: while the caller keeps the
    list, ``db.get(Venue, id)`` (a check-in's distance) finds them without a query."""
    if not venue_ids:
        return []
    return list(db.exec(_VENUES, params={"venue_ids": sorted(venue_ids)}).all())


def active_jobs(db: Session, request_id: int) -> list[Job]:
    return list(db.exec(
        select(Job).where(Job.request_id == request_id, Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(Job.id)
    ).all())


def clock_of(db: Session, request_id: int, kind: str) -> SlaClock | None:
    return db.exec(
        select(SlaClock).where(SlaClock.request_id == request_id, SlaClock.kind == kind)
    ).first()


def end_job(db: Session, job: Job, status: str, now: datetime, outcome: str = "",
             notes: str | None = None) -> None:
    job.status, job.finished_at = status, now
    if outcome:
        job.outcome = outcome
    if notes is not None:
        job.notes = notes
    job.version += 1
    db.add(job)


@contextmanager
def unflushed(db: Session, *models: type, but: object = None,
              request_id: int | None = None) -> Iterator[None]:
    """For a read of these models' tables only: no autoflush when none of their rows waits
    to be written (``but``: one that cannot change what the read finds), and the rows queued
    for other tables (audit, change records: db_queue) wait too. Flushing the others first
    cannot change what it finds; a sync push's twenty mutations then flush a few times,
    not once per read (each flush is a round of the unit of work and its statements).

    ``request_id``: the read finds only that request's rows, so another request's rows
    waiting to be written cannot change it either (several phones' pushes in one
    transaction, ``server.sync.apply.apply_group``; a row's request never changes)."""
    pending = any(isinstance(obj, models) and obj is not but
                  and (request_id is None or _request_of(db, obj) in (request_id, None))
                  for obj in (*db.new, *db.dirty))
    with (nullcontext() if pending else db.no_autoflush), \
            db_queue.reading(db, *(model.__table__.name for model in models)):
        yield


def _request_of(db: Session, row: Any) -> int | None:
    """The request a row belongs to (a pause: its clock's, when the session holds it);
    None: not known."""
    if hasattr(row, "request_id"):
        return row.request_id
    clock_id = getattr(row, "clock_id", None)
    clock = db.identity_map.get(db.identity_key(SlaClock, clock_id)) if clock_id else None
    return clock.request_id if clock is not None else None


@contextmanager
def unflushed_row(db: Session, model: type, ident: Any) -> Iterator[None]:
    """For a read of one row by its primary key: no autoflush unless that very row waits to
    be written (no other row's change can alter what it finds), and the rows queued for
    other tables wait too (``unflushed``). Several phones' pushes in one transaction
    (``server.sync.apply.apply_group``) then read each job once without writing the
    previous pushes' rows first: those go together at the end."""
    row = db.identity_map.get(db.identity_key(model, ident))
    pending = row is not None and (row in db.dirty or row in db.new)
    with (nullcontext() if pending else db.no_autoflush), \
            db_queue.reading(db, model.__table__.name):  # type: ignore[attr-defined]
        yield


def set_status(db: Session, request: SupportRequest) -> None:
    """An open, handed-off request's status follows its jobs."""
    if request.status == RequestStatus.new:
        return
    db.flush()
    active = active_jobs(db, request.id)
    if any(j.status in WORKING for j in active):
        request.status = RequestStatus.in_progress
    elif active:
        request.status = RequestStatus.assigned
    else:
        request.status = RequestStatus.handed_off
    db.add(request)


def touch(db: Session, request: SupportRequest, job: Job | None = None,
           staff_ids: list[int | None] | None = None) -> None:
    request.version += 1
    db.add(request)
    if job is not None:
        changes.changed(db, "job", job.id, staff_ids=staff_ids or [job.assignee_id],
                        request_id=request.id)
    changes.changed(db, "request", request.id, request_id=request.id)


def name_of(db: Session, staff_id: int | None) -> str:
    staff = db.get(Staff, staff_id) if staff_id else None
    return staff.display_name if staff else "—"


def urgency(request: SupportRequest) -> str:
    return "high" if request.priority == "P1" else "normal"


def say(staff: Staff | None, msgid: str, **params: Any) -> str:
    """A notice's text in the recipient's language, not the sender's."""
    from server.i18n import translations

    text = translations(staff.locale if staff else "zh_CN").gettext(msgid)
    return text.format(**params) if params else text
