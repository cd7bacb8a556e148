"""Issue 17 + D8b: an assignment goes out on Web Push and WeCom at once; a P1 not accepted
within the first step also goes by SMS; the dispatcher sees which channel reached whom.
Here Web Push fails (the phone's push service is unreachable, as in mainland China)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from server.actions import jobs as J
from server.db import open_session, session_scope, utcnow
from server.jobs.ack_chain import ack_chain
from server.models import Notification, PushSubscription
from server.push.outbox import drain_outbox
from server.queries.notifications import for_request as notices_for_request
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.conftest import add_staff
from tests.push_receiver import Receiver

M = timedelta(minutes=1)


@pytest.fixture
def receiver():
    rx = Receiver().start()
    yield rx
    rx.stop()


@pytest.fixture
def chain_settings(china, receiver):
    subject = "mailto:night-desk@fieldops.example.cn"
    receiver.vapid_public_key, receiver.vapid_subject = china.vapid_public_key, subject
    return replace(china, push_enabled=True, push_allow_insecure_endpoints=True,
                   vapid_subject=subject)


def drain(engine, settings, now):
    with open_session(engine, write=True) as s:
        return drain_outbox(s, now, settings)


def test_web_push_fails_and_wecom_then_sms_reach_the_engineers(
        db, engine, chain_settings, receiver, weixin, sms_fake):
    settings = chain_settings
    t0 = utcnow()
    u1 = engineer(db, "u1", "onsite", "urban", display_name="张强", phone="13900000001",
                  wecom_userid="ZhangQiang")
    u2 = engineer(db, "u2", "onsite", "urban", display_name="王磊", phone="13900000002",
                  wecom_userid="WangLei")
    on_shift(db, t0, u1, u2)
    agent = add_staff(db, "agent1", "agent")
    lead = add_staff(db, "lead1", "dispatcher", display_name="调度甲", phone="13900000009")
    for person in (u1, u2):
        sub = receiver.subscription(person.username)
        db.add(PushSubscription(staff_id=person.id, endpoint=sub["endpoint"],
                                p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"],
                                created_at=t0))
    db.commit()
    receiver.answer("/push/u1", 500)
    receiver.answer("/push/u2", 500)

    req = handed_off(db, agent, t0, settings, classification="onsite", priority="P1")
    J.assign_job(db, lead.id, req.id, u1.id, "onsite", t0, settings)
    db.commit()
    drain(engine, settings, t0)
    # at once: Web Push (fails) and WeCom (arrives); no SMS yet
    assert [c["touser"] for c in weixin.cards] == ["ZhangQiang"]
    assert sms_fake.sent == []

    with session_scope(engine) as s:  # the first step (3 min for P1) passes unaccepted
        assert ack_chain(s, t0 + 3 * M, settings) == 1
    drain(engine, settings, t0 + 3 * M)
    to_u2 = [c for c in weixin.cards if c["touser"] == "WangLei"]
    assert len(to_u2) == 1 and to_u2[0]["template_card"]["jump_list"][0]["url"].startswith(
        "https://fieldops.example.cn/a/")  # the accept link
    assert len([c for c in weixin.cards if c["touser"] == "ZhangQiang"]) == 2  # + "given away"
    assert [(m["phone"], m["template"]) for m in sms_fake.sent] == [("13900000002", "SMS_0001")]
    assert "P1" in sms_fake.sent[0]["params"]["title"]
    assert sms_fake.refused == []  # the fake checked the signature, nonce and time

    db.commit()
    rows = db.exec(select(Notification).where(Notification.request_id == req.id,
                                              Notification.payload["kind"].as_string()
                                              == "job.assigned")).all()
    state = {(r.staff_id, r.channel): r.status for r in rows}
    assert state[(u1.id, "webpush")] == "pending" and state[(u1.id, "wecom_app")] == "sent"
    assert (u1.id, "sms") not in state
    assert state[(u2.id, "wecom_app")] == "sent" and state[(u2.id, "sms")] == "sent"
    # the dispatcher's view of the request: which channel reached whom
    views = notices_for_request(db, req.id)
    u2_view = next(v for v in views if v.staff_id == u2.id and v.kind == "job.assigned")
    reached = {c.channel: c.status for c in u2_view.channels}
    assert reached["sms"] == "sent" and reached["wecom_app"] == "sent"
    assert reached["webpush"] == "retrying"  # the push service failed: retried, not lost


def test_without_the_setting_no_sms_is_queued(db, engine, chain_settings, sms_fake):
    settings = replace(chain_settings, sms_enabled=False)
    t0 = utcnow()
    u1 = engineer(db, "u1", "onsite", "urban", phone="13900000001")
    u2 = engineer(db, "u2", "onsite", "urban", phone="13900000002")
    on_shift(db, t0, u1, u2)
    agent = add_staff(db, "agent1", "agent")
    lead = add_staff(db, "lead1", "dispatcher")
    req = handed_off(db, agent, t0, settings, classification="onsite", priority="P1")
    J.assign_job(db, lead.id, req.id, u1.id, "onsite", t0, settings)
    db.commit()
    with session_scope(engine) as s:
        assert ack_chain(s, t0 + 3 * M, settings) == 1
    db.commit()
    assert db.exec(select(Notification).where(Notification.channel == "sms")).all() == []
