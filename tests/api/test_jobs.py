"""Job actions (D4-D11): assign only to the right people on duty, reassign, accept,
escalate, finish remote work, cancel; and the same through the board and the tablet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from server.actions import ActionError
from server.actions import jobs as J
from server.db import utcnow
from server.i18n import render
from server.models import (
    AuditEntry,
    ChangeRecord,
    Job,
    Notification,
    SlaClock,
    SupportRequest,
)
from tests.api.dispatch_data import call_in, clock, engineer, handed_off, on_shift
from tests.api.markup import buttons
from tests.conftest import form_post, login, text_of


@pytest.fixture
def team(db, people, settings):
    """On duty now: two remote, one urban and one suburban onsite; one remote off duty."""
    now = utcnow()
    crew = {
        "r1": engineer(db, "r1", "remote", display_name="张伟"),
        "r2": engineer(db, "r2", "remote", display_name="李娜"),
        "u1": engineer(db, "u1", "onsite", "urban", display_name="张强"),
        "s1": engineer(db, "s1", "onsite", "suburban", display_name="梁志刚"),
        "off": engineer(db, "off", "remote", display_name="赵敏"),
    }
    crew["shifts"] = on_shift(db, now, crew["r1"], crew["r2"], crew["u1"], crew["s1"])
    return crew


def refusal(exc: pytest.ExceptionInfo) -> str:
    return render(exc.value.message)


def actions_of(db, request_id: int) -> list[str]:
    db.expire_all()
    return [e.action for e in db.exec(
        select(AuditEntry).where(AuditEntry.request_id == request_id)
        .order_by(AuditEntry.at, AuditEntry.id)).all()]


# -- assign (D11) ---------------------------------------------------------------------------


def test_assign_only_to_people_on_duty_in_the_right_group_and_region(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings, classification="onsite")
    d = people["dispatcher"].id
    with pytest.raises(ActionError) as exc:
        J.assign_job(db, d, req.id, team["off"].id, "remote", now, settings)
    assert "赵敏当前不在岗" in refusal(exc)
    with pytest.raises(ActionError) as exc:
        J.assign_job(db, d, req.id, team["r1"].id, "onsite", now, settings)
    assert "张伟在远程组值班，不属于现场组" in refusal(exc)
    with pytest.raises(ActionError) as exc:
        J.assign_job(db, d, req.id, team["s1"].id, "onsite", now, settings)
    assert "梁志刚负责郊区区域；该场馆位于市区区域" in refusal(exc)
    db.rollback()
    assert db.exec(select(Job)).all() == []

    job = J.assign_job(db, d, req.id, team["u1"].id, "onsite", now, settings)
    db.commit()
    assert (job.status, job.kind, job.assignee_id, job.assigned_by) == ("offered", "onsite", team["u1"].id, d)
    assert db.get(SupportRequest, req.id).status == "assigned"
    arrival = clock(db, req.id, "arrival")  # D5: P2 urban, 60 minutes from dispatch
    assert arrival.started_at == now and arrival.deadline_at == now + timedelta(minutes=60)
    note = db.exec(select(Notification).where(Notification.staff_id == team["u1"].id)).all()
    assert {n.dedupe_key for n in note} == {f"webpush:job:{job.id}:assigned", f"wecom:job:{job.id}:assigned"}
    assert all(n.urgency == "normal" and n.payload["job_id"] == job.id for n in note)
    assert actions_of(db, req.id)[-1] == "job.assigned"
    changes = db.exec(select(ChangeRecord).where(ChangeRecord.entity == "job")).all()
    assert [c.staff_id for c in changes] == [team["u1"].id]


def test_a_second_job_of_the_same_kind_is_refused_and_the_arrival_clock_is_regional(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings, classification="onsite", priority="P1",
                     region="suburban", stream_state="live")
    d = people["dispatcher"].id
    J.assign_job(db, d, req.id, team["s1"].id, "onsite", now, settings)
    assert clock(db, req.id, "arrival").deadline_at == now + timedelta(minutes=90)  # P1 suburban
    # D8a: a live stream also gets remote guidance at once
    J.assign_job(db, d, req.id, team["r1"].id, "remote", now, settings)
    with pytest.raises(ActionError) as exc:
        J.assign_job(db, d, req.id, team["r2"].id, "remote", now, settings)
    assert "改派" in refusal(exc)
    urgent = db.exec(select(Notification.urgency).where(Notification.staff_id == team["r1"].id)).all()
    assert set(urgent) == {"high"}  # D4: P1 is pushed with high urgency


def test_a_request_not_yet_handed_off_cannot_be_assigned(db, people, team, settings):
    from server.actions.requests import record_request
    from tests.api.dispatch_data import FORM

    now = utcnow()
    req = record_request(db, people["agent"].id, FORM, now, settings)
    with pytest.raises(ActionError) as exc:
        J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", now, settings)
    assert "尚未转交" in refusal(exc)


def test_a_called_in_backup_can_be_assigned_and_the_absent_person_cannot(db, people, team, settings):
    now = utcnow()
    backup = engineer(db, "bk", "remote", display_name="钱坤")
    call_in(db, team["shifts"][0], backup, people["manager"], now)  # r1 fell ill
    req = handed_off(db, people["agent"], now, settings)
    eligible = {d.staff_id: d.called_in for d in J.eligible_engineers(db, req, "remote", now, settings)}
    assert eligible == {backup.id: True, team["r2"].id: False}
    with pytest.raises(ActionError):
        J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, backup.id, "remote", now, settings)
    assert job.assignee_id == backup.id


# -- reassign ---------------------------------------------------------------------------


def test_reassign_keeps_the_old_job_and_tells_both_people(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings)
    d = people["dispatcher"].id
    first = J.assign_job(db, d, req.id, team["r1"].id, "remote", now, settings)
    J.accept_job(db, team["r1"].id, first.id, now, now, settings)
    later = now + timedelta(minutes=2)
    second = J.reassign_job(db, d, first.id, team["r2"].id, later, settings)
    db.commit()
    jobs = db.exec(select(Job).where(Job.request_id == req.id).order_by(Job.id)).all()
    assert [(j.assignee_id, j.status) for j in jobs] == [(team["r1"].id, "reassigned"),
                                                         (team["r2"].id, "offered")]
    assert jobs[0].accepted_at == now and jobs[0].finished_at == later
    assert second.id == jobs[1].id
    assert db.get(SupportRequest, req.id).status == "assigned"  # waiting for r2 to accept
    kinds = {(n.staff_id, n.payload["kind"]) for n in db.exec(select(Notification)).all()}
    assert (team["r1"].id, "job.reassigned") in kinds and (team["r2"].id, "job.assigned") in kinds
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "job.reassigned")).one()
    assert entry.details["from_id"] == team["r1"].id and entry.details["assignee_id"] == team["r2"].id
    with pytest.raises(ActionError) as exc:  # the old job is history now
        J.reassign_job(db, d, first.id, team["r1"].id, later, settings)
    assert "不在进行中" in refusal(exc)
    with pytest.raises(ActionError):  # seen from another request's screen: refused
        J.reassign_job(db, d, second.id, team["r1"].id, later, settings, request_id=req.id + 1)
    with pytest.raises(ActionError) as exc:
        J.reassign_job(db, d, second.id, team["r2"].id, later, settings)
    assert "已分派给李娜" in refusal(exc)


# -- accept (D8b, D8c) ------------------------------------------------------------------


def test_accept_stops_first_response_at_the_given_time_and_is_idempotent(db, people, team, settings):
    t0 = utcnow() - timedelta(minutes=10)
    req = handed_off(db, people["agent"], t0, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", t0, settings)
    db.commit()
    at = t0 + timedelta(minutes=2)  # accepted on the phone, synced later
    now = t0 + timedelta(minutes=9)
    with pytest.raises(ActionError) as exc:
        J.accept_job(db, team["r2"].id, job.id, at, now, settings)
    assert "已分派给其他人" in refusal(exc)
    J.accept_job(db, team["r1"].id, job.id, at, now, settings)
    db.commit()
    first = clock(db, req.id, "first_response")
    assert first.stopped_at == at
    assert db.get(Job, job.id).accepted_at == at
    assert db.get(SupportRequest, req.id).status == "in_progress"
    entries = db.exec(select(AuditEntry).where(AuditEntry.action == "job.accepted")).all()
    assert [(e.at, e.actor_id) for e in entries] == [(at, team["r1"].id)]

    again = J.accept_job(db, team["r1"].id, job.id, at + timedelta(minutes=5), now, settings)
    db.commit()
    assert again.accepted_at == at and clock(db, req.id, "first_response").stopped_at == at
    assert len(db.exec(select(AuditEntry).where(AuditEntry.action == "job.accepted")).all()) == 1


def test_accept_with_an_impossible_device_time_uses_the_server_time(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", now, settings)
    J.accept_job(db, team["r1"].id, job.id, now + timedelta(hours=5), now, settings)
    db.commit()
    assert clock(db, req.id, "first_response").stopped_at == now
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "job.accepted")).one()
    assert entry.details["flagged"] is True


def test_a_reassigned_or_cancelled_job_cannot_be_accepted(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", now, settings)
    J.reassign_job(db, people["dispatcher"].id, job.id, team["r2"].id, now, settings)
    with pytest.raises(ActionError) as exc:
        J.accept_job(db, team["r1"].id, job.id, now, now, settings)
    assert "已改派给他人" in refusal(exc)


# -- escalate and finish remote work (D8) ----------------------------------------------------


def test_escalate_to_onsite_keeps_the_whole_history(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", now, settings)
    J.accept_job(db, team["r1"].id, job.id, now, now, settings)
    later = now + timedelta(minutes=31)
    J.escalate_to_onsite(db, people["dispatcher"].id, job.id, later, settings)
    db.commit()
    req = db.get(SupportRequest, req.id)
    assert (req.classification, req.status) == ("onsite", "handed_off")  # ready for onsite
    assert db.get(Job, job.id).status == "escalated"
    assert actions_of(db, req.id) == ["request.received", "request.handed_off", "job.assigned",
                                      "job.accepted", "request.escalated"]
    assert clock(db, req.id, "resolution").stopped_at is None  # the customer still waits
    onsite = J.assign_job(db, people["dispatcher"].id, req.id, team["u1"].id, "onsite", later,
                          settings)
    assert onsite.kind == "onsite" and clock(db, req.id, "arrival").started_at == later
    with pytest.raises(ActionError):
        J.escalate_request(db, people["dispatcher"].id, req.id, later, settings)


def test_finish_remote_solved_resolves_and_starts_follow_up(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings, classification="onsite", priority="P1",
                     stream_state="live")
    d = people["dispatcher"].id
    onsite = J.assign_job(db, d, req.id, team["u1"].id, "onsite", now, settings)
    remote = J.assign_job(db, d, req.id, team["r1"].id, "remote", now, settings)
    done = now + timedelta(minutes=12)
    J.finish_remote_job(db, team["r1"].id, remote.id, "solved", "重新设置推流密钥后恢复", done,
                        settings, steps_done=["push.key", "push.network"])
    db.commit()
    req = db.get(SupportRequest, req.id)
    assert (req.status, req.resolved_at) == ("resolved", done)
    assert clock(db, req.id, "resolution").stopped_at == done
    assert clock(db, req.id, "first_response").stopped_at == done  # talking to them was contact
    assert clock(db, req.id, "arrival").stopped_at == done
    follow = clock(db, req.id, "follow_up")
    assert follow.started_at == done and follow.stopped_at is None
    assert db.get(Job, onsite.id).status == "cancelled"  # nobody needs to drive there now
    told = db.exec(select(Notification).where(Notification.staff_id == team["u1"].id,
                                              Notification.channel == "webpush")).all()
    assert [n.payload["kind"] for n in told] == ["job.assigned", "job.cancelled"]
    finished = db.exec(select(AuditEntry).where(AuditEntry.action == "job.finished")).one()
    assert finished.details["steps"] == ["push.key", "push.network"]


def test_finish_remote_needs_onsite_needs_notes_and_escalates(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", now, settings)
    with pytest.raises(ActionError) as exc:
        J.finish_remote_job(db, team["r1"].id, job.id, "needs_onsite", " ", now, settings)
    assert exc.value.field == "notes"
    with pytest.raises(ActionError):
        J.finish_remote_job(db, team["r1"].id, job.id, "fixed", "", now, settings)
    J.finish_remote_job(db, team["r1"].id, job.id, "needs_onsite", "重启无效，疑似硬件故障", now,
                        settings)
    db.commit()
    job = db.get(Job, job.id)
    assert (job.status, job.outcome, job.notes) == ("escalated", "needs_onsite", "重启无效，疑似硬件故障")
    assert db.get(SupportRequest, req.id).classification == "onsite"
    # the dispatcher who assigned it must know
    kinds = db.exec(select(Notification.payload).where(
        Notification.staff_id == people["dispatcher"].id)).all()
    assert any(p["kind"] == "job.escalated" for p in kinds)


def test_cancel_needs_a_reason_stops_the_clocks_and_ends_the_jobs(db, people, team, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", now, settings)
    with pytest.raises(ActionError) as exc:
        J.cancel_request(db, people["dispatcher"].id, req.id, "  ", now, settings)
    assert "取消原因" in refusal(exc)
    J.cancel_request(db, people["dispatcher"].id, req.id, "客户已自行解决", now, settings)
    db.commit()
    req = db.get(SupportRequest, req.id)
    assert (req.status, req.close_reason) == ("cancelled", "客户已自行解决")
    assert db.get(Job, job.id).status == "cancelled"
    running = db.exec(select(SlaClock).where(SlaClock.request_id == req.id,
                                             SlaClock.stopped_at.is_(None))).all()
    assert running == []
    with pytest.raises(ActionError) as exc:
        J.assign_job(db, people["dispatcher"].id, req.id, team["r2"].id, "remote", now, settings)
    assert "已取消" in refusal(exc)


# -- through the screens --------------------------------------------------------------------


def test_board_refuses_an_off_duty_engineer_in_chinese_and_saves_nothing(client, db, people, team, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    login(client, "dispatcher")
    r = form_post(client, f"/board/requests/{req.id}/assign",
                  {"kind": "remote", "engineer_id": team["off"].id, "origin": "board"}, htmx=True)
    assert r.status_code == 422
    assert "赵敏当前不在岗" in text_of(r.text)
    assert 'aria-invalid="true"' in r.text
    db.expire_all()
    assert db.exec(select(Job)).all() == []
    r = form_post(client, f"/board/requests/{req.id}/assign",
                  {"kind": "remote", "engineer_id": team["r1"].id, "origin": "board"}, htmx=True)
    assert r.status_code == 200 and "已分派给张伟" in text_of(r.text)
    # the form only ever offers people on duty in the right group
    r = client.get(f"/board/requests/{req.id}/assign?kind=remote&origin=board",
                   headers={"hx-request": "true"})
    assert "李娜" in r.text and "赵敏" not in r.text and "张强" not in r.text


def test_request_page_reassigns_escalates_pauses_and_cancels(client, db, people, team, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", utcnow(), settings)
    db.commit()
    login(client, "dispatcher")
    url = f"/board/requests/{req.id}"
    r = form_post(client, url + "/assign", {"job_id": job.id, "engineer_id": team["r2"].id}, htmx=True)
    assert r.status_code == 200 and 'id="request-detail"' in r.text
    r = form_post(client, url + "/clocks/resolution/pause", {"reason": "联系不上客户"}, htmx=True)
    assert r.status_code == 200
    assert "联系不上客户" in text_of(r.text) and "计时已暂停" in text_of(r.text)
    r = form_post(client, url + "/clocks/resolution/pause", {"reason": "联系不上客户"}, htmx=True)
    assert r.status_code == 422 and "该计时已暂停" in text_of(r.text)
    r = form_post(client, url + "/clocks/resolution/resume", {}, htmx=True)
    assert r.status_code == 200 and "计时已恢复" in text_of(r.text)
    r = form_post(client, url + "/escalate", {}, htmx=True)
    assert r.status_code == 200 and "已升级为现场处理" in text_of(r.text)
    r = form_post(client, url + "/cancel", {"reason": ""}, htmx=True)
    assert r.status_code == 422 and "请填写取消原因" in text_of(r.text)
    r = form_post(client, url + "/cancel", {"reason": "客户取消"}, htmx=True)
    assert r.status_code == 200
    page = text_of(client.get(url).text)
    for step in ("收到需求", "已转交技术服务部", "已分派工单", "工单已改派", "计时已暂停",
                 "计时已恢复", "已升级为现场处理", "已取消"):
        assert step in page, step


def test_remote_engineer_takes_works_and_solves_a_request_on_the_tablet(client, db, people, team, settings):
    req = handed_off(db, people["agent"], utcnow(), settings, device_type="mixer",
                     symptom="导播台电源故障，无法开机", symptom_kind="no_power")
    login(client, "r1")
    queue = text_of(client.get("/remote").text)
    assert "等待远程工程师" in queue and req.number in queue and "接下此单" in queue
    r = form_post(client, f"/remote/requests/{req.id}/take")
    assert r.status_code == 303
    job_url = r.headers["location"]
    page = client.get(job_url).text
    assert 'href="tel:13800138000"' in page
    assert page.index("无法开机") < page.index("信号中断")  # the symptom's checklist first
    assert "外置电源适配器" in page  # the mixer's own step
    job_id = int(job_url.rsplit("/", 1)[1])
    r = form_post(client, f"{job_url}/finish",
                  {"outcome": "save", "notes": "已请客户更换电源", "steps": ["power.source"]}, htmx=True)
    assert r.status_code == 200 and "备注已保存" in text_of(r.text)
    assert 'value="power.source" checked' in r.text
    r = form_post(client, f"{job_url}/finish", {"outcome": "needs_onsite", "notes": ""}, htmx=True)
    assert r.status_code == 422 and "请写下已尝试的操作" in text_of(r.text)
    r = form_post(client, f"{job_url}/finish", {"outcome": "solved", "notes": "更换适配器后恢复"}, htmx=True)
    assert r.status_code == 200 and "已解决" in text_of(r.text)
    db.expire_all()
    assert db.get(Job, job_id).status == "done"
    assert db.get(SupportRequest, req.id).status == "resolved"


def test_escalation_is_offered_prominently_after_30_minutes(client, db, people, team, settings):
    start = utcnow() - timedelta(minutes=35)
    req = handed_off(db, people["agent"], start, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", start, settings)
    J.accept_job(db, team["r1"].id, job.id, start, start, settings)
    db.commit()
    login(client, "r1")
    page = text_of(client.get(f"/remote/jobs/{job.id}").text)
    assert "已处理 35 分钟仍未解决" in page and "升级为现场处理" in page


def test_needs_onsite_asks_for_confirmation_on_both_buttons(client, db, people, team, settings):
    """Issue 13: "needs onsite" (the prominent offer after 30 minutes and the button under
    the notes) asks before it sends the request onsite; "solved" and "save" do not ask."""
    start = utcnow() - timedelta(minutes=35)
    req = handed_off(db, people["agent"], start, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", start, settings)
    J.accept_job(db, team["r1"].id, job.id, start, start, settings)
    db.commit()
    login(client, "r1")
    finish = f"/remote/jobs/{job.id}/finish"
    page = [b for b in buttons(client.get(f"/remote/jobs/{job.id}").text) if b["action"] == finish]
    onsite = [b for b in page if b.get("value") == "needs_onsite"]
    assert [b["text"] for b in onsite] == ["升级为现场处理", "需现场处理"]
    assert [b.get("data-confirm") for b in onsite] == ["转给现场工程师处理？您的记录会一并转交。"] * 2
    others = [b for b in page if b.get("value") in ("save", "solved")]
    assert len(others) == 2 and not any("data-confirm" in b for b in others)
    db.expire_all()
    assert db.get(Job, job.id).status == "accepted"


def test_off_duty_engineer_sees_the_queue_but_cannot_take(client, db, people, team, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    login(client, "off")
    assert "您当前不在岗" in text_of(client.get("/remote").text)
    r = form_post(client, f"/remote/requests/{req.id}/take")
    assert r.status_code == 422 and "赵敏当前不在岗" in text_of(r.text)


def test_roles_reach_only_their_screens(client, people):
    for username, board, remote in (("dispatcher", 200, 403), ("manager", 200, 403),
                                    ("remote", 403, 200), ("agent", 403, 403)):
        client.cookies.clear()
        login(client, username)
        assert client.get("/board").status_code == board, username
        assert client.get("/remote").status_code == remote, username


def test_board_side_panel_reassigns_and_escalates(client, db, people, team, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    first = J.assign_job(db, people["dispatcher"].id, req.id, team["r1"].id, "remote", utcnow(), settings)
    db.commit()
    login(client, "dispatcher")
    board = client.get("/board").text
    row = board[board.index(f'data-r="{req.id}"'):]
    row = row[:row.index("</tr>")]
    assert f'data-panel="/board/requests/{req.id}/panel"' in row and "改派" in row
    panel = client.get(f"/board/requests/{req.id}/panel", headers={"hx-request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "张伟" in text_of(panel.text) and "改派…" in text_of(panel.text)
    r = form_post(client, f"/board/requests/{req.id}/assign",
                  {"job_id": first.id, "engineer_id": team["r2"].id, "origin": "board"}, htmx=True)
    assert r.status_code == 200 and "已分派给李娜" in text_of(r.text)
    db.expire_all()
    assert db.get(Job, first.id).status == "reassigned"
    r = form_post(client, f"/board/requests/{req.id}/assign",
                  {"job_id": first.id, "engineer_id": team["r1"].id, "origin": "board"}, htmx=True)
    assert r.status_code == 422 and "此工单已不在进行中" in text_of(r.text)
    r = form_post(client, f"/board/requests/{req.id}/escalate", {"origin": "board"}, htmx=True)
    assert r.status_code == 200 and "已升级为现场处理" in text_of(r.text)
    db.rollback()  # end this session's read snapshot (SQLite WAL) and read again
    assert db.get(SupportRequest, req.id).classification == "onsite"
