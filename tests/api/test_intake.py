"""The agent's intake screen: every bad input refused, lookups, hand-off and its clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from server.actions.requests import hand_off, record_request
from server.db import utcnow
from server.models import (
    AuditEntry,
    ChangeRecord,
    Contact,
    Customer,
    Depot,
    Notification,
    OrderLine,
    RentalOrder,
    SlaClock,
    SupportRequest,
    Unit,
    Venue,
)
from tests.conftest import form_post, login, text_of

SH = ZoneInfo("Asia/Shanghai")


def local(instant: datetime) -> str:
    return instant.astimezone(SH).strftime("%Y-%m-%dT%H:%M")


def good_form(**overrides) -> dict:
    form = {
        "channel": "hotline",
        "received_at": local(utcnow() - timedelta(minutes=2)),
        "order_no": "",
        "customer_name": "星耀直播传媒（上海）有限公司",
        "contact_name": "王女士",
        "phone": "138 1234 5678",
        "address": "上海市浦东新区世博大道1200号",
        "region": "urban",
        "device_type": "encoder",
        "device_model": "LiveU Solo",
        "scenario": "演唱会直播",
        "symptom_kind": "push_failed",
        "symptom": "推流失败，直播中断",
        "fault_started_at": local(utcnow() - timedelta(minutes=5)),
        "stream_state": "live",
        "stream_starts_at": "",
        "classification": "",
        "priority": "",
    }
    form.update(overrides)
    return form


def count(db, model) -> int:
    db.rollback()  # a fresh snapshot: see what the app committed meanwhile
    return db.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def order(db):
    """A rental order at an urban venue with an encoder and a camera on it, plus reserve units."""
    customer = Customer(name="云帆文化传播有限公司", phone="021-55550001")
    db.add(customer)
    db.flush()
    contact = Contact(customer_id=customer.id, name="李先生", phone="13912345678")
    venue = Venue(customer_id=customer.id, name="上海大剧院", address="上海市黄浦区人民大道300号",
                  lat=31.2304, lon=121.4737, region="urban")
    urban = Depot(name="徐汇应急备件库", address="宜山路700号", region="urban", lat=31.175, lon=121.425)
    suburban = Depot(name="松江应急备件库", address="新飞路1500号", region="suburban",
                     lat=31.058, lon=121.317)
    db.add_all([contact, venue, urban, suburban])
    db.flush()
    row = RentalOrder(order_no="RO-2026-11-0042", customer_id=customer.id, contact_id=contact.id,
                      venue_id=venue.id, scenario="新品发布会直播",
                      starts_at=utcnow() - timedelta(hours=3), ends_at=utcnow() + timedelta(days=1))
    enc = Unit(asset_tag="ENC-0001", device_type="encoder", model="LiveU Solo", status="rented")
    cam = Unit(asset_tag="CAM-0001", device_type="camera", model="Sony PXW-Z190", status="rented")
    spares = [
        Unit(asset_tag="ENC-0101", device_type="encoder", model="Kiloview P3", status="reserve",
             depot_id=suburban.id),
        Unit(asset_tag="ENC-0102", device_type="encoder", model="Kiloview P3", status="reserve",
             depot_id=urban.id),
        Unit(asset_tag="ENC-0103", device_type="encoder", model="LiveU Solo", status="reserve",
             depot_id=urban.id),
        Unit(asset_tag="ENC-0104", device_type="encoder", model="LiveU Solo", status="in_repair"),
    ]
    db.add_all([row, enc, cam, *spares])
    db.flush()
    db.add_all([OrderLine(order_id=row.id, unit_id=enc.id, added_at=row.starts_at),
                OrderLine(order_id=row.id, unit_id=cam.id, added_at=row.starts_at)])
    db.commit()
    return {"order": row, "customer": customer, "contact": contact, "venue": venue,
            "encoder": enc, "camera": cam}


# -- the page and its guards ---------------------------------------------------------------


def test_agent_sees_the_form_with_received_at_now_and_the_handoff_clock(client, people):
    login(client, "agent")
    r = client.get("/requests/new")
    assert r.status_code == 200
    page = r.text
    assert 'id="f-order_no"' in page and "autofocus" in page.split('id="f-order_no"')[1][:900]
    assert local(utcnow()) in page or local(utcnow() - timedelta(minutes=1)) in page
    assert "data-deadline" in page
    assert "保存并转交" in text_of(page)


@pytest.mark.parametrize("role", ["dispatcher", "remote", "onsite", "equipment", "admin"])
def test_other_roles_cannot_file_requests(client, people, role):
    login(client, role)
    assert client.get("/requests/new").status_code == 403
    assert form_post(client, "/requests/new", good_form()).status_code == 403


def test_manager_may_file_requests(client, people):
    login(client, "manager")
    assert client.get("/requests/new").status_code == 200


def test_signed_out_is_sent_to_sign_in(client):
    r = client.get("/requests/new", follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]


def test_home_shows_the_intake_tile_to_agents(client, people):
    login(client, "agent")
    assert 'href="/requests/new"' in client.get("/").text


# -- bad input: 422, the message next to the field, nothing saved ------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"customer_name": "  "}, "customer_name", "请输入客户名称"),
        ({"phone": "12345"}, "phone", "请输入 11 位手机号"),
        ({"phone": ""}, "phone", "请输入联系电话"),
        ({"contact_name": ""}, "contact_name", "请输入联系人"),
        ({"stream_state": "upcoming", "stream_starts_at": lambda now: local(now - timedelta(hours=1))},
         "stream_starts_at", "该开始时间已过"),
        ({"stream_state": "upcoming", "stream_starts_at": ""}, "stream_starts_at", "请输入直播开始时间"),
        ({"received_at": lambda now: local(now + timedelta(minutes=30))}, "received_at", "接收时间不能晚于现在"),
        ({"received_at": "yesterday"}, "received_at", "请输入日期和时间"),
        ({"fault_started_at": lambda now: local(now + timedelta(hours=2))}, "fault_started_at", "故障开始时间不能晚于现在"),
        ({"symptom": ""}, "symptom", "请描述故障现象"),
        ({"device_type": ""}, "device_type", "请选择设备类型"),
        ({"channel": "fax"}, "channel", "请选择需求来源渠道"),
        ({"region": "moon"}, "region", "请选择市区或郊区"),
        ({"priority": "P9"}, "priority", "请选择优先级"),
        ({"classification": "maybe"}, "classification", "请选择远程或现场处理"),
        ({"customer_name": "客" * 129}, "customer_name", "128 个字符以内"),
    ],
)
def test_bad_input_gets_a_message_next_to_the_field_and_saves_nothing(
    client, people, db, overrides, field, message, now
):
    # times relative to now are made from the test's clock, not when the module was collected
    overrides = {k: v(now) if callable(v) else v for k, v in overrides.items()}
    login(client, "agent")
    before = (count(db, SupportRequest), count(db, SlaClock), count(db, AuditEntry))
    r = form_post(client, "/requests/new", good_form(**overrides), htmx=True)
    assert r.status_code == 422
    html = r.text
    assert html.lstrip().startswith("<form"), "htmx gets the form fragment, not a page"
    error = html.split(f'id="e-{field}"')[1].split("</p>")[0]
    assert message in error
    control = html.split(f'id="f-{field}"')[1].split(">")[0]
    assert 'aria-invalid="true"' in control and f'aria-describedby="e-{field}"' in control
    assert "autofocus" in control, "the cursor goes to the first bad field"
    after = (count(db, SupportRequest), count(db, SlaClock), count(db, AuditEntry))
    assert after == before


def test_several_bad_fields_are_all_explained_and_the_typed_values_are_kept(client, people, db):
    login(client, "agent")
    r = form_post(client, "/requests/new",
                  good_form(customer_name="", phone="call me", symptom="没画面"))
    assert r.status_code == 422
    text = text_of(r.text)
    assert "请输入客户名称" in text and "请输入 11 位手机号" in text
    assert 'value="call me"' in r.text and "没画面" in r.text
    assert "<html" in r.text, "without htmx the whole page comes back"
    assert count(db, SupportRequest) == 0


def test_an_unknown_unit_for_the_order_is_refused(client, people, db, order):
    login(client, "agent")
    r = form_post(client, "/requests/new",
                  good_form(order_no="RO-2026-11-0042", unit_id="999999"), htmx=True)
    assert r.status_code == 422
    assert "请选择该订单上的设备" in text_of(r.text)
    assert count(db, SupportRequest) == 0


# -- lookups (D3) ------------------------------------------------------------------------


def test_order_number_fills_customer_contact_venue_and_units(client, people, order):
    login(client, "agent")
    r = client.get("/requests/new/order", params={"order_no": " ro-2026-11-0042 ", "phone": ""},
                   headers={"hx-request": "true"})
    assert r.status_code == 200
    html = r.text
    assert html.lstrip().startswith("<fieldset") and 'id="customer-block"' in html
    assert 'value="云帆文化传播有限公司"' in html
    assert 'value="李先生"' in html
    assert 'value="13912345678"' in html
    assert 'value="上海市黄浦区人民大道300号"' in html
    assert "上海大剧院" in html
    # the units on the order arrive out of band into the device block
    device = html.split('id="device-block"')[1]
    assert 'hx-swap-oob="true"' in device[:200]
    assert "ENC-0001" in device and "CAM-0001" in device
    assert 'value="新品发布会直播"' in html


def test_order_lookup_keeps_a_phone_the_agent_already_typed(client, people, order):
    login(client, "agent")
    r = client.get("/requests/new/order",
                   params={"order_no": "RO-2026-11-0042", "phone": "13800000000"},
                   headers={"hx-request": "true"})
    assert 'value="13800000000"' in r.text


def test_unknown_order_number_says_so_and_keeps_what_was_typed(client, people, order):
    login(client, "agent")
    r = client.get("/requests/new/order",
                   params={"order_no": "RO-1999", "customer_name": "某公司"},
                   headers={"hx-request": "true"})
    assert "没有找到这个订单号" in text_of(r.text)
    assert 'value="某公司"' in r.text


def test_choosing_a_unit_fills_device_type_and_model(client, people, order):
    login(client, "agent")
    r = client.get("/requests/new/unit",
                   params={"order_no": "RO-2026-11-0042", "unit_id": str(order["camera"].id)},
                   headers={"hx-request": "true"})
    assert r.status_code == 200
    assert '<option value="camera" selected>' in r.text
    assert 'value="Sony PXW-Z190"' in r.text


def test_phone_lookup_finds_the_customer_and_contact(client, people, order):
    login(client, "agent")
    r = client.get("/requests/new/phone", params={"phone": "139-1234-5678"},
                   headers={"hx-request": "true"})
    assert 'value="云帆文化传播有限公司"' in r.text and 'value="李先生"' in r.text
    assert "RO-2026-11-0042" in r.text
    r = client.get("/requests/new/phone", params={"phone": "021 5555 0001"},
                   headers={"hx-request": "true"})
    assert 'value="云帆文化传播有限公司"' in r.text


def test_the_proposal_follows_the_answers(client, people):
    login(client, "agent")
    live = client.get("/requests/new/proposal", headers={"hx-request": "true"},
                      params=good_form(stream_state="live", symptom_kind="no_power"))
    text = text_of(live.text)
    assert "P1" in text and "需现场处理" in text
    assert "远程指导与现场派工同时启动" in text and "预留一台备用设备" in text
    later = client.get("/requests/new/proposal", headers={"hx-request": "true"},
                       params=good_form(stream_state="none", symptom_kind="settings"))
    text = text_of(later.text)
    assert "P3" in text and "远程可处理" in text and "备用设备" not in text


def test_the_handoff_clock_runs_from_received_at(client, people):
    login(client, "agent")
    received = utcnow() - timedelta(minutes=9)
    r = client.get("/requests/new/proposal", headers={"hx-request": "true"},
                   params=good_form(received_at=local(received)))
    due = r.text.split('data-deadline="')[1].split('"')[0]
    expected = received.replace(second=0, microsecond=0) + timedelta(minutes=10)
    assert datetime.fromisoformat(due) == expected
    assert "warning" in r.text.split('class="handoff-clock')[1][:20]


# -- saving and handing off --------------------------------------------------------------


def test_live_stream_request_is_saved_handed_off_p1_with_the_right_clocks(client, people, db, order):
    login(client, "agent")
    received = utcnow() - timedelta(minutes=3)
    r = form_post(client, "/requests/new",
                  good_form(order_no="RO-2026-11-0042", unit_id=str(order["encoder"].id),
                            received_at=local(received), symptom_kind="no_power",
                            customer_name="云帆文化传播有限公司"), htmx=True)
    assert r.status_code == 200, r.text
    req = db.exec(select(SupportRequest)).one()
    assert r.headers["hx-redirect"] == f"/requests/new?filed={req.id}"
    local_day = req.received_at.astimezone(SH).strftime("%Y%m%d")
    assert req.number == f"FO-{local_day}-0001"
    assert (req.status, req.priority, req.classification) == ("handed_off", "P1", "onsite")
    assert (req.order_id, req.customer_id, req.venue_id, req.unit_id) == (
        order["order"].id, order["customer"].id, order["venue"].id, order["encoder"].id)
    assert req.phone == "13812345678"  # one written form (normalized)
    clocks = {c.kind: c for c in db.exec(select(SlaClock).where(SlaClock.request_id == req.id))}
    assert set(clocks) == {"handoff", "first_response", "resolution"}
    handoff = clocks["handoff"]
    assert handoff.started_at == received.replace(second=0, microsecond=0)
    assert handoff.deadline_at == handoff.started_at + timedelta(minutes=10)
    assert handoff.stopped_at == req.handed_off_at
    fr, res = clocks["first_response"], clocks["resolution"]
    assert fr.started_at == res.started_at == req.handed_off_at
    assert fr.deadline_at - fr.started_at == timedelta(minutes=5)  # P1
    assert res.deadline_at - res.started_at == timedelta(minutes=60)
    assert fr.stopped_at is None and res.stopped_at is None
    actions = [a.action for a in db.exec(select(AuditEntry).where(AuditEntry.request_id == req.id)
                                         .order_by(AuditEntry.id))]
    assert actions[:3] == ["request.received", "request.handed_off", "request.live_dispatch"]
    assert "unit.held" in actions
    # D8a: the nearest reserve encoder, same model first: ENC-0103 at the urban depot
    held = db.exec(select(Unit).where(Unit.held_for_request_id == req.id)).one()
    assert held.asset_tag == "ENC-0103" and held.status == "reserve"
    # the board hears it, the on-duty lead gets a high-urgency notice
    assert db.exec(select(ChangeRecord).where(ChangeRecord.entity == "request",
                                              ChangeRecord.entity_id == str(req.id))).first()
    notes = db.exec(select(Notification).where(Notification.request_id == req.id)).all()
    assert {n.staff_id for n in notes} == {people["dispatcher"].id}
    assert all(n.urgency == "high" for n in notes)
    page = client.get(f"/requests/new?filed={req.id}").text
    assert req.number in page and "ENC-0103" in page and "已转交技术服务部" in text_of(page)


def test_save_without_hand_off_keeps_the_handoff_clock_running(client, people, db):
    login(client, "agent")
    r = form_post(client, "/requests/new",
                  good_form(stream_state="none", symptom_kind="settings", action="save"))
    assert r.status_code == 303
    req = db.exec(select(SupportRequest)).one()
    assert (req.status, req.priority, req.classification) == ("new", "P3", "remote")
    clocks = db.exec(select(SlaClock).where(SlaClock.request_id == req.id)).all()
    assert [(c.kind, c.stopped_at) for c in clocks] == [("handoff", None)]
    mine = client.get("/requests/new").text
    assert f'id="mine-{req.id}"' in mine and "新登记" in mine
    # hand it off later from the list, choosing onsite P2
    r = form_post(client, f"/requests/{req.id}/handoff",
                  {"classification": "onsite", "priority": "P2"}, htmx=True)
    assert r.status_code == 200 and r.text.lstrip().startswith("<section")
    db.rollback()  # end the test's read transaction to see the app's commit
    req = db.get(SupportRequest, req.id)
    assert (req.status, req.priority, req.classification) == ("handed_off", "P2", "onsite")
    fr = db.exec(select(SlaClock).where(SlaClock.request_id == req.id,
                                        SlaClock.kind == "first_response")).one()
    assert fr.deadline_at - fr.started_at == timedelta(minutes=15)
    # a second hand-off is refused with a message, nothing changes
    r = form_post(client, f"/requests/{req.id}/handoff",
                  {"classification": "remote", "priority": "P3"}, htmx=True)
    assert r.status_code == 422 and "已经转交" in text_of(r.text)


def test_agent_choice_overrides_the_proposal(client, people, db):
    login(client, "agent")
    form_post(client, "/requests/new",
              good_form(stream_state="none", symptom_kind="settings", classification="onsite",
                        priority="P2"))
    req = db.exec(select(SupportRequest)).one()
    assert (req.priority, req.classification, req.status) == ("P2", "onsite", "handed_off")


def test_upcoming_stream_bounds_every_deadline(client, people, db):
    """D8a: an event in 40 min leaves 10 min before the 30-minute safety buffer."""
    login(client, "agent")
    now = utcnow()
    starts = (now + timedelta(minutes=41)).replace(second=0, microsecond=0)
    form_post(client, "/requests/new",
              good_form(stream_state="upcoming", stream_starts_at=local(starts),
                        received_at=local(now), symptom_kind="no_signal"))
    req = db.exec(select(SupportRequest)).one()
    assert req.priority == "P2"
    clocks = {c.kind: c for c in db.exec(select(SlaClock).where(SlaClock.request_id == req.id))}
    bound = starts - timedelta(minutes=30)
    assert clocks["first_response"].deadline_at == min(
        clocks["first_response"].started_at + timedelta(minutes=15), bound)
    assert clocks["resolution"].deadline_at == bound


def test_numbers_count_up_per_shanghai_day(db, people, settings, clock):
    now = clock.set(datetime(2026, 11, 26, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    agent = people["agent"].id
    a = record_request(db, agent, good_form(received_at="2026-11-26T23:50"), now, settings)
    b = record_request(db, agent, good_form(received_at="2026-11-26T23:58"), now, settings)
    later = clock.advance(minutes=2)  # 00:01 the next day
    c = record_request(db, agent, good_form(received_at="2026-11-27T00:01"), later, settings)
    assert [a.number, b.number, c.number] == [
        "FO-20261126-0001", "FO-20261126-0002", "FO-20261127-0001"]


def test_hand_off_refuses_a_bad_classification(db, people, settings):
    now = utcnow()
    req = record_request(db, people["agent"].id, good_form(), now, settings)
    from server.actions import FieldErrors

    with pytest.raises(FieldErrors) as err:
        hand_off(db, people["agent"].id, req.id, "somewhere", "P0", now, settings)
    assert set(err.value.errors) == {"classification", "priority"}


def test_no_reserve_unit_is_recorded_on_the_timeline(db, people, settings):
    now = utcnow()
    req = record_request(db, people["agent"].id,
                         good_form(device_type="mixer", symptom_kind="physical_damage"), now, settings)
    hand_off(db, people["agent"].id, req.id, "onsite", "P1", now, settings)
    actions = db.exec(select(AuditEntry.action).where(AuditEntry.request_id == req.id)).all()
    assert "unit.hold_failed" in actions


def test_two_live_requests_never_hold_the_same_unit(db, people, settings, order):
    now = utcnow()
    held = []
    for _ in range(3):
        req = record_request(db, people["agent"].id, good_form(symptom_kind="no_power"), now,
                             settings)
        hand_off(db, people["agent"].id, req.id, "onsite", "P1", now, settings)
        unit = db.exec(select(Unit).where(Unit.held_for_request_id == req.id)).first()
        held.append(unit.asset_tag if unit else None)
    assert held == ["ENC-0103", "ENC-0102", "ENC-0101"]


def test_a_cancelled_request_gives_its_held_unit_back_to_the_reserve(db, people, settings, order):
    from server.actions.jobs import cancel_request

    now = utcnow()
    req = record_request(db, people["agent"].id, good_form(symptom_kind="no_power"), now, settings)
    hand_off(db, people["agent"].id, req.id, "onsite", "P1", now, settings)
    held = db.exec(select(Unit).where(Unit.held_for_request_id == req.id)).one()
    cancel_request(db, people["dispatcher"].id, req.id, "客户取消直播", now, settings)
    db.commit()
    db.refresh(held)
    assert held.held_for_request_id is None and held.status == "reserve"
    # and the next live request can hold it again
    nxt = record_request(db, people["agent"].id, good_form(symptom_kind="no_power"), now, settings)
    hand_off(db, people["agent"].id, nxt.id, "onsite", "P1", now, settings)
    assert db.exec(select(Unit).where(Unit.held_for_request_id == nxt.id)).one().id == held.id


def test_an_untouched_received_at_keeps_the_second_the_form_opened(client, people, db):
    """The field shows minutes; the clock must not lose the seconds the agent never saw."""
    login(client, "agent")
    page = client.get("/requests/new").text
    opened = page.split('name="opened_at" value="')[1].split('"')[0]
    shown = page.split('id="f-received_at" name="received_at" type="datetime-local" value="')[1][:16]
    form_post(client, "/requests/new", good_form(received_at=shown, opened_at=opened))
    clock = db.exec(select(SlaClock).where(SlaClock.kind == "handoff")).one()
    assert clock.started_at == datetime.fromisoformat(opened)
    assert clock.started_at.second == datetime.fromisoformat(opened).second
    # a time the agent typed is taken as typed, to the minute
    form_post(client, "/requests/new",
              good_form(received_at=local(utcnow() - timedelta(minutes=4)), opened_at=opened))
    db.rollback()
    typed = db.exec(select(SlaClock).where(SlaClock.kind == "handoff")
                    .order_by(SlaClock.id.desc())).first()
    assert typed.started_at.second == 0


# -- PostgreSQL: two agents at the same moment ---------------------------------------------


@pytest.mark.postgres
def test_two_agents_at_once_on_postgresql_get_their_own_number_and_unit(fresh_pg, settings,
                                                                        monkeypatch):
    """Both read the day's last number and the free spares before either writes."""
    import threading

    from sqlmodel import Session

    from server.actions import requests as actions
    from server.db import make_engine, session_scope
    from server.migrate import upgrade
    from server.models import Role, Staff
    from tests.conftest import add_staff

    upgrade(fresh_pg)
    engine = make_engine(fresh_pg)
    with Session(engine) as db:
        for role in Role:
            add_staff(db, role.value, role.value)
        depot = Depot(name="徐汇应急备件库", address="宜山路700号", region="urban", lat=31.175,
                      lon=121.425)
        db.add(depot)
        db.flush()
        db.add_all([Unit(asset_tag=f"ENC-01{i}", device_type="encoder", model="LiveU Solo",
                         status="reserve", depot_id=depot.id) for i in range(2)])
        db.commit()
        agent = db.exec(select(Staff.id).where(Staff.username == "agent")).one()
    both_read = threading.Barrier(2)
    first = threading.local()
    number = actions.next_number
    asked: list[str] = []

    def number_after_both_read(db, received_at, tz):
        asked.append(tz)
        if not getattr(first, "done", False):
            first.done = True
            value = number(db, received_at, tz)
            both_read.wait(timeout=10)
            return value
        return number(db, received_at, tz)

    monkeypatch.setattr(actions, "next_number", number_after_both_read)
    engines = [make_engine(fresh_pg) for _ in range(2)]
    now = utcnow()
    errors: list[BaseException] = []

    def file(i: int) -> None:
        try:
            with session_scope(engines[i]) as db:
                req = record_request(db, agent, good_form(symptom_kind="no_power"), now, settings)
                hand_off(db, agent, req.id, "onsite", "P1", now, settings)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=file, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert not errors, errors
    assert len(asked) == 3, "the second agent's first number was taken: it asked again"
    with Session(engine) as db:
        numbers = sorted(db.exec(select(SupportRequest.number)).all())
        day = now.astimezone(SH).strftime("%Y%m%d")
        assert numbers == [f"FO-{day}-0001", f"FO-{day}-0002"]
        held = db.exec(select(Unit.held_for_request_id).where(Unit.held_for_request_id.is_not(None)))
        assert len(set(held.all())) == 2, "each live request holds its own spare"
    engine.dispose()
