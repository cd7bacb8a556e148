"""The hotline's webhook and the agents' inbox (issue 17, S2, S4, D3, D18)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from server.actions.inbound import alert_waiting, close_contact, record_incoming
from server.channels import Incoming
from server.db import utcnow
from server.domain.inbound import contact_clock
from server.models import AuditEntry, Contact, Customer, InboundContact, Notification
from tests.conftest import form_post, login


def contacts(db) -> list[InboundContact]:
    db.rollback()
    return db.exec(select(InboundContact).order_by(InboundContact.id)
                   .execution_options(populate_existing=True)).all()


def known_caller(db) -> str:
    customer = Customer(name="星光传媒", phone="021-55550000")
    db.add(customer)
    db.flush()
    db.add(Contact(customer_id=customer.id, name="王先生", phone="13800138000"))
    db.commit()
    return "13800138000"


def test_a_call_is_a_contact_from_its_first_ring_and_the_answering_agent_gets_the_form(
        china_client, callcenter, db, people):
    phone = known_caller(db)
    r = callcenter.post(china_client, "incoming", "call-1", "+86 138-0013-8000")
    assert r.status_code == 200 and r.json()["duplicate"] is False
    assert callcenter.post(china_client, "incoming", "call-1", phone).json()["duplicate"] is True
    [c] = contacts(db)
    assert (c.channel, c.sender, c.status) == ("hotline", phone, "open")

    login(china_client, "agent")
    panel = china_client.get("/inbox/calls", headers={"hx-request": "true"})
    assert "星光传媒" in panel.text and "王先生" in panel.text  # D3: the number looked up
    callcenter.post(china_client, "answered", "call-1", phone, agent="agent")
    opened = china_client.get("/inbox/calls?auto=1", headers={"hx-request": "true"})
    assert opened.headers["hx-redirect"] == f"/requests/new?contact={c.id}"
    form = china_client.get(opened.headers["hx-redirect"])
    assert "星光传媒" in form.text and 'value="13800138000"' in form.text


def test_a_call_answered_by_another_agent_does_not_open_my_form(
        china_client, callcenter, db, people):
    from tests.conftest import add_staff

    add_staff(db, "agent2", "agent")
    callcenter.post(china_client, "incoming", "call-2", "13900001111")
    callcenter.post(china_client, "answered", "call-2", "13900001111", agent="agent2")
    login(china_client, "agent")
    r = china_client.get("/inbox/calls?auto=1", headers={"hx-request": "true"})
    assert "hx-redirect" not in r.headers


def test_a_missed_call_waits_in_the_inbox_to_be_called_back(china_client, callcenter, db, people):
    callcenter.post(china_client, "incoming", "call-3", "13700002222")
    callcenter.post(china_client, "missed", "call-3", "13700002222")
    [c] = contacts(db)
    assert c.status == "open"
    login(china_client, "agent")
    inbox = china_client.get("/inbox")
    assert "13700002222" in inbox.text and "回拨" in inbox.text


def test_a_badly_signed_stale_or_malformed_webhook_records_nothing(
        china_client, callcenter, db):
    assert callcenter.post(china_client, "missed", "c4", "13700002222",
                           signature="0" * 64).status_code == 403
    assert callcenter.post(china_client, "missed", "c5", "13700002222",
                           timestamp=1_000_000_000).status_code == 403
    assert callcenter.post(china_client, "exploded", "c6", "13700002222").status_code == 403
    r = china_client.post("/channels/callcenter", content=b"{", headers={"X-Timestamp": "1"})
    assert r.status_code == 403
    assert contacts(db) == []


def test_the_inbox_shows_every_open_contact_to_every_agent_with_its_age(
        client, db, people, settings):
    now = utcnow()
    for i, minutes in enumerate((1, 9, 12)):
        record_incoming(db, Incoming("wechat", f"m{i}", f"openid-{i}", "text", f"消息{i}",
                                     now - timedelta(minutes=minutes)), now)
    db.commit()
    close_contact(db, people["agent"].id, contacts(db)[0].id, "spam", "", now)
    db.commit()
    login(client, "dispatcher")
    page = client.get("/inbox")
    assert "消息1" in page.text and "消息2" in page.text and "消息0" not in page.text
    assert page.text.index("openid-2") < page.text.index("openid-1")  # oldest first
    assert "breached" in page.text  # the 12-minute-old one is past S4's 10 minutes


def test_the_clock_runs_from_arrival():
    now = utcnow()
    assert contact_clock(now - timedelta(minutes=3), now, 10, 0.8).state == "running"
    assert contact_clock(now - timedelta(minutes=8), now, 10, 0.8).state == "warning"
    late = contact_clock(now - timedelta(minutes=10), now, 10, 0.8)
    assert late.state == "breached" and late.age_seconds == 600


def test_closing_needs_a_reason_and_happens_once(db, people):
    now = utcnow()
    record_incoming(db, Incoming("wecom", "k1", "wmX", "text", "hi", now), now)
    db.commit()
    c = contacts(db)[0]
    import pytest

    from server.actions import ActionError

    with pytest.raises(ActionError):
        close_contact(db, people["agent"].id, c.id, "", "", now)
    with pytest.raises(ActionError):
        close_contact(db, people["agent"].id, c.id, "other", "  ", now)
    close_contact(db, people["agent"].id, c.id, "other", "客户打错了", now)
    with pytest.raises(ActionError):
        close_contact(db, people["agent"].id, c.id, "spam", "", now)
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "contact.closed")).one()
    assert entry.actor_id == people["agent"].id and entry.details["note"] == "客户打错了"


def test_an_unhandled_contact_alerts_agents_then_at_ten_minutes_the_lead_each_once(
        db, people, settings):
    arrived = utcnow()
    record_incoming(db, Incoming("wechat", "w1", "openid-1", "text", "推流失败", arrived), arrived)
    db.commit()

    def fired(minutes: float) -> int:
        n = alert_waiting(db, arrived + timedelta(minutes=minutes), settings)
        db.commit()
        return n

    def told(role: str) -> set[int]:
        return {n.staff_id for n in db.exec(select(Notification).where(
            Notification.payload["kind"].as_string() == f"contact.{role}")).all()}

    assert fired(1) == 0
    assert fired(2) == 1 and told("agent") == {people["agent"].id}
    assert fired(5) == 0  # once
    assert told("dispatcher") == set()
    assert fired(10) == 1 and told("dispatcher") == {people["dispatcher"].id}
    assert fired(30) == 0
    note = db.exec(select(Notification).where(Notification.staff_id == people["dispatcher"].id)).first()
    assert note.urgency == "high" and "10" in note.payload["title"]


def test_a_contact_made_a_request_stops_alerting_and_keeps_its_clock(
        client, db, people, settings):
    arrived = utcnow() - timedelta(minutes=4)
    record_incoming(db, Incoming("hotline", "call-9:missed", "13700002222", "missed_call",
                                 "missed", arrived), utcnow())
    db.commit()
    c = contacts(db)[0]
    login(client, "agent")
    r = form_post(client, "/requests/new", {
        "contact_id": c.id, "customer_name": "星光传媒", "contact_name": "王先生",
        "phone": "13700002222", "device_type": "camera", "symptom_kind": "no_power",
        "symptom": "开不了机", "stream_state": "none", "action": "save"})
    assert r.status_code in (200, 303), r.text
    c = contacts(db)[0]
    assert c.status == "request"
    from server.models import SlaClock, SupportRequest

    request = db.get(SupportRequest, c.request_id)
    clock = db.exec(select(SlaClock).where(SlaClock.request_id == request.id,
                                           SlaClock.kind == "handoff")).one()
    assert clock.started_at == c.received_at == request.received_at
    assert alert_waiting(db, utcnow() + timedelta(minutes=30), settings) == 0
    again = form_post(client, "/requests/new", {
        "contact_id": c.id, "customer_name": "星光传媒", "contact_name": "王先生",
        "phone": "13700002222", "device_type": "camera", "symptom_kind": "no_power",
        "symptom": "开不了机", "stream_state": "none", "action": "save"}, htmx=True)
    assert again.status_code == 422  # one contact, one request
