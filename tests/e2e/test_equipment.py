"""The equipment desk in real Chromium (issue 15): the manager ships the unit held for the
demo engineer's job; the engineer sees it on its way, swaps it in offline, and the sync
closes the spare request. Plus the stock, queue, unit and label screens, for screenshots."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, screenshot, sign_in, sql
from tests.e2e.test_offline import phone_ready, waiting

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of its own: the shipment and the swap change the demo's units."""
    live = LiveServer(tmp_path_factory.mktemp("equipment")).start()
    yield live
    live.stop()


def held_spare(server: LiveServer) -> dict:
    """The spare request the demo made for the onsite login's job, its unit held."""
    (spare_id, request_id, unit_id, number), = sql(server, """
        SELECT s.id, s.request_id, s.unit_id, r.number FROM spare_request s
        JOIN support_request r ON r.id = s.request_id
        JOIN job j ON j.request_id = r.id JOIN staff p ON p.id = j.assignee_id
        WHERE s.status = 'open' AND p.username = 'onsite' AND s.unit_id IS NOT NULL""")
    (tag,), = sql(server, "SELECT asset_tag FROM unit WHERE id = ?", unit_id)
    (job_id, order_id, req_unit), = sql(server, """SELECT j.id, r.order_id, r.unit_id FROM job j
        JOIN support_request r ON r.id = j.request_id JOIN staff p ON p.id = j.assignee_id
        WHERE r.id = ? AND p.username = 'onsite'""", request_id)
    (out_tag,), = sql(server, """SELECT u.asset_tag FROM orderline l JOIN unit u ON u.id = l.unit_id
        WHERE l.order_id = ? AND l.removed_at IS NULL ORDER BY u.id = ? DESC LIMIT 1""",
                      order_id, req_unit)
    return {"id": spare_id, "request_id": request_id, "number": number, "unit_id": unit_id,
            "tag": tag, "job_id": job_id, "out_tag": out_tag}


def test_the_manager_ships_a_held_unit_and_the_engineers_offline_swap_closes_it(server,
                                                                              new_context):
    base = server.url
    spare = held_spare(server)
    desk = new_context(LAPTOP).new_page()
    sign_in(desk, base, "equipment")
    assert "库存不足" in desk.inner_text("main") or "备件申请" in desk.inner_text("main")
    desk.goto(base + "/equipment/queue")
    card = desk.locator(f"#spare-{spare['id']}")
    assert spare["number"] in card.inner_text()
    held = card.locator("label.check", has_text=spare["tag"])
    assert "为此需求单保留" in held.inner_text()
    assert held.locator("input[type=radio]").is_checked()  # the held unit comes first
    assert desk.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    screenshot(desk, "equipment-queue-laptop")
    card.get_by_label("由谁携带").select_option("engineer")
    card.get_by_label("工程师").select_option(label="张强")
    card.get_by_role("button", name="标记为已发出").click()
    desk.locator(".flash.ok", has_text="备用设备已发出").wait_for()
    shipped = desk.locator(f"#spare-{spare['id']}")
    assert "由 张强 携带" in shipped.inner_text()
    assert sql(server, "SELECT status, held_for_request_id FROM unit WHERE id = ?",
               spare["unit_id"]) == [("in_transit", spare["request_id"])]

    ctx = new_context(PHONE)
    phone = ctx.new_page()
    phone_ready(phone, base)
    phone.goto(f"{base}/field/jobs/{spare['job_id']}")
    phone.wait_for_selector("#job")
    on_way = phone.locator(".on-its-way")
    assert "备用设备已在路上" in on_way.inner_text() and spare["tag"] in on_way.inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "equipment-spare-on-its-way-phone")

    ctx.set_offline(True)
    swap = phone.locator("details.fdetails", has=phone.locator("[data-mutation=swap]"))
    if not swap.get_attribute("open"):
        swap.locator("summary").click()
    swap.locator("input[name=unit_out]").fill(spare["out_tag"])
    swap.locator("input[name=unit_in]").fill(spare["tag"].lower())  # typed, any case
    swap.get_by_role("button", name="记录换机").click()
    waiting(phone, 1)
    assert sql(server, "SELECT status FROM spare_request WHERE id = ?", spare["id"]) == [
        ("shipped",)]  # nothing reached the server yet
    ctx.set_offline(False)
    waiting(phone, 0, timeout=30_000)
    assert sql(server, "SELECT status FROM spare_request WHERE id = ?", spare["id"]) == [
        ("delivered",)]
    assert sql(server, "SELECT status FROM unit WHERE id = ?", spare["unit_id"]) == [("rented",)]
    assert sql(server, "SELECT count(*) FROM unit_swap WHERE unit_in_id = ?",
               spare["unit_id"]) == [(1,)]
    phone.wait_for_function("document.querySelector('#job').innerText.includes('已送达并换上')")
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, "equipment-swapped-in-phone")

    desk.goto(f"{base}/equipment/queue")
    assert desk.locator(f"#spare-{spare['id']}").count() == 0
    repair = desk.locator("article.repair", has_text=spare["out_tag"])
    assert "编" in repair.inner_text() or repair.count() == 1  # the fault from the request
    repair.get_by_role("button", name="标记已收到").click()
    desk.locator(".flash.ok", has_text="已收到待修设备").wait_for()
    desk.evaluate("window.scrollTo(0, 0)")
    screenshot(desk, "equipment-queue-after-laptop")

    lead = new_context(LAPTOP).new_page()
    sign_in(lead, base, "dispatcher")
    lead.goto(f"{base}/board/requests/{spare['request_id']}")
    assert "已送达并换上" in lead.inner_text("#request-detail")


