"""WeChat official account (issue 17, S2, D18): signed, encrypted callbacks become inbound
contacts exactly once, each answered at once with the Chinese auto-reply."""

from __future__ import annotations

from sqlmodel import select

from server.models import AuditEntry, InboundContact, InboundMessage
from tests.api.china.conftest import WX_TOKEN
from tests.fakes.services import FakeWeixin
from tests.fakes.weixin_crypto import AES_KEY, callback, open_reply, signature

OPENID = "oCustomer0001"


def _text(msg_id: str, content: str, msg_type: str = "text") -> str:
    body = (f"<Content><![CDATA[{content}]]></Content>" if msg_type == "text"
            else "<MediaId><![CDATA[media-1]]></MediaId><Format><![CDATA[amr]]></Format>"
                 f"<Recognition><![CDATA[{content}]]></Recognition>")
    return (f"<xml><ToUserName><![CDATA[gh_fieldops]]></ToUserName>"
            f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1764480000</CreateTime>"
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>{body}<MsgId>{msg_id}</MsgId></xml>")


def send(client, inner: str, **kw):
    params, body = callback(WX_TOKEN, AES_KEY, FakeWeixin.APP_ID, inner, **kw)
    return client.post("/channels/wechat", params=params, content=body,
                       headers={"Content-Type": "text/xml"})


def test_the_url_check_answers_echostr_only_when_signed(china_client):
    ok = china_client.get("/channels/wechat", params={
        "signature": signature(WX_TOKEN, "1764480000", "abc"), "timestamp": "1764480000",
        "nonce": "abc", "echostr": "hello-42"})
    assert ok.status_code == 200 and ok.text == "hello-42"
    bad = china_client.get("/channels/wechat", params={
        "signature": "0" * 40, "timestamp": "1764480000", "nonce": "abc", "echostr": "x"})
    assert bad.status_code == 403


def test_a_message_is_a_contact_once_and_answered_in_chinese_at_once(china_client, db):
    r = send(china_client, _text("7001", "推流盒子推流失败，直播间黑屏"))
    assert r.status_code == 200, r.text
    reply = open_reply(WX_TOKEN, AES_KEY, FakeWeixin.APP_ID, r.text)  # verified like WeChat does
    assert reply["MsgType"] == "text" and reply["ToUserName"] == OPENID
    assert reply["Content"] == "已收到，技术支持将在 10 分钟内联系您"

    again = send(china_client, _text("7001", "推流盒子推流失败，直播间黑屏"), nonce="other")
    assert again.status_code == 200  # WeChat retries when slow: answered, not recorded twice
    voice = send(china_client, _text("7002", "摄像机也开不了机", "voice"))
    assert voice.status_code == 200
    contacts = db.exec(select(InboundContact)).all()
    messages = db.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert len(contacts) == 1 and contacts[0].channel == "wechat" and contacts[0].sender == OPENID
    assert [(m.kind, m.text) for m in messages] == [("text", "推流盒子推流失败，直播间黑屏"),
                                                   ("voice", "摄像机也开不了机")]
    assert messages[1].media_id == "media-1"
    assert contacts[0].received_at is not None and contacts[0].status == "open"


def test_a_bad_signature_or_a_foreign_app_is_refused_and_nothing_is_recorded(china_client, db):
    params, body = callback(WX_TOKEN, AES_KEY, FakeWeixin.APP_ID, _text("7003", "hi"))
    params["msg_signature"] = "f" * 40
    r = china_client.post("/channels/wechat", params=params, content=body)
    assert r.status_code == 403
    params, body = callback(WX_TOKEN, AES_KEY, "wxSOMEONEELSE", _text("7004", "hi"))
    assert china_client.post("/channels/wechat", params=params, content=body).status_code == 403
    assert china_client.post("/channels/wechat", params={"msg_signature": "x"},
                             content=b"<xml>").status_code == 403
    assert db.exec(select(InboundMessage)).all() == []


def test_once_a_request_the_reply_names_its_number_and_messages_join_its_timeline(
        china_client, db, people, weixin):
    from tests.conftest import form_post, login

    send(china_client, _text("7101", "导播台没有信号"))
    contact = db.exec(select(InboundContact)).one()
    login(china_client, "agent")
    form = china_client.get(f"/requests/new?contact={contact.id}")
    assert "导播台没有信号" in form.text and f'name="contact_id" value="{contact.id}"' in form.text
    r = form_post(china_client, "/requests/new", {
        "contact_id": contact.id, "channel": "hotline", "customer_name": "星光传媒",
        "contact_name": "王先生", "phone": "13800138000", "device_type": "mixer",
        "symptom_kind": "no_signal", "symptom": "导播台没有信号", "stream_state": "none",
        "received_at": "2020-01-01T00:00"})
    assert r.status_code in (200, 303), r.text
    db.rollback()
    contact = db.get(InboundContact, contact.id)
    assert contact.status == "request" and contact.request_id
    from server.models import SupportRequest

    request = db.get(SupportRequest, contact.request_id)
    assert request.received_at == contact.received_at  # D18: the clock from arrival
    assert request.channel == "wechat"

    r = send(china_client, _text("7102", "请问工程师什么时候到"))
    reply = open_reply(WX_TOKEN, AES_KEY, FakeWeixin.APP_ID, r.text)
    assert request.number in reply["Content"]
    db.rollback()  # a fresh snapshot
    timeline = [e.details.get("text") for e in db.exec(select(AuditEntry).where(
        AuditEntry.request_id == request.id, AuditEntry.action == "contact.message")
        .order_by(AuditEntry.id)).all()]
    assert timeline == ["导播台没有信号", "请问工程师什么时候到"]

    # the status link goes to the customer as a WeChat customer-service message
    from server.db import session_scope, utcnow
    from server.jobs.push import deliver_notices

    with session_scope(china_client.app.state.engine) as s:
        deliver_notices(s, utcnow(), china_client.app.state.settings)
    assert len(weixin.custom_sent) == 1
    sent = weixin.custom_sent[0]
    assert sent["touser"] == "oCustomer0001" and request.number in sent["text"]["content"]
    assert f"/s/{request.status_token}" in sent["text"]["content"]
