"""Decline a job (D8b: it moves on along the chain at once) and "cannot fix here": both
reach the dispatcher (timeline and notice), offline-capable like every field action."""

from __future__ import annotations

from sqlmodel import select

from server.actions import jobs as J
from server.db import utcnow
from server.models import AuditEntry, FieldFact, Job, Notification
from tests.api.dispatch_data import handed_off
from tests.api.field_world import build_world, mutation, push, results
from tests.api.test_ack_chain import build_team, jobs_of
from tests.conftest import login


def notices(db, kind: str) -> list[int]:
    db.commit()
    db.expire_all()
    return sorted(n.staff_id for n in db.exec(select(Notification)).all()
                  if n.channel == "webpush" and n.payload["kind"] == kind)


def test_a_declined_job_goes_to_the_next_engineer_at_once(client, db, settings):
    now = utcnow()
    team = build_team(db, now)
    req = handed_off(db, team["agent"], now, settings, classification="onsite", priority="P2")
    job = J.assign_job(db, team["lead1"].id, req.id, team["u1"].id, "onsite", now, settings)
    db.commit()
    login(client, "u1")
    m = mutation("decline", job.id, reason="busy")
    r = results(push(client, [m]))[0]
    assert r["status"] == "applied", r
    assert "下一位工程师" in r["message"]
    u1, u2 = team["u1"].id, team["u2"].id
    assert jobs_of(db, req.id) == [(u1, "declined", 1), (u2, "offered", 1)]  # not 10 min later
    assert notices(db, "job.declined") == sorted([team["lead1"].id, team["lead2"].id])
    note = next(n for n in db.exec(select(Notification)).all()
                if n.payload["kind"] == "job.declined" and n.channel == "webpush")
    assert "正在处理其他工单" in note.payload["body"] and req.number in note.payload["title"]
    actions = [e.action for e in db.exec(select(AuditEntry).where(
        AuditEntry.request_id == req.id).order_by(AuditEntry.id)).all()]
    assert "job.declined" in actions and "job.ack_timeout" in actions
    desk = client
    desk.cookies.clear()
    login(desk, "lead1")
    timeline = desk.get(f"/board/requests/{req.id}").text
    assert "工程师已拒单" in timeline and "正在处理其他工单" in timeline
    # sent again (the reply was lost): nothing moves twice
    client.cookies.clear()
    login(client, "u1")
    again = results(push(client, [m]))
    assert again[0]["replayed"]
    assert len(jobs_of(db, req.id)) == 2


def test_an_accepted_job_cannot_be_declined_from_the_phone(client, db, settings):
    world = build_world(db, settings)  # accepted
    login(client, "zhang.qiang")
    r = results(push(client, [mutation("decline", world.job.id, reason="unwell")]))[0]
    assert r["status"] == "rejected" and "调度" in r["message"]
    db.expire_all()
    assert db.get(Job, world.job.id).status == "accepted"


def test_cannot_fix_here_reaches_the_dispatcher(client, db, settings):
    world = build_world(db, settings, job_status="on_site")
    login(client, "zhang.qiang")
    m = mutation("cannot_fix", world.job.id, need="second_engineer", note="机柜太重，一人搬不动")
    r = results(push(client, [m]))[0]
    assert r["status"] == "applied", r
    assert notices(db, "job.cannot_fix") == [world.dispatcher.id]
    fact = db.get(FieldFact, m["id"])
    assert fact.kind == "cannot_fix" and fact.data["need"] == "second_engineer"
    assert db.get(Job, world.job.id).status == "on_site"  # still theirs; the dispatcher decides
    client.cookies.clear()
    login(client, "wang.jg")
    timeline = client.get(f"/board/requests/{world.request.id}").text
    assert "现场无法修复" in timeline and "需要第二名工程师" in timeline
    assert "机柜太重" in timeline


def test_done_asks_stream_back_only_when_a_stream_is_affected(client, db, settings):
    world = build_world(db, settings, job_status="on_site")
    login(client, "zhang.qiang")
    page = client.get(f"/field/jobs/{world.job.id}").text
    assert 'name="stream_back"' in page  # live now
    r = results(push(client, [mutation("done", world.job.id, customer_name="李明")]))[0]
    assert r["status"] == "rejected"
    request = world.request
    request.stream_state = "none"
    db.add(request)
    db.commit()
    page = client.get(f"/field/jobs/{world.job.id}").text
    assert 'name="stream_back"' not in page
    r = results(push(client, [mutation("done", world.job.id, customer_name="李明")]))[0]
    assert r["status"] == "applied", r


def test_cannot_fix_for_want_of_a_unit_asks_the_equipment_desk_for_a_spare_once(
    client, db, settings
):
    """Offline in a basement, "cannot fix here: needs a swap unit" is the phone's way to
    ask for a spare (S15): after sync it waits in the equipment manager's queue, once,
    however often the phone resends it."""
    from server.models import SpareRequest

    world = build_world(db, settings, job_status="on_site")
    login(client, "zhang.qiang")
    m = mutation("cannot_fix", world.job.id, need="swap_unit", note="主板烧了")
    assert results(push(client, [m]))[0]["status"] == "applied"
    assert results(push(client, [m]))[0]["status"] == "applied"  # a resend: the same answer
    db.expire_all()
    spares = db.exec(select(SpareRequest).where(
        SpareRequest.request_id == world.request.id)).all()  # fmt: skip
    assert len(spares) == 1
    assert (spares[0].source, spares[0].job_id) == ("engineer", world.job.id)
    assert "主板烧了" in spares[0].fault
    other = mutation("cannot_fix", world.job.id, need="swap_unit", note="再催一下")
    assert results(push(client, [other]))[0]["status"] == "applied"
    db.expire_all()
    assert len(db.exec(select(SpareRequest).where(
        SpareRequest.request_id == world.request.id)).all()) == 1  # fmt: skip
