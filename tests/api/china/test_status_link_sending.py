"""D19 for every request: on its page the link is copied, or sent on the customer's own
channel (WeChat customer-service message, WeCom customer service, the status SMS), the
sending on the timeline and its failure shown, all against the local fakes."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from litestar.testing import TestClient
from sqlmodel import select

from server.db import session_scope, utcnow
from server.jobs.push import deliver_notices
from server.models import AuditEntry, InboundContact, Notification, SupportRequest
from tests.api.dispatch_data import handed_off
from tests.conftest import form_post, login, text_of


def a_request(db, people, settings, **form) -> SupportRequest:
    """Typed in by the agent from a phone call: no inbound contact behind it."""
    return handed_off(db, people["agent"], utcnow(), settings, channel="hotline",
                      phone="13800138000", **form)


def panel(client, request_id: int):
    return client.get(f"/requests/{request_id}/status-link", headers={"hx-request": "true"})


def send(client, request_id: int, via: str):
    return form_post(client, f"/requests/{request_id}/status-link/send", {"via": via}, htmx=True)


def deliver(client, settings, at=None) -> None:
    with session_scope(client.app.state.engine) as s:
        deliver_notices(s, at or utcnow(), settings)


def fresh(db, request_id: int) -> SupportRequest:
    db.rollback()
    db.expire_all()
    return db.get(SupportRequest, request_id)


def timeline(db, request_id: int) -> list[tuple[str, dict]]:
    db.rollback()
    return [(e.action, e.details) for e in db.exec(select(AuditEntry).where(
        AuditEntry.request_id == request_id).order_by(AuditEntry.id)).all()]


def link_contact(db, request_id: int, channel: str, sender: str, reply_to: str = "") -> None:
    now = utcnow()
    db.add(InboundContact(channel=channel, sender=sender, reply_to=reply_to, received_at=now,
                          last_message_at=now, status="request", request_id=request_id))
    db.commit()


def test_a_typed_in_request_gets_its_link_copied_and_sent_by_sms(
        china, china_client, sms_fake, db, people):
    req = a_request(db, people, china)
    assert req.status_token is None  # no inbound contact: no link was made at intake
    login(china_client, "agent")
    filed = china_client.get(f"/requests/new?filed={req.id}")  # the agent's "filed" note
    assert f'hx-get="/requests/{req.id}/status-link"' in filed.text
    first = panel(china_client, req.id)
    assert first.status_code == 200 and "/s/" not in first.text
    words = text_of(first.text)
    assert "138****8000" in words  # SMS to the request's mobile is offered
    assert "没有该客户的微信消息" in words  # WeChat: nobody to answer, said why

    made = form_post(china_client, f"/requests/{req.id}/status-link", htmx=True)
    token = fresh(db, req.id).status_token
    assert made.status_code == 200 and token, made.text
    assert f'value="https://fieldops.example.cn/s/{token}"' in made.text  # to copy
    assert 'data-copy="#sl-url-' in made.text
    assert china_client.get(f"/s/{token}").status_code == 200  # the customer's page works

    sent = send(china_client, req.id, "sms")
    assert sent.status_code == 200 and "等待发送" in text_of(sent.text)
    deliver(china_client, china)
    assert sms_fake.sent == [{"phone": "13800138000", "template": "SMS_0002", "sign": "FieldOps",
                              "params": {"number": req.number,
                                         "url": f"https://fieldops.example.cn/s/{token}"}}]
    shown = text_of(panel(china_client, req.id).text)
    assert "短信 → 138****8000: 已送达" in shown
    actions = timeline(db, req.id)
    assert ("request.status_link_made", {}) in actions
    [(_a, sent_entry)] = [a for a in actions if a[0] == "request.status_link_sent"]
    assert sent_entry["via"] == "sms" and sent_entry["to"] == "138****8000"
    assert [a for a, d in actions if a == "customer.message_sent" and d["via"] == "sms"]

    login(china_client, "dispatcher")  # the request page shows the panel and the timeline
    page = china_client.get(f"/board/requests/{req.id}")
    assert f'hx-get="/requests/{req.id}/status-link"' in page.text
    assert "状态链接已发送给客户" in text_of(page.text) and "客户消息已送达" in text_of(page.text)


def test_wechat_and_wecom_contacts_are_answered_on_their_own_channel(
        china, china_client, weixin, db, people):
    from tests.fakes.services import FakeWeixin

    req = a_request(db, people, china)
    link_contact(db, req.id, "wechat", "oWx_customer_openid_1")
    link_contact(db, req.id, "wecom", "wmCustKf1", FakeWeixin.OPEN_KFID)
    login(china_client, "dispatcher")
    assert send(china_client, req.id, "wechat").status_code == 200
    assert send(china_client, req.id, "wecom").status_code == 200
    deliver(china_client, china)
    url = f"https://fieldops.example.cn/s/{fresh(db, req.id).status_token}"
    [wx] = weixin.custom_sent
    assert wx["touser"] == "oWx_customer_openid_1" and url in wx["text"]["content"]
    assert req.number in wx["text"]["content"]
    [kf] = weixin.kf_sent
    assert (kf["touser"], kf["open_kfid"]) == ("wmCustKf1", FakeWeixin.OPEN_KFID)
    assert url in kf["text"]["content"]
    vias = [d["via"] for a, d in timeline(db, req.id) if a == "customer.message_sent"]
    assert sorted(vias) == ["wechat", "wecom"]


def test_a_failing_service_is_shown_with_its_answer_and_retried_then_given_up(
        china, china_client, weixin, db, people):
    req = a_request(db, people, china)
    link_contact(db, req.id, "wechat", "oWx_customer_openid_2")
    login(china_client, "agent")
    weixin.fail_next["/cgi-bin/message/custom/send"] = [500] * 5
    send(china_client, req.id, "wechat")
    at = utcnow()
    deliver(china_client, china, at)
    shown = text_of(panel(china_client, req.id).text)
    assert "失败，正在重试" in shown and "HTTP 500" in shown and "下次重试" in shown
    for _ in range(4):  # every retry fails too: given up, said so, on the timeline
        at += timedelta(minutes=15)
        deliver(china_client, china, at)
    shown = text_of(panel(china_client, req.id).text)
    assert "未送达：已放弃" in shown and "HTTP 500" in shown
    assert "notification.gave_up" in [a for a, _d in timeline(db, req.id)]
    assert weixin.custom_sent == []


def test_a_way_that_cannot_reach_the_customer_is_refused_with_the_reason(
        china, china_client, db, people, settings):
    req = a_request(db, people, china)
    login(china_client, "agent")
    r = send(china_client, req.id, "wechat")  # nobody on WeChat to answer
    assert r.status_code == 422 and "没有该客户的微信消息" in text_of(r.text)
    assert send(china_client, req.id, "carrier-pigeon").status_code == 400
    assert fresh(db, req.id).status_token is None  # nothing was made
    assert db.exec(select(Notification).where(Notification.channel == "customer")).all() == []

    landline = a_request(db, people, china, customer_name="另一家", order_no="")
    row = db.get(SupportRequest, landline.id)
    row.phone = "021-55550000"
    db.add(row)
    db.commit()
    r = send(china_client, landline.id, "sms")
    assert r.status_code == 422 and "不是手机号" in text_of(r.text)

    from server.app import create_app

    with TestClient(app=create_app(replace(china, sms_enabled=False))) as off:
        off.headers["accept"] = "text/html"
        login(off, "agent")
        assert "短信未配置" in text_of(panel(off, req.id).text)
        r = send(off, req.id, "sms")
        assert r.status_code == 422 and "短信未配置" in text_of(r.text)


def test_a_closed_request_sends_nothing(china, china_client, db, people):
    req = a_request(db, people, china)
    row = db.get(SupportRequest, req.id)
    row.status, row.closed_at = "closed", utcnow()
    db.add(row)
    db.commit()
    login(china_client, "agent")
    shown = panel(china_client, req.id)
    assert shown.status_code == 200 and "status-link/send" not in shown.text
    assert send(china_client, req.id, "sms").status_code == 422
    assert panel(china_client, 999_999).status_code == 404
    assert re.search(r"status-link-\d+", shown.text)
