"""A push that stops a paused SLA clock closes the pause (D6, D8c), with the pause read in
the same query as the request's clocks (``sla.HELD_PAUSES``), on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from server.actions import jobs as J
from server.db import utcnow
from server.models import SlaPause
from tests.api import sync_dbs
from tests.api.field_world import check_in, clock, done, push, results
from tests.api.test_sync_lean import statements  # noqa: F401 - fixture

settings, world, phone = sync_dbs.settings, sync_dbs.world, sync_dbs.phone  # both databases


def test_done_closes_the_resolution_pause_at_its_time(phone, db, world, statements):  # noqa: F811
    paused_at = utcnow() - timedelta(minutes=10)
    J.pause_request_clock(db, world.dispatcher.id, world.request.id, "resolution",
                          "客户要求稍等", paused_at)
    db.commit()
    finished_at = paused_at + timedelta(minutes=6)
    batch = [check_in(world.job.id, at=paused_at + timedelta(minutes=1)),
             done(world.job.id, at=finished_at)]
    statements.clear()
    assert [r["status"] for r in results(push(phone, batch))] == ["applied", "applied"]
    pause_reads = [s for s in statements if s.startswith("SELECT") and "sla_pause" in s]
    assert len(pause_reads) == 1, pause_reads  # with the clocks, not once per stop

    resolution = clock(db, world.request.id, "resolution")
    pause = db.exec(select(SlaPause).where(SlaPause.clock_id == resolution.id)).one()
    assert abs((pause.ended_at - finished_at).total_seconds()) < 1
    assert abs(resolution.paused_seconds - 360) < 1
    assert resolution.stopped_at is not None
    assert clock(db, world.request.id, "arrival").paused_seconds == 0  # never paused


def test_a_clock_paused_again_after_a_push_stays_paused_once(phone, db, world):
    batch = [check_in(world.job.id)]
    assert [r["status"] for r in results(push(phone, batch))] == ["applied"]
    at = utcnow()
    J.pause_request_clock(db, world.dispatcher.id, world.request.id, "resolution",
                          "客户联系不上", at)
    db.commit()
    J.resume_request_clock(db, world.dispatcher.id, world.request.id, "resolution",
                           at + timedelta(minutes=2))
    db.commit()
    assert [r["status"] for r in results(push(phone, [done(world.job.id)]))] == ["applied"]
    resolution = clock(db, world.request.id, "resolution")
    pauses = db.exec(select(SlaPause).where(SlaPause.clock_id == resolution.id)).all()
    assert len(pauses) == 1 and pauses[0].ended_at is not None
    assert abs(resolution.paused_seconds - 120) < 1
