"""The dispatcher's desk at any hour (issue 13): office hours (D17), the next step when
nobody fits (S12), P1 first (D4), flagged field facts resolved (D13-D15) with the arrival
clock, one timeline entry per event.

Time is pinned per test (a weekday afternoon, a make-up Saturday, a holiday), never the
wall clock, so the suite passes at any real date and hour.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from server.actions import ActionError, field_flags
from server.actions import assign as A
from server.actions import jobs as J
from server.actions.field import CheckInArgs, SwapArgs, check_in, swap
from server.models import (
    AuditEntry,
    FieldFact,
    Notification,
    Roster,
    RosterBackup,
    SlaClock,
    SupportRequest,
)
from server.queries import board as q
from server.queries.remote import remote_queue
from server.queries.request_page import request_page
from tests.api.dispatch_data import handed_off
from tests.api.field_world import FAR, NEAR, build_world
from tests.api.roster_team import engineer, local
from tests.conftest import add_staff, form_post, login, text_of

WEEKDAY = local(date(2026, 12, 7), 13, 26)  # a Monday, an ordinary working day
MAKEUP_SATURDAY = local(date(2026, 10, 10), 10, 0)  # 调休上班 after National Day
HOLIDAY = local(date(2026, 10, 1), 13, 26)  # National Day
WEEKDAY_NIGHT = local(date(2026, 12, 7), 19, 0)


@pytest.fixture
def crew(db):
    return {
        "remote": engineer(db, "r.li", "李远", "remote", None),
        "urban": engineer(db, "u.zhao", "赵城", "onsite", "urban"),
        "suburban": engineer(db, "s.qian", "钱郊", "onsite", "suburban"),
        "newbie": engineer(db, "r.new", "新人", "remote", None, qualified=False),
        "excluded": engineer(db, "r.ex", "不排", "remote", None, office_hours_duty=False),
    }


def _remote_ids(db, request, now, settings) -> set[int]:
    return {d.staff_id for d in J.eligible_engineers(db, request, "remote", now, settings)}


# -- office hours (D17) ------------------------------------------------------------------


def test_office_hours_on_a_working_weekday_everyone_qualified_may_take_a_job(db, people, crew, settings):
    req = handed_off(db, people["agent"], WEEKDAY, settings, priority="P1", stream_state="live")
    ids = _remote_ids(db, req, WEEKDAY, settings)
    assert ids == {crew["remote"].id}  # not the unqualified newbie, not the excluded one
    duty = J.eligible_engineers(db, req, "remote", WEEKDAY, settings)[0]
    assert duty.office_hours and duty.ends_at == local(date(2026, 12, 7), 18)
    onsite = {d.staff_id for d in J.eligible_engineers(db, req, "onsite", WEEKDAY, settings)}
    assert onsite == {crew["urban"].id}  # the request's region only
    job = J.assign_job(db, people["dispatcher"].id, req.id, crew["remote"].id, "remote", WEEKDAY,
                       settings)
    assert job.assignee_id == crew["remote"].id
    # the same engineers are not on duty in the evening (a special period, D11)
    assert _remote_ids(db, req, WEEKDAY_NIGHT, settings) == set()


def test_office_hours_on_a_makeup_saturday_but_not_on_a_holiday(db, people, crew, settings):
    req = handed_off(db, people["agent"], MAKEUP_SATURDAY, settings)
    assert _remote_ids(db, req, MAKEUP_SATURDAY, settings) == {crew["remote"].id}
    assert _remote_ids(db, req, HOLIDAY, settings) == set()
    with pytest.raises(ActionError):
        J.assign_job(db, people["dispatcher"].id, req.id, crew["remote"].id, "remote", HOLIDAY,
                     settings)


def test_office_hours_setting_and_marked_away(db, people, crew, settings):
    from dataclasses import replace

    req = handed_off(db, people["agent"], WEEKDAY, settings)
    short = replace(settings, office_hours="09:00-12:00")
    assert _remote_ids(db, req, WEEKDAY, short) == set()  # 13:26 is after these hours
    crew["remote"].away_until = WEEKDAY + timedelta(hours=1)
    db.add(crew["remote"])
    db.commit()
    assert _remote_ids(db, req, WEEKDAY, settings) == set()
    assert _remote_ids(db, req, WEEKDAY + timedelta(hours=2), settings) == {crew["remote"].id}


def test_board_labels_office_hours_people(client, clock, db, people, crew, settings):
    clock.set(WEEKDAY)
    handed_off(db, people["agent"], WEEKDAY, settings, priority="P1", stream_state="live")
    login(client, "dispatcher")
    page = text_of(client.get("/board").text)
    assert "李远" in page and "办公时间" in page
    assert "当前没有可接此单的在岗人员" not in page


# -- nobody fits: call a backup now, or raise to the lead (S12) ------------------------------


def _backups(db, *people, month="2026-12"):
    roster = Roster(month=month, status="published")
    db.add(roster)
    db.flush()
    for p in people:
        db.add(RosterBackup(roster_id=roster.id, staff_id=p.id))
    db.commit()


def test_nobody_fits_offers_backups_and_the_first_to_accept_takes_the_job(client, clock, db, people, settings):
    now = WEEKDAY_NIGHT
    b1 = add_staff(db, "b1", "onsite", display_name="备一", group="onsite", region="urban")
    b2 = add_staff(db, "b2", "onsite", display_name="备二", group="onsite", region="urban")
    far = add_staff(db, "b3", "onsite", display_name="备郊", group="onsite", region="suburban")
    _backups(db, b1, b2, far)
    req = handed_off(db, people["agent"], now, settings, classification="onsite", priority="P1")
    clock.set(now)
    login(client, "dispatcher")
    panel = text_of(client.get(f"/board/requests/{req.id}").text)
    assert "Call a backup now" in panel or "立即呼叫后备" in panel
    assert "备一" in panel and "备郊" not in panel
    answer = form_post(client, f"/board/requests/{req.id}/call-backups", {"kind": "onsite"},
                       htmx=True)
    assert answer.status_code == 200, answer.text
    db.expire_all()
    told = {n.staff_id for n in db.exec(select(Notification)
                                        .where(Notification.payload["kind"].as_string() == "job.backup_call"))}
    assert told == {b1.id, b2.id}
    call = A.open_backup_call(db, req.id, "onsite")
    job = A.accept_backup_call(db, b2.id, call.id, now + timedelta(minutes=1), settings)
    db.commit()
    assert job.assignee_id == b2.id and job.status == "accepted"
    with pytest.raises(ActionError):
        A.accept_backup_call(db, b1.id, call.id, now + timedelta(minutes=2), settings)
    first = db.exec(select(SlaClock).where(SlaClock.request_id == req.id,
                                           SlaClock.kind == "first_response")).one()
    assert first.stopped_at == now + timedelta(minutes=1)


def test_nobody_fits_and_no_backup_raises_to_the_lead(client, clock, db, people, settings):
    req = handed_off(db, people["agent"], WEEKDAY_NIGHT, settings, priority="P1")
    lead = add_staff(db, "lead2", "dispatcher", display_name="值班长")
    clock.set(WEEKDAY_NIGHT)
    login(client, "dispatcher")
    answer = form_post(client, f"/board/requests/{req.id}/raise", {}, htmx=True)
    assert answer.status_code == 200
    db.expire_all()
    assert db.exec(select(Notification).where(Notification.staff_id == lead.id)).first()
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "request.raised_to_lead")).first()


# -- P1 first in every queue (D4) ------------------------------------------------------------


def test_p1_tops_the_board_and_the_remote_queue_whatever_the_deadlines(db, people, settings):
    now = WEEKDAY_NIGHT
    agent = people["agent"]
    # a P2 whose stream starts in 32 min is due before the P1's 60-min resolution clock
    soon = handed_off(db, agent, now, settings, priority="P2", stream_state="upcoming",
                      stream_starts_at=(now + timedelta(minutes=32)).isoformat())
    p3 = handed_off(db, agent, now - timedelta(minutes=1), settings, priority="P3")
    p1 = handed_off(db, agent, now - timedelta(minutes=2), settings, priority="P1")
    later_p1 = handed_off(db, agent, now, settings, priority="P1")
    rows = q.board(db, now, settings).rows
    assert [r.id for r in rows] == [p1.id, later_p1.id, soon.id, p3.id]
    queue = remote_queue(db, people["remote"].id, now, settings)
    assert [r.id for r in queue.waiting] == [p1.id, later_p1.id, soon.id, p3.id]


def test_deadline_reads_the_same_on_the_board_and_the_page(db, people, settings):
    now = WEEKDAY_NIGHT + timedelta(microseconds=0)
    req = handed_off(db, people["agent"], now, settings, priority="P1")
    row = next(r for r in q.board(db, now, settings).rows if r.id == req.id)
    page = request_page(db, req.id, now, settings.sla)
    for view in row.clocks:
        detail = next(c for c in page.clocks if c.kind == view.kind)
        assert int(view.deadline_s) == int(detail.status.effective_deadline.timestamp())
        assert view.deadline_s == round(view.deadline_s, 3)


# -- flagged field facts and the arrival clock (D13-D15, D8c) --------------------------------


@pytest.fixture
def world(db, settings):
    return build_world(db, settings)


def _arrival(db, request_id):
    db.expire_all()
    return db.exec(select(SlaClock).where(SlaClock.request_id == request_id,
                                          SlaClock.kind == "arrival")).one()


def test_far_check_in_leaves_arrival_running_until_the_dispatcher_accepts(db, world, settings):
    w = world
    at = w.dispatched_at + timedelta(minutes=20)
    now = at + timedelta(minutes=5)
    out = check_in(db, w.engineer.id, CheckInArgs(job_id=w.job.id, lat=FAR[0], lon=FAR[1],
                                                  accuracy_m=10), at, now, settings)
    db.commit()
    assert out.status == "flagged"
    assert _arrival(db, w.request.id).stopped_at is None
    row = next(r for r in q.board(db, now, settings).rows if r.id == w.request.id)
    assert row.arrival_unconfirmed
    assert any(a.kind == "arrival" and a.request_id == w.request.id
               for a in q.board(db, now, settings).attention)
    fact = db.get(FieldFact, out.fact_id)
    with pytest.raises(ActionError):  # a rejection needs a note
        field_flags.resolve_flag(db, w.dispatcher.id, fact.id, "reject", " ", now, settings)
    field_flags.resolve_flag(db, w.dispatcher.id, fact.id, "accept", "", now + timedelta(minutes=3),
                             settings)
    db.commit()
    assert _arrival(db, w.request.id).stopped_at == at  # the check-in's device time
    assert not next(r for r in q.board(db, now, settings).rows
                    if r.id == w.request.id).arrival_unconfirmed
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "fact.resolved")).one()
    assert entry.actor_id == w.dispatcher.id and entry.details["decision"] == "accepted"
    with pytest.raises(ActionError):  # once
        field_flags.resolve_flag(db, w.dispatcher.id, fact.id, "accept", "", now, settings)


def test_near_check_in_stops_arrival_at_once(db, world, settings):
    w = world
    at = w.dispatched_at + timedelta(minutes=20)
    check_in(db, w.engineer.id, CheckInArgs(job_id=w.job.id, lat=NEAR[0], lon=NEAR[1]), at,
             at + timedelta(seconds=5), settings)
    db.commit()
    assert _arrival(db, w.request.id).stopped_at == at


def test_rejected_far_check_in_keeps_the_clock_running(client, db, world, settings):
    w = world
    at = w.dispatched_at + timedelta(minutes=20)
    out = check_in(db, w.engineer.id, CheckInArgs(job_id=w.job.id, lat=FAR[0], lon=FAR[1]), at,
                   at, settings)
    db.commit()
    login(client, "wang.jg")
    answer = form_post(client, f"/board/requests/{w.request.id}/facts/{out.fact_id}/resolve",
                       {"decision": "reject", "note": "定位在另一个场馆"}, htmx=True)
    assert answer.status_code == 200, answer.text
    assert "定位在另一个场馆" in text_of(answer.text)
    assert _arrival(db, w.request.id).stopped_at is None
    fact = db.get(FieldFact, out.fact_id)
    db.refresh(fact)
    assert fact.flag_resolution == "rejected" and fact.flag_resolved_by == w.dispatcher.id


def test_refused_swap_reads_refused_and_goes_to_the_equipment_manager(client, db, world, settings):
    w = world
    manager = add_staff(db, "eq", "equipment", display_name="设备管理员")
    at = w.dispatched_at + timedelta(minutes=30)
    out = swap(db, w.engineer.id, SwapArgs(job_id=w.job.id, unit_out=w.unit_out.asset_tag,
                                           unit_in=w.rented_elsewhere.asset_tag, reason="无法开机"),
               at, at, settings)
    db.commit()
    login(client, "wang.jg")
    page = text_of(client.get(f"/board/requests/{w.request.id}").text)
    assert "换机被拒" in page and "已更换设备" not in page
    assert w.unit_out.asset_tag in page and w.rented_elsewhere.asset_tag in page and "无法开机" in page
    with pytest.raises(ActionError):  # a refused swap is not simply accepted
        field_flags.resolve_flag(db, w.dispatcher.id, out.fact_id, "accept", "", at, settings)
    answer = form_post(client, f"/board/requests/{w.request.id}/facts/{out.fact_id}/resolve",
                       {"decision": "equipment"}, htmx=True)
    assert answer.status_code == 200, answer.text
    db.rollback()  # a fresh snapshot: what the server committed
    assert db.exec(select(Notification).where(Notification.staff_id == manager.id)).first()
    assert db.get(FieldFact, out.fact_id).flag_resolution == "equipment"


# -- one timeline entry per event ------------------------------------------------------------


def _actions(db, request_id, now, settings) -> list[str]:
    db.expire_all()
    return [t.action for t in request_page(db, request_id, now, settings.sla).timeline]


def test_timeline_one_entry_per_event_phone_accept_and_done(client, db, settings):
    w = build_world(db, settings, job_status="offered")
    login(client, "zhang.qiang")
    from tests.api.field_world import done, mutation, push, results

    at = w.dispatched_at + timedelta(minutes=1)
    accepted = mutation("accept", w.job.id, at)
    assert results(push(client, [accepted, done(w.job.id, at + timedelta(minutes=30))]))
    actions = _actions(db, w.request.id, at + timedelta(hours=1), settings)
    assert actions.count("job.accepted") == 1 and "fact.accept" not in actions
    assert actions.count("job.done") == 1 and "request.resolved" not in actions
    assert "fact.done" not in actions
    item = next(t for t in request_page(db, w.request.id, at, settings.sla).timeline
                if t.action == "job.accepted")
    assert item.fact is not None and item.actor == "张强"  # who, and the phone's fact


def test_timeline_one_entry_for_a_remote_escalation(db, people, settings):
    now = WEEKDAY_NIGHT
    remote = add_staff(db, "r9", "remote", display_name="远程九", group="remote")
    from tests.api.dispatch_data import on_shift

    on_shift(db, now, remote)
    req = handed_off(db, people["agent"], now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, remote.id, "remote", now, settings)
    J.finish_remote_job(db, remote.id, job.id, "needs_onsite", "重启无效，需要上门",
                        now + timedelta(minutes=5), settings)
    db.commit()
    actions = _actions(db, req.id, now + timedelta(minutes=6), settings)
    assert actions.count("request.escalated") == 1 and "job.finished" not in actions
    assert db.get(SupportRequest, req.id).classification == "onsite"


def test_a_called_backup_takes_the_job_from_my_shifts(client, clock, db, people, settings):
    now = WEEKDAY_NIGHT
    clock.set(now)
    b1 = add_staff(db, "b1", "onsite", display_name="备一", group="onsite", region="urban")
    _backups(db, b1)
    req = handed_off(db, people["agent"], now, settings, classification="onsite", priority="P1")
    call = A.call_backups(db, people["dispatcher"].id, req.id, "onsite", now, settings)
    db.commit()
    login(client, "b1")
    page = text_of(client.get("/my/shifts").text)
    assert req.number in page and "立即需要后备" in page
    answer = form_post(client, f"/my/shifts/job-calls/{call.id}/accept")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/field/jobs/")
    assert req.number not in text_of(client.get("/my/shifts").text)


def test_alerts_one_line_per_notice_and_no_device_said_once_per_person(client, clock, db, people, settings):
    from tests.api.dispatch_data import on_shift

    now = WEEKDAY_NIGHT
    clock.set(now)
    remote = add_staff(db, "r8", "remote", display_name="远程八", group="remote")
    on_shift(db, now, remote)
    req = handed_off(db, people["agent"], now, settings)
    for minute in range(4):  # four notices to a person without any device
        job = J.assign_job(db, people["dispatcher"].id, req.id, remote.id, "remote",
                           now + timedelta(minutes=minute), settings)
        job.status = "cancelled"
        db.add(job)
        db.flush()
    db.execute(Notification.__table__.update().where(Notification.channel == "webpush",
                                                     Notification.staff_id == remote.id)
               .values(status="no_device"))
    db.commit()
    login(client, "dispatcher")
    html = client.get(f"/push/requests/{req.id}/notifications").text
    assert html.count("此人没有开启提醒的设备") == 1
    person = html[html.index("远程八"):]
    assert person.count('class="notice notice-') == 4  # one line each


def test_the_manager_excludes_someone_from_office_hours_or_marks_them_away(client, clock, db, people, crew, settings):
    clock.set(WEEKDAY)
    req = handed_off(db, people["agent"], WEEKDAY, settings)
    login(client, "manager")
    answer = form_post(client, f"/team/{crew['remote'].id}/office-hours", {"counts": "1", "away": "1"})
    assert answer.status_code == 303
    db.rollback()
    assert _remote_ids(db, req, WEEKDAY, settings) == set()
    form_post(client, f"/team/{crew['remote'].id}/office-hours", {"counts": "1"})
    db.rollback()
    assert _remote_ids(db, req, WEEKDAY, settings) == {crew["remote"].id}
    form_post(client, f"/team/{crew['remote'].id}/office-hours", {})
    db.rollback()
    assert _remote_ids(db, req, WEEKDAY, settings) == set()
    assert "办公时间" in text_of(client.get(f"/team/{crew['remote'].id}").text)


def test_a_refused_swap_reads_in_the_readers_language(client, db, world, settings):
    w = world
    at = w.dispatched_at + timedelta(minutes=30)
    swap(db, w.engineer.id, SwapArgs(job_id=w.job.id, unit_out=w.unit_out.asset_tag,
                                     unit_in=w.rented_elsewhere.asset_tag), at, at, settings)
    w.dispatcher.locale = "en"
    db.add(w.dispatcher)
    db.commit()
    login(client, "wang.jg")
    html = client.get(f"/board/requests/{w.request.id}").text
    refusal = html[html.index('class="error refusal"'):]
    refusal = refusal[:refusal.index("</span>")]
    assert w.rented_elsewhere.asset_tag in refusal and "rented" in refusal.lower()
    assert not re.search(r"[\u4e00-\u9fff]", refusal), refusal
