"""WeCom (issue 17): customer service pulled exactly once with kf/sync_msg and its cursor;
application messages with a card and a one-time accept link; tokens cached."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from litestar.testing import TestClient
from sqlmodel import select

from server.channels import wecom
from server.db import session_scope, utcnow
from server.models import InboundContact, InboundMessage, Job, Notification
from tests.api.china.conftest import WECOM_TOKEN
from tests.conftest import add_staff
from tests.fakes.services import FakeWeixin, KfMessage
from tests.fakes.weixin_crypto import AES_KEY, callback, signature
from tests.fakes.weixin_crypto import encrypt as platform_encrypt


def kf_event(token: str = "ENCtoken") -> str:
    return (f"<xml><ToUserName><![CDATA[{FakeWeixin.CORP_ID}]]></ToUserName>"
            "<CreateTime>1764480000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[kf_msg_or_event]]></Event>"
            f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{FakeWeixin.OPEN_KFID}]]></OpenKfId></xml>")


def notify(client, nonce: str = "n1"):
    params, body = callback(WECOM_TOKEN, AES_KEY, FakeWeixin.CORP_ID, kf_event(), nonce=nonce)
    return client.post("/channels/wecom", params=params, content=body)


def recorded(db) -> list[tuple[str, str, str]]:
    db.rollback()
    return [(m.external_id, m.kind, m.text) for m in
            db.exec(select(InboundMessage).order_by(InboundMessage.id)).all()]


def test_the_url_check_decrypts_echostr(china_client):
    echo = platform_encrypt(AES_KEY, "echo-1234", FakeWeixin.CORP_ID)
    r = china_client.get("/channels/wecom", params={
        "msg_signature": signature(WECOM_TOKEN, "1764480000", "abc", echo),
        "timestamp": "1764480000", "nonce": "abc", "echostr": echo})
    assert r.status_code == 200 and r.text == "echo-1234"
    assert china_client.get("/channels/wecom", params={
        "msg_signature": "0" * 40, "timestamp": "1", "nonce": "a", "echostr": echo}).status_code == 403


def test_messages_are_pulled_with_the_cursor_exactly_once_across_repeats_and_restarts(
        china, china_client, weixin, db):
    weixin.add_kf(KfMessage("m1", "wmCust1", "推流失败"), KfMessage("m2", "wmCust1", "", "image"),
                  KfMessage("m3", "wmCust2", "导播台黑屏"),
                  KfMessage("e1", "wmCust2", origin=4, msgtype="event"))
    assert notify(china_client).status_code == 200
    assert recorded(db) == [("m1", "text", "推流失败"), ("m2", "image", ""),
                            ("m3", "text", "导播台黑屏")]
    # the fake pages two at a time: the cursor was followed, then stored
    assert [c["cursor"] for c in weixin.sync_calls] == ["", "2"]
    assert weixin.sync_calls[0]["token"] == "ENCtoken"

    assert notify(china_client, nonce="n2").status_code == 200  # a repeated callback
    assert len(recorded(db)) == 3
    assert weixin.sync_calls[-1]["cursor"] == "4"

    # a restart: a new server process reads the stored cursor, skips nothing
    weixin.add_kf(KfMessage("m4", "wmCust1", "还在吗"))
    from server.app import create_app

    wecom.forget_tokens()
    with TestClient(app=create_app(china)) as other:
        assert notify(other, nonce="n3").status_code == 200
    assert [r[0] for r in recorded(db)] == ["m1", "m2", "m3", "m4"]
    contacts = db.exec(select(InboundContact).order_by(InboundContact.id)).all()
    assert [(c.channel, c.sender, c.reply_to) for c in contacts] == [
        ("wecom", "wmCust1", FakeWeixin.OPEN_KFID), ("wecom", "wmCust2", FakeWeixin.OPEN_KFID)]

    # each new contact got the Chinese auto-reply once, through kf/send_msg
    from server.jobs.push import deliver_notices

    with session_scope(china_client.app.state.engine) as s:
        deliver_notices(s, utcnow(), china)
    assert sorted((m["touser"], m["open_kfid"], m["text"]["content"]) for m in weixin.kf_sent) == [
        ("wmCust1", FakeWeixin.OPEN_KFID, "已收到，技术支持将在 10 分钟内联系您"),
        ("wmCust2", FakeWeixin.OPEN_KFID, "已收到，技术支持将在 10 分钟内联系您")]


def test_a_failing_sync_leaves_the_cursor_so_the_next_callback_gets_everything(
        china_client, weixin, db):
    weixin.add_kf(KfMessage("m1", "wmCust1", "a"), KfMessage("m2", "wmCust1", "b"),
                  KfMessage("m3", "wmCust1", "c"))
    weixin.fail_next["/cgi-bin/kf/sync_msg"] = [500]
    assert notify(china_client).status_code == 503  # WeCom will call back again
    assert recorded(db) == []
    assert notify(china_client, nonce="n2").status_code == 200
    assert [r[0] for r in recorded(db)] == ["m1", "m2", "m3"]


def test_a_bad_signature_records_nothing_and_pulls_nothing(china_client, weixin, db):
    weixin.add_kf(KfMessage("m1", "wmCust1", "a"))
    params, body = callback(WECOM_TOKEN, AES_KEY, FakeWeixin.CORP_ID, kf_event())
    params["msg_signature"] = "0" * 40
    assert china_client.post("/channels/wecom", params=params, content=body).status_code == 403
    assert weixin.sync_calls == [] and recorded(db) == []


def test_the_access_token_is_fetched_once_and_again_only_when_rejected(china, weixin):
    for _ in range(3):
        wecom.send_card(china, "zhangsan", "P1 任务", "推流失败", "https://x/field/jobs/1")
    assert weixin.token_fetches == {FakeWeixin.APP_SECRET: 1}
    weixin.expire_tokens()  # the platform says 42001: fetch a new one, send once
    wecom.send_card(china, "zhangsan", "P1 任务", "推流失败", "https://x/field/jobs/1")
    assert weixin.token_fetches == {FakeWeixin.APP_SECRET: 2}
    assert len(weixin.cards) == 4


def test_a_job_card_opens_the_job_and_its_accept_link_works_once_without_a_session(
        china, china_client, weixin, db, people):
    from server.actions import notify as notices
    from server.models import SupportRequest

    now = utcnow()
    engineer = add_staff(db, "li", "onsite", display_name="李工", group="onsite",
                         region="urban", wecom_userid="LiGong", phone="13911112222")
    request = SupportRequest(number="FO-20261130-0001", channel="hotline", received_at=now,
                             customer_name="星光传媒", contact_name="王", phone="13800138000",
                             device_type="encoder", symptom="推流失败", priority="P1",
                             status="assigned")
    db.add(request)
    db.flush()
    job = Job(request_id=request.id, kind="onsite", assignee_id=engineer.id, status="offered",
              assigned_at=now)
    db.add(job)
    db.flush()
    queued = notices.enqueue(db, staff_id=engineer.id, kind="job.assigned", title="P1 任务",
                             body="推流失败", dedupe_key=f"job:{job.id}:assigned",
                             request_id=request.id, job_id=job.id, urgency="high", now=now)
    db.commit()
    assert sorted(n.channel for n in queued) == ["webpush", "wecom", "wecom_app"]
    from server.jobs.push import deliver_notices

    with session_scope(china_client.app.state.engine) as s:
        deliver_notices(s, now, china)
    card = weixin.cards[0]
    assert card["touser"] == "LiGong" and card["agentid"] == 1000002
    tc = card["template_card"]
    assert tc["card_action"]["url"] == f"https://fieldops.example.cn/field/jobs/{job.id}"
    accept = tc["jump_list"][0]["url"]
    assert accept.startswith("https://fieldops.example.cn/a/")
    path = accept.removeprefix("https://fieldops.example.cn")

    anonymous = TestClient(app=china_client.app)  # WeCom's in-app browser: no session
    with anonymous:
        shown = anonymous.get(path)
        assert shown.status_code == 200 and "FO-20261130-0001" in shown.text
        db.rollback()
        assert db.get(Job, job.id).status == "offered"  # opening the link changes nothing
        token = path.rsplit("/", 1)[1]
        forged = anonymous.post(path[:-3] + "AAA", data={"token": token[:-3] + "AAA"})
        assert forged.status_code == 422
        done = anonymous.post(path, data={"token": token})
        assert done.status_code == 200, done.text
        db.rollback()
        assert db.exec(select(Job.status).where(Job.id == job.id)).one() == "accepted"
        again = anonymous.post(path, data={"token": token})
        assert again.status_code == 422
        assert anonymous.get("/board").status_code in (303, 401)  # no session was granted
    db.rollback()
    note = db.exec(select(Notification).where(Notification.channel == "wecom_app")
                   .execution_options(populate_existing=True)).one()
    assert note.status == "sent" and note.acknowledged_at is not None


def test_an_expired_accept_link_is_refused(china, db):
    from server.push import links

    token = links.make(china.secret_key, 1, 2, 3, utcnow() - timedelta(days=2))
    assert links.read(china.secret_key, token, utcnow()) is None
    assert links.read(china.secret_key, token, utcnow() - timedelta(days=2)) is not None
    assert links.read(replace(china, secret_key="other").secret_key, token,
                      utcnow() - timedelta(days=2)) is None
