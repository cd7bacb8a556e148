"""Server-side sessions: sign-out ends them on the server, timeouts, sign out everywhere,
password change and reset, disabling; the CSRF token belongs to the session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from server.db import utcnow
from server.models import AuditEntry, WebSession
from server.sessions import COOKIE, session_hash
from tests.api import session_dbs
from tests.conftest import PASSWORD, form_post, login, text_of

settings = session_dbs.settings  # every test here on both databases


@pytest.fixture
def browsers(app, client):
    """More browsers on the same app; each closed at the end."""
    opened: list[TestClient] = []

    def make(username: str | None = None, cookie: str | None = None) -> TestClient:
        c = TestClient(app=app)
        c.__enter__()
        opened.append(c)
        c.headers["accept"] = "text/html"
        if cookie:
            c.cookies.set(COOKIE, cookie, domain="testserver.local")
        if username:
            assert login(c, username).status_code == 303
        return c

    yield make
    for c in reversed(opened):  # before `client`, newest first (as nested `with`s)
        c.__exit__(None, None, None)


def reaches_home(c: TestClient) -> bool:
    return c.get("/", follow_redirects=False).status_code == 200


def test_the_cookie_holds_only_a_random_id_and_the_database_only_its_hash(client, people, db):
    login(client, "agent")
    sid = client.cookies.get(COOKIE)
    assert len(sid) >= 64 and "agent" not in sid
    row = db.exec(select(WebSession)).one()
    assert row.id == session_hash(sid) and row.id != sid
    assert row.staff_id == people["agent"].id


def test_a_copied_cookie_stops_working_after_logout(browsers, client, people):
    login(client, "agent")
    thief = browsers(cookie=client.cookies.get(COOKIE))
    assert reaches_home(thief)
    assert form_post(client, "/logout").status_code == 303
    assert not reaches_home(client)
    assert not reaches_home(thief)  # ended on the server, not just forgotten by the browser


def test_sign_in_gives_a_new_session_id_never_one_the_browser_brought(browsers, client, people, db):
    client.cookies.set(COOKIE, "a" * 64, domain="testserver.local")  # planted by an attacker (session fixation)
    login(client, "agent")
    assert client.cookies.get(COOKIE) != "a" * 64
    planted = browsers(cookie="a" * 64)
    assert not reaches_home(planted)
    # signing in again (say, as someone else) ends the old id too
    old = client.cookies.get(COOKIE)
    login(client, "dispatcher")
    assert client.cookies.get(COOKIE) != old
    assert db.exec(select(WebSession).where(WebSession.id == session_hash(old))).first() is None


def test_a_session_shared_by_two_app_processes(settings, people):
    """Two apps (two server processes) on one database see the same sessions."""
    from server.app import create_app

    one, two = create_app(settings), create_app(settings)
    with TestClient(app=one) as a, TestClient(app=two) as b:
        a.headers["accept"] = b.headers["accept"] = "text/html"
        login(a, "agent")
        b.cookies.set(COOKIE, a.cookies.get(COOKIE), domain="testserver.local")
        assert reaches_home(b)
        form_post(a, "/logout")
        assert not reaches_home(b)


def test_browsing_writes_nothing_until_the_idle_clock_needs_renewing(client, people, db):
    login(client, "agent")
    row = db.exec(select(WebSession)).one()
    for _ in range(3):
        r = client.get("/me")
        assert COOKIE not in r.headers.get("set-cookie", "")
    db.expire_all()
    assert db.exec(select(WebSession)).one().seen_at == row.seen_at


def _age(db, **delta) -> None:
    row = db.exec(select(WebSession)).one()
    for name, value in delta.items():
        setattr(row, name, getattr(row, name) - value)
    db.add(row)
    db.commit()


def test_idle_timeout_ends_an_unused_session(settings, client, people, db):
    login(client, "agent")
    idle = timedelta(minutes=settings.session_idle_minutes)
    _age(db, seen_at=idle - timedelta(minutes=5), expires_at=idle - timedelta(minutes=5))
    assert reaches_home(client)  # used in time: renewed
    db.expire_all()
    row = db.exec(select(WebSession)).one()
    assert row.expires_at > utcnow() + idle - timedelta(minutes=1)
    _age(db, seen_at=idle + timedelta(minutes=1), expires_at=idle + timedelta(minutes=1))
    assert not reaches_home(client)


def test_absolute_timeout_ends_even_a_busy_session(settings, client, people, db):
    login(client, "agent")
    absolute = timedelta(hours=settings.session_absolute_hours)
    _age(db, created_at=absolute - timedelta(minutes=2), seen_at=timedelta(minutes=5))
    assert reaches_home(client)
    db.expire_all()
    row = db.exec(select(WebSession)).one()
    assert row.expires_at <= row.created_at + absolute  # renewing never passes the cap
    _age(db, created_at=timedelta(minutes=3), seen_at=timedelta(minutes=5),
         expires_at=timedelta(minutes=3))
    assert not reaches_home(client)


def test_timeouts_are_settings():
    from server.settings import Settings

    s = Settings.from_env({"FIELDOPS_SESSION_IDLE_MINUTES": "30", "FIELDOPS_SESSION_ABSOLUTE_HOURS": "12"})
    assert (s.session_idle_minutes, s.session_absolute_hours) == (30, 12)


def test_sign_out_everywhere_from_my_profile(browsers, people, db):
    phone, laptop = browsers("onsite"), browsers("onsite")
    other = browsers("agent")
    assert "2" in text_of(laptop.get("/me").text)
    r = form_post(laptop, "/me/sign-out-everywhere")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not reaches_home(phone) and not reaches_home(laptop)
    assert reaches_home(other)  # someone else's session is not touched
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "staff.signed_out_everywhere")).one()


def test_admin_signs_a_person_out_everywhere(browsers, client, people):
    phone = browsers("onsite")
    login(client, "admin")
    r = form_post(client, f"/admin/people/{people['onsite'].id}/sign-out", htmx=True)
    assert r.status_code == 200 and "已在所有设备上退出" in text_of(r.text)
    assert not reaches_home(phone)
    assert reaches_home(client)


def test_every_user_changes_their_password_and_other_devices_are_signed_out(browsers, people):
    phone, laptop = browsers("agent"), browsers("agent")
    form = {"current": PASSWORD, "new": "a-new-secret-42", "repeat": "a-new-secret-42"}
    r = form_post(laptop, "/me/password", form)
    assert r.status_code == 200 and "密码已修改" in text_of(r.text)
    assert reaches_home(laptop)  # the device that changed it stays signed in
    assert not reaches_home(phone)
    fresh = browsers()
    assert login(fresh, "agent").status_code == 401
    assert login(fresh, "agent", "a-new-secret-42").status_code == 303


def test_password_change_refuses_a_wrong_current_password_and_bad_new_ones(client, people, db):
    login(client, "agent")
    before = db.get(type(people["agent"]), people["agent"].id).password_hash
    for form, words in (
        ({"current": "wrong-one", "new": "a-new-secret-42", "repeat": "a-new-secret-42"}, "当前密码不正确"),
        ({"current": PASSWORD, "new": "short", "repeat": "short"}, "至少 8 个字符"),
        ({"current": PASSWORD, "new": "a-new-secret-42", "repeat": "a-new-secret-43"}, "两次输入的密码不一致"),
        ({}, "当前密码不正确"),
    ):
        r = form_post(client, "/me/password", form)
        assert r.status_code == 422, form
        assert words in text_of(r.text)
    db.expire_all()
    assert db.get(type(people["agent"]), people["agent"].id).password_hash == before
    assert reaches_home(client)


def test_admin_resets_a_password_and_the_persons_sessions_end(browsers, client, people):
    phone = browsers("onsite")
    login(client, "admin")
    r = form_post(client, f"/admin/people/{people['onsite'].id}/password",
                  {"new": "reset-by-admin-1", "repeat": "reset-by-admin-1"}, htmx=True)
    assert r.status_code == 200 and "密码已重置" in text_of(r.text)
    assert not reaches_home(phone)
    phone.cookies.clear()
    assert login(phone, "onsite", "reset-by-admin-1").status_code == 303
    r = form_post(client, f"/admin/people/{people['onsite'].id}/password",
                  {"new": "x", "repeat": "x"}, htmx=True)
    assert r.status_code == 422 and "至少 8 个字符" in text_of(r.text)


def test_only_the_admin_resets_passwords_or_signs_others_out(client, people):
    login(client, "manager")
    target = people["onsite"].id
    assert form_post(client, f"/admin/people/{target}/password", {"new": "x" * 10, "repeat": "x" * 10}).status_code == 403
    assert form_post(client, f"/admin/people/{target}/sign-out").status_code == 403


def test_disabling_a_person_deletes_their_sessions(browsers, client, people, db):
    phone = browsers("onsite")
    login(client, "admin")
    form_post(client, f"/admin/people/{people['onsite'].id}/active", {"active": "0"}, htmx=True)
    assert db.exec(select(WebSession).where(WebSession.staff_id == people["onsite"].id)).first() is None
    assert not reaches_home(phone)


def test_csrf_token_is_bound_to_the_session_and_renewed_at_sign_in(browsers, client, people):
    before = client.get("/login") and client.cookies.get("csrftoken")
    login(client, "agent")
    after = client.cookies.get("csrftoken")
    assert after and after != before  # renewed at sign-in
    # the token from before sign-in no longer works
    r = client.post("/language", data={"locale": "en", "_csrf_token": before}, follow_redirects=False)
    assert r.status_code == 403
    # another session's token does not work in this one
    other = browsers("dispatcher")
    theirs = other.cookies.get("csrftoken")
    assert theirs != after
    client.cookies.set("csrftoken", theirs, domain="testserver.local")  # even with a matching cookie (double submit)
    r = client.post("/language", data={"locale": "en", "_csrf_token": theirs}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/language", data={"locale": "en", "_csrf_token": after}, follow_redirects=False)
    assert r.status_code == 303


def test_anonymous_visitors_create_no_session_rows(client, db):
    for path in ("/login", "/offline", "/healthz", "/login?next=/board"):
        client.get(path)
    assert db.exec(select(WebSession)).first() is None
    assert COOKIE not in client.cookies
