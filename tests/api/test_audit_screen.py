"""The audit log screen (manager, admin): search by who, what, when, device, request, record."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from server.db import utcnow
from server.domain.devices import device_label
from server.models import AuditEntry
from tests.api.test_feedback import resolved  # noqa: F401  (fixture)
from tests.conftest import form_post, login, text_of

PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0 Mobile Safari/537.36")


def test_device_labels():
    assert device_label(PHONE_UA, "10.0.0.7") == "Android · Chrome · 10.0.0.7"
    assert device_label("Mozilla/5.0 (iPhone) MicroMessenger/8.0 Safari/604.1") == "iPhone · WeChat"
    assert device_label("python-httpx/0.28", None) == "python-httpx"
    assert device_label(None) == ""


def test_a_change_records_the_device_and_the_log_finds_it(client, db, people, resolved):  # noqa: F811
    client.headers["user-agent"] = PHONE_UA
    login(client, "agent")
    r = form_post(client, f"/requests/{resolved.id}/feedback",
                  {"reached": "yes", "score": "2", "resolved": "no", "comment": "还是卡"}, htmx=True)
    assert r.status_code == 200
    db.rollback()
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "feedback.recorded")).one()
    assert entry.device.startswith("Android · Chrome")
    assert entry.actor_id == people["agent"].id

    login(client, "manager")
    everything = client.get("/audit")
    assert everything.status_code == 200 and "feedback.recorded" in everything.text
    found = text_of(client.get("/audit", params={"who": "agent", "what": "reopened"}).text)
    assert "request.reopened" in found and "feedback.recorded" not in found
    by_device = text_of(client.get("/audit", params={"device": "android"}).text)
    assert "feedback.recorded" in by_device and "job.assigned" not in by_device
    by_request = client.get("/audit", params={"request_no": resolved.number[-4:]}).text
    assert f'href="/board/requests/{resolved.id}"' in by_request
    by_record = text_of(client.get("/audit", params={"entity": "feedback"}).text)
    assert "feedback.recorded" in by_record and "request.reopened" not in by_record
    today = utcnow().date()
    later = (today + timedelta(days=3)).isoformat()
    assert "没有符合" in text_of(client.get("/audit", params={"since": later}).text)
    bad = client.get("/audit", params={"since": "2026-02-31"})
    assert bad.status_code == 422 and "请输入日期" in text_of(bad.text)


def test_only_manager_and_admin_read_the_log(client, people):
    login(client, "dispatcher")
    assert client.get("/audit").status_code == 403
    login(client, "admin")
    assert client.get("/audit").status_code == 200
