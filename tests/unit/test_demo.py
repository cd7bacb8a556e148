"""The demo data: complete, consistent with the domain rules, loaded once, deterministic."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from server.db import make_engine
from server.demo import DEMO_LOGINS, load_demo
from server.domain.calendar import SpecialCalendar
from server.domain.intake import SYMPTOM_KINDS
from server.domain.qualification import StaffProfile, eligibility_reasons
from server.domain.roster import Assignment, Rostered, roster_violations
from server.domain.sla import deadline
from server.migrate import upgrade
from server.models import (
    ACTIVE_JOB_STATUSES,
    AppMeta,
    AuditEntry,
    Contact,
    Customer,
    Depot,
    Feedback,
    FieldFact,
    Job,
    OrderLine,
    RentalOrder,
    Roster,
    RosterBackup,
    Shift,
    SlaClock,
    Staff,
    StaffRole,
    SupportRequest,
    TrainingRecord,
    Unit,
    Venue,
)
from server.security import verify_password
from server.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 23, 10, tzinfo=SHANGHAI).astimezone(UTC)  # a Thursday night
CJK = re.compile(r"[\u4e00-\u9fff]")


def fresh_db(path):
    url = "sqlite:///" + str(path / "demo.db")
    upgrade(url)
    return make_engine(url), Settings(data_dir=path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo")
    engine, settings = fresh_db(path)
    with Session(engine) as db:
        summary = load_demo(db, NOW, settings)
        db.commit()
    with Session(engine) as db:
        yield db, settings, summary
    engine.dispose()


def count(db, model) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def staff_id(db, username) -> int:
    return db.exec(select(Staff.id).where(Staff.username == username)).one()


def test_counts_are_in_range(demo):
    db, _settings, summary = demo
    assert 35 <= count(db, Staff) <= 45
    assert 25 <= count(db, Customer) <= 35
    assert count(db, Contact) >= count(db, Customer)
    assert count(db, Venue) >= 25
    assert count(db, Depot) == 2
    assert 180 <= count(db, Unit) <= 220
    assert 50 <= count(db, RentalOrder) <= 70
    assert 30 <= db.exec(select(func.count()).where(Unit.status == "reserve")).one() <= 50
    requests = db.exec(select(SupportRequest)).all()
    open_ = [r for r in requests if r.status not in ("closed", "cancelled")]
    assert 20 <= len(open_) <= 30
    history = [r for r in requests if r.id > max(x.id for x in requests) - summary["history_requests"]]
    assert len(history) >= 60 and all(r.status == "closed" for r in history)  # KPIs (issue 16)
    assert 25 <= sum(r.status == "closed" for r in requests if r not in history) <= 35
    assert summary["requests"] + summary["history_requests"] == len(requests)
    assert summary["staff"] == count(db, Staff)


def test_demo_logins_exist_with_their_role_and_password(demo):
    db, _settings, _summary = demo
    assert [(role, user) for role, user, _pw, _label in DEMO_LOGINS] == [
        ("agent", "agent"),
        ("dispatcher", "dispatcher"),
        ("remote", "remote"),
        ("onsite", "onsite"),
        ("equipment", "equipment"),
        ("manager", "manager"),
        ("admin", "admin"),
    ]
    for role, username, password, label in DEMO_LOGINS:
        assert password == "fieldops-demo" and CJK.search(label)
        staff = db.exec(select(Staff).where(Staff.username == username)).one()
        roles = db.exec(select(StaffRole.role).where(StaffRole.staff_id == staff.id)).all()
        assert role in roles
        assert verify_password(staff.password_hash, password)
        assert CJK.search(staff.display_name)
    onsite = db.exec(select(Staff).where(Staff.username == "onsite")).one()
    assert (onsite.group, onsite.region) == ("onsite", "urban")
    # The password is hashed once and shared, so loading stays fast.
    assert len(set(db.exec(select(Staff.password_hash)).all())) == 1


def _eligible(db, settings) -> set[int]:
    hours: dict[int, float] = defaultdict(float)
    passed: set[int] = set()
    for t in db.exec(select(TrainingRecord)).all():
        if t.kind == "onboarding":
            hours[t.staff_id] += t.hours
        elif t.kind == "exam" and t.passed:
            passed.add(t.staff_id)
    today = NOW.astimezone(SHANGHAI).date()
    out = set()
    for s in db.exec(select(Staff).where(Staff.group.is_not(None))).all():
        profile = StaffProfile(
            s.id, s.birth_date, s.degree, s.support_experience_months, hours[s.id], s.id in passed
        )
        if not eligibility_reasons(profile, today, settings.roster):
            out.add(s.id)
    return out


def test_some_engineers_are_not_qualified_yet(demo):
    db, settings, _summary = demo
    engineers = db.exec(select(Staff.id).where(Staff.group.is_not(None))).all()
    assert 3 <= len(set(engineers) - _eligible(db, settings)) <= 4


def test_both_rosters_are_published_and_break_no_rule(demo):
    db, settings, _summary = demo
    cal = SpecialCalendar(tz_name=settings.time_zone)
    eligible = _eligible(db, settings)
    people = {
        s.id: Rostered(s.id, s.group, s.region)
        for s in db.exec(select(Staff).where(Staff.group.is_not(None))).all()
    }
    rosters = db.exec(select(Roster).order_by(Roster.month)).all()
    assert [r.month for r in rosters] == ["2026-11", "2026-12"]
    for roster in rosters:
        assert roster.status == "published"
        slots = cal.month_slots(int(roster.month[:4]), int(roster.month[5:]))
        assert slots[0].starts_at - roster.published_at >= timedelta(days=3)
        assert roster.published_at <= NOW
        shifts = db.exec(select(Shift).where(Shift.roster_id == roster.id)).all()
        assert {(s.day, s.kind) for s in shifts} == {slot.key for slot in slots}
        assert all(s.starts_at.tzinfo is not None for s in shifts)
        backups = set(
            db.exec(select(RosterBackup.staff_id).where(RosterBackup.roster_id == roster.id)).all()
        )
        assert 3 <= len(backups) <= 5
        assignments = [Assignment(s.staff_id, (s.day, s.kind)) for s in shifts]
        violations = roster_violations(
            slots, assignments, people, eligible, backups, settings.roster
        )
        assert [v.code for v in violations if v.severity == "error"] == []


def test_demo_engineers_are_on_duty_now_with_two_open_jobs_each(demo):
    db, _settings, _summary = demo
    for username, kind in (("onsite", "onsite"), ("remote", "remote")):
        sid = staff_id(db, username)
        on_duty = db.exec(
            select(Shift)
            .join(Roster, Roster.id == Shift.roster_id)
            .where(
                Roster.status == "published",
                Shift.staff_id == sid,
                Shift.starts_at <= NOW,
                Shift.ends_at > NOW,
            )
        ).all()
        assert len(on_duty) == 1
        jobs = db.exec(
            select(Job).where(Job.assignee_id == sid, Job.status.in_(ACTIVE_JOB_STATUSES))
        ).all()
        assert len(jobs) == 2 and {j.kind for j in jobs} == {kind}
    onsite_jobs = db.exec(
        select(Job).where(
            Job.assignee_id == staff_id(db, "onsite"), Job.status.in_(ACTIVE_JOB_STATUSES)
        )
    ).all()
    for job in onsite_jobs:
        assert db.get(SupportRequest, job.request_id).region == "urban"


def test_requests_exist_at_every_stage_and_are_consistent(demo):
    db, settings, _summary = demo
    requests = db.exec(select(SupportRequest)).all()
    statuses = {r.status for r in requests}
    assert statuses == {
        "new",
        "handed_off",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
        "cancelled",
    }
    assert {r.channel for r in requests} == {"hotline", "wechat", "wecom"}
    assert {r.priority for r in requests} == {"P1", "P2", "P3"}
    jobs = defaultdict(list)
    for j in db.exec(select(Job)).all():
        jobs[j.request_id].append(j)
    facts = defaultdict(list)
    for f in db.exec(select(FieldFact)).all():
        facts[f.job_id].append(f.kind)
        assert re.fullmatch(r"[0-9a-f-]{36}", f.id)
    feedback = {f.request_id: f for f in db.exec(select(Feedback)).all()}
    tz = SHANGHAI
    for r in requests:
        assert re.fullmatch(r"FO-\d{8}-\d{4}", r.number)
        assert r.number[3:11] == r.received_at.astimezone(tz).strftime("%Y%m%d")
        assert r.received_at <= NOW and CJK.search(r.symptom) and CJK.search(r.customer_name)
        assert re.fullmatch(r"1[3-9]\d{9}", r.phone)
        assert r.symptom_kind in SYMPTOM_KINDS and r.symptom_kind != "other", r.symptom
        # D4: the priority follows the stream
        if r.priority == "P1":
            assert r.stream_state == "live"
        elif r.priority == "P2":
            assert r.stream_state == "upcoming"
            assert r.stream_starts_at - r.received_at <= timedelta(hours=24)
        statuses_ = {j.status for j in jobs[r.id]}
        if r.status in ("new", "handed_off", "cancelled"):
            assert not jobs[r.id]
        if r.status == "assigned":
            assert statuses_ == {"offered"}
        if r.status == "in_progress":
            assert statuses_ & {"accepted", "en_route", "on_site"}
            for j in jobs[r.id]:
                if j.status == "on_site":
                    assert "check_in" in facts[j.id] and j.arrived_at is not None
        if r.status in ("resolved", "closed"):
            assert statuses_ == {"done"} and r.resolved_at is not None
        if r.status == "closed":
            assert r.id in feedback and r.closed_at == feedback[r.id].recorded_at
        order = db.get(RentalOrder, r.order_id)
        assert order.order_no == r.order_no and order.customer_id == r.customer_id
    scores = [f.score for f in feedback.values() if f.reached]
    assert all(s in (3, 4, 5) for s in scores) and sum(s >= 4 for s in scores) > len(scores) * 0.7


def test_clocks_and_timelines_follow_the_rules(demo):
    db, settings, _summary = demo
    requests = {r.id: r for r in db.exec(select(SupportRequest)).all()}
    clocks = defaultdict(dict)
    for c in db.exec(select(SlaClock)).all():
        clocks[c.request_id][c.kind] = c
    for r in requests.values():
        kinds = clocks[r.id]
        assert kinds["handoff"].started_at == r.received_at
        assert kinds["handoff"].stopped_at == r.handed_off_at
        if r.handed_off_at:
            assert kinds["resolution"].started_at == r.handed_off_at
            assert kinds["resolution"].stopped_at == (r.resolved_at or r.closed_at)
        if r.resolved_at:
            assert kinds["follow_up"].started_at == r.resolved_at
        for c in kinds.values():
            region = r.region if c.kind == "arrival" else None
            assert c.deadline_at == deadline(
                c.kind, c.started_at, r.priority, region, settings.sla, r.stream_starts_at
            )
            assert c.stopped_at is None or c.started_at <= c.stopped_at <= NOW
    entries = defaultdict(list)
    # A request's timeline; entries of no request (a unit's movements) are histories apart.
    for e in db.exec(select(AuditEntry).where(AuditEntry.request_id.is_not(None))
                     .order_by(AuditEntry.id)).all():
        entries[e.request_id].append(e)
    for rid, timeline in entries.items():
        if rid is None:  # inbound contacts not (yet) a request: their own audit entries
            continue
        assert timeline[0].action == "request.received"
        times = [e.at for e in timeline]
        assert times == sorted(times) and times[-1] <= NOW
        assert all(e.actor_id is not None for e in timeline)
        if requests[rid].status == "closed":
            assert timeline[-1].action == "feedback.recorded"
    actions = {e.action for t in entries.values() for e in t}
    assert {
        "request.received",
        "request.handed_off",
        "job.assigned",
        "job.accepted",
        "job.checked_in",
        "request.resolved",
        "feedback.recorded",
    } <= actions


def test_every_unit_is_in_exactly_one_place(demo):
    db, _settings, _summary = demo
    open_lines = defaultdict(int)
    for line in db.exec(select(OrderLine).where(OrderLine.removed_at.is_(None))).all():
        assert line.added_at is not None
        open_lines[line.unit_id] += 1
    units = db.exec(select(Unit)).all()
    assert {u.status for u in units} == {"rented", "reserve", "in_repair", "in_transit"}
    for u in units:
        if u.status == "rented":
            assert open_lines[u.id] == 1 and u.depot_id is None, u.asset_tag
        elif u.status == "reserve":
            assert open_lines[u.id] == 0 and u.depot_id is not None, u.asset_tag
        else:
            assert open_lines[u.id] == 0, u.asset_tag
    assert {u.depot_id for u in units if u.status == "reserve"} == set(
        db.exec(select(Depot.id)).all()
    )
    assert all(re.fullmatch(r"(CAM|ENC|MIX|AUD)-\d{4}", u.asset_tag) for u in units)


def test_venues_are_in_shanghai_and_some_use_gcj02(demo):
    db, _settings, _summary = demo
    venues = db.exec(select(Venue)).all()
    assert {v.region for v in venues} == {"urban", "suburban"}
    assert 1 <= sum(v.datum == "GCJ-02" for v in venues) <= 6
    for v in venues:
        assert 30.6 < v.lat < 31.9 and 120.8 < v.lon < 122.1 and CJK.search(v.address)


def test_a_second_load_is_refused_and_adds_nothing(demo):
    db, settings, _summary = demo
    before = [count(db, m) for m in (Staff, SupportRequest, Unit, Shift, AuditEntry)]
    assert load_demo(db, NOW + timedelta(days=1), settings) == {"skipped": True}
    db.flush()
    assert [count(db, m) for m in (Staff, SupportRequest, Unit, Shift, AuditEntry)] == before
    assert db.get(AppMeta, "demo_loaded").value == NOW.isoformat()


def test_the_same_now_gives_the_same_data(demo, tmp_path):
    db, _settings, _summary = demo
    engine, settings = fresh_db(tmp_path)
    with Session(engine) as other:
        load_demo(other, NOW, settings)
        other.commit()

        def snapshot(s):
            return (
                s.exec(
                    select(SupportRequest.number, SupportRequest.symptom).order_by(
                        SupportRequest.number
                    )
                ).all(),
                s.exec(select(Unit.asset_tag, Unit.status).order_by(Unit.asset_tag)).all(),
                s.exec(select(Shift.staff_id, Shift.day, Shift.kind).order_by(Shift.id)).all(),
                s.exec(select(FieldFact.id).order_by(FieldFact.id)).all(),
            )

        assert snapshot(other) == snapshot(db)
    engine.dispose()


@pytest.mark.parametrize("local_start", [
    datetime(2026, 12, 7, 13, 26),  # a Monday afternoon: office hours (D17)
    datetime(2026, 12, 1, 3, 30),  # the 1st before 08:00: last month's night shift
    datetime(2026, 10, 2, 15, 0),  # a National Day afternoon
])
def test_demo_makes_sense_whenever_it_first_starts(tmp_path, local_start):
    """Open requests with clocks that still have time left, and someone on duty in each
    group to take them, whatever the instant ``make run`` first starts."""
    from server.queries.board import board

    start = local_start.replace(tzinfo=SHANGHAI).astimezone(UTC)
    engine, settings = fresh_db(tmp_path)
    with Session(engine) as db:
        load_demo(db, start, settings)
        db.commit()
        data = board(db, start, settings)
    engine.dispose()
    assert data.rows
    breached = [(r.number, c.kind) for r in data.rows for c in r.clocks if c.state == "breached"]
    assert breached == []
    assert all(g.people for g in data.duty), [(g.group, g.region) for g in data.duty]


def test_demo_people_have_wecom_user_ids_so_a_configured_wecom_shows_alerts(demo):
    """Issue 17: engineers, dispatchers (the on-duty leads), agents and managers each have
    a WeCom user id; an alert to them then goes as a WeCom application card too."""
    from server.actions import notify

    db, _settings, _summary = demo
    people = db.exec(select(Staff.username, Staff.wecom_userid, StaffRole.role)
                     .join(StaffRole, StaffRole.staff_id == Staff.id)).all()
    ids = {u: w for u, w, _r in people}
    assert all(ids.values()) and len(set(ids.values())) == len(ids)
    assert {r for _u, _w, r in people} >= {"onsite", "remote", "dispatcher", "manager", "agent"}
    assert (ids["onsite"], ids["remote"], ids["dispatcher"]) == ("ZhangQiang", "ZhangWei",
                                                                 "WangJianGuo")
    assert ids["zhou.ting"] == "ZhouTing"
    try:
        for username in ("onsite", "remote", "dispatcher", "sun.lei"):
            queued = notify.enqueue(db, staff_id=staff_id(db, username), kind="job.assigned",
                                    title="P1", dedupe_key=f"wecom-demo:{username}")
            assert "wecom_app" in {n.channel for n in queued}, username
    finally:
        db.rollback()
