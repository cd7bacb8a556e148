"""The fast path of a push (its facts written together, fewer flushes) leaves exactly what
the careful path (one savepoint per mutation) leaves: the same answers, facts, log rows,
versions, change records, audit rows and SLA clocks, for the same pushes on two twin jobs.

On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from server.actions.sla import start_clock, stop_clock
from server.db import utcnow
from server.models import (
    AuditEntry,
    ChangeRecord,
    ClientMutation,
    FieldFact,
    Job,
    SlaClock,
    SupportRequest,
)
from server.security import load_user
from server.sync import apply as sync_apply
from server.sync.log import MutationIn
from tests.api import session_dbs
from tests.api.field_world import FAR, NEAR, World, build_world

settings = session_dbs.settings  # every test here on both databases


def twin_job(db: Session, world: World, settings) -> Job:
    """A second request and job like the world's, for the same engineer."""
    src = world.request
    values = {k: v for k, v in src.model_dump().items() if k not in ("id", "number")}
    request = SupportRequest(**values, number=src.number + "-B")
    db.add(request)
    db.flush()
    stop_clock(db, request.id, "handoff", src.handed_off_at)
    for kind, at in (("first_response", src.handed_off_at), ("resolution", src.handed_off_at),
                     ("arrival", world.dispatched_at)):
        start_clock(db, request, kind, at, settings.sla)
    job = Job(**{k: v for k, v in world.job.model_dump().items() if k not in ("id", "request_id")},
              request_id=request.id)
    db.add(job)
    db.flush()
    stop_clock(db, request.id, "first_response", job.accepted_at)
    db.commit()
    return job


def batch(job_id: int, now, where) -> list[MutationIn]:
    def m(k: int, name: str, **args: Any) -> MutationIn:
        return MutationIn(f"{job_id:08d}-0000-4000-8000-{k:012d}", name, {"job_id": job_id, **args},
                          now - timedelta(minutes=30 - k))

    return [m(0, "on_my_way", lat=where[0], lon=where[1]),
            m(1, "check_in", lat=where[0], lon=where[1], accuracy_m=20),
            *(m(2 + i, "fix_note", fault_kind="cabling", text=f"第 {i} 步") for i in range(4)),
            m(6, "fix_note", fault_kind="cabling", text=""),  # refused: no text
            m(7, "photo", image="not a photo"),  # refused: unreadable
            m(8, "done", customer_name="李明", stream_back=True),
            m(9, "fix_note", fault_kind="cabling", text="签字后补记")]


def snapshot(db: Session, job_id: int, results: list) -> dict[str, Any]:
    """What a push left, with the ids that differ between the twins taken out."""
    db.commit()  # a fresh snapshot: what the push committed
    db.expire_all()
    job = db.get(Job, job_id)
    request = db.get(SupportRequest, job.request_id)
    ids = {str(job_id): "JOB", str(request.id): "REQ"}

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k not in ("job_id", "request_id")}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, str):  # a mutation's or fact's id names its job
            value = "JOB" + value[8:] if value.startswith(f"{job_id:08d}-") else value
            return ids.get(value, value)
        return value

    facts = db.exec(select(FieldFact).where(FieldFact.job_id == job_id)
                    .order_by(FieldFact.id)).all()
    logged = db.exec(select(ClientMutation).where(ClientMutation.job_id == job_id)
                     .order_by(ClientMutation.seq)).all()
    audit = db.exec(select(AuditEntry).where(AuditEntry.request_id == request.id)
                    .order_by(AuditEntry.id)).all()
    changes = db.exec(select(ChangeRecord).where(ChangeRecord.entity_id.in_(
        [str(job_id), str(request.id), *(f.id for f in facts)])).order_by(ChangeRecord.version)).all()
    clocks = db.exec(select(SlaClock).where(SlaClock.request_id == request.id)
                     .order_by(SlaClock.kind)).all()
    return {
        "results": [(r.id.split("-")[-1], r.status, [m.msgid for m in r.messages], r.flags)
                    for r in results],
        "facts": [plain(f.model_dump(exclude={"job_id", "request_id"})) for f in facts],
        "log": [plain(r.model_dump(exclude={"client_id", "job_id"})) for r in logged],
        "job": plain(job.model_dump(exclude={"id", "request_id"})),
        "request": (request.version, request.status, request.resolved_at),
        "audit": [(a.action, a.actor_id, a.entity, plain(a.entity_id), a.at, plain(a.details))
                  for a in audit],
        "changes": [(c.entity, c.staff_id, plain(c.entity_id)) for c in changes],
        "clocks": [(c.kind, c.started_at, c.stopped_at, c.deadline_at) for c in clocks],
    }


@pytest.mark.parametrize("skew", [timedelta(0), timedelta(minutes=20)], ids=["clock", "skew"])
@pytest.mark.parametrize("where", [NEAR, FAR], ids=["near", "far"])
def test_the_fast_path_leaves_what_the_careful_path_leaves(db, engine, settings, monkeypatch,
                                                          skew, where):
    now = utcnow()
    world = build_world(db, settings, now=now - timedelta(minutes=40))
    twin = twin_job(db, world, settings)
    user = load_user(db, world.engineer.id)
    real, took = sync_apply._push, []

    def watch(*args: Any, fast: bool, **kw: Any):
        took.append(fast)
        if careful and fast:
            raise RuntimeError("the careful path, please")
        return real(*args, fast=fast, **kw)

    monkeypatch.setattr(sync_apply, "_push", watch)
    seen = {}
    for careful, job in ((False, world.job), (True, twin)):
        took.clear()
        pushed = sync_apply.apply_push(engine, user, f"phone-{job.id}", batch(job.id, now, where),
                                       settings, now=now, sent_at=now - skew)
        assert took == ([True, False] if careful else [True])  # the fast one did not fall back
        seen[careful] = snapshot(db, job.id, pushed.results)
    fast, slow = seen[False], seen[True]
    statuses = [r[1] for r in fast["results"]]
    assert statuses[6] == statuses[7] == "rejected" and "rejected" not in statuses[:6], statuses
    assert len(fast["facts"]) == 8 and fast["job"]["status"] == "done"
    assert ("clock_skew" in fast["results"][2][3]) == bool(skew)
    for part in fast:
        assert fast[part] == slow[part], part
