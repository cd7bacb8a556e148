"""Delivering notices for real: Web Push to a push service on 127.0.0.1 that checks the
VAPID header and decrypts like a browser, a WeCom robot beside it, the outbox's retries,
the subscription routes, the service worker's receipts and what the dispatcher sees."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from server.actions import ActionError, notify
from server.actions import jobs as J
from server.actions import push as push_actions
from server.actions.job_common import active_jobs
from server.db import make_engine, open_session, utcnow
from server.i18n import translations
from server.models import AuditEntry, ChangeRecord, Notification, PushSubscription
from server.push.channels import Limits
from server.push.message import receipt_token
from server.push.outbox import DeliveryPolicy, backoff, drain_outbox
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.conftest import csrf_token, form_post, login, text_of
from tests.push_receiver import Receiver

SUBJECT = "mailto:night-ops@fieldops-rental.cn"  # a real-looking contact, not the placeholder


@pytest.fixture
def receiver():
    rx = Receiver().start()
    yield rx
    rx.stop()


@pytest.fixture
def settings(settings, receiver):
    """Web Push and the WeCom robot switched on, both pointing at the local receiver."""
    receiver.vapid_public_key, receiver.vapid_subject = settings.vapid_public_key, SUBJECT
    return replace(settings, push_enabled=True, wecom_webhook_url=receiver.url + "/wecom",
                   push_allow_insecure_endpoints=True,  # the receiver is on 127.0.0.1
                   vapid_subject=SUBJECT)


@pytest.fixture
def crew(db, people, settings):
    now = utcnow()
    crew = {"u1": engineer(db, "u1", "onsite", "urban", display_name="张强", phone="13900000001"),
            "r1": engineer(db, "r1", "remote", display_name="张伟", phone="13900000002")}
    on_shift(db, now, crew["u1"], crew["r1"])
    return crew


def drain(engine, settings, now=None, **kw):
    with open_session(engine, write=True) as s:
        return drain_outbox(s, now or utcnow(), settings, **kw)


def subscribe(client, receiver, name: str, label: str = "Android · Chrome"):
    return client.post("/push/subscribe", json=receiver.subscription(name) | {"device_label": label},
                       headers={"x-csrftoken": csrf_token(client)})


def subscribe_as(db, staff, receiver, name: str) -> PushSubscription:
    sub = receiver.subscription(name)
    row = PushSubscription(staff_id=staff.id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                           auth=sub["keys"]["auth"], device_label=name, created_at=utcnow())
    db.add(row)
    db.commit()
    return row


def fresh(db) -> None:
    """End the test session's read snapshot: other sessions have committed since."""
    db.commit()
    db.expire_all()


def notes(db, **where) -> list[Notification]:
    fresh(db)
    query = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        query = query.where(getattr(Notification, key) == value)
    return list(db.exec(query).all())


def queue(db, staff, key="n1", urgency="normal", channels=("webpush",), request_id=None):
    notify.enqueue(db, staff_id=staff.id, kind="job.assigned", title="P2 任务 FO-1: 星耀直播",
                   body="现场 · 推流失败", dedupe_key=key, urgency=urgency, channels=channels,
                   request_id=request_id)
    db.commit()


# -- a dispatch, end to end -----------------------------------------------------------------


