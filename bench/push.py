"""Job alerts speed: dispatch -> encrypted push message at the push service, and fan-out.

    .venv/bin/python bench/push.py [--dispatches 50] [--subscriptions 500]

A push service runs on 127.0.0.1 (tests/push_receiver.py: it checks the VAPID header
and decrypts with each subscriber's key, after the clock stops), on a fresh SQLite
database in a temporary folder. Prints:

1. outbox path: notify.enqueue + commit, then drain_outbox in the same thread; time
   from the commit to the encrypted message's arrival, p50 / p95 / max;
2. app path: assign_job (a real P1 request handed off 0.1 s before, an engineer on
   duty) committed by one thread; the sender thread the server runs
   (server.jobs.push.Nudge, woken by the commit) drains; same figures, as a
   dispatcher's assignment reaches a phone;
3. fan-out: one notice to each of N subscribed people, drained by the loop's tick;
   total seconds from the commit to the last arrival, and messages per second.

Figures, not assertions (testing.md: benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, select  # noqa: E402

from server.actions import notify  # noqa: E402
from server.actions.jobs import assign_job  # noqa: E402
from server.actions.requests import hand_off, record_request  # noqa: E402
from server.db import make_engine, open_session, session_scope, utcnow  # noqa: E402
from server.jobs.push import Nudge, deliver_notices  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.models import Notification, PushSubscription, Roster, Shift, Staff, StaffRole  # noqa: E402
from server.push.outbox import drain_outbox  # noqa: E402
from server.settings import Settings  # noqa: E402
from tests.push_receiver import Receiver  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def show(label: str, ms: list[float]) -> None:
    print(f"  {label}: n={len(ms)}  p50 {pct(ms, 50):.1f} ms  p95 {pct(ms, 95):.1f} ms  "
          f"max {max(ms):.1f} ms  mean {statistics.fmean(ms):.1f} ms")


def add_person(db: Session, receiver: Receiver, name: str, *, group: str | None = "onsite",
               role: str = "onsite") -> Staff:
    staff = Staff(username=name, password_hash="-", display_name=name, group=group,
                  region="urban" if group == "onsite" else None, phone="13900000000")
    db.add(staff)
    db.flush()
    db.add(StaffRole(staff_id=staff.id, role=role))
    sub = receiver.subscription(name)
    db.add(PushSubscription(staff_id=staff.id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                            auth=sub["keys"]["auth"], device_label="bench", created_at=utcnow()))
    return staff


def wait_arrival(receiver: Receiver, count: int, timeout: float = 30) -> float:
    got = receiver.wait_for(count, timeout)
    if len(got) < count:
        raise SystemExit(f"only {len(got)} of {count} messages arrived")
    return got[count - 1].at


def check(receiver: Receiver, expect: int) -> None:
    items = receiver.check_all()
    bad = [r for r in items if r.vapid_error or not isinstance(r.data, dict)]
    if len(items) != expect or bad:
        raise SystemExit(f"{len(items)} messages (expected {expect}); {len(bad)} failed the "
                         f"VAPID check or did not decrypt: {bad[:1]}")


def outbox_path(engine, settings, receiver, person: Staff, n: int) -> list[float]:
    ms = []
    for i in range(n):
        with session_scope(engine) as db:
            notify.enqueue(db, staff_id=person.id, kind="job.assigned", title=f"P1 工单 B-{i}",
                           body="现场 · 推流失败", dedupe_key=f"bench-outbox-{i}", urgency="high",
                           channels=("webpush",))
        committed = time.perf_counter()
        with open_session(engine, write=True) as db:
            drain_outbox(db, utcnow(), settings, 50)
        ms.append((wait_arrival(receiver, i + 1) - committed) * 1000)
    check(receiver, n)
    return ms


def app_path(engine, settings, receiver, dispatcher: Staff, engineer: Staff, n: int) -> list[float]:
    form = {"channel": "hotline", "customer_name": "星耀直播", "contact_name": "王晓明",
            "phone": "13800138000", "address": "上海市黄浦区人民大道300号", "device_type": "encoder",
            "symptom": "推流失败，直播中断", "symptom_kind": "push_failed", "stream_state": "live",
            "region": "urban"}
    nudge = Nudge(engine, settings)
    nudge.start()
    ms = []
    try:
        for _i in range(n):
            now = utcnow()
            with session_scope(engine) as db:
                req = record_request(db, dispatcher.id, form | {"received_at": now.isoformat()},
                                     now, settings)
                hand_off(db, dispatcher.id, req.id, "onsite", "P1", now, settings)
            time.sleep(0.1)  # the hand-off's own notices go first; a dispatcher takes longer
            before = len(receiver.received)
            with session_scope(engine) as db:
                assign_job(db, dispatcher.id, req.id, engineer.id, "onsite", utcnow(), settings)
            committed = time.perf_counter()
            # the engineer's alert (the hand-off may also alert the dispatcher: count it in)
            deadline = time.monotonic() + 30
            with receiver.arrived:
                while not (mine := [r for r in receiver.received[before:]
                                    if r.path == f"/push/{engineer.username}"]):
                    if time.monotonic() > deadline:
                        raise SystemExit("the assignment's alert did not arrive")
                    receiver.arrived.wait(0.5)
            ms.append((mine[0].at - committed) * 1000)
    finally:
        nudge.stop()
    return ms


def fan_out(engine, settings, receiver, people: list[Staff]) -> tuple[float, int]:
    receiver.received.clear()
    with session_scope(engine) as db:
        for i, person in enumerate(people):
            notify.enqueue(db, staff_id=person.id, kind="job.assigned", title=f"P2 工单 F-{i}",
                           body="演练：全员通知", dedupe_key=f"bench-fan-{i}", channels=("webpush",))
    committed = time.perf_counter()
    with session_scope(engine) as db:
        deliver_notices(db, utcnow(), settings)
    last = wait_arrival(receiver, len(people), timeout=120)
    seconds = last - committed
    check(receiver, len(people))
    with open_session(engine) as db:
        sent = len([n for n in db.exec(select(Notification).where(Notification.status == "sent"))])
    return seconds, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dispatches", type=int, default=50)
    parser.add_argument("--subscriptions", type=int, default=500)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="fieldops-bench-push-"))
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'fieldops.db'}",
                        demo_data=False, background_loop=False).with_secrets()
    settings = replace(settings, push_enabled=True, wecom_webhook_url="",
                       push_allow_insecure_endpoints=True,  # the receiver is on 127.0.0.1
                       vapid_subject="mailto:bench@fieldops-rental.cn")  # not the placeholder
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    receiver = Receiver(vapid_public_key=settings.vapid_public_key,
                        vapid_subject=settings.vapid_subject, check_on_arrival=False).start()
    now = utcnow()
    with session_scope(engine) as db:
        engineer = add_person(db, receiver, "eng")
        dispatcher = add_person(db, receiver, "disp", group=None, role="dispatcher")
        db.add(StaffRole(staff_id=dispatcher.id, role="agent"))
        roster = Roster(month=now.strftime("%Y-%m"), status="published", published_at=now)
        db.add(roster)
        db.flush()
        db.add(Shift(roster_id=roster.id, staff_id=engineer.id, day=now.date(), kind="night",
                     starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8),
                     group="onsite", region="urban"))
        crowd = [add_person(db, receiver, f"p{i:03d}") for i in range(args.subscriptions)]

    print(f"FieldOps push bench (SQLite, push service on {receiver.url}; encryption, VAPID "
          f"signing and HTTP on loopback)")
    print("1. dispatch -> encrypted message arrives, outbox path (enqueue, commit, drain):")
    show("latency", outbox_path(engine, settings, receiver, engineer, args.dispatches))
    receiver.received.clear()
    print("2. dispatch -> encrypted message arrives, app path (assign_job commits, the "
          "server's sender thread drains):")
    show("latency", app_path(engine, settings, receiver, dispatcher, engineer, args.dispatches))
    print(f"3. {args.subscriptions} subscriptions, one notice each, drained by the loop's tick:")
    seconds, sent = fan_out(engine, settings, receiver, crowd)
    print(f"  total {seconds:.2f} s for {args.subscriptions} messages "
          f"({args.subscriptions / seconds:.0f} per second); all decrypted and VAPID-checked")
    receiver.stop()
    engine.dispose()


if __name__ == "__main__":
    main()
