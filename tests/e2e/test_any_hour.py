"""The night's core flow works whatever the date and hour the server runs at (issue 10).

The server process starts its clock at a chosen instant (``FIELDOPS_CLOCK_START``, see
``server.clock``) and loads the demo data there; the browser's clock is set to the same
instant. At each instant an agent files a live-stream request from a demo order, the
dispatcher finds it on the board with its clocks running, and the onsite phone opens.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, screenshot, sign_in

pytestmark = pytest.mark.e2e

INSTANTS = {
    "weekday-afternoon": "2026-12-01T13:26:00+08:00",  # a Tuesday, an official working day
    "holiday-night": "2026-10-01T22:40:00+08:00",  # National Day
    "last-day-of-month": "2026-12-31T23:50:00+08:00",  # and of the year
    "unknown-2027": "2027-03-15T10:00:00+08:00",  # chinesecalendar has no 2027 schedule
}


def running_order(server: LiveServer, at: datetime) -> tuple[str, str]:
    """A demo order running at ``at`` with units on it: (order number, customer name)."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    con = sqlite3.connect(server.data_dir / "fieldops.db", timeout=30)
    try:
        row = con.execute(
            "SELECT o.order_no, c.name FROM rentalorder o JOIN customer c ON c.id = o.customer_id"
            " JOIN orderline l ON l.order_id = o.id AND l.removed_at IS NULL"
            " WHERE o.starts_at < ? AND o.ends_at > ? GROUP BY o.id ORDER BY o.id LIMIT 1",
            (stamp, stamp),
        ).fetchone()
    finally:
        con.close()
    assert row, f"the demo data has no order running at {at}"
    return row


@pytest.mark.parametrize("name", list(INSTANTS))
def test_the_core_flow_at_any_hour(name, tmp_path, new_context):
    at = datetime.fromisoformat(INSTANTS[name])
    server = LiveServer(tmp_path / "live", {"FIELDOPS_CLOCK_START": INSTANTS[name]}).start()
    try:
        order_no, customer = running_order(server, at)

        agent = new_context(LAPTOP)
        agent.clock.install(time=at)
        page = agent.new_page()
        sign_in(page, server.url, "agent")
        page.goto(server.url + "/requests/new")
        # The form's times come from the server's clock, not the machine's.
        assert page.locator("#f-received_at").input_value() == at.strftime("%Y-%m-%dT%H:%M")
        page.locator("#f-order_no").fill(order_no)
        page.wait_for_function(
            "name => document.getElementById('f-customer_name').value === name", arg=customer)
        page.locator("#f-stream_state").select_option("live")
        if not page.locator("#f-unit_id").input_value():
            page.locator("#f-unit_id").select_option(index=1)
        page.wait_for_function("document.getElementById('f-device_type').value !== ''")
        page.locator("#f-symptom_kind").select_option("push_failed")
        page.locator("#f-symptom").fill("推流失败，直播中断")
        expect(page.locator("#proposal")).to_contain_text("P1")
        page.locator("#intake-submit").click()
        page.wait_for_url("**/requests/new?filed=*")
        assert "已转交技术服务部" in page.locator("#filed").inner_text()
        number = page.locator("#filed strong").first.inner_text()

        # The dispatcher sees it with every clock running, none breached at hand-off.
        desk = new_context(LAPTOP)
        desk.clock.install(time=at)
        board = desk.new_page()
        sign_in(board, server.url, "dispatcher")
        board.goto(server.url + "/board")
        row = board.locator("tr[data-r]", has_text=number)
        expect(row).to_be_visible()
        assert row.locator("i.clk").count() >= 2
        assert row.locator("i.clk.breached").count() == 0, row.inner_html()
        screenshot(board, f"any-hour-board-{name}")

        # The onsite engineer's phone opens its job list.
        phone_ctx = new_context(PHONE)
        phone_ctx.clock.install(time=at)
        phone = phone_ctx.new_page()
        sign_in(phone, server.url, "onsite")
        phone.goto(server.url + "/field")
        expect(phone.locator("main")).to_be_visible()
        assert "Traceback" not in phone.content()
        log = server.log.read_text()
        assert "Traceback" not in log, log[-3000:]
    finally:
        server.stop()
