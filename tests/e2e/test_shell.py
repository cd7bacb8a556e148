"""Every demo login reaches its home screen in a real Chromium, on a phone and a laptop."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.demo import DEMO_LOGINS
from tests.e2e.conftest import LAPTOP, PHONE, screenshot, sign_in

pytestmark = pytest.mark.e2e

# Controls a thumb must hit: at least 44 x 44 CSS pixels.
SMALL_TARGETS_JS = """
() => [...document.querySelectorAll('button, select, input:not([type=hidden]), .btn, .tile, .topnav a')]
  .filter(el => el.offsetParent !== null)
  .map(el => ({el: el.outerHTML.slice(0, 80), r: el.getBoundingClientRect()}))
  .filter(x => x.r.height < 44 || (x.r.width < 44 && !x.el.startsWith('<input type="checkbox"')))
  .map(x => x.el + ' ' + Math.round(x.r.width) + 'x' + Math.round(x.r.height))
"""
UNLABELLED_JS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML.slice(0, 80))
"""


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_every_role_signs_in_and_sees_its_home(live_server, new_context, viewport):
    size = "phone" if viewport is PHONE else "laptop"
    for role, username, _password, _label in DEMO_LOGINS:
        page = new_context(viewport).new_page()
        sign_in(page, live_server.url, username)
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.get_by_role("heading", level=1).inner_text().endswith("您好")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{role}: page scrolls sideways ({width}px)"
        assert page.evaluate(SMALL_TARGETS_JS) == [], role
        assert page.evaluate(UNLABELLED_JS) == [], role
        screenshot(page, f"home-{role}-{size}")
        page.context.close()


def test_role_is_refused_another_roles_screen(live_server, new_context):
    page = new_context().new_page()
    sign_in(page, live_server.url, "agent")
    response = page.goto(live_server.url + "/admin/people")
    assert response.status == 403
    assert "您的角色无权访问此页面" in page.inner_text("main")


def test_wrong_password_is_refused_in_chinese(live_server, new_context):
    page = new_context().new_page()
    page.goto(live_server.url + "/login")
    page.get_by_label("用户名").fill("dispatcher")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码错误" in page.inner_text("main")
    screenshot(page, "login-error-phone")


def test_admin_adds_a_person_and_sets_roles_without_reload(live_server, new_context):
    page = new_context(LAPTOP).new_page()
    sign_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/admin/people")
    page.get_by_text("添加人员").click()
    page.get_by_label("姓名").first.fill("赵测试")
    page.get_by_label("用户名").fill("zhao.e2e")
    page.get_by_label("初始密码").fill("e2e-password-1")
    page.locator(".roles-pick").get_by_label("客服专员").check()
    page.get_by_role("button", name="添加", exact=True).click()
    row = page.locator("tr", has_text="zhao.e2e")
    row.get_by_label("调度 / 值班负责人").check()
    row.get_by_role("button", name="保存角色").click()
    expect(page.locator("tr", has_text="zhao.e2e").get_by_text("已保存")).to_be_visible()
    assert page.url.endswith("/admin/people")  # swapped in place, no reload
    screenshot(page, "admin-people-laptop")


def test_service_worker_serves_visited_pages_and_the_offline_page(live_server, new_context):
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, live_server.url, "onsite")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now controlled by the service worker, which caches the page
    assert page.evaluate("!!navigator.serviceWorker.controller")
    page.wait_for_timeout(300)
    ctx.set_offline(True)
    page.reload()
    assert "您好" in page.inner_text("h1")
    page.goto(live_server.url + "/me?never-visited")
    assert "没有网络连接" in page.inner_text("main")
    screenshot(page, "offline-phone")
    ctx.set_offline(False)


PRINT_SHEETS = {"/equipment/labels"}  # an A4 sheet of QR labels, printed from a laptop


def test_no_screen_scrolls_sideways_on_a_phone(live_server, new_context):
    """Every screen on the home tiles (server.routes.nav, so a new screen is checked too),
    as each demo role opens it at 390 px: nothing wider than the phone, except a wide
    table inside its own scroll box."""
    import server.routes  # noqa: F401  (every screen family registers its tiles)
    from server.routes.nav import SCREENS

    wide = []
    for role, username, _password, _label in DEMO_LOGINS:
        page = new_context(PHONE).new_page()
        sign_in(page, live_server.url, username)
        for s in SCREENS:
            if (s.roles and role not in s.roles) or s.url in PRINT_SHEETS:
                continue
            page.goto(live_server.url + s.url)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide.append(f"{role} {s.url}: {width}px")
        page.context.close()
    assert wide == []


def test_my_jobs_online_with_nothing_queued_says_nothing_is_waiting(live_server, new_context):
    """The card's "clocks stopped (waiting to sync)" line is for queued actions only: with
    an empty outbox no card claims anything is waiting."""
    page = new_context(PHONE).new_page()
    sign_in(page, live_server.url, "onsite")
    page.goto(live_server.url + "/field")
    page.locator(".fcard").first.wait_for()
    page.wait_for_timeout(500)  # field-offline.js has painted the cards
    assert page.locator("[data-sync-count]").inner_text() == "0"
    assert page.locator(".fcard [data-stopped-clocks]:visible").count() == 0
    assert "等待同步" not in page.locator("#my-jobs").inner_text()