def test_a_p1_dispatch_arrives_encrypted_signed_and_urgent_after_the_request(
        client, db, engine, people, crew, settings, receiver):
    login(client, "u1")
    assert subscribe(client, receiver, "u1-phone").status_code == 200
    req = handed_off(db, people["agent"], utcnow(), settings, classification="onsite", priority="P1")
    client.cookies.clear()
    login(client, "dispatcher")
    r = form_post(client, f"/board/requests/{req.id}/assign",
                  {"engineer_id": crew["u1"].id, "kind": "onsite"}, htmx=True)
    assert r.status_code == 200
    # The request that assigned the job sent nothing: the outbox holds it.
    assert receiver.received == []
    assert {n.channel: n.status for n in notes(db, staff_id=crew["u1"].id)} == {
        "webpush": "pending", "wecom": "pending"}

    drain(engine, settings)
    receiver.wait_for(2)
    got = {r.path: r for r in receiver.received
           if r.path != "/wecom" or "13900000001" in str(r.data)}  # others hear of it too
    push = got["/push/u1-phone"]
    assert push.vapid_error == "" and push.vapid_claims["aud"] == receiver.url
    assert push.headers["urgency"] == "high" and push.headers["ttl"] == "300"
    assert push.headers["content-encoding"] == "aes128gcm"
    job = active_jobs(db, req.id)[0]
    data = push.data
    assert data["job_id"] == job.id and data["request_id"] == req.id
    assert data["priority"] == "P1" and data["accept"] is True
    assert req.number in data["title"] and data["url"] == f"/field/jobs/{job.id}"
    assert data["tag"] == f"job-{job.id}" and data["labels"]["accept"] == "接单"
    assert len(push.body) < 1024  # small: ids and a title
    wecom = got["/wecom"].data
    assert wecom["msgtype"] == "text" and req.number in wecom["text"]["content"]
    assert wecom["text"]["mentioned_mobile_list"] == ["13900000001"]
    webpush = notes(db, staff_id=crew["u1"].id, channel="webpush")[0]
    assert webpush.status == "sent" and webpush.delivered_at is not None and webpush.attempts == 1
    assert db.get(PushSubscription, 1).last_success_at is not None
    # The board heard about it: a change record for the notification.
    assert db.exec(select(ChangeRecord).where(ChangeRecord.entity == "notification")).first()
    # A second drain sends nothing more.
    sent = len(receiver.received)
    assert drain(engine, settings).claimed == 0
    assert len(receiver.received) == sent


def test_other_priorities_go_with_normal_urgency_and_a_longer_ttl(db, engine, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "r1-tablet")
    queue(db, crew["r1"])
    drain(engine, settings)
    push = receiver.wait_for(1)[0]
    assert push.headers["urgency"] == "normal" and push.headers["ttl"] == "3600"
    assert push.data["title"] == "P2 任务 FO-1: 星耀直播"


def test_every_device_of_the_person_gets_it(db, engine, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "phone")
    subscribe_as(db, crew["r1"], receiver, "laptop")
    queue(db, crew["r1"])
    drain(engine, settings)
    assert sorted(r.path for r in receiver.wait_for(2)) == ["/push/laptop", "/push/phone"]
    assert all(r.data["id"] == notes(db)[0].id for r in receiver.received)


def test_the_running_server_sends_right_after_the_assignment_commits(db, people, crew, settings, receiver):
    """With the background loop on, the commit that queued the notice wakes the sender at
    once (the loop's round is a minute away here), after the request has answered."""
    import time

    from litestar.testing import TestClient

    from server.app import create_app
    from server.jobs import loop

    subscribe_as(db, crew["u1"], receiver, "u1-phone")
    req = handed_off(db, people["agent"], utcnow(), settings, classification="onsite", priority="P1")
    app = create_app(replace(settings, background_loop=True, loop_interval_seconds=60))
    with TestClient(app=app) as client:
        assert "server.jobs.push.deliver_notices" in map(loop.tick_name, loop.registered())
        client.headers["accept"] = "text/html"
        time.sleep(0.3)  # the loop's first round (at start) is over: only the nudge is left
        receiver.received.clear()
        login(client, "dispatcher")
        started = time.monotonic()
        r = form_post(client, f"/board/requests/{req.id}/assign",
                      {"engineer_id": crew["u1"].id, "kind": "onsite"}, htmx=True)
        assert r.status_code == 200
        # the next loop round is 60 s away: well before it means the nudge sent it (a
        # generous bound, so a busy machine does not fail it)
        deadline = started + 30
        while not receiver.at("/push/u1-phone") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert receiver.at("/push/u1-phone"), "not sent until the next loop round"
    assert getattr(app.state, "push_nudge", None) is None  # stopped with the app


