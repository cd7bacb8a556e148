"""Issue 17 in real Chromium: the dispatcher sends a request's status link by SMS from its
page (laptop); the customer follows it on a phone through every stage, to the feedback link
at the end and their answer. Screenshots of each step (FIELDOPS_SHOTS_DIR copies them)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, LiveServer, screenshot, sign_in, sql
from tests.fakes.services import FakeAliyunSms

pytestmark = pytest.mark.e2e
WIDE = {"width": 1440, "height": 900}


def shot(page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot of a scrolled page repeats the sticky bar
    path = screenshot(page, name)
    if os.environ.get("FIELDOPS_SHOTS_DIR"):
        target = Path(os.environ["FIELDOPS_SHOTS_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


def write(server: LiveServer, query: str, *params) -> None:
    con = sqlite3.connect(server.data_dir / "fieldops.db", timeout=30)
    try:
        with con:
            con.execute(query, params)
    finally:
        con.close()


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.fixture
def sms():
    fake = FakeAliyunSms().start()
    yield fake
    fake.stop()


@pytest.fixture
def sms_server(tmp_path, sms):
    live = LiveServer(tmp_path / "live", {
        "FIELDOPS_LOOP_INTERVAL_SECONDS": "1", "FIELDOPS_SMS_ENABLED": "1",
        "FIELDOPS_SMS_ACCESS_KEY_ID": FakeAliyunSms.KEY_ID,
        "FIELDOPS_SMS_ACCESS_KEY_SECRET": FakeAliyunSms.KEY_SECRET,
        "FIELDOPS_SMS_SIGN_NAME": "FieldOps", "FIELDOPS_SMS_TEMPLATE_STATUS": "SMS_0002",
        "FIELDOPS_SMS_API_BASE": sms.url})
    live.env["FIELDOPS_PUBLIC_BASE_URL"] = live.url  # the customer's link opens this server
    live.start()
    yield live
    live.stop()


def test_the_status_link_is_sent_and_followed_to_the_feedback_at_the_end(
        sms_server, sms, new_context):
    base = sms_server.url
    rows = sql(sms_server,
               "SELECT r.id, r.number, j.id, j.assignee_id, v.lat, v.lon FROM support_request r"
               " JOIN job j ON j.request_id = r.id JOIN venue v ON v.id = r.venue_id"
               " WHERE j.kind = 'onsite' AND j.status IN ('offered', 'accepted')"
               " AND r.status IN ('assigned', 'in_progress') AND r.status_token IS NULL"
               " AND r.phone LIKE '1%' ORDER BY r.id LIMIT 1")
    assert rows, "the demo has an onsite job just assigned"
    request_id, number, job_id, engineer_id, lat, lon = rows[0]

    desk = new_context(WIDE).new_page()
    sign_in(desk, base, "dispatcher")
    desk.goto(f"{base}/board/requests/{request_id}")
    box = desk.locator(f"#status-link-{request_id}")
    expect(box.get_by_role("button", name="生成链接")).to_be_visible()
    box.get_by_role("button", name="生成链接").click()
    expect(box.locator("input[readonly]")).to_have_value(re.compile(re.escape(base) + "/s/.{43}$"))
    with desk.expect_response(lambda r: r.url.endswith("/status-link/send")) as sent:
        box.get_by_role("button", name="通过短信发送").click()
    assert sent.value.status == 200, sent.value.text()
    expect(box.locator(".sending-sent")).to_contain_text("已送达", timeout=20_000)
    # The timeline refetches on the send's change event; on a busy machine (two suites at
    # once) that fetch has taken longer than the default 5 s.
    expect(desk.locator("#timeline")).to_contain_text("状态链接已发送给客户", timeout=20_000)
    shot(desk, "17-request-status-link-sent-laptop")
    [message] = sms.sent
    url = message["params"]["url"]
    assert url.startswith(f"{base}/s/") and message["params"]["number"] == number

    phone = new_context(PHONE).new_page()
    phone.goto(url)
    expect(phone.locator(".status-number")).to_have_text(number)
    expect(phone.locator(".status-stage")).to_have_text("已为您指派工程师")
    shot(phone, "17-status-1-assigned-phone")

    write(sms_server, "UPDATE job SET status = 'en_route' WHERE id = ?", job_id)
    now = stamp()
    write(sms_server,
          "INSERT INTO field_fact (id, job_id, request_id, author_id, kind, device_time,"
          " effective_at, received_at, lat, lon, data, flagged, flag_reason)"
          " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
          str(uuid.uuid4()), job_id, request_id, engineer_id, "en_route", now, now, now,
          lat + 0.03, lon + 0.02, "{}", 0, "")
    phone.reload()
    expect(phone.locator(".status-eta")).to_contain_text("分钟到达")
    shot(phone, "17-status-2-on-the-way-phone")

    write(sms_server, "UPDATE job SET status = 'on_site', arrived_at = ? WHERE id = ?",
          stamp(), job_id)
    phone.reload()
    expect(phone.locator(".status-stage")).to_have_text("工程师已到场")
    shot(phone, "17-status-3-arrived-phone")

    write(sms_server, "UPDATE job SET status = 'done', finished_at = ? WHERE id = ?", stamp(),
          job_id)
    write(sms_server, "UPDATE support_request SET status = 'resolved', resolved_at = ?"
                      " WHERE id = ?", stamp(), request_id)
    phone.reload()
    feedback = phone.get_by_role("link", name="评价本次服务")
    expect(feedback).to_be_visible()  # the feedback link at the end
    shot(phone, "17-status-4-done-feedback-link-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    feedback.click()
    phone.wait_for_url("**/f/*")
    expect(phone.locator("body")).to_contain_text(number)
    shot(phone, "17-status-5-feedback-form-phone")
    phone.locator("label.score", has_text="5").click()
    phone.locator("label.opt", has_text="已解决").click()
    phone.get_by_role("button", name="提交").click()
    expect(phone.locator("body")).to_contain_text("谢谢")
    shot(phone, "17-status-6-feedback-thanks-phone")
    phone.goto(url)
    expect(phone.locator(".status-stage")).to_have_text("需求已关闭，感谢您的支持！")
    expect(phone.get_by_role("link", name="评价本次服务")).to_have_count(0)
    shot(phone, "17-status-7-closed-phone")


def test_a_request_just_received_and_the_inbox_on_a_wide_laptop(sms_server, new_context):
    base = sms_server.url
    rows = sql(sms_server,
               "SELECT r.id, r.number FROM support_request r WHERE r.status = 'handed_off'"
               " AND NOT EXISTS (SELECT 1 FROM job j WHERE j.request_id = r.id"
               " AND j.status NOT IN ('reassigned', 'cancelled')) ORDER BY r.id LIMIT 1")
    assert rows, "the demo has a request handed off and not yet assigned"
    request_id, number = rows[0]
    token = "e2e-received-" + uuid.uuid4().hex
    write(sms_server, "UPDATE support_request SET status_token = ? WHERE id = ?", token,
          request_id)
    phone = new_context(PHONE).new_page()
    phone.goto(f"{base}/s/{token}")
    expect(phone.locator(".status-stage")).to_have_text("已收到您的需求，正在安排工程师")
    shot(phone, "17-status-0-received-phone")

    desk = new_context(WIDE).new_page()
    sign_in(desk, base, "agent")
    desk.goto(base + "/inbox")
    expect(desk.locator(".inbox-row").first).to_be_visible()
    shot(desk, "17-inbox-laptop-1440")


def test_a_change_heard_while_the_timeline_is_being_fetched_is_fetched_again(
        sms_server, new_context):
    """The timeline's fetch for one change is answered before the next change commits and
    delivered after it: the timeline (swapped as a whole, outerHTML) fetches again."""
    base = sms_server.url
    rows = sql(sms_server,
               "SELECT r.id FROM support_request r JOIN job j ON j.request_id = r.id"
               " WHERE j.kind = 'onsite' AND j.status IN ('offered', 'accepted')"
               " AND r.status IN ('assigned', 'in_progress') AND r.status_token IS NULL"
               " AND r.phone LIKE '1%' ORDER BY r.id LIMIT 1")
    assert rows, "the demo has an onsite job just assigned"
    request_id = rows[0][0]
    desk = new_context(WIDE).new_page()
    sign_in(desk, base, "dispatcher")
    desk.goto(f"{base}/board/requests/{request_id}")
    held = []

    def hold(route) -> None:  # the first live fetch waits here
        if route.request.headers.get("hx-request") and not held:
            held.append(route)
        else:
            route.continue_()

    desk.route(re.compile(rf"/board/requests/{request_id}$"), hold)
    box = desk.locator(f"#status-link-{request_id}")
    box.get_by_role("button", name="生成链接").click()
    expect(box.locator("input[readonly]")).to_have_value(re.compile(r"/s/.{43}$"))
    for _ in range(200):  # the route handler runs as Playwright hears the request
        if held:
            break
        desk.wait_for_timeout(50)
    [route] = held
    expect(desk.locator("#timeline")).to_have_class(re.compile("htmx-request"))  # in flight
    answer = route.fetch()  # answered before the send, delivered after it
    box.get_by_role("button", name="通过短信发送").click()
    expect(box.locator(".sending-sent")).to_contain_text("已送达", timeout=20_000)
    assert "状态链接已发送给客户" not in answer.text()
    route.fulfill(response=answer)
    expect(desk.locator("#timeline")).to_contain_text("状态链接已发送给客户", timeout=10_000)
