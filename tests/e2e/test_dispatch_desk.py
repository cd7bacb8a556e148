"""The dispatcher's desk in a real Chromium (issue 13): the board on a Monday at 13:26
(office hours, D17) fits at 1280-1920 px in Chinese and English, and a request page shows
the field's photos and a flag the dispatcher resolves in place.

The server's clock starts at the chosen instant (``FIELDOPS_CLOCK_START``) and loads the
demo data there, so the test passes whatever the real date and hour.
"""

from __future__ import annotations

import base64
import io
import uuid
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, screenshot, sign_in, sql

pytestmark = pytest.mark.e2e

MONDAY_1326 = "2026-12-07T13:26:00+08:00"


@pytest.fixture(scope="module")
def monday(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("desk"), {"FIELDOPS_CLOCK_START": MONDAY_1326,
                                                         "FIELDOPS_BACKGROUND_LOOP": "0"}).start()
    yield server
    server.stop()


def _language(page, code: str) -> None:
    page.locator("form.lang select").select_option(code)
    page.locator("form.lang button").click()
    page.wait_for_load_state()


def _fits(page) -> list[str]:
    """What sticks out: a header or button whose text overflows it, or a row wider than
    its table's box."""
    return page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll('.board-table th, .board-table .btn')) {
        if (el.scrollWidth > el.clientWidth + 1) out.push('overflow: ' + el.textContent.trim());
      }
      const table = document.querySelector('.board-table');
      const box = table.parentElement.getBoundingClientRect();
      for (const el of document.querySelectorAll('.board-table .btn')) {
        const r = el.getBoundingClientRect();
        if (r.right > box.right + 1) out.push('outside: ' + el.textContent.trim());
        if (r.height > 44) out.push('wraps: ' + el.textContent.trim());
      }
      return out;
    }""")


def test_board_at_1326_on_a_weekday(monday, new_context):
    at = datetime.fromisoformat(MONDAY_1326)
    for width in (1280, 1920):
        ctx = new_context({"width": width, "height": 900})
        ctx.clock.install(time=at)
        page = ctx.new_page()
        sign_in(page, monday.url, "dispatcher")
        page.goto(monday.url + "/board")
        _language(page, "zh_CN")
        page.goto(monday.url + "/board")
        expect(page.locator("#duty")).to_contain_text("办公时间")
        expect(page.locator("tr[data-r]").first).to_be_visible()
        assert page.locator("i.clk.breached").count() == 0
        first = page.locator("tr[data-r] .prio").first.inner_text()
        assert first == "P1"
        assert _fits(page) == []
        screenshot(page, f"desk-board-1326-zh-{width}")
        _language(page, "en")
        page.goto(monday.url + "/board")
        expect(page.locator("#duty")).to_contain_text("office hours")
        assert _fits(page) == []
        screenshot(page, f"desk-board-1326-en-{width}")


def _png(color: tuple[int, int, int]) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_request_page_with_photos_and_a_resolved_flag(monday, new_context):
    at = datetime.fromisoformat(MONDAY_1326)
    job_id, request_id, lat, lon = sql(
        monday,
        "SELECT j.id, r.id, v.lat, v.lon FROM job j JOIN support_request r ON r.id = j.request_id"
        " JOIN staff s ON s.id = j.assignee_id JOIN venue v ON v.id = r.venue_id"
        " WHERE s.username = 'onsite' AND j.status IN ('accepted', 'en_route') AND j.kind = 'onsite'"
        " ORDER BY j.id LIMIT 1")[0]
    phone_ctx = new_context({"width": 390, "height": 844})
    phone_ctx.clock.install(time=at)
    phone = phone_ctx.new_page()
    sign_in(phone, monday.url, "onsite")
    token = next(c["value"] for c in phone_ctx.cookies() if c["name"] == "csrftoken")
    mutations = [
        {"id": str(uuid.uuid4()), "name": "photo", "device_time": at.isoformat(),
         "args": {"job_id": job_id, "image": _png((30, 90, 160)), "caption": "SDI 接口针脚弯曲"}},
        {"id": str(uuid.uuid4()), "name": "photo", "device_time": at.isoformat(),
         "args": {"job_id": job_id, "image": _png((160, 60, 40)), "caption": "更换后的线缆"}},
        {"id": str(uuid.uuid4()), "name": "check_in", "device_time": at.isoformat(),
         "args": {"job_id": job_id, "lat": lat + 0.03, "lon": lon, "accuracy_m": 12}},
    ]
    answer = phone.request.post(monday.url + "/sync/push", headers={"x-csrftoken": token},
                                data={"client_id": "e2e-phone", "mutations": mutations})
    assert answer.ok, answer.text()

    ctx = new_context({"width": 1280, "height": 900})
    ctx.clock.install(time=at)
    page = ctx.new_page()
    sign_in(page, monday.url, "dispatcher")
    _language(page, "zh_CN")
    page.goto(f"{monday.url}/board")
    row = page.locator(f'tr[data-r="{request_id}"]')
    expect(row).to_contain_text("到场待确认")
    page.goto(f"{monday.url}/board/requests/{request_id}")
    photos = page.locator(".tl-photo img")
    expect(photos).to_have_count(2)
    expect(page.locator(".tl-photo figcaption").first).to_contain_text("SDI 接口针脚弯曲")
    photos.first.scroll_into_view_if_needed()  # loading="lazy": only an image in view loads
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=photos.first.element_handle())  # fmt: skip
    assert page.evaluate("img => img.naturalWidth", photos.first.element_handle()) == 320
    # who took it reads right under the caption, no empty line between
    gap = page.evaluate("""() => {
      const fig = document.querySelector('.tl-photo');
      let who = fig.nextElementSibling;
      while (who && !who.matches('span.muted')) who = who.nextElementSibling;
      return who.getBoundingClientRect().top - fig.getBoundingClientRect().bottom;
    }""")
    assert gap < 8, gap
    form = page.locator("form.resolve-form").first
    form.locator("input[name=note]").fill("与客户电话确认已在场馆后门")
    form.get_by_role("button", name="处理").click()
    expect(page.locator(".flag-resolved").first).to_contain_text("与客户电话确认已在场馆后门")
    expect(page.locator("#request-detail .flash")).to_contain_text("标记已处理")
    expect(page.locator("#clocks")).to_be_visible()  # the whole page came back, not a part
    screenshot(page, "desk-request-photos-resolved-flag")
    page.goto(f"{monday.url}/board")
    expect(page.locator(f'tr[data-r="{request_id}"]')).not_to_contain_text("到场待确认")


def test_publishing_a_roster_asks_first_and_cancel_changes_nothing(monday, new_context):
    """Issue 13: the Publish button opens the browser's confirm dialog naming the month;
    "cancel" sends nothing (no post, the roster stays a draft); "OK" does post."""
    month = "2027-02"  # the demo publishes this month and the next: February has no roster
    ctx = new_context({"width": 1280, "height": 900})
    ctx.clock.install(time=datetime.fromisoformat(MONDAY_1326))
    page = ctx.new_page()
    sign_in(page, monday.url, "manager")
    _language(page, "zh_CN")
    page.goto(f"{monday.url}/roster/{month}")
    page.get_by_role("button", name="开始起草").click()
    page.wait_for_url(f"{monday.url}/roster/{month}")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    dialogs: list[str] = []

    def answer(dialog, accept: bool) -> None:
        dialogs.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.locator("#rbody").get_by_role("button", name="发布", exact=True).click()
    page.wait_for_timeout(300)
    assert len(dialogs) == 1 and dialogs[0].startswith(f"发布 {month} 排班？")
    assert posts == []
    assert sql(monday, "SELECT status FROM roster WHERE month = ?", month) == [("draft",)]
    page.once("dialog", lambda d: answer(d, True))
    with page.expect_response(lambda r: r.url.endswith(f"/roster/{month}/publish")) as sent:
        page.locator("#rbody").get_by_role("button", name="发布", exact=True).click()
    assert sent.value.status == 422  # an empty draft breaks the rules: refused with reasons
    expect(page.locator("#rbody .banner.bad")).to_contain_text("未发布")
    assert sql(monday, "SELECT status FROM roster WHERE month = ?", month) == [("draft",)]


def test_the_board_reads_as_cards_on_a_phone(monday, new_context):
    """At 390 px the seven columns cannot share the width (each cell shrank to a character
    a line, the page ~14,000 px tall): each request is a card, its number on one line."""
    ctx = new_context({"width": 390, "height": 844})
    ctx.clock.install(time=datetime.fromisoformat(MONDAY_1326))
    page = ctx.new_page()
    sign_in(page, monday.url, "dispatcher")
    _language(page, "zh_CN")
    page.goto(monday.url + "/board")
    row = page.locator("tr[data-r]").first
    expect(row).to_be_visible()
    number = row.locator("td:nth-child(2) a").bounding_box()
    assert number["height"] < 30, number  # FO-20261207-0004 on one line
    assert row.bounding_box()["height"] < 320
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "desk-board-1326-phone")
