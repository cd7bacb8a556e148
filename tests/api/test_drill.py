"""A drill end to end (S14, D12): started from a script, its calls injected through the real
intake actions on their minute, handled by on-duty engineers with the real clocks, marked as
drill on every screen and notice, reported, reviewed, put on the training record, left out
of the KPIs, and cleaned up without touching a real request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from server.actions import jobs as J
from server.jobs.drill import drill_calls
from server.models import (
    AuditEntry,
    Drill,
    Job,
    Notification,
    SlaClock,
    SupportRequest,
    TrainingRecord,
)
from server.queries import kpi as kq
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.conftest import form_post, login, text_of

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, a Friday night


def test_a_drill_end_to_end(client, db, people, settings, clock):
    clock.set(T0)
    r1 = engineer(db, "r1", "remote", display_name="张伟")
    u1 = engineer(db, "u1", "onsite", "urban", display_name="李强")
    on_shift(db, T0 - timedelta(minutes=30), r1, u1, hours=12)
    real = handed_off(db, people["agent"], T0 - timedelta(minutes=20), settings)

    login(client, "manager")
    assert "五位客户" in client.get("/drills").text
    r = form_post(client, "/drills", {"script": "big_event"})
    assert r.status_code == 303
    drill = db.exec(select(Drill)).one()
    first = db.exec(select(SupportRequest).where(SupportRequest.drill_id == drill.id)).all()
    assert [(x.priority, x.status, x.is_drill) for x in first] == [("P1", "handed_off", True)]
    assert first[0].customer_name.startswith("【演练】")
    # a second drill cannot start on top of it; a junk script is refused
    assert form_post(client, "/drills", {"script": "big_event"}).status_code == 422
    # the on-duty lead's notice says DRILL first
    notes = db.exec(select(Notification).where(Notification.request_id == first[0].id)).all()
    assert notes and all(n.payload["title"].startswith("【演练 DRILL】") for n in notes)
    assert all(not n.payload["title"].startswith("【演练") for n in db.exec(
        select(Notification).where(Notification.request_id == real.id)).all())

    # the dispatcher assigns, the engineer accepts within the P1 first-response limit
    t1 = T0 + timedelta(minutes=2)
    job = J.assign_job(db, people["dispatcher"].id, first[0].id, r1.id, "remote", t1, settings)
    J.accept_job(db, r1.id, job.id, t1 + timedelta(minutes=1), t1 + timedelta(minutes=1), settings)
    db.commit()
    assert db.exec(select(Notification).where(Notification.job_id == job.id)).first() \
        .payload["title"].startswith("【演练 DRILL】")

    # the background loop brings the other calls on their minute, each exactly once
    drill_calls(db, T0 + timedelta(minutes=5), settings)
    db.commit()
    assert len(db.exec(select(SupportRequest).where(SupportRequest.drill_id == drill.id)).all()) == 3
    for _ in range(2):
        drill_calls(db, T0 + timedelta(minutes=10), settings)
        db.commit()
    calls = db.exec(select(SupportRequest).where(SupportRequest.drill_id == drill.id)).all()
    assert len(calls) == 5 and sum(c.priority == "P1" for c in calls) == 2
    assert all(c.is_drill for c in calls)

    # the board marks them
    login(client, "dispatcher")
    board = client.get("/board").text
    assert board.count('class="chip drill"') >= 5

    # the report: the accepted P1 met its first-response target, who did what is listed
    login(client, "manager")
    clock.set(T0 + timedelta(minutes=30))
    report = client.get(f"/drills/{drill.id}")
    assert report.status_code == 200
    text = text_of(report.text)
    assert "演练" in text and "张伟" in text and "已接单" in text  # labelled, not "job.accepted"
    assert "job.accepted" not in text
    assert "3.0 / 5" in text  # accepted 3 minutes after hand-off against 5 (P1)

    # KPIs never count a drill
    d = kq.dashboard(db, "2026-11", T0 + timedelta(minutes=30), settings)
    assert not set(d.report.received) & {c.id for c in calls}
    assert real.id in d.report.received

    # review, then the training record (S14); order enforced
    assert form_post(client, f"/drills/{drill.id}/record").status_code == 422
    assert form_post(client, f"/drills/{drill.id}/review", {"review": " "}).status_code == 422
    assert form_post(client, f"/drills/{drill.id}/review",
                     {"review": "响应及时；郊区现场力量不足，下季度增加备岗。"}).status_code == 303
    assert form_post(client, f"/drills/{drill.id}/record").status_code == 303
    db.rollback()
    records = db.exec(select(TrainingRecord).where(TrainingRecord.kind == "drill")).all()
    assert {x.staff_id for x in records} == {r1.id, people["dispatcher"].id}
    assert form_post(client, f"/drills/{drill.id}/record").status_code == 422  # not twice

    # clean up: drill requests gone with their jobs and clocks; the real one untouched
    drill_ids = [c.id for c in calls]
    real_clocks = len(db.exec(select(SlaClock).where(SlaClock.request_id == real.id)).all())
    assert form_post(client, f"/drills/{drill.id}/clean").status_code == 303
    db.rollback()
    assert db.exec(select(SupportRequest).where(SupportRequest.id.in_(drill_ids))).all() == []
    assert db.exec(select(Job).where(Job.request_id.in_(drill_ids))).all() == []
    assert db.exec(select(SupportRequest).where(SupportRequest.id == real.id)).one().status \
        == "handed_off"
    assert len(db.exec(select(SlaClock).where(SlaClock.request_id == real.id)).all()) == real_clocks
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "job.accepted")).first() is not None
    kept = client.get(f"/drills/{drill.id}")
    assert kept.status_code == 200 and "3.0 / 5.0" in text_of(kept.text)
    assert db.get(Drill, drill.id).summary["met"] >= 1


def test_only_the_manager_runs_drills_and_bad_input_is_refused(client, db, people):
    login(client, "dispatcher")
    assert client.get("/drills").status_code == 403
    login(client, "manager")
    r = form_post(client, "/drills", {"script": "nope"})
    assert r.status_code == 422 and "演练脚本" in text_of(r.text)
    assert client.get("/drills/999").status_code == 404
    assert db.exec(select(Drill)).all() == []