# -- answers of the push service ---------------------------------------------------------------


def test_410_deletes_the_subscription_and_the_other_device_still_gets_it(db, engine, crew, settings, receiver):
    gone = subscribe_as(db, crew["r1"], receiver, "old-phone").id
    subscribe_as(db, crew["r1"], receiver, "new-phone")
    receiver.answer("/push/old-phone", 410)
    queue(db, crew["r1"])
    result = drain(engine, settings)
    assert result.sent == 1 and result.subscriptions_deleted == 1
    fresh(db)
    assert db.get(PushSubscription, gone) is None
    assert notes(db)[0].status == "sent"


def test_404_on_the_only_device_ends_the_notice_visibly_as_no_device(db, engine, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "only")
    receiver.answer("/push/only", 404)
    queue(db, crew["r1"])
    drain(engine, settings)
    note = notes(db)[0]
    assert note.status == "no_device" and db.exec(select(PushSubscription)).all() == []
    queue(db, crew["r1"], key="n2")  # nobody to send to now: no request goes out at all
    drain(engine, settings)
    assert notes(db)[1].status == "no_device" and len(receiver.received) == 1


def test_500_retries_with_doubling_backoff_then_gives_up_on_the_timeline(
        client, db, engine, people, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "flaky")
    receiver.answer("/push/flaky", 500)
    req = handed_off(db, people["agent"], utcnow(), settings)
    drain(engine, settings)  # the hand-off's own notices
    receiver.received.clear()
    queue(db, crew["r1"], request_id=req.id)
    now = utcnow()
    waits = []
    for attempt in range(1, 6):
        result = drain(engine, settings, now)
        assert result.claimed == 1
        note = notes(db, staff_id=crew["r1"].id)[0]
        assert note.attempts == attempt and note.last_error == "HTTP 500"
        if attempt < 5:
            assert note.status == "pending"
            waits.append(round((note.next_attempt_at - now).total_seconds()))
            assert drain(engine, settings, note.next_attempt_at - timedelta(seconds=1)).claimed == 0
            now = note.next_attempt_at
    assert waits == [10, 20, 40, 80]
    assert note.status == "gave_up"
    assert len(receiver.at("/push/flaky")) == 5
    assert drain(engine, settings, now + timedelta(hours=1)).claimed == 0  # given up for good
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "notification.gave_up")).one()
    assert entry.request_id == req.id and entry.details["attempts"] == 5
    assert entry.details["error"] == "HTTP 500"
    login(client, "dispatcher")
    html = text_of(client.get(f"/push/requests/{req.id}/notifications").text)
    assert "已放弃" in html and "HTTP 500" in html


def test_a_timeout_is_retried_and_then_delivered(db, engine, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "slow")
    receiver.hang_seconds = 2
    receiver.answer("/push/slow", "hang", 201)
    queue(db, crew["r1"], urgency="high")
    policy = DeliveryPolicy(limits=Limits(timeout_seconds=0.5))
    now = utcnow()
    drain(engine, settings, now, policy=policy)
    note = notes(db)[0]
    assert note.status == "pending" and note.last_error == "timed out"
    assert note.next_attempt_at >= now + backoff(1)
    drain(engine, settings, note.next_attempt_at, policy=policy)
    note = notes(db)[0]
    assert note.status == "sent" and note.attempts == 2
    assert [r.data["id"] for r in receiver.at("/push/slow")] == [note.id, note.id]


def test_one_channel_failing_does_not_stop_the_other(db, engine, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "ok-phone")
    receiver.answer("/wecom", 500)
    queue(db, crew["r1"], channels=("webpush", "wecom"))
    drain(engine, settings)
    by_channel = {n.channel: n for n in notes(db)}
    assert by_channel["webpush"].status == "sent"
    assert by_channel["wecom"].status == "pending" and by_channel["wecom"].last_error == "HTTP 500"
    # and the other way round: WeCom still goes when push has nobody
    receiver.answer("/wecom", 200)
    queue(db, crew["u1"], key="n2", channels=("webpush", "wecom"))
    drain(engine, settings)
    by_channel = {n.channel: n for n in notes(db, staff_id=crew["u1"].id)}
    assert by_channel["webpush"].status == "no_device" and by_channel["wecom"].status == "sent"


