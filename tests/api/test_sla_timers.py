"""D7: warnings at 80 % and breaches fire exactly once, whatever runs them and how often."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from server.actions.sla import pause_clock, resume_clock, stop_clock
from server.db import make_engine, session_scope
from server.jobs import sla_timers
from server.jobs.sla_timers import fire_due_sla_events
from server.models import (
    AuditEntry,
    ChangeRecord,
    Notification,
    RequestStatus,
    SlaClock,
    SlaEvent,
    Staff,
    SupportRequest,
)
from tests.conftest import add_staff

T0 = datetime(2026, 11, 26, 15, 10, tzinfo=UTC)  # 23:10 in Shanghai


@pytest.fixture(autouse=True)
def the_night_of_26_november(clock):
    """Every clock here starts at T0; the app's "now" is T0 too (the timers get theirs passed)."""
    clock.set(T0)


def seed(db: Session, *, kind: str = "first_response", minutes: int = 10, priority: str = "P2",
         status: str = RequestStatus.handed_off) -> tuple[SupportRequest, SlaClock]:
    """A request with one clock of ``minutes`` started at T0, and the people to notify."""
    if staff_id(db, "clerk") is None:
        add_staff(db, "lead", "dispatcher")
        add_staff(db, "lead2", "dispatcher")
        add_staff(db, "boss", "manager")
        add_staff(db, "clerk", "agent")
        add_staff(db, "gone", "dispatcher", active=False)
    n = db.exec(select(func.count()).select_from(SupportRequest)).one() + 1
    req = SupportRequest(number=f"FO-20261126-{n:04d}", channel="hotline", received_at=T0,
                         recorded_by=staff_id(db, "clerk"), customer_name="星耀直播",
                         contact_name="王女士", phone="13812345678", device_type="encoder",
                         symptom="推流失败", priority=priority, status=status)  # fmt: skip
    db.add(req)
    db.flush()
    clock = SlaClock(request_id=req.id, kind=kind, started_at=T0,
                     deadline_at=T0 + timedelta(minutes=minutes))  # fmt: skip
    db.add(clock)
    db.commit()
    return req, clock


def staff_id(db: Session, username: str) -> int | None:
    return db.exec(select(Staff.id).where(Staff.username == username)).first()


def events(db: Session) -> list[tuple[int, str]]:
    db.rollback()
    return sorted((e.clock_id, e.level) for e in db.exec(select(SlaEvent)))


def timeline(db: Session, request_id: int) -> list[str]:
    db.rollback()
    return list(db.exec(select(AuditEntry.action).where(AuditEntry.request_id == request_id)
                        .order_by(AuditEntry.id)))  # fmt: skip


def noticed(db: Session, level: str) -> set[str]:
    db.rollback()
    rows = db.exec(select(Staff.username).join(Notification, Notification.staff_id == Staff.id)
                   .where(Notification.payload["kind"].as_string() == f"sla.{level}")).all()  # fmt: skip
    return set(rows)


def fire(db: Session, at: datetime, settings) -> list[tuple[int, str]]:
    new = fire_due_sla_events(db, at, settings)
    db.commit()
    return sorted((e.clock_id, e.level) for e in new)


def test_nothing_fires_before_80_percent(db, settings):
    req, clock = seed(db)
    assert fire(db, T0 + timedelta(minutes=7, seconds=59), settings) == []
    assert events(db) == []


def test_warning_fires_once_at_80_percent_and_tells_the_leads(db, settings):
    req, clock = seed(db)
    at = T0 + timedelta(minutes=8)
    assert fire(db, at, settings) == [(clock.id, "warning")]
    assert fire(db, at, settings) == []
    assert fire(db, at + timedelta(minutes=1), settings) == []
    assert events(db) == [(clock.id, "warning")]
    assert timeline(db, req.id) == ["sla.warning"]
    assert noticed(db, "warning") == {"lead", "lead2"}  # not the manager, not the inactive lead
    notes = db.exec(select(Notification)).all()
    assert {n.channel for n in notes} == {"webpush", "wecom"}
    assert all(n.urgency == "normal" for n in notes)  # P2
    title = notes[0].payload["title"]
    assert req.number in title and "首次响应" in title and "80" in title
    assert db.exec(select(ChangeRecord).where(ChangeRecord.entity == "request",
                                              ChangeRecord.entity_id == str(req.id))).first()


