"""The rental system's machine API: tokens, upserts by natural key, refusals per field with
nothing written, a token opening only this API, the rate limit, and the OpenAPI document
driving real calls."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlmodel import func, select

from server.actions.integrations import create_token, revoke_token
from server.db import utcnow
from server.models import AuditEntry, Depot, IntegrationToken, OrderLine, RentalOrder, Unit
from tests.conftest import login

API = "/api/rental/v1"
CUSTOMER = {"name": "星耀直播传媒", "phone": "021-5555 0000",
            "contacts": [{"name": "李娜", "phone": "138 0013 8000"}]}
VENUE = {"customer_name": "星耀直播传媒", "customer_phone": "02155550000", "name": "上海大剧院",
         "address": "人民大道300号", "region": "urban", "lat": 31.2286, "lon": 121.4760,
         "datum": "GCJ-02"}
ORDER = {"customer_name": "星耀直播传媒", "customer_phone": "021-55550000",
         "contact_name": "李娜", "contact_phone": "13800138000", "venue": "上海大剧院",
         "scenario": "跨年晚会直播", "starts_at": "2026-12-31 18:00",
         "ends_at": "2027-01-01T02:00:00+08:00", "units": ["CAM-0001", "ENC-0002"]}


def _token(db, people) -> str:
    _, token = create_token(db, people["admin"].id, "租赁业务系统", utcnow())
    db.commit()
    return token


def _auth(token: str) -> dict:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


def _seed(client, headers) -> None:
    db_depot = client.put(f"{API}/customers", json=CUSTOMER, headers=headers)
    assert db_depot.status_code == 200, db_depot.text
    assert client.put(f"{API}/venues", json=VENUE, headers=headers).status_code == 200
    for tag, kind in (("CAM-0001", "camera"), ("ENC-0002", "encoder")):
        r = client.put(f"{API}/units/{tag}", json={"device_type": kind, "model": "X1"},
                       headers=headers)
        assert r.status_code == 200, r.text


def test_upserts_are_idempotent_by_natural_key(client, db, people):
    headers = _auth(_token(db, people))
    r = client.put(f"{API}/customers", json=CUSTOMER, headers=headers)
    assert r.json()["outcome"] == "created"
    again = client.put(f"{API}/customers", json=CUSTOMER, headers=headers)
    assert again.json() == {"outcome": "unchanged", "id": r.json()["id"]}
    _seed(client, headers)
    r = client.put(f"{API}/orders/RO-2026-12-0001", json=ORDER, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "created"
    assert client.put(f"{API}/orders/ro-2026-12-0001", json=ORDER,
                      headers=headers).json()["outcome"] == "unchanged"
    status = client.get(f"{API}/units/cam-0001", headers=headers).json()
    assert status["status"] == "rented" and status["order_no"] == "RO-2026-12-0001"
    # the order's units are exactly the listed ones
    r = client.put(f"{API}/orders/RO-2026-12-0001", json=ORDER | {"units": ["ENC-0002"]},
                   headers=headers)
    assert r.json()["outcome"] == "updated"
    assert client.get(f"{API}/units/CAM-0001", headers=headers).json() | {} == {
        "asset_tag": "CAM-0001", "device_type": "camera", "model": "X1", "status": "reserve",
        "depot": None, "order_no": None}
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    assert db.exec(select(func.count()).select_from(RentalOrder)).one() == 1
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "api.upsert")).first()


def test_a_unit_on_another_order_is_refused_and_nothing_is_written(client, db, people):
    headers = _auth(_token(db, people))
    _seed(client, headers)
    assert client.put(f"{API}/orders/RO-1", json=ORDER, headers=headers).status_code == 200
    r = client.put(f"{API}/orders/RO-2", json=ORDER | {"customer_name": "新客户"}, headers=headers)
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert "CAM-0001 is already on order RO-1" in errors["units"]["message"]
    assert "RO-1" in errors["units"]["message_zh"]
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    assert db.exec(select(func.count()).select_from(RentalOrder)).one() == 1
    # the new customer of the refused order was not created either
    assert client.put(f"{API}/customers", json={"name": "新客户", "phone": "021-55550000"},
                      headers=headers).json()["outcome"] == "created"


def test_bad_fields_get_a_reason_each(client, db, people):
    headers = _auth(_token(db, people))
    _seed(client, headers)
    r = client.put(f"{API}/venues", json=VENUE | {"region": "月球", "datum": "BD-09", "lat": 121.47,
                                                  "lon": 31.23}, headers=headers)
    assert r.status_code == 422
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert "Unknown region" in fields["region"]
    assert "Unknown datum" in fields["datum"]
    assert "swapped" in fields["lat"]
    r = client.put(f"{API}/units/X-1", json={"device_type": "toaster", "model": ""}, headers=headers)
    assert {e["field"] for e in r.json()["errors"]} == {"device_type", "model"}
    r = client.put(f"{API}/orders/RO-9", json=ORDER | {"starts_at": "tomorrow"}, headers=headers)
    assert [e["field"] for e in r.json()["errors"]] == ["starts_at"]
    r = client.put(f"{API}/venues", json={"name": 5}, headers=headers)  # wrong types
    assert r.status_code == 400
    assert client.get(f"{API}/units/NOPE", headers=headers).status_code == 404


def test_only_a_live_token_opens_the_api_and_it_opens_nothing_else(client, db, people):
    token = _token(db, people)
    assert client.get(f"{API}/units/X", headers={"accept": "application/json"}).status_code == 401
    bad = _auth("fo_" + "x" * 40)
    assert client.get(f"{API}/units/X", headers=bad).status_code == 401
    # a person's session is not a token
    login(client, "admin")
    assert client.get(f"{API}/units/X", headers={"accept": "application/json"}).status_code == 403
    client.cookies.clear()
    # the token is not a session: other screens stay closed
    r = client.get("/board", headers=_auth(token), follow_redirects=False)
    assert r.status_code == 401
    row = db.exec(select(IntegrationToken)).one()
    assert token not in (row.token_hash, row.prefix)  # stored hashed
    revoke_token(db, people["admin"].id, row.id, utcnow())
    db.commit()
    assert client.get(f"{API}/units/X", headers=_auth(token)).status_code == 401


def test_rate_limited_per_token(settings, db, people):
    from dataclasses import replace

    from litestar.testing import TestClient

    from server.app import create_app

    app = create_app(replace(settings, rental_api_rate_per_minute=3))
    token = _token(db, people)
    with TestClient(app=app) as client:
        codes = [client.get(f"{API}/units/X", headers=_auth(token)).status_code for _ in range(5)]
    assert codes[:3] == [404, 404, 404]
    assert codes[3:] == [429, 429]


def test_openapi_round_trip_with_a_token(app, client, db, people):
    """The published document describes the routes, their token and their bodies; calls
    built from it by schemathesis never get a 5xx, and a documented call works."""
    token = _token(db, people)
    login(client, "admin")  # the document is for staff (it maps every route)
    doc = client.get("/schema/openapi.json", headers={"accept": "application/json"}).json()
    staff_cookies = dict(client.cookies)
    client.cookies.clear()
    assert doc["components"]["securitySchemes"]["integrationToken"]["scheme"] == "bearer"
    put_order = doc["paths"][f"{API}/orders/{{order_no}}"]["put"]
    body_ref = put_order["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(ORDER) <= set(body["properties"])
    headers = _auth(token)
    _seed(client, headers)
    assert client.put(f"{API}/orders/RO-7", json={k: ORDER[k] for k in body["properties"]},
                      headers=headers).status_code == 200

    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, cookies=staff_cookies)
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith(API)]
    assert len(operations) == 5
    for operation in operations:
        _no_5xx(operation, headers)
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    # every open line still names one unit once (D13)
    lines = db.exec(select(OrderLine.unit_id).where(OrderLine.removed_at.is_(None))).all()
    assert len(lines) == len(set(lines))
    assert db.exec(select(func.count()).select_from(Depot)).one() == 0
    assert db.exec(select(func.count()).select_from(Unit)).one() >= 2


def _no_5xx(operation, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def run(case):
        response = case.call(headers=headers)
        assert response.status_code < 500, (operation.path, response.text[:300])
        assert response.status_code != 401

    run()
