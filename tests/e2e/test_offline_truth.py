"""The engineer's phone tells the truth offline (issue 12), in a real Chromium at 390 x 844.

With the network off: accept, check in, write a note, finish; the job page shows the state
those actions lead to (status, steps offered, clocks stopped, facts waiting to sync), also
after a reload, before anything reached the server. Back online: each fact once on the
dispatcher's timeline. And a shared phone: after sign-out, offline, no earlier person's
page opens.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import ARTIFACTS, LAPTOP, PHONE, screenshot, sign_in, sql
from tests.e2e.test_offline import each_once, job_on_page, phone_ready, waiting, write_note

pytestmark = pytest.mark.e2e
CACHED_JOB_PAGES = """caches.keys().then(names => Promise.all(names.filter(n => n.startsWith('pages-'))
  .map(n => caches.open(n).then(c => c.keys())))).then(all => all.flat().map(r => r.url))"""


def write(server, query: str, *params) -> None:
    con = sqlite3.connect(server.data_dir / "fieldops.db", timeout=30)
    try:
        con.execute(query, params)
        con.commit()
    finally:
        con.close()


def offer_a_job(server) -> int:
    """One of the demo engineer's jobs, offered to them just now (not yet accepted)."""
    (job_id,), *_ = sql(server, """SELECT j.id FROM job j JOIN staff s ON s.id = j.assignee_id
        JOIN support_request r ON r.id = j.request_id
        WHERE s.username = 'onsite' AND j.status IN ('offered', 'accepted', 'en_route')
        AND j.kind = 'onsite' ORDER BY r.priority DESC, j.id""")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    write(server, "UPDATE job SET status = 'offered', accepted_at = NULL, assigned_at = ? "
          "WHERE id = ?", now, job_id)
    return job_id


def chip(page) -> str:
    return page.inner_text("#job [data-status-chip]")


def offered(page) -> list[str]:
    return page.evaluate("""[...document.querySelectorAll('#job [data-offer]')]
        .filter(f => !f.hidden).map(f => (f.dataset.mutation ? f : f.querySelector('form')).dataset.mutation)""")


def pending_facts(page) -> list[str]:
    return page.evaluate("""[...document.querySelectorAll('#job li.ffact.pending strong')]
        .map(s => s.textContent)""")


