"""The board's on-duty panel, bounded: per group and region, everyone on duty with how
many jobs they hold and the first few of them (never every job pill: at 2,000 open
requests that was 1,300 pills, half the page). The rest is one click away
(``person_jobs``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, select

from server.models import ACTIVE_JOB_STATUSES, OPEN_STATUSES, Job, Staff, SupportRequest
from server.queries.duty import OnDuty, on_duty

if TYPE_CHECKING:
    from server.settings import Settings

DUTY_JOBS_SHOWN = 4  # job pills per person on the panel; "+N more" links to the rest
JobPill = tuple[int, str, str, str]  # (request id, request number, priority, job status)


@dataclass(frozen=True, slots=True)
class BoardDutyPerson:
    duty: OnDuty
    jobs: tuple[JobPill, ...]  # the first DUTY_JOBS_SHOWN, oldest job first
    job_count: int  # every active job on an open request

    @property
    def more(self) -> int:
        return self.job_count - len(self.jobs)


@dataclass(frozen=True, slots=True)
class BoardDutyGroup:
    group: str
    region: str | None
    people: tuple[BoardDutyPerson, ...]


def _active_jobs(staff_ids):
    return (Job.assignee_id.in_(staff_ids), Job.status.in_(ACTIVE_JOB_STATUSES),
            SupportRequest.status.in_(OPEN_STATUSES))


def board_duty(db: Session, now: datetime, settings: Settings,
               shown: int = DUTY_JOBS_SHOWN) -> list[BoardDutyGroup]:
    """S9/D11/D17: who is on duty now (remote, onsite urban, onsite suburban first), each
    with their job count and first ``shown`` jobs, in one query beside ``on_duty``'s."""
    people = on_duty(db, now, settings)
    ids = [p.staff_id for p in people]
    jobs: dict[int, list[JobPill]] = {}
    totals: dict[int, int] = {}
    if ids:
        place = func.row_number().over(partition_by=Job.assignee_id, order_by=Job.id)
        total = func.count().over(partition_by=Job.assignee_id)
        ranked = (
            select(Job.assignee_id, SupportRequest.id, SupportRequest.number,
                   SupportRequest.priority, Job.status, place.label("place"),
                   total.label("total"))
            .join(SupportRequest, SupportRequest.id == Job.request_id)
            .where(*_active_jobs(ids))
            .subquery()
        )
        for staff_id, rid, number, priority, status, _place, n in db.connection().execute(
            select(ranked).where(ranked.c.place <= shown).order_by(ranked.c.assignee_id,
                                                                   ranked.c.place)
        ).all():
            jobs.setdefault(staff_id, []).append((rid, number, priority, status))
            totals[staff_id] = n
    groups: dict[tuple[str, str | None], list[BoardDutyPerson]] = {
        ("remote", None): [], ("onsite", "urban"): [], ("onsite", "suburban"): []}
    for person in people:
        key = (person.group, person.region if person.group == "onsite" else None)
        groups.setdefault(key, []).append(BoardDutyPerson(
            person, tuple(jobs.get(person.staff_id, ())), totals.get(person.staff_id, 0)))
    return [BoardDutyGroup(g, r, tuple(p)) for (g, r), p in groups.items()]


def person_jobs(db: Session, staff_id: int) -> tuple[str, list[JobPill]] | None:
    """Every active job of one person on open requests, oldest first, with their name;
    None for nobody by that id."""
    name = db.exec(select(Staff.display_name).where(Staff.id == staff_id)).first()
    if name is None:
        return None
    rows = db.connection().execute(
        select(SupportRequest.id, SupportRequest.number, SupportRequest.priority, Job.status)
        .join(SupportRequest, SupportRequest.id == Job.request_id)
        .where(*_active_jobs([staff_id])).order_by(Job.id)
    ).all()
    return name, [tuple(r) for r in rows]