def test_a_channel_that_crashes_fails_only_its_own_rows(db, engine, crew, settings, receiver):
    from server.push.channels import Channels, channels_from_settings

    class Broken:
        channel = "wecom"

        def send(self, item):
            raise RuntimeError("robot exploded")

    subscribe_as(db, crew["r1"], receiver, "phone")
    queue(db, crew["r1"], channels=("webpush", "wecom"))
    channels = Channels(channels_from_settings(settings).by_name | {"wecom": Broken()})
    result = drain(engine, settings, channels=channels)
    assert result.sent == 1 and result.retrying == 1
    by_channel = {n.channel: n for n in notes(db)}
    assert by_channel["webpush"].status == "sent"
    assert by_channel["wecom"].last_error == "RuntimeError: robot exploded"


def test_p1_notices_go_first(db, engine, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "phone")
    queue(db, crew["r1"], key="routine")
    queue(db, crew["r1"], key="urgent", urgency="high")
    drain(engine, settings, limit=1)
    assert len(receiver.wait_for(1)) == 1
    assert {n.dedupe_key: n.status for n in notes(db)} == {
        "webpush:routine": "pending", "webpush:urgent": "sent"}


def test_a_wecom_error_code_in_a_200_answer_is_a_failure(db, engine, crew, settings, receiver):
    receiver.answer("/wecom", "errcode")
    queue(db, crew["r1"], channels=("wecom",))
    drain(engine, settings)
    note = notes(db)[0]
    assert note.status == "pending" and note.last_error.startswith("WeCom 45009")


def test_channels_switched_off_by_settings_end_as_off(db, engine, crew, settings, receiver):
    subscribe_as(db, crew["r1"], receiver, "phone")
    queue(db, crew["r1"], channels=("webpush", "wecom"))
    drain(engine, replace(settings, push_enabled=False, wecom_webhook_url=""))
    assert {n.status for n in notes(db)} == {"off"} and receiver.received == []


def test_two_drains_at_once_send_each_notice_once(db, settings, crew, receiver):
    subscribe_as(db, crew["r1"], receiver, "busy")
    for i in range(40):
        queue(db, crew["r1"], key=f"many-{i}", channels=("webpush", "wecom"))
    engines = [make_engine(settings.db_url) for _ in range(2)]
    start = threading.Barrier(2)

    def run(engine):
        start.wait()
        while drain(engine, settings, limit=7).claimed:
            pass

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    pushed = [r.data["id"] for r in receiver.wait_for(80) if r.path == "/push/busy"]
    assert sorted(pushed) == sorted(n.id for n in notes(db, channel="webpush"))
    assert len(receiver.at("/wecom")) == 40
    assert {n.status for n in notes(db)} == {"sent"}
    for e in engines:
        e.dispose()


# -- subscriptions ------------------------------------------------------------------------------


def test_subscribe_lists_the_device_and_a_person_may_have_several(client, db, crew, receiver):
    login(client, "u1")
    key = client.get("/push/key").json()
    assert key["publicKey"] and len(key["publicKey"]) == 87
    r = subscribe(client, receiver, "phone", "iPhone · Safari")
    assert r.status_code == 200 and "iPhone · Safari" in r.text
    subscribe(client, receiver, "tablet", "Android · Chrome")
    r = subscribe(client, receiver, "phone", "iPhone · Safari")  # again: no duplicate
    assert text_of(r.text).count("iPhone · Safari") == 1
    mine = db.exec(select(PushSubscription).where(PushSubscription.staff_id == crew["u1"].id)).all()
    assert sorted(s.device_label for s in mine) == ["Android · Chrome", "iPhone · Safari"]