def test_the_job_page_shows_what_the_queued_actions_lead_to(server, new_context):
    job_id = offer_a_job(server)
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    page.goto(f"{server.url}/field/jobs/{job_id}")
    page.wait_for_selector("#job")
    page.wait_for_function(CACHED_JOB_PAGES + f".then(u => u.some(x => x.endsWith('/field/jobs/{job_id}')))")
    job = job_on_page(page, server)
    ctx.grant_permissions(["geolocation"], origin=server.url)
    ctx.set_geolocation({"latitude": job["lat"], "longitude": job["lon"], "accuracy": 10})

    ctx.set_offline(True)
    page.reload()
    page.wait_for_selector("#job")
    assert "待接单" in chip(page) and offered(page) == ["accept", "on_my_way", "check_in", "decline"]
    screenshot(page, "field-offline-before-phone")

    page.get_by_role("button", name="接单").click()
    waiting(page, 1)
    page.wait_for_function("document.querySelector('#job [data-status-chip]').textContent.includes('已接单')")
    assert "等待同步" in chip(page)
    assert offered(page) == ["on_my_way", "check_in"]
    assert pending_facts(page) == ["已接单"]
    # the first queued action asked the browser to keep the outbox; a refusal is shown
    page.wait_for_function("""navigator.storage.persisted().then(yes => yes ||
        !document.querySelector('[data-persist-refused]').hidden)""")

    page.get_by_role("button", name="到场签到").click()
    waiting(page, 2)
    page.wait_for_function("document.querySelector('#job [data-status-chip]').textContent.includes('已到场')")
    assert offered(page) == []
    stopped = page.inner_text("#job [data-stopped-clocks]")
    assert "已停" in stopped and "等待同步" in stopped
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "field-offline-checked-in-phone")

    write_note(page, "编码器电源接口松动，重新固定")
    waiting(page, 3)
    done = page.locator("details.fdetails", has=page.locator("[data-mutation=done]"))
    done.locator("summary").click()
    stream = done.locator("input[name=stream_back]")
    if stream.count():
        stream.check()
    done.get_by_role("button", name="确认完工").click()
    waiting(page, 4)
    page.wait_for_function("document.querySelector('#job [data-status-chip]').textContent.includes('已完成')")
    assert page.is_hidden("#job .fjob-steps") and page.is_hidden("#job .fjob-work")
    assert page.is_visible("#job [data-done-note]")
    assert sql(server, "SELECT count(*) FROM client_mutation") == [(0,)]  # nothing got out

    page.reload()  # still offline: the phone's copy, with the same state painted on it
    page.wait_for_selector("#job")
    waiting(page, 4)
    page.wait_for_function("document.querySelectorAll('#job li.ffact.pending').length === 4")
    assert "已完成" in chip(page) and page.is_hidden("#job .fjob-work")
    assert pending_facts(page) == ["已接单", "已签到", "维修记录", "完工"]
    assert "编码器电源接口松动" in page.inner_text("#job [data-facts]")
    # the bars stay in sight while scrolling
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("document.querySelector('[data-syncbar]').getBoundingClientRect().top") < 120
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "field-offline-after-phone")

    page.goto(f"{server.url}/field")  # my jobs, offline: the card says so too
    waiting(page, 4)
    card = f".fcard[data-job='{job_id}'] [data-status-chip]"
    page.wait_for_function(f"document.querySelector(\"{card}\").textContent.includes('已完成')")
    screenshot(page, "field-offline-my-jobs-phone")

    ctx.set_offline(False)  # on this page, already showing 4 waiting: it syncs by itself
    waiting(page, 0, timeout=30_000)
    each_once(server, ["accept", "check_in", "fix_note", "done"])
    page.goto(f"{server.url}/field/jobs/{job_id}")
    page.wait_for_function("document.querySelector('#job').dataset.status === 'done'")
    page.wait_for_function("document.querySelectorAll('#job li.ffact.pending').length === 0")
    assert "等待同步" not in chip(page)
    screenshot(page, "field-synced-done-phone")

    desk = new_context(LAPTOP).new_page()
    sign_in(desk, server.url, "dispatcher")
    desk.goto(f"{server.url}/board/requests/{job['request_id']}")
    timeline = desk.inner_text("#timeline")
    assert timeline.count("编码器电源接口松动") == 1


def test_after_sign_out_no_earlier_persons_page_opens_offline(server, new_context):
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    page.locator(".fcard-main").first.click()
    page.wait_for_selector("#job")
    job_url = page.url
    phone = sql(server, "SELECT phone FROM support_request WHERE id = ?",
                job_on_page(page, server)["request_id"])[0][0]
    assert phone in page.content()
    assert any(u.endswith("/field/jobs/" + job_url.rsplit("/", 1)[1])
               for u in page.evaluate(CACHED_JOB_PAGES))

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login*")
    page.wait_for_function(CACHED_JOB_PAGES + ".then(u => u.length === 0)")
    ctx.set_offline(True)
    page.goto(job_url)
    html = page.content()
    assert phone not in html and "fjob" not in html
    assert "没有网络连接" in html  # the shell's offline page, not the earlier person's
    page.goto(server.url + "/field")
    assert "fcard" not in page.content()
    screenshot(page, "field-signed-out-offline-phone")


def test_a_refused_swap_is_shown_once_and_can_be_corrected_and_sent_again(server, new_context):
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    page.locator(".fcard-main").first.click()
    page.wait_for_selector("#job")
    job = job_on_page(page, server)

    ctx.set_offline(True)
    swap = page.locator("details.fdetails", has=page.locator("[data-mutation=swap]"))
    swap.locator("summary").click()
    swap.locator("input[name=unit_out]").fill(job["unit_out"])
    swap.locator("input[name=unit_in]").fill("ENC-9999")  # a wrong tag, typed in the dark
    swap.get_by_role("button", name="记录换机").click()
    waiting(page, 1)
    ctx.set_offline(False)
    waiting(page, 0, timeout=30_000)
    refused = page.locator("[data-sync-refused] li", has_text="ENC-9999")
    refused.wait_for()
    assert refused.count() == 1  # once, with the reason
    assert refused.get_by_role("button", name="丢弃").is_visible()
    page.reload()
    page.wait_for_selector("[data-sync-refused] li")
    assert page.locator("[data-sync-refused] li", has_text="ENC-9999").count() == 1
    assert page.locator("#job .ffacts.refused").count() == 0  # the kept report says it once
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "field-refused-swap-phone")

    page.locator("[data-sync-refused] li", has_text="ENC-9999").get_by_role(
        "link", name="修改后重新发送").click()
    page.wait_for_function("document.querySelector('#f-swap [name=unit_in]').value === 'ENC-9999'")
    assert page.locator("#f-swap [name=unit_out]").input_value() == job["unit_out"]
    page.wait_for_function("document.querySelectorAll('[data-sync-refused] li').length === 0")
    page.fill("#f-swap [name=unit_in]", job["unit_in"])
    page.locator("#f-swap").get_by_role("button", name="记录换机").click()
    page.wait_for_function("document.querySelector('#job').innerText.includes('"
                           + job["unit_in"] + "')")
    rows = sql(server, "SELECT result, args FROM client_mutation WHERE name = 'swap' ORDER BY seq")
    assert [r[0] for r in rows] == ["rejected", "applied"]  # no silent duplicate
    (status,), = sql(server, "SELECT status FROM unit WHERE asset_tag = ?", job["unit_in"])
    assert status == "rented"
    assert page.locator("[data-sync-refused] li").count() == 0


