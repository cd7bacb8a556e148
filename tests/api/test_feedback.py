"""Follow-up (S6, S7, D9): the customer's feedback closes a resolved request or reopens it;
the follow-up clock stops either way, so a followed-up request never breaches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from server.actions import ActionError, FieldErrors
from server.actions import jobs as J
from server.actions.feedback import record_feedback
from server.db import utcnow
from server.jobs.sla_timers import fire_due_sla_events
from server.models import AuditEntry, Feedback, SlaEvent, SupportRequest
from tests.api.dispatch_data import clock, engineer, handed_off, on_shift
from tests.conftest import form_post, login, text_of


@pytest.fixture
def resolved(db, people, settings):
    """A request solved remotely a moment ago: 'follow_up' is running."""
    now = utcnow() - timedelta(minutes=5)
    r1 = engineer(db, "r1", "remote", display_name="张伟")
    on_shift(db, now, r1)
    req = handed_off(db, people["agent"], now, settings)
    job = J.assign_job(db, people["dispatcher"].id, req.id, r1.id, "remote", now, settings)
    J.finish_remote_job(db, r1.id, job.id, "solved", "重新设置推流密钥后恢复", now, settings)
    db.commit()
    return db.get(SupportRequest, req.id)


def actions_of(db, request_id: int) -> list[str]:
    db.expire_all()
    return [e.action for e in db.exec(select(AuditEntry).where(AuditEntry.request_id == request_id)
                                      .order_by(AuditEntry.at, AuditEntry.id)).all()]


def follow_up_events(db, request_id: int) -> list[SlaEvent]:
    follow = clock(db, request_id, "follow_up")
    return db.exec(select(SlaEvent).where(SlaEvent.clock_id == follow.id)).all()


def test_satisfied_closes_and_follow_up_never_fires(db, people, settings, resolved):
    now = utcnow()
    record_feedback(db, people["agent"].id, resolved.id, reached=True, score=5, resolved=True,
                    comment="很满意", no_feedback_reason="", now=now, settings=settings)
    db.commit()
    req = db.get(SupportRequest, resolved.id)
    assert (req.status, req.closed_at) == ("closed", now)
    assert clock(db, req.id, "follow_up").stopped_at == now
    fb = db.exec(select(Feedback).where(Feedback.request_id == req.id)).one()
    assert (fb.reached, fb.score, fb.resolved, fb.comment) == (True, 5, True, "很满意")
    assert actions_of(db, req.id)[-2:] == ["feedback.recorded", "request.closed"]
    fire_due_sla_events(db, now + timedelta(hours=25), settings)
    db.commit()
    assert follow_up_events(db, req.id) == []


def test_without_feedback_the_follow_up_clock_would_breach(db, settings, resolved):
    fire_due_sla_events(db, utcnow() + timedelta(hours=25), settings)
    db.commit()
    assert {e.level for e in follow_up_events(db, resolved.id)} == {"warning", "breach"}


@pytest.mark.parametrize(("score", "fixed"), [(3, True), (5, False)])
def test_dissatisfied_or_unresolved_reopens_with_a_running_resolution_clock(
        db, people, settings, resolved, score, fixed):
    now = utcnow()
    record_feedback(db, people["agent"].id, resolved.id, reached=True, score=score,
                    resolved=fixed, comment="仍有卡顿", no_feedback_reason="", now=now,
                    settings=settings)
    db.commit()
    req = db.get(SupportRequest, resolved.id)
    assert req.status == "handed_off" and req.closed_at is None
    resolution = clock(db, req.id, "resolution")
    assert resolution.started_at == now and resolution.stopped_at is None
    assert resolution.deadline_at > now
    assert clock(db, req.id, "follow_up").stopped_at == now
    assert actions_of(db, req.id)[-2:] == ["feedback.recorded", "request.reopened"]


def test_not_reached_needs_a_reason_and_closes_with_it(db, people, settings, resolved):
    with pytest.raises(FieldErrors) as exc:
        record_feedback(db, people["agent"].id, resolved.id, reached=False, score=None,
                        resolved=None, comment="", no_feedback_reason="  ", now=utcnow(),
                        settings=settings)
    assert set(exc.value.errors) == {"no_feedback_reason"}
    db.rollback()
    record_feedback(db, people["agent"].id, resolved.id, reached=False, score=None, resolved=None,
                    comment="", no_feedback_reason="三次致电无人接听", now=utcnow(),
                    settings=settings)
    db.commit()
    req = db.get(SupportRequest, resolved.id)
    assert (req.status, req.close_reason) == ("closed", "三次致电无人接听")


def test_a_request_that_is_not_resolved_is_refused(db, people, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings)
    with pytest.raises(ActionError):
        record_feedback(db, people["agent"].id, req.id, reached=True, score=5, resolved=True,
                        comment="", no_feedback_reason="", now=now, settings=settings)
    db.rollback()
    assert db.exec(select(Feedback)).all() == []


def test_the_screen_lists_records_and_closes(client, db, people, resolved):
    login(client, "agent")
    assert "/requests/followup" in client.get("/").text
    page = client.get("/requests/followup").text
    assert resolved.number in page and 'href="tel:13800138000"' in page
    assert "重新设置推流密钥后恢复" in page
    r = form_post(client, f"/requests/{resolved.id}/feedback",
                  {"reached": "yes", "score": "4", "resolved": "yes", "comment": "好"}, htmx=True)
    assert r.status_code == 200 and f'id="followup-{resolved.id}"' in r.text
    db.expire_all()
    assert db.get(SupportRequest, resolved.id).status == "closed"
    assert resolved.number not in client.get("/requests/followup").text


@pytest.mark.parametrize("data", [
    {},
    {"reached": "yes", "score": "7", "resolved": "yes"},
    {"reached": "yes", "score": "4"},
    {"reached": "no", "no_feedback_reason": ""},
])
def test_bad_input_answers_422_next_to_the_field_and_saves_nothing(client, db, people, resolved,
                                                                   data):
    login(client, "agent")
    r = form_post(client, f"/requests/{resolved.id}/feedback", data, htmx=True)
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text and 'class="error"' in r.text
    db.expire_all()
    assert db.get(SupportRequest, resolved.id).status == "resolved"
    assert db.exec(select(Feedback)).all() == []
    assert clock(db, resolved.id, "follow_up").stopped_at is None


def test_messages_are_in_chinese(client, people, resolved):
    login(client, "agent")
    r = form_post(client, f"/requests/{resolved.id}/feedback",
                  {"reached": "yes", "resolved": "yes"}, htmx=True)
    assert r.status_code == 422 and "1 到 5" in text_of(r.text)


def test_a_resolved_request_is_refused_again_after_closing(client, db, people, resolved):
    login(client, "manager")
    ok = {"reached": "yes", "score": "5", "resolved": "yes"}
    assert form_post(client, f"/requests/{resolved.id}/feedback", ok, htmx=True).status_code == 200
    assert form_post(client, f"/requests/{resolved.id}/feedback", ok, htmx=True).status_code == 422
    assert len(db.exec(select(Feedback)).all()) == 1


@pytest.mark.parametrize("who", ["onsite", "remote", "dispatcher"])
def test_only_agents_and_managers_follow_up(client, db, people, resolved, who):
    login(client, who)
    assert client.get("/requests/followup").status_code == 403
    r = form_post(client, f"/requests/{resolved.id}/feedback",
                  {"reached": "yes", "score": "5", "resolved": "yes"})
    assert r.status_code == 403
    db.expire_all()
    assert db.get(SupportRequest, resolved.id).status == "resolved"