def test_a_phone_someone_else_signs_in_on_becomes_theirs(client, db, crew, receiver):
    login(client, "u1")
    subscribe(client, receiver, "shared")
    client.cookies.clear()
    login(client, "r1")
    subscribe(client, receiver, "shared")
    fresh(db)
    assert [s.staff_id for s in db.exec(select(PushSubscription)).all()] == [crew["r1"].id]


def test_bad_subscriptions_are_refused_in_chinese_and_nothing_is_saved(client, db, crew, receiver):
    login(client, "u1")
    good = receiver.subscription("x")
    for bad in (good | {"endpoint": "http://evil.example/push"},
                good | {"endpoint": "javascript:alert(1)"},
                good | {"keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}},
                good | {"keys": {"p256dh": good["keys"]["p256dh"], "auth": "not base64 !"}}):
        r = client.post("/push/subscribe", json=bad, headers={"x-csrftoken": csrf_token(client)})
        assert r.status_code == 422, bad
        assert "FieldOps" in r.text and ("地址" in r.text or "密钥" in r.text)
    r = client.post("/push/subscribe", json={"endpoint": 3}, headers={"x-csrftoken": csrf_token(client)})
    assert r.status_code == 400
    assert client.post("/push/subscribe", json=good).status_code == 403  # no CSRF token
    assert db.exec(select(PushSubscription)).all() == []


@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1:8000/x", "https://127.0.0.1/x", "https://localhost/x", "https://[::1]/x",
    "https://10.1.2.3/x", "https://192.168.0.10/x", "https://169.254.169.254/latest",
    "https://[::ffff:127.0.0.1]/x", "https://2130706433/x", "https://127.1/x",
    "https://db.internal/x", "https://printer.local/x", "https://metadata.google.internal/x",
])
def test_subscriptions_to_local_or_internal_endpoints_are_refused(db, crew, receiver, endpoint):
    """SSRF: without push_allow_insecure_endpoints only public https:// endpoints."""
    keys = receiver.subscription("x")["keys"]
    with pytest.raises(ActionError) as refused:
        push_actions.subscribe(db, crew["u1"].id, endpoint, keys["p256dh"], keys["auth"], "", utcnow())
    msgid = refused.value.message.msgid
    assert "地址" in translations("zh_CN").gettext(msgid) != msgid  # translated
    assert push_actions.endpoint_allowed("https://fcm.googleapis.com/fcm/send/abc")
    assert push_actions.endpoint_allowed(endpoint, allow_insecure=True) == (
        endpoint.startswith("https://") or "127.0.0.1" in endpoint)


def test_a_stored_internal_endpoint_is_never_sent_to_and_is_deleted(db, engine, crew, settings, receiver):
    """A row saved before endpoints were checked cannot be used to reach the local network."""
    subscribe_as(db, crew["r1"], receiver, "old-row")  # http://127.0.0.1:<port>/push/old-row
    queue(db, crew["r1"])
    drain(engine, replace(settings, push_allow_insecure_endpoints=False))
    assert receiver.received == []
    assert notes(db)[0].status == "no_device"
    assert db.exec(select(PushSubscription)).all() == []


def test_unsubscribe_and_remove_only_ones_own_devices(client, db, crew, receiver):
    theirs = subscribe_as(db, crew["r1"], receiver, "r1-phone")
    login(client, "u1")
    subscribe(client, receiver, "u1-phone")
    subscribe(client, receiver, "u1-old")
    r = client.post("/push/unsubscribe", json={"endpoint": receiver.subscription("u1-phone")["endpoint"]},
                    headers={"x-csrftoken": csrf_token(client)})
    assert r.status_code == 200 and "u1-phone" not in r.text
    assert form_post(client, f"/push/devices/{theirs.id}/remove", htmx=True).status_code == 200
    old = db.exec(select(PushSubscription).where(PushSubscription.endpoint.endswith("u1-old"))).one()
    r = form_post(client, f"/push/devices/{old.id}/remove", htmx=True)
    assert "已关闭" in r.text
    fresh(db)
    assert [s.id for s in db.exec(select(PushSubscription)).all()] == [theirs.id]


