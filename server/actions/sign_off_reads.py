"""What a field "done" (the engineer's sign-off) must know, read in one statement.

A sign-off asks four things before it writes: whether the job had a unit swapped (its
outcome), the request's other active jobs (cancelled when it resolves), the reserve units
held for the request and its waiting spare requests (both released, D8a). Asked one at a
time that is four statements for every "done" a phone syncs; here it is one (issue 18),
read before the sign-off's own writes, as the four were: nothing the sign-off writes
before it uses them (accepting its own job, stopping clocks) changes what they find.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, bindparam, literal, union_all
from sqlmodel import Session, select

from server.actions.job_common import unflushed
from server.models import (
    ACTIVE_JOB_STATUSES,
    FieldFact,
    Job,
    SpareRequest,
    SpareStatus,
    Unit,
    UnitSwap,
)


def _kind(name: str):  # noqa: ANN202 - a typed literal column
    return literal(name, String).label("kind")


_JOB, _REQUEST = bindparam("job_id", type_=Integer), bindparam("request_id", type_=Integer)
_FINDS = union_all(
    select(_kind("swap"), UnitSwap.id).join(FieldFact, FieldFact.id == UnitSwap.fact_id)
    .where(FieldFact.job_id == _JOB),
    select(_kind("job"), Job.id).where(Job.request_id == _REQUEST, Job.id != _JOB,
                                       Job.status.in_(ACTIVE_JOB_STATUSES)),
    select(_kind("unit"), Unit.id).where(Unit.held_for_request_id == _REQUEST,
                                         Unit.status == "reserve"),
    select(_kind("spare"), SpareRequest.id).where(
        SpareRequest.request_id == _REQUEST,
        SpareRequest.status.in_([SpareStatus.open, SpareStatus.shipped])),
)


@dataclass(frozen=True)
class SignOffFinds:
    """``swapped``: the job had a unit swapped; the rest are rows of the job's request."""

    swapped: bool
    other_jobs: list[Job]  # active, besides this job
    held_units: list[Unit]  # reserve units held for the request (D8a)
    waiting_spares: list[SpareRequest]  # spare requests open or shipped


def sign_off_finds(db: Session, job: Job) -> SignOffFinds:
    """One statement; the rows it names are then taken from the session (read only when
    not there: other jobs, held units and waiting spares are rare). Rows of these tables
    still waiting to be written are written first (a swap earlier in the same push). It
    reads ``field_fact`` only through ``unit_swap``: a fact still queued has no swap row
    in the database yet (a swap's row is written after its fact), so queued facts wait."""
    with unflushed(db, UnitSwap, Job, Unit, SpareRequest, but=job, request_id=job.request_id):
        rows = db.execute(_FINDS, {"job_id": job.id, "request_id": job.request_id}).all()
        ids: dict[str, list[int]] = {"swap": [], "job": [], "unit": [], "spare": []}
        for kind, ident in rows:
            ids[kind].append(ident)
        return SignOffFinds(
            swapped=bool(ids["swap"]),
            other_jobs=[db.get(Job, i) for i in sorted(ids["job"])],
            held_units=[db.get(Unit, i) for i in sorted(ids["unit"])],
            waiting_spares=[db.get(SpareRequest, i) for i in sorted(ids["spare"])])