def test_breach_fires_once_and_also_tells_the_support_manager(db, settings):
    req, clock = seed(db, priority="P1")
    fire(db, T0 + timedelta(minutes=8), settings)
    assert fire(db, T0 + timedelta(minutes=10), settings) == [(clock.id, "breach")]
    assert fire(db, T0 + timedelta(minutes=30), settings) == []
    assert events(db) == [(clock.id, "breach"), (clock.id, "warning")]
    assert timeline(db, req.id) == ["sla.warning", "sla.breach"]
    assert noticed(db, "breach") == {"lead", "lead2", "boss"}
    breach = db.exec(select(Notification).where(Notification.dedupe_key.contains(":breach:"))).all()
    assert all(n.urgency == "high" for n in breach)
    assert all(n.payload["title"] == f"{req.number}：首次响应已超时" for n in breach)


def test_a_restarted_clock_warns_and_breaches_again(db, settings):
    """An onsite job sent out again restarts its arrival clock: the new run is watched."""
    from server.actions.sla import start_clock

    req, clock = seed(db, kind="arrival", minutes=45, priority="P1")
    fire(db, T0 + timedelta(minutes=50), settings)
    assert events(db) == [(clock.id, "breach"), (clock.id, "warning")]
    again = T0 + timedelta(minutes=60)
    req = db.get(SupportRequest, req.id)
    req.region = "urban"
    start_clock(db, req, "arrival", again, settings.sla)
    db.commit()
    assert events(db) == []
    assert fire(db, again + timedelta(minutes=40), settings) == [(clock.id, "warning")]
    warned = db.exec(select(Notification.dedupe_key).where(
        Notification.payload["kind"].as_string() == "sla.warning",
        Notification.channel == "webpush")).all()
    assert len(warned) == 4  # lead and lead2, once for each run


def test_a_loop_that_was_down_fires_warning_and_breach_together(db, settings):
    req, clock = seed(db)
    assert fire(db, T0 + timedelta(hours=2), settings) == [(clock.id, "breach"), (clock.id, "warning")]
    assert fire(db, T0 + timedelta(hours=3), settings) == []


def test_a_pause_shifts_the_deadline(db, settings):
    """D6: 5 minutes paused push the 80 % mark from +8 to +13 and the breach to +15."""
    req, clock = seed(db)
    by = staff_id(db, "lead")
    pause_clock(db, req.id, clock.kind, "客户要求稍后再联系", by, T0 + timedelta(minutes=2))
    resume_clock(db, req.id, clock.kind, by, T0 + timedelta(minutes=7))
    db.commit()
    assert fire(db, T0 + timedelta(minutes=10), settings) == []
    assert fire(db, T0 + timedelta(minutes=12, seconds=59), settings) == []
    assert fire(db, T0 + timedelta(minutes=13), settings) == [(clock.id, "warning")]
    assert fire(db, T0 + timedelta(minutes=14, seconds=59), settings) == []
    assert fire(db, T0 + timedelta(minutes=15), settings) == [(clock.id, "breach")]
    assert timeline(db, req.id) == ["sla.paused", "sla.resumed", "sla.warning", "sla.breach"]


def test_a_clock_paused_now_does_not_run_out(db, settings):
    req, clock = seed(db)
    by = staff_id(db, "lead")
    pause_clock(db, req.id, clock.kind, "客户无法接通", by, T0 + timedelta(minutes=1))
    db.commit()
    assert fire(db, T0 + timedelta(hours=5), settings) == []


def test_stopped_clocks_and_finished_requests_fire_nothing(db, settings):
    req, clock = seed(db)
    stop_clock(db, req.id, clock.kind, T0 + timedelta(minutes=3))
    db.commit()
    seed(db, status=RequestStatus.cancelled)
    assert fire(db, T0 + timedelta(hours=1), settings) == []


def test_handoff_clock_tells_the_agent_who_recorded_it(db, settings):
    req, clock = seed(db, kind="handoff", status=RequestStatus.new)
    fire(db, T0 + timedelta(minutes=10), settings)
    assert noticed(db, "warning") == {"lead", "lead2", "clerk"}
    assert noticed(db, "breach") == {"lead", "lead2", "boss", "clerk"}


def test_every_clock_is_judged_on_its_own(db, settings):
    req, first = seed(db, minutes=5)
    second = SlaClock(request_id=req.id, kind="resolution", started_at=T0,
                      deadline_at=T0 + timedelta(minutes=60))  # fmt: skip
    db.add(second)
    db.commit()
    assert fire(db, T0 + timedelta(minutes=48), settings) == [
        (first.id, "breach"), (first.id, "warning"), (second.id, "warning")]