def test_profile_shows_how_to_turn_alerts_on_with_the_iphone_step(client, db, crew, receiver):
    login(client, "u1")
    subscribe(client, receiver, "phone", "Android · Chrome")
    page = text_of(client.get("/me").text)
    assert "任务提醒" in page and "添加到主屏幕" in page and "开启任务提醒" in page
    assert "发送测试提醒" in page and "Android · Chrome" in page


def test_a_test_alert_goes_through_the_outbox_to_my_devices(client, db, engine, crew, settings, receiver):
    login(client, "u1")
    r = form_post(client, "/push/test", htmx=True)
    assert "还没有" in r.text and notes(db) == []
    subscribe(client, receiver, "phone")
    r = form_post(client, "/push/test", htmx=True)
    assert r.status_code == 200 and "几秒" in r.text
    assert receiver.received == []
    drain(engine, settings)
    push = receiver.wait_for(1)[0]
    assert push.data["kind"] == "push.test" and push.data["title"] == "FieldOps 测试提醒"


# -- receipts and the dispatcher's view ------------------------------------------------------------


def test_receipts_need_only_the_token_and_show_to_the_dispatcher(
        client, db, engine, people, crew, settings, receiver):
    subscribe_as(db, crew["u1"], receiver, "phone")
    req = handed_off(db, people["agent"], utcnow(), settings, classification="onsite", priority="P1")
    J.assign_job(db, people["dispatcher"].id, req.id, crew["u1"].id, "onsite", utcnow(), settings)
    db.commit()
    drain(engine, settings)
    receiver.wait_for(2)
    data = receiver.at("/push/phone")[0].data
    note_id, token = data["id"], data["receipt"]
    assert token == receipt_token(settings.secret_key, note_id)
    # no session, no CSRF token: the token in the message is the proof
    assert client.post("/push/shown", json={"id": note_id, "receipt": "wrong"}).status_code == 404
    assert client.post("/push/shown", json={"id": note_id, "receipt": token}).status_code == 204
    note = notes(db, id=note_id)[0]
    assert note.shown_at is not None and note.acknowledged_at is None
    login(client, "dispatcher")
    html = text_of(client.get(f"/push/requests/{req.id}/notifications").text)
    assert "张强" in html and "已显示" in html
    client.cookies.clear()
    assert client.post("/push/ack", json={"id": note_id, "receipt": token, "action": "open"}).status_code == 204
    assert client.post("/push/ack", json={"id": note_id, "receipt": token}).status_code == 204  # again: same
    note = notes(db, id=note_id)[0]
    assert note.acknowledged_at is not None and note.shown_at <= note.acknowledged_at
    login(client, "dispatcher")
    html = text_of(client.get(f"/push/requests/{req.id}/notifications").text)
    assert "已确认" in html
    page = client.get(f"/board/requests/{req.id}").text
    assert f'hx-get="/push/requests/{req.id}/notifications"' in page  # the request page includes it


