"""Customers, venues, orders, units and depots screens: each one's refusals (4xx, a reason
in the user's language, nothing changed), audit, archive instead of delete, roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from server.db import utcnow
from server.domain.geo import wgs84_to_gcj02
from server.models import (
    AuditEntry,
    Contact,
    Customer,
    Depot,
    OrderLine,
    RentalOrder,
    SupportRequest,
    Unit,
    Venue,
)
from tests.conftest import form_post, login, text_of


def count(db, model) -> int:
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    return db.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def shop(db):
    """A customer with a venue, a depot, an order with one unit, and spare units."""
    customer = Customer(name="星耀直播传媒", phone="021-55550000")
    db.add(customer)
    db.flush()
    db.add(Contact(customer_id=customer.id, name="李娜", phone="13800138000"))
    venue = Venue(customer_id=customer.id, name="上海大剧院", address="人民大道300号",
                  lat=31.2286, lon=121.4760, datum="GCJ-02", region="urban")
    depot = Depot(name="徐汇应急备件库", address="宜山路700号", region="urban", lat=31.17, lon=121.42)
    db.add_all([venue, depot])
    db.flush()
    order = RentalOrder(order_no="RO-1", customer_id=customer.id, venue_id=venue.id,
                        starts_at=utcnow(), ends_at=utcnow() + timedelta(hours=8))
    rented = Unit(asset_tag="CAM-0001", device_type="camera", model="Z280", status="rented",
                  depot_id=depot.id)
    spare = Unit(asset_tag="CAM-0002", device_type="camera", model="Z280", status="reserve",
                 depot_id=depot.id)
    broken = Unit(asset_tag="CAM-0003", device_type="camera", model="Z280", status="in_repair")
    db.add_all([order, rented, spare, broken])
    db.flush()
    db.add(OrderLine(order_id=order.id, unit_id=rented.id, added_at=utcnow()))
    db.commit()
    return {"customer": customer, "venue": venue, "depot": depot, "order": order,
            "rented": rented, "spare": spare, "broken": broken}


def test_roles_reach_their_screens_only(client, people):
    login(client, "equipment")
    assert client.get("/units").status_code == 200
    assert client.get("/customers").status_code == 403
    client.cookies.clear()
    login(client, "agent")
    for url in ("/customers", "/orders", "/venues", "/import"):
        assert client.get(url).status_code == 200, url
    assert client.get("/units").status_code == 403
    assert client.get("/admin/integrations").status_code == 403
    assert client.get("/import/template/units.csv").status_code == 403


def test_customer_with_several_contacts_and_search(client, people, db, shop):
    login(client, "agent")
    r = form_post(client, "/customers/", {"name": "晨光文化", "phone": "+86 21 6666 0000",
                                          "contact_name": ["王磊", "赵敏"],
                                          "contact_phone": ["139 0000 1111", "13900002222"]})
    assert r.status_code == 303
    customer = db.exec(select(Customer).where(Customer.name == "晨光文化")).one()
    assert customer.phone == "021-66660000"
    assert count(db, Contact) == 3
    # the same search as intake: by a contact's number in any written form
    assert "晨光文化" in text_of(client.get("/customers?q=139-0000-2222").text)
    assert "晨光文化" not in text_of(client.get("/customers?q=星耀").text)
    # intake's phone lookup finds the customer the screen just made, by a contact's number
    client.cookies.clear()
    login(client, "agent")
    r = client.get("/requests/new/phone?phone=139%200000%202222", headers={"hx-request": "true"})
    assert "晨光文化" in r.text and "赵敏" in r.text
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "customer.created")).first()


def test_customer_refusals(client, people, db, shop):
    login(client, "agent")
    before = count(db, Customer)
    r = form_post(client, "/customers/", {"name": "", "phone": "12345", "contact_name": ["王磊"],
                                          "contact_phone": [""]})
    assert r.status_code == 422
    text = text_of(r.text)
    assert "请输入客户名称" in text
    assert "不是中国大陆的电话号码" in text
    assert "请输入联系电话" in text
    r = form_post(client, "/customers/", {"name": "星耀直播传媒", "phone": "02155550000"})
    assert r.status_code == 422
    assert "已有同名同电话的客户" in text_of(r.text)
    assert count(db, Customer) == before


def test_archiving_a_customer_with_an_open_order_is_refused(client, people, db, shop):
    login(client, "dispatcher")
    cid = shop["customer"].id
    r = form_post(client, f"/customers/{cid}/archive")
    assert r.status_code == 422
    assert "RO-1" in text_of(r.text)
    assert db.get(Customer, cid).archived_at is None


def test_venue_from_gcj02_keeps_its_datum_and_shows_both(client, people, db, shop):
    login(client, "agent")
    wgs = (31.2304, 121.4737)
    gcj = wgs84_to_gcj02(*wgs)
    r = form_post(client, "/venues/", {"customer_id": shop["customer"].id, "name": "人民广场",
                                       "address": "人民大道", "region": "市区", "lat": f"{gcj[0]:.6f}",
                                       "lon": f"{gcj[1]:.6f}", "datum": "GCJ-02"})
    assert r.status_code == 303, text_of(r.text)
    venue = db.exec(select(Venue).where(Venue.name == "人民广场")).one()
    assert (venue.datum, venue.region) == ("GCJ-02", "urban")
    page = client.get(r.headers["location"]).text
    shown = dict(re.findall(r'data-datum="([A-Z0-9-]+)">([0-9.]+), ', page))
    assert abs(float(shown["WGS-84"]) - wgs[0]) < 1e-5  # both datums shown
    assert abs(float(shown["GCJ-02"]) - gcj[0]) < 1e-5


def test_venue_abroad_is_stored_in_wgs84(client, people, db, shop):
    login(client, "agent")
    r = form_post(client, "/venues/", {"customer_id": shop["customer"].id, "name": "Seoul Arena",
                                       "address": "Seoul", "region": "urban", "lat": "37.5665",
                                       "lon": "126.9780", "datum": "GCJ-02"})
    assert r.status_code == 303
    venue = db.exec(select(Venue).where(Venue.name == "Seoul Arena")).one()
    assert (venue.datum, venue.lat, venue.lon) == ("WGS-84", 37.5665, 126.978)


def test_venue_refusals(client, people, db, shop):
    login(client, "agent")
    before = count(db, Venue)
    r = form_post(client, "/venues/", {"customer_id": shop["customer"].id, "name": "X",
                                       "address": "Y", "region": "火星", "lat": "121.47",
                                       "lon": "31.23", "datum": "BD-09", "radius_m": "9"})
    assert r.status_code == 422
    text = text_of(r.text)
    assert "未知区域" in text
    assert "未知坐标系" in text
    assert "纬度和经度是否填反" in text
    assert count(db, Venue) == before
    r = form_post(client, f"/venues/{shop['venue'].id}/archive")
    assert r.status_code == 422 and "RO-1" in text_of(r.text)


def test_order_screen_and_unit_invariants(client, people, db, shop):
    login(client, "dispatcher")
    r = form_post(client, "/orders/", {"order_no": "ro 2", "customer_id": shop["customer"].id,
                                       "venue_id": shop["venue"].id, "scenario": "发布会",
                                       "starts_at": "2026-12-24T19:00", "ends_at": "2026-12-24T23:00"})
    assert r.status_code == 303, text_of(r.text)
    order = db.exec(select(RentalOrder).where(RentalOrder.order_no == "RO2")).one()
    assert order.starts_at.hour == 11  # 19:00 Shanghai in UTC
    url = f"/orders/{order.id}/units"
    r = form_post(client, url, {"asset_tag": "cam-0001"}, htmx=True)
    assert r.status_code == 422 and "CAM-0001 已在订单 RO-1 上" in text_of(r.text)
    r = form_post(client, url, {"asset_tag": "CAM-0003"}, htmx=True)
    assert r.status_code == 422 and "维修中" in text_of(r.text)
    r = form_post(client, url, {"asset_tag": "NOPE"}, htmx=True)
    assert r.status_code == 422 and "未知设备" in text_of(r.text)
    r = form_post(client, url, {"asset_tag": "CAM-0002"}, htmx=True)
    assert r.status_code == 200 and "CAM-0002" in r.text
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    assert db.get(Unit, shop["spare"].id).status == "rented"
    r = form_post(client, f"/orders/{order.id}/units/{shop['spare'].id}/remove", htmx=True)
    assert r.status_code == 200
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    assert db.get(Unit, shop["spare"].id).status == "reserve"
    assert count(db, OrderLine) == 2  # the closed line is kept


def test_order_refusals(client, people, db, shop):
    login(client, "agent")
    before = count(db, RentalOrder)
    r = form_post(client, "/orders/", {"order_no": "RO-1", "customer_id": shop["customer"].id,
                                       "starts_at": "2026-12-24T19:00", "ends_at": "2026-12-24T18:00"})
    assert r.status_code == 422
    text = text_of(r.text)
    assert "订单 RO-1 已存在" in text
    assert "结束时间须晚于开始时间" in text
    r = form_post(client, "/orders/", {"order_no": "RO-9", "customer_id": "999999"})
    assert r.status_code == 422 and "请选择客户" in text_of(r.text)
    assert count(db, RentalOrder) == before


def test_archiving_an_order_with_an_open_request_is_refused_then_allowed(client, people, db, shop):
    order = shop["order"]
    db.add(SupportRequest(number="FO-1", customer_name="星耀", order_id=order.id, channel="hotline", contact_name="李娜", phone="13800138000",
                          device_type="camera", symptom="黑屏",
                          status="assigned", received_at=utcnow()))
    db.commit()
    login(client, "dispatcher")
    r = form_post(client, f"/orders/{order.id}/archive")
    assert r.status_code == 422
    request = db.exec(select(SupportRequest)).one()
    request.status = "closed"
    db.add(request)
    db.commit()
    r = form_post(client, f"/orders/{order.id}/archive")
    assert r.status_code == 303
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    assert db.get(RentalOrder, order.id).archived_at is not None  # kept, not deleted
    assert db.get(Unit, shop["rented"].id).status == "reserve"


def test_units_depots_and_retiring(client, people, db, shop):
    login(client, "equipment")
    r = form_post(client, "/units/", {"asset_tag": "mix 9", "device_type": "导播台/切换台",
                                      "model": "ATEM", "depot": "徐汇应急备件库", "status": "reserve"})
    assert r.status_code == 303
    unit = db.exec(select(Unit).where(Unit.asset_tag == "MIX9")).one()
    assert unit.device_type == "mixer"
    r = form_post(client, "/units/", {"asset_tag": "MIX9", "device_type": "mixer", "model": "ATEM"})
    assert r.status_code == 422 and "MIX9" in text_of(r.text)
    r = form_post(client, "/units/", {"asset_tag": "", "device_type": "toaster", "model": "",
                                      "depot": "无此仓库"})
    text = text_of(r.text)
    assert r.status_code == 422
    assert "请输入资产编号" in text and "未知设备类型" in text and "未知仓库" in text
    # retire: refused while on an order or without a reason
    r = form_post(client, f"/units/{shop['rented'].id}/retire", {"reason": "摔坏"})
    assert r.status_code == 422 and "RO-1" in text_of(r.text)
    r = form_post(client, f"/units/{unit.id}/retire", {"reason": ""})
    assert r.status_code == 422
    r = form_post(client, f"/units/{unit.id}/retire", {"reason": "屏幕损坏无法修复"})
    assert r.status_code == 303
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    assert db.get(Unit, unit.id).status == "retired"
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "unit.retire")).one().actor_id == people["equipment"].id
    # a depot that still keeps units cannot be archived
    r = form_post(client, f"/depots/{shop['depot'].id}/archive")
    assert r.status_code == 422
    r = form_post(client, "/depots/", {"name": "", "address": "", "region": "月球", "lat": "x", "lon": ""})
    assert r.status_code == 422 and "未知区域" in text_of(r.text)


def test_every_screen_renders_in_both_languages(client, people, db, shop):
    for who, urls in (("agent", ["/customers", f"/customers/{shop['customer'].id}", "/venues",
                                 f"/venues/{shop['venue'].id}",
                                 f"/venues/new?customer_id={shop['customer'].id}", "/orders",
                                 "/orders/new", f"/orders/{shop['order'].id}", "/import"]),
                      ("equipment", ["/units", f"/units/{shop['rented'].id}", "/depots",
                                     "/import?kind=units"]),
                      ("admin", ["/admin/integrations"])):
        client.cookies.clear()
        login(client, who)
        for locale in ("zh_CN", "en"):
            form_post(client, "/language", {"locale": locale, "next": "/"})
            for url in urls:
                r = client.get(url)
                assert r.status_code == 200, (url, locale)


def _second_open_line_is_refused(url: str) -> None:
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import Session

    from server.db import make_engine
    from server.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        customer = Customer(name="A", phone="021-55550000")
        s.add(customer)
        s.flush()
        one, two = (RentalOrder(order_no="RO-A", customer_id=customer.id),
                    RentalOrder(order_no="RO-B", customer_id=customer.id))
        unit = Unit(asset_tag="U-1", device_type="camera", model="X")
        s.add_all([one, two, unit])
        s.flush()
        s.add(OrderLine(order_id=one.id, unit_id=unit.id, removed_at=utcnow()))  # a closed line
        s.add(OrderLine(order_id=one.id, unit_id=unit.id))
        s.commit()
        s.add(OrderLine(order_id=two.id, unit_id=unit.id))
        with pytest.raises(IntegrityError):
            s.commit()
    engine.dispose()


def test_the_database_keeps_a_unit_on_one_open_order_sqlite(tmp_path):
    """D13 also holds when two people race past the action's check."""
    _second_open_line_is_refused(f"sqlite:///{tmp_path}/x.db")


def test_the_database_keeps_a_unit_on_one_open_order_postgresql(fresh_pg):
    _second_open_line_is_refused(fresh_pg)