def test_the_offline_state_in_english(server, new_context):
    job_id = offer_a_job(server)
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    page.select_option("#lang-select", "en")
    page.get_by_role("button", name="切换").click()
    page.goto(f"{server.url}/field/jobs/{job_id}")
    page.wait_for_selector("#job")
    page.wait_for_function(CACHED_JOB_PAGES + f".then(u => u.some(x => x.endsWith('/field/jobs/{job_id}')))")
    page.reload()  # the copy kept on the phone is the English one now
    page.wait_for_function(CACHED_JOB_PAGES + f".then(u => u.some(x => x.endsWith('/field/jobs/{job_id}')))")
    ctx.set_offline(True)
    page.get_by_role("button", name="Accept the job").click()
    waiting(page, 1)
    page.wait_for_function("document.querySelector('#job [data-status-chip]').textContent.includes('Accepted')")
    assert "Waiting to sync" in chip(page)
    text = page.inner_text("#job") + page.inner_text("[data-syncbar]")
    for raw in ("en_route", "first_response", "waiting_to_sync", "persist_refused"):
        assert raw not in text
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "field-offline-accepted-en-phone")


def test_a_session_that_idled_out_offline_keeps_the_outbox_and_asks_to_sign_in(server, new_context):
    """FIELDOPS_SESSION_IDLE_MINUTES passes while the phone has no signal: back online the
    server refuses the sync (401), the phone keeps every waiting action and says to sign in
    again, with a link; signed in again, they reach the server once."""
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    page.locator(".fcard-main").first.click()
    page.wait_for_selector("#job")
    job_path = page.url.removeprefix(server.url)
    ctx.set_offline(True)
    write_note(page, "信号恢复前写下的维修记录")
    waiting(page, 1)
    # Meanwhile the idle timeout passes: the session's row expires, as the store does it.
    write(server, "UPDATE web_session SET expires_at = '2000-01-01 00:00:00' WHERE staff_id = "
          "(SELECT id FROM staff WHERE username = 'onsite')")

    ctx.set_offline(False)  # the phone tries to sync by itself, and is refused
    asked = page.locator("[data-sync-refused] li", has_text="请重新登录后同步")
    asked.wait_for(timeout=30_000)
    waiting(page, 1)  # kept on the phone
    assert "维修记录" in page.inner_text("[data-sync-waiting]")
    assert sql(server, "SELECT count(*) FROM client_mutation") == [(0,)]
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("[data-syncbar]").screenshot(
        path=str(ARTIFACTS / "field-idled-out-sign-in-phone.png"))

    asked.get_by_role("link", name="登录").click()
    page.wait_for_url("**/login*")
    page.get_by_label("用户名").fill("onsite")
    page.get_by_label("密码").fill("fieldops-demo")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(server.url + job_path)  # back on the job, where the sync bar is
    deadline = time.monotonic() + 30
    while sql(server, "SELECT count(*) FROM client_mutation") == [(0,)]:
        assert time.monotonic() < deadline, page.inner_text("[data-syncbar]")
        time.sleep(0.2)
    waiting(page, 0, timeout=30_000)
    each_once(server, ["fix_note"])
    assert page.locator("[data-sync-refused] li", has_text="请重新登录后同步").count() == 0