def test_only_the_board_sees_delivery_status(client, db, people, crew, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    login(client, "u1")
    assert client.get(f"/push/requests/{req.id}/notifications").status_code == 403
    client.cookies.clear()
    login(client, "manager")
    assert client.get(f"/push/requests/{req.id}/notifications").status_code == 200
    assert client.get("/push/requests/999999/notifications").status_code == 404


# -- several server processes on one PostgreSQL ------------------------------------------------

DRAINER = """
import sys, time
from server.db import make_engine, open_session, utcnow
from server.push.outbox import drain_outbox
from server.settings import Settings
settings = Settings.from_env().with_secrets()
engine = make_engine(settings.db_url)
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))  # start together
idle = claimed = 0
while idle < 3:
    with open_session(engine, write=True) as db:
        n = drain_outbox(db, utcnow(), settings, 5).claimed
    claimed += n
    idle = 0 if n else idle + 1
print(claimed)
"""


@pytest.mark.postgres
def test_two_server_processes_drain_one_outbox_and_send_each_notice_once(fresh_pg, tmp_path, receiver):
    import os
    import subprocess
    import sys
    import time

    from server.migrate import upgrade
    from server.settings import Settings

    upgrade(fresh_pg)
    settings = Settings(data_dir=tmp_path, database_url=fresh_pg, push_enabled=True,
                        push_allow_insecure_endpoints=True, vapid_subject=SUBJECT,
                        wecom_webhook_url=receiver.url + "/wecom").with_secrets()
    receiver.vapid_public_key, receiver.vapid_subject = settings.vapid_public_key, settings.vapid_subject
    engine = make_engine(fresh_pg)
    with open_session(engine) as db:
        person = engineer(db, "u1", "onsite", "urban", phone="13900000001")
        subscribe_as(db, person, receiver, "phone")
        for i in range(60):
            queue(db, person, key=f"pg-{i}", channels=("webpush", "wecom"))
    env = {**os.environ, "FIELDOPS_DATA_DIR": str(tmp_path), "FIELDOPS_DATABASE_URL": fresh_pg,
           "FIELDOPS_PUSH_ENABLED": "1", "FIELDOPS_PUSH_ALLOW_INSECURE_ENDPOINTS": "1",
           "FIELDOPS_VAPID_SUBJECT": SUBJECT,
           "FIELDOPS_WECOM_WEBHOOK_URL": receiver.url + "/wecom"}
    start = str(time.time() + 1.5)
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", DRAINER, start], cwd=root, env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    claimed = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum(claimed) == 120, claimed  # each row claimed by exactly one process
    pushed = [r.data["id"] for r in receiver.received if r.path == "/push/phone"]
    with open_session(engine) as db:
        rows = db.exec(select(Notification)).all()
        assert {n.status for n in rows} == {"sent"} and {n.attempts for n in rows} == {1}
        assert sorted(pushed) == sorted(n.id for n in rows if n.channel == "webpush")
    assert len(receiver.at("/wecom")) == 60
    engine.dispose()


def test_ids_no_database_can_hold_are_just_not_found(client, db, crew):
    login(client, "u1")
    assert client.post("/push/shown", json={"id": 2**63, "receipt": "x"}).status_code == 404
    # an id in the path is a bounded type (issue 11): past 2^31-1 it is a 400, said why
    assert form_post(client, f"/push/devices/{2**70}/remove", htmx=True).status_code == 400
    client.cookies.clear()
    login(client, "dispatcher")
    assert client.get(f"/push/requests/{2**70}/notifications").status_code == 400


# -- issue 11: the address actually reached, the VAPID subject, the service's reason -----------


def test_a_host_name_resolving_to_this_machine_is_refused_at_send_time(
        db, engine, crew, settings, receiver, monkeypatch):
    """127.0.0.1.nip.io passes every check of the name; the connection's real peer does not.
    (DNS is faked locally: the name resolves to the receiver on 127.0.0.1.)"""
    import socket

    real = socket.getaddrinfo

    def fake_dns(host, *args, **kw):
        return real("127.0.0.1" if host == "127.0.0.1.nip.io" else host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    port = receiver.url.rsplit(":", 1)[1]
    endpoint = f"https://127.0.0.1.nip.io:{port}/push/rebound"
    assert push_actions.endpoint_allowed(endpoint)  # the name alone looks public
    keys = receiver.subscription("rebound")["keys"]
    db.add(PushSubscription(staff_id=crew["r1"].id, endpoint=endpoint, p256dh=keys["p256dh"],
                            auth=keys["auth"], device_label="x", created_at=utcnow()))
    db.commit()
    queue(db, crew["r1"])
    production = replace(settings, push_allow_insecure_endpoints=False)
    drain(engine, production)
    assert receiver.received == []
    note = notes(db)[0]
    assert "127.0.0.1 is a loopback address" in note.last_error
    assert note.status == "gave_up" and note.attempts == 1  # not retried five times


@pytest.mark.parametrize("address, allowed", [
    ("127.0.0.1", False), ("::1", False), ("10.1.2.3", False), ("192.168.0.10", False),
    ("172.16.5.5", False), ("169.254.169.254", False), ("fe80::1", False), ("100.64.0.1", False),
    ("0.0.0.0", False), ("224.0.0.1", False), ("::ffff:127.0.0.1", False),
    ("17.57.146.4", True), ("142.250.72.10", True), ("2a00:1450:4001:82b::200a", True),
])
def test_only_public_addresses_are_reached(address, allowed):
    from server.push.guard import address_problem

    assert (address_problem(address, allow_loopback=False) is None) == allowed
    loopback = address in ("127.0.0.1", "::1", "::ffff:127.0.0.1")
    assert (address_problem(address, allow_loopback=True) is None) == (allowed or loopback)


@pytest.mark.parametrize("status, body, shown", [
    (403, '{"reason": "BadJwtToken"}', "HTTP 403: BadJwtToken"),
    (413, "Payload Too Large: the message exceeds 4096 bytes", "HTTP 413: Payload Too Large"),
])
def test_a_refusal_keeps_the_services_reason_and_is_not_retried(
        db, engine, crew, settings, receiver, status, body, shown):
    subscribe_as(db, crew["r1"], receiver, "refused")
    receiver.answer("/push/refused", (status, body))
    queue(db, crew["r1"])
    drain(engine, settings)
    note = notes(db)[0]
    assert note.last_error.startswith(shown)
    assert note.status == "gave_up" and note.attempts == 1
    assert drain(engine, settings, utcnow() + timedelta(hours=1)).claimed == 0
    assert len(receiver.at("/push/refused")) == 1


@pytest.mark.parametrize("subject, ok", [
    ("mailto:ops@fieldops.example", False), ("mailto:it@example.com", False),
    ("mailto:root@localhost", False), ("ops@fieldops-rental.cn", False), ("", False),
    ("https://fieldops.test/contact", False),
    ("mailto:night-ops@fieldops-rental.cn", True), ("https://support.fieldops-rental.cn/push", True),
])
def test_the_vapid_subject_must_be_a_real_contact(subject, ok):
    from server.push.vapid import subject_problem

    assert (subject_problem(subject) is None) == ok


def test_with_the_placeholder_subject_nothing_is_sent_and_the_admin_is_told(
        app, client, db, engine, crew, settings, receiver, people, caplog):
    placeholder = replace(settings, vapid_subject="mailto:ops@fieldops.example")
    subscribe_as(db, crew["r1"], receiver, "phone")
    queue(db, crew["r1"])
    drain(engine, placeholder)
    assert receiver.received == []
    note = notes(db)[0]
    assert note.status == "off" and "placeholder" in note.last_error
    # at start-up, in the log
    import logging

    from server.app import create_app

    with caplog.at_level(logging.WARNING, logger="fieldops.push"):
        placeholder_app = create_app(placeholder)
    assert "FIELDOPS_VAPID_SUBJECT" in caplog.text
    # and on the admin's alerts and people pages (the default settings have the placeholder)
    from litestar.testing import TestClient

    with TestClient(app=placeholder_app) as admin:
        admin.headers["accept"] = "text/html"
        login(admin, "admin")
        for path in ("/me", "/admin/people"):
            page = admin.get(path).text
            assert 'id="push-problem"' in page and "FIELDOPS_VAPID_SUBJECT" in page, path
        login(client, "dispatcher")
        assert 'id="push-problem"' not in client.get("/me").text
    login(client, "admin")
    assert 'id="push-problem"' not in client.get("/me").text  # a real subject: no warning
