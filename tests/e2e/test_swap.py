"""A shift swap the way people do it (S11): an onsite engineer asks from the phone, the
support manager approves on a laptop, the engineer sees the outcome. Plus the roster
screens at their sizes, for the screenshots."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, screenshot, sign_in

MID_NOVEMBER = "2026-11-20T21:00:00+08:00"

pytestmark = pytest.mark.e2e

SMALL_TARGETS_JS = """
() => [...document.querySelectorAll('main button, main select, main input:not([type=hidden]), main .btn')]
  .filter(el => el.offsetParent !== null)
  .map(el => ({el: el.outerHTML.slice(0, 80), r: el.getBoundingClientRect()}))
  .filter(x => x.r.height < 44 || (x.r.width < 44 && !x.el.startsWith('<input type="checkbox"')))
  .map(x => x.el + ' ' + Math.round(x.r.width) + 'x' + Math.round(x.r.height))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of its own: the swap changes the demo roster other tests may read."""
    live = LiveServer(tmp_path_factory.mktemp("swap")).start()
    yield live
    live.stop()


def test_engineer_asks_for_a_swap_on_the_phone_and_the_manager_approves(server, new_context):
    base = server.url
    phone = new_context(PHONE).new_page()
    sign_in(phone, base, "onsite")
    phone.goto(base + "/my/shifts/")
    assert phone.get_by_role("heading", level=1).inner_text() == "我的班次"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.evaluate(SMALL_TARGETS_JS) == []
    screenshot(phone, "my-shifts-phone")

    # the furthest shift still open for swaps (S11: at least 5 days ahead)
    open_cards = phone.locator(".shift-card", has=phone.get_by_role("button", name="申请换班"))
    card = phone.locator("#" + open_cards.last.get_attribute("id"))
    day = card.locator(".sc-head strong").inner_text()
    card.get_by_role("button", name="申请换班").click()
    colleague_select = card.get_by_label("接班同事")
    colleague_select.wait_for()
    colleague = colleague_select.locator("option").nth(1).inner_text()
    colleague_select.select_option(index=1)
    card.get_by_label("原因（选填）").fill("孩子发烧，需要请假照顾")
    screenshot(phone, "swap-form-phone")
    card.get_by_role("button", name="提交换班申请").click()
    done = card.get_by_role("status")
    done.wait_for()
    assert "等待支持经理批准" in done.inner_text()
    assert colleague in done.inner_text()
    mine = phone.locator("#my-swaps")
    assert "待批准" in mine.inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "swap-asked-phone")

    laptop = new_context(LAPTOP).new_page()
    sign_in(laptop, base, "manager")
    laptop.goto(base + "/roster/swaps/")
    request = laptop.locator("article.swap-card", has_text=f"张强 → {colleague}")
    assert day in request.inner_text()
    assert request.locator("li.error").count() == 0  # the swap breaks no rule
    screenshot(laptop, "swap-approvals-laptop")
    request.get_by_role("button", name="批准").click()
    # the card leaves "waiting for your approval" at once; the decision tops the decided list
    decided = laptop.locator("#swaps-decided .flash")
    decided.wait_for()
    assert "已通知双方" in decided.inner_text() and colleague in decided.inner_text()
    assert request.count() == 0
    assert laptop.locator("#swaps-decided li", has_text=f"张强 → {colleague}").count() == 1

    phone.reload()
    row = phone.locator("#my-swaps .swap-row", has_text=f"张强 → {colleague}")
    assert "已批准" in row.inner_text()
    # the shift is no longer among mine
    assert phone.locator(".shift-card", has_text=day).count() == 0
    screenshot(phone, "swap-outcome-phone")


@pytest.fixture
def november_server(tmp_path):
    """A server whose clock starts on a November evening: its demo rosters are November's
    and December's, so January 2027 (whose holidays no package knows yet) is still to be
    drafted, whatever day the suite runs."""
    live = LiveServer(tmp_path / "live", {"FIELDOPS_CLOCK_START": MID_NOVEMBER}).start()
    yield live
    live.stop()


def test_roster_grid_at_laptop_size(november_server, new_context):
    base = november_server.url
    page = new_context(LAPTOP).new_page()
    sign_in(page, base, "manager")
    page.goto(base + "/roster/")
    screenshot(page, "roster-index-laptop")
    month = page.locator(".month-row", has_text="2027-01")
    month.get_by_role("button", name="开始起草").click()
    page.wait_for_url(re.compile(r".*/roster/2027-01$"))
    assert "2027 年的官方节假日安排尚未收录" in page.inner_text("main")
    page.get_by_role("button", name="自动排班").click()
    page.get_by_text("已生成").wait_for(timeout=30_000)
    box = page.locator(".rgrid-box")
    # the grid scrolls sideways inside its own box, the page does not
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    # toggling a cell re-checks every rule at once
    cell = page.locator("button.s.night.on").first
    label = cell.get_attribute("aria-label")
    cell.click()
    page.locator(f'button[aria-label="{label}"][aria-pressed="false"]').wait_for()
    assert "个错误" in page.locator("#rproblems").inner_text()
    # the coverage footer was replaced in place, not pushed into the body
    assert page.locator("#rcov tr").count() == 3
    assert page.locator("tbody th.who", has_text="远程值班").count() == 0
    assert page.locator("#rcov .cv.short").count() >= 1
    screenshot(page, "roster-grid-laptop")
    # the names column stays put while the grid scrolls sideways
    box.evaluate("el => { el.scrollLeft = 600; }")
    who = page.locator("tbody .who").first.bounding_box()
    assert who["x"] < 60
    page.screenshot(path=str(screenshot.__globals__["ARTIFACTS"] / "roster-grid-scrolled-laptop.png"))


def test_team_training_makes_a_newcomer_eligible(server, new_context):
    base = server.url
    page = new_context(LAPTOP).new_page()
    sign_in(page, base, "manager")
    page.goto(base + "/team/")
    row = page.locator("tr", has_text="曹宇")
    assert "岗前培训 14 小时，须满 20 小时" in row.inner_text()
    assert "实操考核未通过" in row.inner_text()
    screenshot(page, "team-laptop")
    row.get_by_role("link", name="曹宇").click()
    panel = page.locator("#eligibility")
    assert "暂不可排班" in panel.inner_text()
    screenshot(page, "team-person-before-laptop")
    form = page.locator("#training form").last
    form.get_by_label("类别").select_option(label="岗前培训")
    form.get_by_label("学时").fill("6")
    form.get_by_role("button", name="添加记录").click()
    page.locator("#training").get_by_text("已添加").wait_for()
    assert "岗前培训" not in page.locator("#eligibility .reasons").inner_text()
    form = page.locator("#training form").last
    form.get_by_label("类别").select_option(label="实操考核")
    form.get_by_label("通过", exact=True).check()
    form.get_by_role("button", name="添加记录").click()
    page.locator("#eligibility", has_text="合格：可以排班").wait_for()
    screenshot(page, "team-person-laptop")


def test_duty_and_hours_screens(server, new_context):
    base = server.url
    page = new_context(LAPTOP).new_page()
    sign_in(page, base, "manager")
    page.goto(base + "/roster/duty/")
    assert page.get_by_role("heading", level=1).inner_text() == "值班与缺岗"
    screenshot(page, "duty-laptop")
    page.goto(base + "/roster/")
    month = page.locator(".month-row").nth(1)
    month.get_by_role("link", name="工时").click()
    assert "工作日夜班（小时）" in page.inner_text("main")
    screenshot(page, "hours-laptop")