def test_stock_unit_history_and_labels(server, new_context):
    base = server.url
    page = new_context(LAPTOP).new_page()
    sign_in(page, base, "equipment")
    page.goto(base + "/equipment")
    assert page.locator("table.units tbody tr").count() > 100
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    screenshot(page, "equipment-stock-laptop")
    page.get_by_label("资产编号", exact=True).fill("cam-001")  # typed in lower case, as people do
    page.wait_for_function("document.querySelectorAll('table.units tbody tr').length < 20")
    assert all(t.startswith("CAM-001") for t in page.locator("table.units tbody th")
               .all_inner_texts())
    page.get_by_label("状态").select_option("in_repair")
    page.wait_for_url("**status=in_repair**")
    rows = page.locator("table.units tbody tr")
    assert all("维修中" in t for t in rows.all_inner_texts())
    page.goto(base + "/equipment?status=in_transit")
    first = page.locator("table.units tbody tr a").first
    tag = first.inner_text()
    first.click()
    page.wait_for_url("**/equipment/units/**")
    assert tag in page.inner_text("h1")
    assert "已发出" in page.inner_text("main")
    screenshot(page, "equipment-unit-laptop")
    page.goto(base + "/equipment/labels?status=reserve")
    sheets = page.locator(".label-sheet").count()
    assert sheets >= 2  # 24 a sheet
    assert page.locator(".label-sheet").first.locator(".label").count() == 24
    assert page.locator(".label svg").count() == page.locator(".label").count()
    screenshot(page, "equipment-labels-laptop")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == sheets  # 3 x 8 an A4 page

    page.locator("#lang-select").select_option("en")  # this person's language
    page.locator("form.lang button").click()
    page.wait_for_load_state()
    page.goto(base + "/equipment/queue")
    text = page.inner_text("main")
    assert "Spare-unit requests" in text and "Returns and repair" in text
    screenshot(page, "equipment-queue-en-laptop")
    page.goto(base + "/equipment")
    assert "Per depot, type and model" in page.inner_text("main")
    screenshot(page, "equipment-stock-en-laptop")
    page.locator("#lang-select").select_option("zh_CN")
    page.locator("form.lang button").click()
    page.wait_for_load_state()


def test_the_stock_search_takes_a_scanned_tag_where_the_browser_can(server, new_context,
                                                                   tmp_path):
    """Where BarcodeDetector exists (Chrome on Android) the scan button fills the search;
    here a stand-in detector answers what a camera would have read."""
    from PIL import Image

    ctx = new_context(PHONE)
    ctx.add_init_script("""window.BarcodeDetector = class {
        detect() { return Promise.resolve([{rawValue: ' enc-0001 '}]); } };""")
    page = ctx.new_page()
    sign_in(page, server.url, "equipment")
    page.goto(server.url + "/equipment")
    button = page.get_by_role("button", name="扫描资产编号")
    assert button.is_visible()
    Image.new("RGB", (64, 64), (255, 255, 255)).save(tmp_path / "tag.png")
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(str(tmp_path / "tag.png"))
    page.wait_for_function("document.querySelector('#f-tag').value === 'ENC-0001'")
    page.wait_for_function("document.querySelectorAll('table.units tbody tr').length === 1")
    assert page.locator("table.units tbody th").inner_text() == "ENC-0001"
