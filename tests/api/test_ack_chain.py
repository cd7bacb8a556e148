"""D8b: an offered job not accepted in time goes to the next on-duty engineer, then to a
backup, then to the on-duty lead; each step on the timeline, on the board, notified, and
taken once even when two server processes run the chain at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from server.actions import jobs as J
from server.actions.ack_chain import STEP_ACTIONS, overdue_jobs
from server.db import make_engine, session_scope, utcnow
from server.jobs import loop
from server.jobs.ack_chain import ack_chain
from server.migrate import upgrade
from server.models import AuditEntry, ChangeRecord, Job, Notification, Roster, RosterBackup
from server.queries.calendar import load_calendar
from server.settings import Settings
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.conftest import add_staff

M = timedelta(minutes=1)


def add_backups(db: Session, now, *people, hours: float = 1) -> None:
    """S12: the backups of the month of every duty night (or day) from ``now`` to
    ``hours`` later, as Shanghai counts it (02:00 on the 1st is the last night of the
    month before; 08:05 on 1 January is January's): the same people, as a roster keeps
    its backups from one month to the next."""
    cal = load_calendar(db)
    months = set()
    for at in (now, now + timedelta(hours=hours)):
        slot = cal.slot_at(at)
        day = slot.day if slot is not None else cal.local(at).date()
        months.add(day.strftime("%Y-%m"))
    for month in sorted(months):
        roster = db.exec(select(Roster).where(Roster.month == month)).first()
        if roster is None:
            roster = Roster(month=month, status="published", published_at=now - timedelta(days=10))
            db.add(roster)
            db.flush()
        for person in people:
            db.add(RosterBackup(roster_id=roster.id, staff_id=person.id))
    db.commit()


def build_team(db: Session, now) -> dict:
    """On duty: three urban onsite engineers and a suburban one; backups: one urban, one
    suburban, one remote; leads: two dispatchers."""
    t = {
        "u1": engineer(db, "u1", "onsite", "urban", display_name="张强"),
        "u2": engineer(db, "u2", "onsite", "urban", display_name="王磊"),
        "s1": engineer(db, "s1", "onsite", "suburban", display_name="梁志刚"),
        "bu": engineer(db, "bu", "onsite", "urban", display_name="备班城区"),
        "bs": engineer(db, "bs", "onsite", "suburban", display_name="备班郊区"),
        "br": engineer(db, "br", "remote", display_name="备班远程"),
        "agent": add_staff(db, "agent1", "agent"),
        "lead1": add_staff(db, "lead1", "dispatcher", display_name="调度甲"),
        "lead2": add_staff(db, "lead2", "dispatcher", display_name="调度乙"),
    }
    on_shift(db, now, t["u1"], t["u2"], t["s1"])
    add_backups(db, now, t["bs"], t["bu"], t["br"])
    return t


@pytest.fixture
def team(db):
    return build_team(db, utcnow())


def tick(engine, now, settings) -> int:
    with session_scope(engine) as s:
        return ack_chain(s, now, settings)


def chain_steps(db, request_id) -> list[tuple]:
    db.commit()
    db.expire_all()
    return [(e.details["step"], e.details["from_id"], e.details["assignee_id"]) for e in db.exec(
        select(AuditEntry).where(AuditEntry.request_id == request_id,
                                 AuditEntry.action.in_(STEP_ACTIONS.values()))
        .order_by(AuditEntry.id)).all()]


def jobs_of(db, request_id) -> list[tuple]:
    db.commit()
    db.expire_all()
    return [(j.assignee_id, j.status, j.ack_step) for j in db.exec(
        select(Job).where(Job.request_id == request_id).order_by(Job.id)).all()]


def notices(db, kind: str) -> list[int]:
    return sorted(n.staff_id for n in db.exec(select(Notification)).all()
                  if n.channel == "webpush" and n.payload["kind"] == kind)


def test_p1_moves_on_every_3_minutes_next_engineer_then_backup_then_lead(db, engine, team, settings):
    t0 = utcnow()
    req = handed_off(db, team["agent"], t0, settings, classification="onsite", priority="P1")
    J.assign_job(db, team["lead1"].id, req.id, team["u1"].id, "onsite", t0, settings)
    db.commit()
    u1, u2, bu = team["u1"].id, team["u2"].id, team["bu"].id

    assert tick(engine, t0 + 2 * M, settings) == 0  # not yet: 3 min for P1
    assert tick(engine, t0 + 3 * M, settings) == 1
    assert jobs_of(db, req.id) == [(u1, "reassigned", 1), (u2, "offered", 1)]
    assert tick(engine, t0 + 3 * M, settings) == 0  # u2 has 3 minutes of their own
    assert tick(engine, t0 + 5 * M, settings) == 0
    assert tick(engine, t0 + 6 * M, settings) == 1  # the urban backup before the suburban one
    assert jobs_of(db, req.id)[-1] == (bu, "offered", 2)
    assert tick(engine, t0 + 9 * M, settings) == 1
    assert jobs_of(db, req.id)[-1] == (bu, "offered", 3)  # still with the backup
    assert tick(engine, t0 + 60 * M, settings) == 0  # the lead decides now: nothing more

    assert chain_steps(db, req.id) == [("next_engineer", u1, u2), ("backup", u2, bu),
                                       ("lead", bu, None)]
    assert notices(db, "job.assigned") == sorted([u1, u2, bu])
    assert notices(db, "job.reassigned") == sorted([u1, u2])
    assert notices(db, "job.unacknowledged") == sorted([team["lead1"].id, team["lead2"].id])
    lead_note = next(n for n in db.exec(select(Notification)).all()
                     if n.payload["kind"] == "job.unacknowledged" and n.channel == "webpush")
    assert lead_note.urgency == "high" and "无人接单" in lead_note.payload["title"]
    assert "张强" in lead_note.payload["body"] and "王磊" in lead_note.payload["body"]
    backup_note = next(n for n in db.exec(select(Notification)).all()
                       if n.staff_id == bu and n.channel == "webpush")
    assert "备班" in backup_note.payload["body"]
    timeline = [e.action for e in db.exec(select(AuditEntry).where(AuditEntry.request_id == req.id)
                                          .order_by(AuditEntry.id)).all()]
    assert timeline.count("job.reassigned") == 2
    assert [a for a in timeline if a.startswith("job.ack")] == [
        "job.ack_timeout", "job.ack_backup", "job.ack_lead"]
    assert db.exec(select(ChangeRecord).where(ChangeRecord.entity == "job")).first() is not None
    # The backup can accept: the chain's offer is a real job.
    J.accept_job(db, bu, jobs_of_ids(db, req.id)[-1], t0 + 10 * M, t0 + 10 * M, settings)
    db.commit()
    assert jobs_of(db, req.id)[-1] == (bu, "accepted", 3)


def jobs_of_ids(db, request_id) -> list[int]:
    return [j.id for j in db.exec(select(Job).where(Job.request_id == request_id).order_by(Job.id))]


def test_p2_waits_10_minutes_and_an_accepted_job_never_moves(db, engine, team, settings):
    t0 = utcnow()
    req = handed_off(db, team["agent"], t0, settings, classification="onsite", priority="P2")
    job = J.assign_job(db, team["lead1"].id, req.id, team["u1"].id, "onsite", t0, settings)
    db.commit()
    assert tick(engine, t0 + 9 * M, settings) == 0
    J.accept_job(db, team["u1"].id, job.id, t0 + 9 * M, t0 + 9 * M, settings)
    db.commit()
    assert tick(engine, t0 + 30 * M, settings) == 0
    assert chain_steps(db, req.id) == []
    assert jobs_of(db, req.id) == [(team["u1"].id, "accepted", 0)]


def test_a_step_with_nobody_to_take_it_is_skipped(db, engine, team, settings):
    """Suburban: no other suburban engineer on duty, so straight to the suburban backup;
    a remote job with no remote engineer on duty and its backup tried: straight to the lead."""
    t0 = utcnow()
    req = handed_off(db, team["agent"], t0, settings, classification="onsite", priority="P1",
                     region="suburban")
    J.assign_job(db, team["lead1"].id, req.id, team["s1"].id, "onsite", t0, settings)
    db.commit()
    tick(engine, t0 + 3 * M, settings)
    assert chain_steps(db, req.id) == [("backup", team["s1"].id, team["bs"].id)]
    tick(engine, t0 + 6 * M, settings)
    assert [s[0] for s in chain_steps(db, req.id)] == ["backup", "lead"]


def test_the_dispatchers_reassignment_starts_a_fresh_chain(db, engine, team, settings):
    t0 = utcnow()
    req = handed_off(db, team["agent"], t0, settings, classification="onsite", priority="P1")
    job = J.assign_job(db, team["lead1"].id, req.id, team["u1"].id, "onsite", t0, settings)
    db.commit()
    tick(engine, t0 + 3 * M, settings)  # -> u2
    tick(engine, t0 + 6 * M, settings)  # -> backup
    tick(engine, t0 + 9 * M, settings)  # -> lead
    last = jobs_of_ids(db, req.id)[-1]
    J.reassign_job(db, team["lead1"].id, last, team["u1"].id, t0 + 10 * M, settings)
    db.commit()
    assert jobs_of(db, req.id)[-1] == (team["u1"].id, "offered", 0)
    assert overdue_jobs(db, t0 + 12 * M, settings.sla) == []
    assert overdue_jobs(db, t0 + 13 * M, settings.sla) == [jobs_of_ids(db, req.id)[-1]]
    assert job.id != last


def test_the_background_loop_runs_the_chain(db, engine, team, settings):
    loop.discover()
    assert "server.jobs.ack_chain.ack_chain" in [loop.tick_name(f) for f in loop.registered()]
    t0 = utcnow()
    req = handed_off(db, team["agent"], t0, settings, classification="onsite", priority="P1")
    J.assign_job(db, team["lead1"].id, req.id, team["u1"].id, "onsite", t0, settings)
    db.commit()
    errors = loop.run_once(engine, settings, t0 + 4 * M)
    assert errors["server.jobs.ack_chain.ack_chain"] is None
    assert [s[0] for s in chain_steps(db, req.id)] == ["next_engineer"]


def race(engines, now, settings, rounds: int = 1) -> None:
    """Each engine is a server process of its own: all tick at the same instant."""
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine):
        try:
            start.wait()
            for _ in range(rounds):
                tick(engine, now, settings)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def _each_step_once(db, engines, settings, team) -> None:
    t0 = utcnow()
    reqs = [handed_off(db, team["agent"], t0, settings, classification="onsite", priority="P1",
                       customer_name=f"客户{i}") for i in range(4)]
    for req in reqs:
        J.assign_job(db, team["lead1"].id, req.id, team["u1"].id, "onsite", t0, settings)
    db.commit()
    for minutes in (3, 6, 9, 12):
        race(engines, t0 + minutes * M, settings, rounds=2)
    for req in reqs:
        assert [s[0] for s in chain_steps(db, req.id)] == ["next_engineer", "backup", "lead"]
        assert len(jobs_of(db, req.id)) == 3
    leads = [n for n in db.exec(select(Notification)).all() if n.payload["kind"] == "job.unacknowledged"]
    assert len(leads) == 4 * 2 * 2  # four requests, two leads, two channels: no duplicate


def test_two_processes_take_each_step_once_sqlite(db, team, settings):
    engines = [make_engine(settings.db_url) for _ in range(3)]
    try:
        _each_step_once(db, engines, settings, team)
    finally:
        for e in engines:
            e.dispose()


@pytest.mark.postgres
def test_two_processes_take_each_step_once_postgresql(fresh_pg, tmp_path):
    upgrade(fresh_pg)
    settings = Settings(data_dir=tmp_path, database_url=fresh_pg, demo_data=False,
                        background_loop=False, push_enabled=False).with_secrets()
    engines = [make_engine(fresh_pg) for _ in range(3)]
    try:
        with Session(engines[0], expire_on_commit=False) as db:
            team = build_team(db, utcnow())
            _each_step_once(db, engines, settings, team)
    finally:
        for e in engines:
            e.dispose()


def test_the_backups_of_a_night_that_crosses_into_a_new_month_are_that_nights(db, settings):
    """D10/S12: 00:05 on 1 December belongs to the night of 30 November, so November's
    backups are called (the chain once skipped them from midnight to 08:00 on the 1st);
    December's daytime is December's."""
    from datetime import UTC, datetime

    from server.actions.assign import month_backups

    evening = datetime(2026, 11, 30, 15, 58, tzinfo=UTC)  # 23:58 in Shanghai
    bu = engineer(db, "bu", "onsite", "urban", display_name="备班城区")
    add_backups(db, evening, bu)  # November's roster
    after_midnight = evening + timedelta(minutes=7)  # 00:05 on 1 December in Shanghai
    assert [s.id for s in month_backups(db, "onsite", "urban", evening, settings)] == [bu.id]
    assert [s.id for s in month_backups(db, "onsite", "urban", after_midnight, settings)] == [bu.id]
    morning = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 on a Tuesday: December's
    assert month_backups(db, "onsite", "urban", morning, settings) == []
