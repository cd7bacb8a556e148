"""An agent files a live-stream request with the keyboard alone, on a laptop, in real Chromium."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LAPTOP, screenshot, sign_in

pytestmark = pytest.mark.e2e

UNLABELLED_JS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML.slice(0, 80))
"""


def a_running_order(live_server) -> tuple[str, str]:
    """A demo order running now, with units on it: (order number, customer name)."""
    con = sqlite3.connect(live_server.data_dir / "fieldops.db")
    try:
        return con.execute(
            "SELECT o.order_no, c.name FROM rentalorder o JOIN customer c ON c.id = o.customer_id"
            " JOIN orderline l ON l.order_id = o.id AND l.removed_at IS NULL"
            " WHERE o.starts_at < datetime('now') AND o.ends_at > datetime('now')"
            " GROUP BY o.id ORDER BY o.id LIMIT 1"
        ).fetchone()
    finally:
        con.close()


def focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def tab_to(page, element_id: str, limit: int = 30) -> None:
    """Press Tab (only Tab) until the control has the focus; date inputs take several."""
    for _ in range(limit):
        if focused(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id} (stuck at #{focused(page)})")


def test_agent_files_a_live_stream_request_with_the_keyboard_only(live_server, new_context):
    order_no, customer = a_running_order(live_server)
    page = new_context(LAPTOP).new_page()
    sign_in(page, live_server.url, "agent")
    page.goto(live_server.url + "/requests/new")

    # The cursor waits in the order number; typing it fills in the caller (D3).
    assert focused(page) == "f-order_no"
    page.keyboard.type(order_no, delay=20)
    page.wait_for_function(
        "name => document.getElementById('f-customer_name').value === name", arg=customer)
    assert page.locator("#f-contact_name").input_value()
    assert page.locator("#f-phone").input_value()
    assert page.locator("#f-address").input_value()
    assert order_no in page.locator("#customer-block .found").inner_text()

    # The stream is live now (D4: P1).
    tab_to(page, "f-stream_state")
    page.keyboard.press("Home")
    assert page.locator("#f-stream_state").input_value() == "live"

    # Which unit on the order, then what kind of fault: it will not power on.
    tab_to(page, "f-unit_id")
    if not page.locator("#f-unit_id").input_value():
        page.keyboard.press("ArrowDown")
    page.wait_for_function("document.getElementById('f-device_type').value !== ''")
    tab_to(page, "f-symptom_kind")
    page.keyboard.press("ArrowDown")
    assert page.locator("#f-symptom_kind").input_value() == "no_power"
    tab_to(page, "f-symptom")
    page.keyboard.type("推流盒突然断电，无法开机，直播已中断")

    # The proposal follows the answers: P1, onsite, remote and onsite at once, a spare held.
    proposal = page.locator("#proposal")
    # (expect waits: the proposal refreshes after each answer, one request at a time)
    expect(proposal).to_contain_text("正在直播：远程指导与现场派工同时启动")
    expect(proposal).to_contain_text("预留一台备用设备")
    assert "P1" in proposal.inner_text() and "需现场处理" in proposal.inner_text()
    clock = page.locator("#proposal [data-countdown]").inner_text()
    assert clock.startswith(("9:", "10:")), clock  # the 10-minute handoff clock is running

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"the page scrolls sideways ({width}px)"
    assert page.evaluate(UNLABELLED_JS) == []
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top in the image
    screenshot(page, "intake-laptop")

    # Tab on to "save and hand off" and press Enter.
    tab_to(page, "intake-submit")
    page.keyboard.press("Enter")
    page.wait_for_url("**/requests/new?filed=*")
    banner = page.locator("#filed").inner_text()
    assert "已转交技术服务部" in banner and "P1" in banner and "需现场处理" in banner
    assert "远程指导与现场派工同时启动" in banner
    assert "已为本需求单预留备用设备" in banner
    number = page.locator("#filed strong").first.inner_text()
    assert number.startswith("FO-")
    row = page.locator("#my-requests tr", has_text=number)
    assert "已转交" in row.inner_text() and "P1" in row.inner_text()
    # ready for the next call: the cursor is back in the order number
    assert focused(page) == "f-order_no"
    screenshot(page, "intake-laptop-handed-off")


def test_bad_input_is_explained_next_to_the_field_in_the_browser(live_server, new_context):
    page = new_context(LAPTOP).new_page()
    sign_in(page, live_server.url, "agent")
    page.goto(live_server.url + "/requests/new")
    page.keyboard.press("Enter")  # Enter in a one-line field moves on, never submits (issue 13)
    assert page.locator("#e-customer_name").count() == 0
    page.locator("#intake-submit").click()  # nothing typed yet
    page.locator("#e-customer_name").wait_for()
    assert "请输入客户名称" in page.locator("#e-customer_name").inner_text()
    assert page.locator("#f-customer_name").get_attribute("aria-invalid") == "true"
    # htmx moves the focus when the swapped form settles, a moment after it appears
    page.wait_for_function("document.activeElement && document.activeElement.id === 'f-customer_name'",
                           timeout=5000)
    assert focused(page) == "f-customer_name", "the cursor goes to the first field to fix"
    tab_to(page, "f-phone")
    page.keyboard.type("12345")
    assert "请输入联系电话" in page.locator("#e-phone").inner_text()
    page.locator("#intake-submit").click()
    page.wait_for_function(
        "() => { const e = document.getElementById('e-phone'); return !!e && e.innerText.includes('11 位手机号'); }")
    assert page.locator("#f-phone").input_value() == "12345"
    screenshot(page, "intake-laptop-errors")


def test_enter_in_the_order_number_looks_it_up_and_never_submits(live_server, new_context):
    """Issue 13: Enter in the order field used to save a request with customer, contact
    and phone empty. Now it looks the order up, then moves on."""
    order_no, customer = a_running_order(live_server)
    page = new_context(LAPTOP).new_page()
    sign_in(page, live_server.url, "agent")
    page.goto(live_server.url + "/requests/new")
    before = sqlite3.connect(live_server.data_dir / "fieldops.db").execute(
        "SELECT count(*) FROM support_request").fetchone()[0]
    page.locator("#f-order_no").fill(order_no)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "name => document.getElementById('f-customer_name').value === name", arg=customer)
    page.wait_for_function("document.activeElement && document.activeElement.id !== 'f-order_no'")
    page.keyboard.press("Enter")  # Enter in the next one-line field moves on too
    assert "filed=" not in page.url
    after = sqlite3.connect(live_server.data_dir / "fieldops.db").execute(
        "SELECT count(*) FROM support_request").fetchone()[0]
    assert after == before
