"""Real Chromium: the KPI dashboard and monthly review (laptop, screen and print), a drill
started and its report, and the customer's feedback link on a phone (issue 16)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, screenshot, sign_in

pytestmark = pytest.mark.e2e
WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def mid_month_server(tmp_path):
    """A server whose clock starts mid-month, so this month's dashboard has surveyed
    requests to link to (on the 1st it has none yet), whatever day the suite runs."""
    live = LiveServer(tmp_path / "live", {"FIELDOPS_CLOCK_START": "2026-11-20T21:00:00+08:00"}).start()
    yield live
    live.stop()


def test_dashboard_figures_link_to_their_requests_and_print(mid_month_server, new_context):
    page = new_context(WIDE).new_page()
    base = mid_month_server.url
    sign_in(page, base, "manager")
    page.goto(base + "/kpi")
    assert page.locator("svg.chart").count() >= 10
    assert page.locator(".chart-target").count() == 4  # the 95 % / 90 % lines
    screenshot(page, "kpi-dashboard-laptop")
    # a figure opens the requests behind it
    link = page.locator(".kpi-big").first.locator("a").nth(2)  # satisfaction: the denominator
    surveyed = int(link.inner_text())
    link.click()
    page.wait_for_url(re.compile(r"/kpi/requests\?"))
    assert page.locator("tbody tr").count() == surveyed > 0
    # a week in English
    page.goto(base + "/kpi")
    page.select_option("#lang-select", "en")
    page.get_by_role("button", name="切换").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=re.compile("^KPIs")).is_visible()
    screenshot(page, "kpi-dashboard-laptop-en")
    page.select_option("#lang-select", "zh_CN")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    # the monthly review, as printed (light, no navigation, no buttons)
    page.goto(base + "/kpi/review")
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible()
    screenshot(page, "kpi-review-print")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_a_drill_report_on_a_laptop(server, new_context):
    page = new_context(LAPTOP).new_page()
    sign_in(page, server.url, "manager")
    page.goto(server.url + "/drills")
    page.get_by_label(re.compile("十分钟内五位客户来电")).check()
    page.get_by_role("button", name="立即开始演练").click()
    page.wait_for_url(re.compile(r"/drills/\d+$"))
    assert page.locator(".drill-banner").is_visible()
    assert page.locator("table.drill-times tbody tr").count() >= 1
    page.get_by_label("书面总结").fill("转交及时；首响需在 5 分钟内完成，值班负责人应立即分派。")
    page.get_by_role("button", name="保存总结").click()
    page.wait_for_url(re.compile(r"/drills/\d+$"))
    screenshot(page, "drill-report-laptop")
    # the board marks the drill request
    page.goto(server.url + "/board")
    assert page.locator(".chip.drill").count() >= 1


def test_the_customer_answers_on_a_phone_without_signing_in(live_server, new_context):
    agent = new_context(LAPTOP).new_page()
    base = live_server.url
    sign_in(agent, base, "agent")
    agent.goto(base + "/requests/followup")
    agent.once("dialog", lambda d: d.accept())
    agent.locator(".fu-link button").first.click()
    url = agent.locator(".feedback-link input[readonly]").first.input_value()
    assert "/f/" in url
    screenshot(agent, "followup-link-laptop")

    phone = new_context(PHONE).new_page()
    phone.goto(url)
    assert phone.get_by_role("heading", name="服务评价").is_visible()
    screenshot(phone, "customer-feedback-phone")
    phone.get_by_text("5", exact=True).click()
    phone.get_by_label("已解决，设备正常").check()
    phone.get_by_label("还有什么想告诉我们的吗？（选填）").fill("谢谢，很快就好了")
    phone.get_by_role("button", name="提交").click()
    assert phone.get_by_text("谢谢！您的评价已记录。").is_visible()
    screenshot(phone, "customer-feedback-thanks-phone")
    phone.goto(url)
    assert phone.get_by_text("此链接已使用过").is_visible()