def test_a_second_engine_on_the_same_file_changes_nothing(db, settings):
    req, clock = seed(db)
    at = T0 + timedelta(minutes=11)
    assert len(fire(db, at, settings)) == 2
    counts = _counts(db)
    other = make_engine(settings.db_url)
    try:
        with session_scope(other) as db2:
            assert fire_due_sla_events(db2, at, settings) == []
    finally:
        other.dispose()
    assert _counts(db) == counts


def _counts(db: Session) -> tuple[int, ...]:
    db.rollback()
    return tuple(db.exec(select(func.count()).select_from(m)).one()
                 for m in (SlaEvent, AuditEntry, Notification, ChangeRecord))  # fmt: skip


def _race(url: str, settings, at: datetime, barrier: threading.Barrier | None) -> list[list]:
    """Two engines (two 'server processes') fire the same clocks from two threads at once."""
    engines = [make_engine(url) for _ in range(2)]
    results: list[list] = [[], []]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=10)
            with session_scope(engines[i]) as s:
                results[i] = [(e.clock_id, e.level) for e in fire_due_sla_events(s, at, settings)]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert not errors, errors
    return results


def test_two_engines_firing_at_once_on_sqlite_fire_once(db, settings):
    req, clock = seed(db)
    results = _race(settings.db_url, settings, T0 + timedelta(minutes=11), threading.Barrier(2))
    assert sorted(results[0] + results[1]) == [(clock.id, "breach"), (clock.id, "warning")]
    assert events(db) == [(clock.id, "breach"), (clock.id, "warning")]
    assert timeline(db, req.id) == ["sla.warning", "sla.breach"]


# -- PostgreSQL: several server processes on one database ---------------------------------


@pytest.mark.postgres
def test_postgresql_fires_once_across_engines(pg, settings):
    url, engine = pg
    with Session(engine, expire_on_commit=False) as db:
        req, clock = seed(db)
        assert len(fire(db, T0 + timedelta(minutes=11), settings)) == 2
        counts = _counts(db)
    other = make_engine(url)
    with session_scope(other) as db2:
        assert fire_due_sla_events(db2, T0 + timedelta(minutes=12), settings) == []
    other.dispose()
    with Session(engine) as db:
        assert _counts(db) == counts


@pytest.mark.postgres
def test_postgresql_concurrent_firing_gives_one_event_per_level(pg, settings, monkeypatch):
    """Both 'processes' read the clock as unfired, then both insert: the key lets one win."""
    url, engine = pg
    with Session(engine, expire_on_commit=False) as db:
        req, clock = seed(db)
    both_read = threading.Barrier(2)
    waited = threading.local()
    insert = sla_timers._insert_once

    lost: list[str] = []

    def insert_after_both_read(db, clock, level, now):
        if not getattr(waited, "done", False):
            waited.done = True
            both_read.wait(timeout=10)
        event = insert(db, clock, level, now)
        if event is None:
            lost.append(level)
        return event

    monkeypatch.setattr(sla_timers, "_insert_once", insert_after_both_read)
    results = _race(url, settings, T0 + timedelta(minutes=11), None)
    fired = sorted(results[0] + results[1])
    assert fired == [(clock.id, "breach"), (clock.id, "warning")]
    assert "warning" in lost, "the second process really tried, and the key refused it"
    with Session(engine) as db:
        assert events(db) == [(clock.id, "breach"), (clock.id, "warning")]
        assert timeline(db, req.id) == ["sla.warning", "sla.breach"]
        keys = db.exec(select(Notification.dedupe_key)).all()
        assert len(keys) == len(set(keys)) == 2 * 2 + 3 * 2  # 2 leads warned, 3 people at breach


def test_a_tick_with_nothing_due_reads_the_running_clocks_once(db, settings):
    """Clocks below 80 % (counting no pause) and clocks that fired both levels are passed
    over in the one query that lists the running clocks; nothing else is read."""
    from sqlalchemy import event

    early, _ = seed(db, minutes=60)
    done_clock = seed(db, minutes=5)[1]
    fire(db, T0 + timedelta(minutes=6), settings)  # both levels of the 5-minute clock
    statements: list[str] = []
    engine = db.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert fire(db, T0 + timedelta(minutes=47), settings) == []
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert fire(db, T0 + timedelta(minutes=48), settings) == [
        (db.exec(select(SlaClock.id).where(SlaClock.request_id == early.id)).one(), "warning")]
    assert (done_clock.id, "warning") in events(db)
