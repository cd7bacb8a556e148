"""The admin's people screen: add people, set roles, every bad input refused."""

from __future__ import annotations

from sqlmodel import select

from server.models import AuditEntry, Staff, StaffRole
from tests.conftest import form_post, login, text_of

GOOD = {
    "display_name": "王小明",
    "username": "wang.xm",
    "password": "night-shift-99",
    "phone": "13800138000",
    "roles": ["onsite"],
    "group": "onsite",
    "region": "suburban",
}


def test_admin_adds_a_person_who_can_then_sign_in(client, people, db):
    login(client, "admin")
    r = form_post(client, "/admin/people/", GOOD)
    assert r.status_code == 303
    staff = db.exec(select(Staff).where(Staff.username == "wang.xm")).one()
    assert (staff.group, staff.region) == ("onsite", "suburban")
    roles = db.exec(select(StaffRole.role).where(StaffRole.staff_id == staff.id)).all()
    assert roles == ["onsite"]
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "staff.added")).first()
    client.cookies.clear()
    assert login(client, "wang.xm", "night-shift-99").status_code == 303


def test_bad_input_is_explained_per_field_and_saves_nothing(client, people, db):
    login(client, "admin")
    before = len(db.exec(select(Staff)).all())
    bad = GOOD | {"username": "Bad Name!", "password": "short", "roles": [], "region": ""}
    r = form_post(client, "/admin/people/", bad)
    assert r.status_code == 422
    text = text_of(r.text)
    assert "小写字母" in text
    assert "至少 8 个字符" in text
    assert "请至少选择一个角色" in text
    assert "现场工程师须选择服务区域" in text
    assert len(db.exec(select(Staff)).all()) == before


def test_duplicate_username_is_refused(client, people):
    login(client, "admin")
    r = form_post(client, "/admin/people/", GOOD | {"username": "agent"})
    assert r.status_code == 422
    assert "该用户名已被使用" in text_of(r.text)


def test_roles_change_through_htmx_fragment(client, people, db):
    login(client, "admin")
    agent = people["agent"]
    r = form_post(client, f"/admin/people/{agent.id}/roles", {"roles": ["agent", "dispatcher"]}, htmx=True)
    assert r.status_code == 200
    assert r.text.lstrip().startswith("<tr")  # the row fragment, not a page
    db.expire_all()
    roles = sorted(db.exec(select(StaffRole.role).where(StaffRole.staff_id == agent.id)).all())
    assert roles == ["agent", "dispatcher"]
    # the change applies to the person's next request
    client.cookies.clear()
    login(client, "agent")
    assert "调度" in client.get("/").text


def test_admin_cannot_lock_themselves_out(client, people, db):
    login(client, "admin")
    admin = people["admin"]
    r = form_post(client, f"/admin/people/{admin.id}/roles", {"roles": ["agent"]}, htmx=True)
    assert r.status_code == 422
    assert "不能取消自己的管理员角色" in text_of(r.text)
    r = form_post(client, f"/admin/people/{admin.id}/active", {"active": "0"}, htmx=True)
    assert r.status_code == 422


def test_disabled_person_cannot_sign_in_and_loses_their_session(client, people, app):
    from litestar.testing import TestClient

    with TestClient(app=app) as other:
        other.headers["accept"] = "text/html"
        login(other, "agent")
        assert other.get("/", follow_redirects=False).status_code == 200
        login(client, "admin")
        form_post(client, f"/admin/people/{people['agent'].id}/active", {"active": "0"}, htmx=True)
        assert other.get("/", follow_redirects=False).status_code == 303
        other.cookies.clear()
        assert login(other, "agent").status_code == 401


def test_non_admin_cannot_add_people(client, people):
    login(client, "manager")
    r = form_post(client, "/admin/people/", GOOD)
    assert r.status_code == 403


def test_after_a_validation_error_the_ticked_roles_and_group_stay(client, people, db):
    login(client, "admin")
    r = client.post("/admin/people/", data={"display_name": "", "username": "x", "password": "",
                                             "roles": ["onsite", "dispatcher"], "group": "onsite",
                                             "region": "suburban"},
                    headers={"x-csrftoken": client.cookies.get("csrftoken")})
    assert r.status_code == 422
    html = r.text.split("<table")[0]  # the add form, not the people's own rows
    for role in ("onsite", "dispatcher"):
        assert f'name="roles" value="{role}" checked' in html
    assert 'name="roles" value="admin" checked' not in html
    assert 'value="onsite" selected' in html and 'value="suburban" selected' in html
