"""A venue entered from GCJ-02 map coordinates, then a check-in there from a phone's
WGS-84 position, in a real Chromium (D15); "use my current position" on the venue form;
the data screens as each role sees them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.geo import haversine_m, wgs84_to_gcj02
from tests.e2e.conftest import LAPTOP, PHONE, screenshot, sign_in, sql
from tests.e2e.test_dispatch import put_on_duty_now

pytestmark = pytest.mark.e2e

ORIENTAL_PEARL = (31.239700, 121.499800)  # WGS-84, as a phone reports it
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_venue_from_gcj02_then_check_in_at_its_wgs84_position(server, new_context):
    gcj = wgs84_to_gcj02(*ORIENTAL_PEARL)
    assert haversine_m(*ORIENTAL_PEARL, *gcj) > 300  # the shift alone would be outside

    desk = new_context(LAPTOP).new_page()
    sign_in(desk, server.url, "agent")
    desk.goto(server.url + "/customers")
    screenshot(desk, "customers-laptop")
    desk.locator("#customer-rows tbody a").first.click()
    desk.get_by_role("link", name="添加场地").click()
    assert desk.is_checked("input[name=datum][value='GCJ-02']")  # the default for entry
    desk.get_by_label("场地名称").fill("东方明珠演播厅")
    desk.get_by_label("地址").fill("浦东新区世纪大道1号")
    desk.get_by_label("区域").select_option("urban")
    desk.get_by_label("纬度").fill(f"{gcj[0]:.6f}")
    desk.get_by_label("经度").fill(f"{gcj[1]:.6f}")
    desk.get_by_role("button", name="保存场地").click()
    desk.wait_for_selector(".positions")
    shown = {d: desk.inner_text(f"dd[data-datum='{d}']") for d in ("WGS-84", "GCJ-02")}
    wgs_shown = tuple(float(x) for x in shown["WGS-84"].split(","))
    assert haversine_m(*wgs_shown, *ORIENTAL_PEARL) < 1  # both datums shown, converted back
    assert shown["GCJ-02"] == f"{gcj[0]:.6f}, {gcj[1]:.6f}"
    screenshot(desk, "venue-both-datums-laptop")
    (venue_id, datum), = sql(server, "SELECT id, datum FROM venue WHERE name = '东方明珠演播厅'")
    assert datum == "GCJ-02"

    # An order at that venue, made on the orders screen, running now.
    (customer_id,), = sql(server, "SELECT customer_id FROM venue WHERE id = ?", venue_id)
    begins = datetime.now(SHANGHAI) - timedelta(hours=1)
    desk.goto(server.url + "/orders/new")
    desk.locator("#f-order_no").fill("RO-PEARL-1")
    desk.locator("#f-customer_id").select_option(str(customer_id))
    desk.locator("#f-venue_id").select_option(str(venue_id))
    desk.locator("#f-scenario").fill("晚会直播")
    desk.locator("#f-starts_at").fill(begins.strftime("%Y-%m-%dT%H:%M"))
    desk.locator("#f-ends_at").fill((begins + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
    desk.locator("form[action='/orders/'] button[type=submit]").click()
    desk.wait_for_selector("#order-units")

    # The customer calls: the agent files the request from that order number (D3).
    desk.goto(server.url + "/requests/new")
    desk.locator("#f-order_no").fill("RO-PEARL-1")
    desk.locator("#f-order_no").dispatch_event("change")
    desk.wait_for_function("document.getElementById('f-customer_name').value !== ''")
    assert "东方明珠演播厅" in desk.inner_text("#intake-form")
    desk.locator("#f-contact_name").fill("周导演")  # the caller, on no contact of the order
    if not desk.locator("#f-phone").input_value():
        desk.locator("#f-phone").fill("13912345678")
    desk.locator("#f-stream_state").select_option("upcoming")
    desk.locator("#f-stream_starts_at").fill(
        (datetime.now(SHANGHAI) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    if not desk.locator("#f-device_type").input_value():
        desk.locator("#f-device_type").select_option(index=1)
    desk.locator("#f-symptom_kind").select_option("no_signal")
    desk.locator("#f-symptom").fill("导播台无信号输入")
    desk.locator("#intake-submit").click()
    desk.wait_for_url("**/requests/new?filed=*")
    number = desk.locator("#filed strong").first.inner_text().strip()

    # The dispatcher sends the onsite engineer (on duty now, whatever the hour).
    put_on_duty_now(server, "onsite")
    board = new_context(LAPTOP).new_page()
    sign_in(board, server.url, "dispatcher")
    board.goto(server.url + "/board")
    row = board.locator("#board tr", has_text=number)
    row.get_by_role("link", name="分派").click()
    panel = board.locator("#action-panel")
    panel.get_by_text(number).wait_for()
    panel.get_by_label("现场").check()
    panel.locator("select[name=engineer_id] option", has_text="张强").wait_for(state="attached")
    options = panel.locator("select[name=engineer_id] option").all_inner_texts()
    panel.locator("select[name=engineer_id]").select_option(
        label=next(o for o in options if "张强" in o))
    panel.get_by_role("button", name="分派").click()
    panel.get_by_text("已分派给张强").wait_for()
    (job_id,), = sql(server, """SELECT j.id FROM job j JOIN support_request r
        ON r.id = j.request_id WHERE r.number = ? AND j.kind = 'onsite'""", number)

    ctx = new_context(PHONE)
    phone = ctx.new_page()
    sign_in(phone, server.url, "onsite")
    ctx.grant_permissions(["geolocation"], origin=server.url)
    near = (ORIENTAL_PEARL[0] + 0.0002, ORIENTAL_PEARL[1])  # ~22 m north, WGS-84
    ctx.set_geolocation({"latitude": near[0], "longitude": near[1], "accuracy": 10})
    phone.goto(f"{server.url}/field/jobs/{job_id}")
    phone.get_by_role("button", name="到场签到").click()
    outcome = phone.locator("#job .outcome").first
    outcome.wait_for()
    assert "距场馆" in outcome.inner_text() and "超出" not in outcome.inner_text(), outcome.inner_text()
    screenshot(phone, "venue-check-in-phone")
    (distance, flagged), = sql(server, """SELECT distance_m, flagged FROM field_fact
                                           WHERE job_id = ? AND kind = 'check_in'""", job_id)
    assert distance < 40 and not flagged  # compared in one datum, within the radius


def test_use_my_current_position_fills_wgs84(server, new_context):
    ctx = new_context(PHONE)
    page = ctx.new_page()
    sign_in(page, server.url, "dispatcher")
    (customer_id,), = sql(server, "SELECT id FROM customer ORDER BY id LIMIT 1")
    ctx.grant_permissions(["geolocation"], origin=server.url)
    ctx.set_geolocation({"latitude": 31.2304, "longitude": 121.4737, "accuracy": 15})
    page.goto(f"{server.url}/venues/new?customer_id={customer_id}")
    page.get_by_role("button", name="使用我当前的位置").click()
    page.wait_for_function("document.getElementById('f-lat').value !== ''")
    assert page.input_value("#f-lat") == "31.230400"
    assert page.input_value("#f-lon") == "121.473700"
    assert page.is_checked("input[name=datum][value='WGS-84']")
    assert "15" in page.inner_text("#position-note")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "venue-form-phone")


def test_data_screens_in_both_languages(server, new_context):
    desk = new_context(LAPTOP).new_page()
    sign_in(desk, server.url, "dispatcher")
    desk.goto(server.url + "/orders")
    desk.locator("table tbody a").first.click()
    desk.wait_for_selector("#order-units")
    screenshot(desk, "order-laptop")
    desk.goto(server.url + "/import?kind=orders")
    desk.set_input_files("#f-file", files=[{
        "name": "orders.csv", "mimeType": "text/csv",
        "buffer": ("订单号,客户名称,客户电话,设备资产编号\nRO-NEW-1,星耀直播传媒,021-55550000,\n"
                   "RO-NEW-2,新客户,12345,\n").encode("utf-8-sig")}])
    desk.get_by_role("button", name="检查文件（尚不保存）").click()
    desk.wait_for_selector(".import-report")
    screenshot(desk, "import-dry-run-laptop")
    desk.select_option("#lang-select", "en")
    desk.get_by_role("button", name="切换").click()
    desk.goto(server.url + "/customers")
    screenshot(desk, "customers-laptop-en")
    equipment = new_context(LAPTOP).new_page()
    sign_in(equipment, server.url, "equipment")
    equipment.goto(server.url + "/units")
    screenshot(equipment, "units-laptop")
    admin = new_context(PHONE).new_page()
    sign_in(admin, server.url, "admin")
    admin.goto(server.url + "/admin/integrations")
    admin.get_by_label("集成名称").fill("租赁业务系统")
    admin.get_by_role("button", name="创建令牌").click()
    token = admin.inner_text("#new-token")
    assert token.startswith("fo_")
    assert admin.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(admin, "integrations-phone")
