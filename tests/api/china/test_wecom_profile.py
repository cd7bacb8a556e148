"""The WeCom user id on a person's profile (issue 17): set by the admin, audited, checked."""

from __future__ import annotations

from sqlmodel import select

from server.models import AuditEntry, Staff
from tests.conftest import form_post, login


def test_the_admin_sets_a_wecom_user_id_and_bad_ones_are_refused(client, db, people):
    login(client, "admin")
    onsite = people["onsite"]
    r = form_post(client, f"/admin/people/{onsite.id}/wecom", {"wecom_userid": "ZhangQiang"},
                  htmx=True)
    assert r.status_code == 200 and 'value="ZhangQiang"' in r.text
    bad = form_post(client, f"/admin/people/{onsite.id}/wecom", {"wecom_userid": "张 强<"},
                    htmx=True)
    assert bad.status_code == 422
    db.rollback()
    assert db.exec(select(Staff.wecom_userid).where(Staff.id == onsite.id)).one() == "ZhangQiang"
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "staff.wecom_userid")).one()
    assert entry.actor_id == people["admin"].id and entry.details["after"] == "ZhangQiang"
    login(client, "agent")
    assert form_post(client, f"/admin/people/{onsite.id}/wecom",
                     {"wecom_userid": "x"}).status_code == 403
