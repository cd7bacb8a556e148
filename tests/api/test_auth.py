"""Sign-in, sign-out, role guards, CSRF and the throttle, through the real app."""

from __future__ import annotations

from tests.api import session_dbs
from tests.conftest import form_post, login, text_of

settings = session_dbs.settings  # every test here on both databases


def test_login_page_is_chinese_by_default(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text
    assert "登录" in r.text


def test_every_role_signs_in_and_reaches_home(client, people):
    for role in people:
        client.cookies.clear()
        r = login(client, role)
        assert r.status_code == 303, role
        assert r.headers["location"] == "/"
        home = client.get("/")
        assert home.status_code == 200
        assert people[role].display_name in home.text


def test_unknown_user_and_wrong_password_get_the_same_clear_refusal(client, people):
    for username, password in (("nobody", "whatever-123"), ("agent", "wrong-password")):
        client.cookies.clear()
        r = login(client, username, password)
        assert r.status_code == 401
        assert "用户名或密码错误" in text_of(r.text)
        assert client.get("/", follow_redirects=False).status_code == 303


def test_signed_out_visitor_is_sent_to_login_with_next(client):
    r = client.get("/admin/people", follow_redirects=False, headers={"accept": "text/html"})
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/people"


def test_htmx_request_signed_out_gets_hx_redirect(client):
    r = client.get("/", headers={"hx-request": "true", "accept": "text/html"})
    assert r.status_code == 401
    assert r.headers["hx-redirect"].startswith("/login")


def test_role_cannot_reach_another_roles_screen(client, people):
    login(client, "agent")
    r = client.get("/admin/people", headers={"accept": "text/html"})
    assert r.status_code == 403
    assert "您的角色无权访问此页面" in text_of(r.text)


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, people, db):
    login(client, "admin")
    r = client.post(
        "/admin/people/",
        data={"username": "newbie", "display_name": "新人", "password": "long-enough-1", "roles": "agent"},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 403
    assert "表单已过期" in text_of(r.text)
    from sqlmodel import select

    from server.models import Staff

    assert db.exec(select(Staff).where(Staff.username == "newbie")).first() is None


def test_login_without_csrf_is_refused(client, people):
    client.get("/login")
    r = client.post("/login", data={"username": "agent", "password": "x"}, headers={"accept": "text/html"})
    assert r.status_code == 403


def test_repeated_failures_slow_down_even_the_right_password(client, people, clock):
    for _ in range(5):
        assert login(client, "agent", "wrong-password").status_code == 401
        clock.advance(seconds=0.2)  # a script retrying, not five guesses in one instant
    r = login(client, "agent")  # the right password, but too soon from this address
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "尝试登录次数过多" in text_of(r.text)


def test_logout_ends_the_session(client, people):
    login(client, "agent")
    assert client.get("/", follow_redirects=False).status_code == 200
    r = form_post(client, "/logout")
    assert r.status_code == 303
    assert r.headers["clear-site-data"] == '"cache"'  # a shared phone keeps no page (issue 12)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_open_redirect_is_not_followed(client, people):
    token = client.get("/login") and client.cookies.get("csrftoken")
    r = client.post(
        "/login",
        data={"username": "agent", "password": "correct-horse-1", "_csrf_token": token,
              "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"
