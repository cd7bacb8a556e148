"""Job alerts in a real Chromium at 390 x 844: the profile's alerts section, a pushed
notice handed to the service worker over CDP (no push service is reachable here, as
testing.md says), its receipts reaching the server, and its "accept" action taken while
the phone is offline, applied exactly once when it is back online."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from server.actions.jobs import assign_job
from server.actions.requests import hand_off, record_request
from server.db import make_engine, session_scope, utcnow
from server.models import Notification, Roster, Shift, Staff
from server.push.message import payload
from server.queries.duty import is_on_duty
from server.settings import Settings
from tests.e2e.conftest import PHONE, LiveServer, screenshot, sign_in, sql

pytestmark = pytest.mark.e2e

NOTIFICATIONS_JS = """() => navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns =>
  ns.map(n => ({title: n.title, body: n.body, tag: n.tag, requireInteraction: n.requireInteraction,
                actions: (n.actions || []).map(a => a.action), data: n.data})))"""




def until(check, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def offer_a_p1_job(server: LiveServer) -> dict:
    """A P1 onsite job offered to the demo engineer 'onsite', as the dispatcher would, and
    the push message the outbox would send for it (same code, same secret)."""
    settings = Settings(data_dir=server.data_dir, demo_data=False).with_secrets()
    engine = make_engine(settings.db_url)
    now = utcnow()
    with session_scope(engine) as db:
        me = db.exec(select(Staff).where(Staff.username == "onsite")).one()
        boss = db.exec(select(Staff).where(Staff.username == "dispatcher")).one()
        if not is_on_duty(db, me.id, now, settings):
            roster = db.exec(select(Roster).where(Roster.status == "published")).first()
            # a shift covering now; its day is far off so it cannot clash with a demo shift
            db.add(Shift(roster_id=roster.id, staff_id=me.id, day=(now + timedelta(days=400)).date(),
                         kind="night", starts_at=now - timedelta(hours=1),
                         ends_at=now + timedelta(hours=6), group="onsite", region=me.region))
            db.flush()
        form = {"channel": "hotline", "customer_name": "星耀直播（推送测试）", "contact_name": "王晓明",
                "phone": "13800138000", "address": "上海市黄浦区人民大道300号",
                "device_type": "encoder", "symptom": "推流失败，直播中断", "symptom_kind": "push_failed",
                "stream_state": "live", "region": me.region, "received_at": now.isoformat()}
        req = record_request(db, boss.id, form, now, settings)
        hand_off(db, boss.id, req.id, "onsite", "P1", now, settings)
        job = assign_job(db, boss.id, req.id, me.id, "onsite", now, settings)
        note = db.exec(select(Notification).where(Notification.job_id == job.id,
                                                  Notification.channel == "webpush")).one()
        data = payload(note.id, note.payload, secret=settings.secret_key, priority="P1",
                       job_kind="onsite", locale=me.locale)
        out = {"job_id": job.id, "request_id": req.id, "note_id": note.id, "data": data,
               "number": req.number}
    engine.dispose()
    return out


def notifications(page, count: int) -> list[dict]:
    """The service worker registration's notifications, once there are ``count``."""
    for _ in range(100):
        shown = page.evaluate(f"({NOTIFICATIONS_JS})()")
        if len(shown) == count:
            return shown
        page.wait_for_timeout(100)
    raise AssertionError(f"{len(shown)} notifications shown, not {count}: {shown}")


def synced(page, timeout: float = 30.0) -> None:
    """The outbox is empty. The page syncs by itself when the network returns; Playwright
    gives the page and the service worker their network back one after the other, so
    if the first try lost that race, press "sync now" as the engineer would."""
    deadline = time.monotonic() + timeout
    while page.inner_text("[data-sync-count]") != "0":
        assert time.monotonic() < deadline, "the outbox never emptied"
        page.wait_for_timeout(3000)
        if page.inner_text("[data-sync-count]") != "0":
            page.get_by_role("button", name="立即同步").click()


def registration_id(cdp, page, base: str) -> str:
    found: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: found.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(100):  # CDP events arrive while Playwright works: wait through it
        mine = [r for r in found if r["scopeURL"] == base + "/" and not r.get("isDeleted")]
        if mine:
            return mine[-1]["registrationId"]
        page.wait_for_timeout(100)
    raise AssertionError("no service worker registration reported over CDP")


