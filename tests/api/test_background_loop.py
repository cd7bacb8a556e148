"""The background loop: started with the app, each tick in its own transaction, never stuck."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

from litestar.testing import TestClient
from sqlmodel import select

from server.db import utcnow
from server.jobs import loop
from server.models import AppMeta, SlaClock, SlaEvent, SupportRequest
from tests.conftest import add_staff


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_the_loop_starts_with_the_app_runs_ticks_and_stops_with_it(settings):
    from server.app import create_app

    calls: list = []

    def counting_tick(db, now, settings):
        calls.append(now)

    loop.register_tick(counting_tick)
    try:
        app = create_app(dataclasses.replace(settings, background_loop=True,
                                             loop_interval_seconds=0.05))  # fmt: skip
        with TestClient(app=app):
            running = app.state.background_loop
            assert wait_for(lambda: len(calls) >= 3 and running.rounds >= 3), "it keeps waking"
            assert "server.jobs.sla_timers.sla_timers" in map(loop.tick_name, loop.registered())
        stopped_at = len(calls)
        time.sleep(0.2)
        assert len(calls) == stopped_at, "no tick after shutdown"
        assert app.state.background_loop is None
    finally:
        loop.unregister_tick(counting_tick)


def test_no_loop_when_the_setting_is_off(app, client):
    assert getattr(app.state, "background_loop", None) is None


def test_the_running_loop_fires_a_due_breach(settings, db):
    from server.app import create_app

    add_staff(db, "lead", "dispatcher")
    now = utcnow()
    req = SupportRequest(number="FO-20261126-0001", channel="hotline", received_at=now,
                         customer_name="星耀直播", contact_name="王女士", phone="13812345678",
                         device_type="encoder", symptom="推流失败", status="handed_off")  # fmt: skip
    db.add(req)
    db.flush()
    db.add(SlaClock(request_id=req.id, kind="first_response", started_at=now - timedelta(minutes=20),
                    deadline_at=now - timedelta(minutes=5)))  # fmt: skip
    db.commit()
    app = create_app(dataclasses.replace(settings, background_loop=True, loop_interval_seconds=0.05))

    def fired() -> list[str]:
        db.rollback()
        return sorted(db.exec(select(SlaEvent.level)).all())

    with TestClient(app=app):
        assert wait_for(lambda: fired() == ["breach", "warning"])
        time.sleep(0.2)  # more rounds
    assert fired() == ["breach", "warning"]


def test_each_tick_has_its_own_transaction_and_a_failing_one_stops_nothing(engine, settings, db):
    def broken(db, now, settings):
        db.add(AppMeta(key="broken", value="half-written"))
        db.flush()
        raise RuntimeError("boom")

    def healthy(db, now, settings):
        db.add(AppMeta(key="healthy", value=now.isoformat()))

    loop.register_tick(broken)
    loop.register_tick(healthy)
    try:
        results = loop.run_once(engine, settings)
    finally:
        loop.unregister_tick(broken)
        loop.unregister_tick(healthy)
    assert results[loop.tick_name(broken)] == "RuntimeError: boom"
    assert results[loop.tick_name(healthy)] is None
    db.rollback()
    assert db.get(AppMeta, "broken") is None, "the failing tick's writes were rolled back"
    assert db.get(AppMeta, "healthy") is not None


def test_registering_twice_runs_once():
    def tick(db, now, settings):
        pass

    loop.register_tick(tick)
    loop.register_tick(tick)
    try:
        assert loop.registered().count(tick) == 1
    finally:
        loop.unregister_tick(tick)
    assert tick not in loop.registered()
