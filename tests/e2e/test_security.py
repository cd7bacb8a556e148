"""The strict Content-Security-Policy in a real Chromium: the screens run under it (any
violation fails the test, see conftest.new_context), and the check itself can fail."""

from __future__ import annotations

import contextlib

import pytest

from tests.e2e.conftest import ARTIFACTS, LAPTOP, PHONE, is_csp_violation, screenshot, sign_in

pytestmark = pytest.mark.e2e

NO_EVAL_NO_STYLE_JS = """
() => ({htmx: !!window.htmx, allowEval: window.htmx && htmx.config.allowEval,
        indicatorStyles: window.htmx && htmx.config.includeIndicatorStyles,
        styleElements: document.querySelectorAll('style').length})
"""


def test_the_csp_check_would_catch_an_inline_script(live_server, browser):
    ctx = browser.new_context()
    seen = []
    ctx.on("console", lambda msg: seen.append(msg.text) if is_csp_violation(msg.text) else None)
    page = ctx.new_page()
    response = page.goto(live_server.url + "/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    with contextlib.suppress(Exception):  # Chromium refuses it; the console says why
        page.add_script_tag(content="window.injected = 1")
    page.wait_for_timeout(300)
    assert page.evaluate("window.injected") is None
    assert seen, "a blocked inline script must be reported on the console"
    ctx.close()


SCREENS = {
    "dispatcher": ["/", "/board", "/me"],
    "manager": ["/team", "/calendar", "/roster/swaps"],
    "admin": ["/admin/people", "/me"],
    "onsite": ["/field", "/my/shifts"],
    "agent": ["/requests/new", "/requests/followup"],
    "remote": ["/remote"],
}


@pytest.mark.parametrize("username", sorted(SCREENS))
def test_screens_run_under_the_csp(live_server, new_context, username):
    page = new_context(LAPTOP).new_page()
    sign_in(page, live_server.url, username)
    for path in SCREENS[username]:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle") if path != "/board" else page.wait_for_timeout(500)
        state = page.evaluate(NO_EVAL_NO_STYLE_JS)
        assert state == {"htmx": True, "allowEval": False, "indicatorStyles": False,
                         "styleElements": 0}, (path, state)


def test_board_polls_with_its_row_count_without_eval(live_server, new_context):
    page = new_context(LAPTOP).new_page()
    sign_in(page, live_server.url, "dispatcher")
    page.goto(live_server.url + "/board")
    rows = page.locator("#board tr[data-r]").count()
    with page.expect_request(lambda r: "/board?" in r.url and f"rows={rows}" in r.url) as polled:
        page.evaluate("htmx.trigger('#board', 'fo:poll')")
    assert polled.value.headers.get("hx-request") == "true"


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_password_and_sessions_screens(live_server, new_context, viewport):
    size = "phone" if viewport is PHONE else "laptop"
    page = new_context(viewport).new_page()
    sign_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/me")
    page.get_by_label("当前密码").fill("wrong-password")
    page.get_by_label("新密码", exact=True).fill("another-secret-1")
    page.get_by_label("再次输入新密码").fill("another-secret-1")
    page.get_by_role("button", name="修改密码").click()
    assert "当前密码不正确" in page.inner_text("#password")
    page.locator("#password").scroll_into_view_if_needed()
    screenshot(page, f"me-password-{size}")
    # The admin resets a password at either size (a night-shift admin may have only a phone).
    page.goto(live_server.url + "/admin/people")
    row = page.locator("tr", has_text="彭丽").first
    row.locator("summary", has_text="重置密码").click()
    row.get_by_label("新密码", exact=True).fill("short")
    row.get_by_label("再次输入新密码").fill("short")
    row.get_by_role("button", name="设置新密码").click()
    page.locator("tr", has_text="彭丽").first.locator(".error").wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the row itself: the page is long on a phone
    page.locator("tr", has_text="彭丽").first.screenshot(
        path=str(ARTIFACTS / f"admin-people-reset-{size}.png"))
    row = page.locator("tr", has_text="彭丽").first
    row.get_by_label("新密码", exact=True).fill("long-enough-2")
    row.get_by_label("再次输入新密码").fill("long-enough-2")
    row.get_by_role("button", name="设置新密码").click()
    page.locator("tr", has_text="彭丽").first.locator(".ok").wait_for()
    # English
    page.goto(live_server.url + "/me")
    page.locator("footer select").select_option("en")
    page.locator("footer").get_by_role("button").click()
    page.wait_for_load_state()
    assert "Sign out everywhere" in page.inner_text("main")
    screenshot(page, f"me-sessions-en-{size}")
    page.locator("footer select").select_option("zh_CN")
    page.locator("footer").get_by_role("button").click()
    page.wait_for_load_state()