def test_profile_alerts_section_on_a_phone(server, new_context):
    ctx = new_context(PHONE)
    ctx.grant_permissions(["notifications"], origin=server.url)
    page = ctx.new_page()
    sign_in(page, server.url, "onsite")
    page.goto(server.url + "/me")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    section = page.locator("#push-alerts")
    page.wait_for_function("document.getElementById('push-alerts').dataset.pushState === 'off'")
    assert "添加到主屏幕" in section.inner_text()  # the iPhone step, always shown
    assert page.get_by_role("button", name="开启任务提醒").is_visible()
    assert not page.get_by_role("button", name="在本设备关闭提醒").is_visible()  # nothing to turn off
    assert page.get_by_role("button", name="发送测试提醒").is_visible()
    assert section.locator(".push-state p:visible").all_inner_texts() == ["本设备的任务提醒未开启。"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"scrolls sideways ({width}px)"
    for box in page.locator("#push-alerts button:visible").all():
        size = box.bounding_box()
        assert size["height"] >= 44 and size["width"] >= 44, box.inner_text()
    section.screenshot(path=str(screenshot(page, "profile-alerts-phone").with_name(
        "profile-alerts-section-phone.png")))

    # No push service answers here: the subscribe call fails or never settles, and the
    # page says so (within its timeout) instead of spinning for ever.
    page.get_by_role("button", name="开启任务提醒").click()
    page.wait_for_function("document.getElementById('push-alerts').dataset.pushState === 'failed'",
                           timeout=25_000)
    assert "推送服务没有响应" in section.inner_text()
    assert page.get_by_role("button", name="开启任务提醒").is_visible()  # try again

    # A test alert with no device: said plainly.
    page.get_by_role("button", name="发送测试提醒").click()
    page.wait_for_selector("#push-test-result .flash")
    assert "还没有开启提醒的设备" in page.inner_text("#push-test-result")
    screenshot(page, "profile-alerts-failed-phone")


def test_a_pushed_job_is_shown_and_accepted_offline_then_once_online(server, new_context):
    ctx = new_context(PHONE)
    ctx.grant_permissions(["notifications"], origin=server.url)
    page = ctx.new_page()
    sign_in(page, server.url, "onsite")
    page.goto(server.url + "/field")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # controlled now: the page tells the service worker its client id
    assert page.evaluate("!!navigator.serviceWorker.controller")
    job = offer_a_p1_job(server)

    cdp = ctx.new_cdp_session(page)
    reg = registration_id(cdp, page, server.url)
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": server.url, "registrationId": reg, "data": json.dumps(job["data"])})
    (shown,) = notifications(page, 1)
    assert job["number"] in shown["title"] and shown["title"].startswith("P1")
    assert shown["tag"] == f"job-{job['job_id']}" and shown["requireInteraction"] is True
    assert shown["actions"] == ["accept", "open"]
    assert shown["data"]["job_id"] == job["job_id"]
    until(lambda: sql(server, "SELECT shown_at FROM notification WHERE id = ?",
                      job["note_id"])[0][0] is not None, what="the 'shown' receipt")

    # The engineer taps "accept" with no signal: kept on the phone like any offline action.
    ctx.set_offline(True)
    sw = ctx.service_workers[0]
    mutation = sw.evaluate("data => self.fieldopsPush.click('accept', data)", shown["data"])
    assert isinstance(mutation, str) and len(mutation) == 36
    assert sw.evaluate("outboxAll().then(a => a.map(e => [e.name, e.args.job_id]))") == [
        ["accept", str(job["job_id"])]]
    page.wait_for_function("document.querySelector('[data-sync-count]').textContent === '1'")
    assert sql(server, "SELECT status FROM job WHERE id = ?", job["job_id"]) == [("offered",)]
    after = notifications(page, 1)
    assert [n["body"] for n in after] == ["已接单（手机联网后自动同步）。"]

    ctx.set_offline(False)  # back online: the page's sync replays the outbox
    synced(page)
    until(lambda: sql(server, "SELECT status FROM job WHERE id = ?", job["job_id"])
          == [("accepted",)], what="the job accepted on the server")
    # A second tap (the notice was still on screen) changes nothing.
    sw.evaluate("data => self.fieldopsPush.click('accept', data)", shown["data"])
    synced(page)
    assert sql(server, "SELECT count(*) FROM audit_entry WHERE action = 'job.accepted' "
                       "AND entity = 'job' AND entity_id = ?", str(job["job_id"])) == [(1,)]
    # the second tap's push may still be on its way when the page last said "synced"
    until(lambda: len(sql(server, "SELECT result FROM client_mutation WHERE name = 'accept'"))
          == 2, what="the second tap logged")
    rows = sql(server, "SELECT result FROM client_mutation WHERE name = 'accept'")
    assert len(rows) == 2 and {r[0] for r in rows} <= {"applied", "flagged"}
    until(lambda: sql(server, "SELECT acknowledged_at FROM notification WHERE id = ?",
                      job["note_id"])[0][0] is not None, what="the kept 'acknowledged' receipt")

    desk = new_context().new_page()
    sign_in(desk, server.url, "dispatcher")
    desk.goto(f"{server.url}/board/requests/{job['request_id']}")
    desk.wait_for_selector(f"#notices-{job['request_id']} .notice")
    status = desk.inner_text(f"#notices-{job['request_id']}")
    assert "张强" in status and "已确认" in status
    screenshot(desk, "request-alert-status-phone")
