"""Issue 17 in real Chromium: the agents' inbox (laptop), a hotline call answered by the
agent opening the request form live, and the customer's status page on a phone."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, screenshot, sign_in, sql

pytestmark = pytest.mark.e2e
SECRET = "e2e-callcenter-secret"


@pytest.fixture
def china_server(tmp_path):
    live = LiveServer(tmp_path / "live", {"FIELDOPS_CALLCENTER_SECRET": SECRET,
                                          "FIELDOPS_LOOP_INTERVAL_SECONDS": "1"}).start()
    yield live
    live.stop()


def write(server: LiveServer, query: str, *params) -> None:
    con = sqlite3.connect(server.data_dir / "fieldops.db", timeout=30)
    try:
        with con:
            con.execute(query, params)
    finally:
        con.close()


def call_event(base: str, event: str, call_id: str, caller: str, agent: str = "") -> dict:
    body = json.dumps({"call_id": call_id, "event": event, "caller": caller, "agent": agent,
                       "callee": "400-820-8820"}).encode()
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(base + "/channels/callcenter", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Timestamp": ts, "X-Signature": sig})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_the_inbox_and_a_call_that_opens_the_form_live(china_server, new_context):
    base = china_server.url
    page = new_context(LAPTOP).new_page()
    sign_in(page, base, "agent")
    page.goto(base + "/inbox")
    rows = page.locator(".inbox-row")
    expect(rows).to_have_count(4)  # the demo's waiting contacts, oldest first
    expect(rows.first).to_contain_text("摄像机开不了机")
    expect(rows.first.locator(".clk")).to_have_class("clk breached")
    expect(page.locator(".tag.warn")).to_contain_text("需回拨")
    expect(page.locator("[data-live-state]")).to_have_class("live-state is-live")
    screenshot(page, "inbox-laptop")

    phone = sql(china_server, "SELECT phone FROM contact ORDER BY id LIMIT 1")[0][0]
    customer = sql(china_server, "SELECT c.name FROM customer c JOIN contact t ON t.customer_id = c.id"
                                 " WHERE t.phone = ? ORDER BY t.id LIMIT 1", phone)[0][0]
    call_event(base, "incoming", "e2e-call-1", phone)
    expect(page.locator(".call-panel.ringing")).to_contain_text(customer)  # live, no reload
    screenshot(page, "inbox-call-ringing-laptop")
    call_event(base, "answered", "e2e-call-1", phone, agent="agent")
    page.wait_for_url("**/requests/new?contact=*")  # the form opens on this agent's screen
    expect(page.locator("#f-phone")).to_have_value(phone)
    expect(page.locator("#f-customer_name")).to_have_value(customer)
    screenshot(page, "intake-from-call-laptop")

    page.goto(base + "/inbox")
    page.select_option("#lang-select", "en")
    page.get_by_role("button", name="切换").click()
    page.goto(base + "/inbox")
    expect(page.locator("h1")).to_have_text("Inbox")
    screenshot(page, "inbox-laptop-en")


def test_the_customer_follows_the_engineer_on_a_phone(china_server, new_context):
    base = china_server.url
    row = sql(china_server,
              "SELECT r.id, j.id, j.assignee_id, v.lat, v.lon, r.number FROM support_request r"
              " JOIN job j ON j.request_id = r.id JOIN venue v ON v.id = r.venue_id"
              " WHERE j.kind = 'onsite' AND j.status = 'en_route' ORDER BY r.id LIMIT 1")
    assert row, "the demo has an onsite engineer on the way"
    request_id, job_id, engineer_id, lat, lon, number = row[0]
    token = secrets.token_urlsafe(32)
    write(china_server, "UPDATE support_request SET status_token = ? WHERE id = ?", token, request_id)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    write(china_server,
        "INSERT INTO field_fact (id, job_id, request_id, author_id, kind, device_time, effective_at,"
        " received_at, lat, lon, data, flagged, flag_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        str(uuid.uuid4()), job_id, request_id, engineer_id, "en_route", now, now, now,
        lat + 0.03, lon + 0.02, "{}", 0, "")
    ctx = new_context(PHONE)
    page = ctx.new_page()
    page.goto(f"{base}/s/{token}")
    expect(page.locator(".status-number")).to_have_text(number)
    expect(page.locator(".status-eta")).to_contain_text("分钟到达")
    expect(page.locator(".status-engineer")).to_contain_text("****")
    assert str(round(lat + 0.03, 3)) not in page.content()
    screenshot(page, "customer-status-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    gone = ctx.new_page()
    gone.goto(f"{base}/s/not-a-real-token")
    expect(gone.locator("h1")).to_contain_text("无效")
