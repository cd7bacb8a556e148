"""Sync faults (testing.md): whatever the network and the phone do, every field fact is
present exactly once, nothing is applied twice, and rejections reach the engineer.

Each test runs on SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import func, select

from server.actions import field as field_actions
from server.db import utcnow
from server.models import (
    AuditEntry,
    ChangeRecord,
    ClientMutation,
    FieldFact,
    Job,
    OrderLine,
    SupportRequest,
    Unit,
    UnitSwap,
)
from server.security import load_user
from server.sync.apply import MutationIn, apply, parse_device_time
from tests.api import sync_dbs
from tests.api.field_world import (
    FAR,
    assert_each_fact_once,
    build_world,
    check_in,
    clock,
    done,
    mutation,
    note,
    push,
    results,
    swap,
)
from tests.conftest import login

settings, world, phone = sync_dbs.settings, sync_dbs.world, sync_dbs.phone  # both databases


def count(db, model, *where) -> int:
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


# -- replayed batch; duplicate mutation ------------------------------------------------------


def test_a_replayed_batch_returns_the_stored_results_and_changes_nothing(phone, db, world):
    jid = world.job.id
    batch = [check_in(jid), note(jid), swap(jid, "ENC-0001", "ENC-0100"), done(jid)]
    first = results(push(phone, batch))
    assert [r["status"] for r in first] == ["applied"] * 4, first
    assert not any(r["replayed"] for r in first)
    before = {m: count(db, m) for m in (FieldFact, ClientMutation, UnitSwap, OrderLine,
                                         AuditEntry, ChangeRecord)}
    again = results(push(phone, batch))
    assert [r["status"] for r in again] == [r["status"] for r in first]
    assert [r["message"] for r in again] == [r["message"] for r in first]
    assert all(r["replayed"] for r in again)
    assert {m: count(db, m) for m in before} == before
    assert_each_fact_once(db, batch)


def test_a_duplicate_inside_one_push_is_applied_once(phone, db, world):
    m = note(world.job.id)
    r = results(push(phone, [m, m, m]))
    assert [x["replayed"] for x in r] == [False, True, True]
    assert count(db, FieldFact, FieldFact.kind == "fix_note") == 1
    assert_each_fact_once(db, [m])


def test_the_same_mutation_from_another_person_is_not_theirs(phone, client, db, world):
    m = note(world.job.id)
    results(push(phone, [m]))
    client.cookies.clear()
    login(client, "yang.fan")
    r = results(push(client, [m]))[0]
    assert r["status"] == "rejected" and not r["replayed"]
    assert r["message"] == "此操作编号已被使用。"
    assert_each_fact_once(db, [m])


# -- out-of-order arrival ----------------------------------------------------------------------


def test_out_of_order_arrival_keeps_every_fact_and_dates_clocks_by_the_field(phone, db, world):
    jid, now = world.job.id, utcnow()
    arrived, noted, finished = (now - timedelta(minutes=m) for m in (20, 12, 5))
    first, second, third = check_in(jid, arrived), note(jid, noted), done(jid, finished)
    # The sign-off's push overtook the earlier one.
    assert [r["status"] for r in results(push(phone, [third]))] == ["applied"]
    assert [r["status"] for r in results(push(phone, [first, second]))] == ["applied", "applied"]
    assert_each_fact_once(db, [first, second, third])
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    job = db.get(Job, jid)
    assert job.status == "done" and job.arrived_at == arrived and job.finished_at == finished
    assert clock(db, world.request.id, "arrival").stopped_at == arrived  # D8c: the earliest
    assert clock(db, world.request.id, "resolution").stopped_at == finished
    assert clock(db, world.request.id, "follow_up").started_at == finished


# -- network cut after the server committed --------------------------------------------------


def test_a_reply_lost_after_commit_is_answered_from_the_log(phone, db, world):
    batch = [check_in(world.job.id), note(world.job.id)]
    push(phone, batch)  # committed; the phone never heard back
    pulled = phone.get("/sync/pull?cursor=0&client_id=phone-1",
                       headers={"accept": "application/json"}).json()
    assert pulled["last_mutation_id"] == batch[-1]["id"]  # the phone can trim its outbox
    again = results(push(phone, batch))  # or it just sends them again
    assert all(r["replayed"] for r in again)
    assert [r["status"] for r in again] == ["applied", "applied"]
    assert_each_fact_once(db, batch)


def test_two_identical_pushes_at_once_apply_once(db, world, settings, engine, monkeypatch):
    """The race: the second copy arrives while the first is still inside its transaction."""
    user = load_user(db, world.engineer.id)
    m = note(world.job.id)
    entered, release = threading.Event(), threading.Event()
    real = field_actions.fix_note

    def slow_fix_note(*args, **kwargs):
        entered.set()
        release.wait(10)
        return real(*args, **kwargs)

    from server.sync import registry

    monkeypatch.setitem(registry.REGISTRY, "fix_note", registry.Mutation(
        "fix_note", field_actions.FixNoteArgs, slow_fix_note, ("onsite",), "Fix note"))
    incoming = MutationIn(m["id"], "fix_note", m["args"], parse_device_time(m["device_time"]))
    out: dict[str, object] = {}

    def first():
        out["first"] = apply(engine, user, "phone-1", incoming, settings)

    def second():
        entered.wait(10)
        out["second"] = apply(engine, user, "phone-1", incoming, settings)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    entered.wait(10)
    time.sleep(0.5)  # the twin is now waiting on the first one's lock
    release.set()
    for t in threads:
        t.join(30)
    # Either twin may win the race (on PostgreSQL both run at once); exactly one applies
    # the mutation and the other answers with what the winner stored.
    results = sorted((out["first"], out["second"]), key=lambda r: r.replayed)
    assert [r.status for r in results] == ["applied", "applied"]
    assert [r.replayed for r in results] == [False, True]
    assert_each_fact_once(db, [m])


# -- phone clock hours wrong ------------------------------------------------------------------


@pytest.mark.parametrize("skew", [timedelta(hours=5), timedelta(hours=-9)])
def test_a_phone_clock_hours_wrong_is_flagged_and_server_time_is_used(phone, db, world, skew):
    before = utcnow()
    m = check_in(world.job.id, at=utcnow() + skew)
    r = results(push(phone, [m]))[0]
    assert r["status"] == "flagged" and "clock" in r["flags"]
    assert "时间" in r["message"] or "clock" in r["message"]
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    fact = db.get(FieldFact, m["id"])
    assert fact.flagged and before <= fact.effective_at <= utcnow()
    assert abs(fact.device_time - (before + skew)) < timedelta(minutes=1)  # kept as sent
    stopped = clock(db, world.request.id, "arrival").stopped_at
    assert before <= stopped <= utcnow()
    assert_each_fact_once(db, [m])


# -- job reassigned or cancelled while the phone was offline ----------------------------------


def test_facts_for_a_job_reassigned_meanwhile_are_kept_and_flagged(phone, db, world):
    job = db.get(Job, world.job.id)
    job.status = "reassigned"  # as server.actions.jobs.reassign_job leaves it
    db.add(job)
    db.add(Job(request_id=job.request_id, kind="onsite", assignee_id=world.colleague.id,
               status="accepted", assigned_at=utcnow(), accepted_at=utcnow()))
    db.commit()
    batch = [check_in(job.id), note(job.id), swap(job.id, "ENC-0001", "ENC-0100"), done(job.id)]
    r = results(push(phone, batch))
    assert [x["status"] for x in r] == ["flagged"] * 4
    assert all("reassigned" in x["flags"] for x in r)
    assert_each_fact_once(db, batch)
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    assert db.get(Job, job.id).status == "reassigned"  # the server stays the authority
    assert clock(db, world.request.id, "arrival").stopped_at is None
    assert db.get(Unit, world.spare.id).status == "reserve"
    assert db.get(SupportRequest, world.request.id).status == "in_progress"
    assert count(db, FieldFact, FieldFact.flagged, FieldFact.request_id == world.request.id) == 4


def test_facts_for_a_request_cancelled_meanwhile_are_kept_and_flagged(phone, db, world,
                                                                       settings):
    from server.actions.jobs import cancel_request

    cancel_request(db, world.dispatcher.id, world.request.id, "客户已自行解决", utcnow(), settings)
    db.commit()
    batch = [check_in(world.job.id), note(world.job.id), done(world.job.id)]
    r = results(push(phone, batch))
    assert [x["status"] for x in r] == ["flagged"] * 3
    assert all("cancelled" in x["flags"] for x in r)
    assert "取消" in r[0]["message"] or "cancelled" in r[0]["message"]
    assert_each_fact_once(db, batch)
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    assert db.get(SupportRequest, world.request.id).status == "cancelled"


# -- two phones on one job -----------------------------------------------------------------------


def test_two_phones_on_one_job(phone, client, db, world):
    jid, now = world.job.id, utcnow()
    tablet_check_in = check_in(jid, now - timedelta(minutes=15))  # first, synced last
    phone_check_in = check_in(jid, now - timedelta(minutes=10))
    assert results(push(phone, [phone_check_in], "phone-1"))[0]["status"] == "applied"
    assert results(push(phone, [tablet_check_in], "tablet-1"))[0]["status"] == "applied"
    assert clock(db, world.request.id, "arrival").stopped_at == now - timedelta(minutes=15)
    signed = [done(jid), done(jid)]
    r = results(push(phone, signed[:1], "phone-1")) + results(push(phone, signed[1:], "tablet-1"))
    assert [x["status"] for x in r] == ["applied", "applied"]
    # a colleague whose job this never was: refused, nothing kept, no distance said back
    client.cookies.clear()
    login(client, "yang.fan")
    stranger, stranger_check_in = note(jid), check_in(jid, where=FAR)
    r = results(push(client, [stranger, stranger_check_in], "phone-2"))
    assert [x["status"] for x in r] == ["rejected", "rejected"]
    assert "不是你的任务" in r[1]["message"] and " m" not in r[1]["message"]
    assert not any(ch.isdigit() for ch in r[1]["message"])
    assert_each_fact_once(db, [tablet_check_in, phone_check_in, *signed])
    assert count(db, FieldFact, FieldFact.author_id == world.colleague.id) == 0
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    assert db.get(Job, jid).status == "done"
    assert count(db, AuditEntry, AuditEntry.action == "request.resolved") == 1


# -- a swap the rules refuse (D13) ----------------------------------------------------------------


@pytest.mark.parametrize(("unit_in", "words"), [
    ("ENC-0200", "ENC-0200"),  # rented on another order
    ("ENC-0300", "ENC-0300"),  # in repair
    ("ENC-9999", "ENC-9999"),  # no such unit
])
def test_a_swap_of_a_unit_not_in_reserve_is_rejected_and_the_report_kept(phone, db, world,
                                                                        unit_in, words):
    lines = count(db, OrderLine)
    m = swap(world.job.id, "ENC-0001", unit_in)
    r = results(push(phone, [m]))[0]
    assert r["status"] == "rejected" and words in r["message"]
    assert "swap_refused" in r["flags"]
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    fact = db.get(FieldFact, m["id"])
    assert fact.flagged and fact.kind == "swap" and fact.data["unit_in"] == unit_in
    assert count(db, UnitSwap) == 0 and count(db, OrderLine) == lines
    assert db.get(Unit, world.unit_out.id).status == "rented"
    assert_each_fact_once(db, [m])
    # the job page tells the engineer, in Chinese
    page = phone.get(f"/field/jobs/{world.job.id}").text
    assert words in page and "未被服务器接受" in page


def test_a_good_swap_moves_the_units_and_the_order(phone, db, world):
    m = swap(world.job.id, "enc-0001", "ENC-0100")  # typed in lower case
    assert results(push(phone, [m]))[0]["status"] == "applied"
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    out, spare = db.get(Unit, world.unit_out.id), db.get(Unit, world.spare.id)
    assert (out.status, spare.status) == ("in_repair", "rented")
    assert spare.depot_id is None and spare.version == 2 and out.version == 2
    lines = db.exec(select(OrderLine).where(OrderLine.order_id == world.order.id)).all()
    assert {(ln.unit_id, ln.removed_at is None) for ln in lines} == {(out.id, False), (spare.id, True)}
    row = db.exec(select(UnitSwap)).one()
    assert (row.unit_out_id, row.unit_in_id, row.fact_id) == (out.id, spare.id, m["id"])
    assert db.get(SupportRequest, world.request.id).unit_id == spare.id
    # the same spare cannot go in twice (a second job, or a second phone)
    again = swap(world.job.id, "ENC-0100", "ENC-0100")
    assert results(push(phone, [again]))[0]["status"] == "rejected"
    twice = swap(world.job.id, "ENC-0001", "ENC-0100")
    r = results(push(phone, [twice]))[0]
    assert r["status"] == "rejected"
    assert_each_fact_once(db, [m, again, twice])
    d = results(push(phone, [done(world.job.id)]))[0]
    assert d["status"] == "applied"
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    assert db.get(Job, world.job.id).outcome == "swapped"


def test_without_a_rental_order_only_the_requests_own_unit_can_come_out(phone, db, world):
    """D13: one mistyped tag must not send another customer's unit to repair."""
    req = db.get(SupportRequest, world.request.id)
    req.order_id, req.unit_id = None, world.unit_out.id
    db.add(req)
    db.commit()
    other = db.exec(select(Unit).where(Unit.id != world.unit_out.id, Unit.status == "rented")).first()
    if other is None:  # the world has one rented unit: make another customer's
        other = Unit(asset_tag="CAM-7777", device_type="camera", model="X", status="rented")
        db.add(other)
        db.commit()
    m = swap(world.job.id, other.asset_tag, "ENC-0100")
    r = results(push(phone, [m]))[0]
    assert r["status"] == "rejected" and "swap_refused" in r["flags"]
    db.commit()
    db.expire_all()
    assert db.get(Unit, other.id).status == "rented" and count(db, UnitSwap) == 0
    assert db.get(FieldFact, m["id"]).flagged  # the report is kept for the dispatcher
    ok = swap(world.job.id, world.unit_out.asset_tag, "ENC-0100")
    assert results(push(phone, [ok]))[0]["status"] == "applied"


def test_a_swap_that_read_an_old_unit_version_changes_nothing(db, world, monkeypatch):
    from sqlalchemy import text

    from server.actions import equipment

    real = equipment.facts

    def read_then_someone_else_moves_it(db_, unit):
        seen = real(db_, unit)  # the unit as this swap read it
        db_.execute(text("UPDATE unit SET version = version + 1 WHERE id = :id"), {"id": unit.id})
        return seen

    monkeypatch.setattr(equipment, "facts", read_then_someone_else_moves_it)
    spare = db.get(Unit, world.spare.id)
    with pytest.raises(equipment.MoveRefused) as refused:
        equipment.move(db, spare, "put_in", world.engineer.id, utcnow(),
                       request_id=world.request.id, order_id=world.order.id)
    assert "ENC-0100" in refused.value.message.render()
    db.rollback()
    assert db.get(Unit, world.spare.id).status == "reserve"


# -- D15: far from the venue: accepted, flagged ------------------------------------------------


def test_a_check_in_far_from_the_venue_is_accepted_and_flagged(phone, db, world):
    m = check_in(world.job.id, where=FAR, accuracy=30)
    r = results(push(phone, [m]))[0]
    assert r["status"] == "flagged" and r["flags"] == ["outside"]
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    fact = db.get(FieldFact, m["id"])
    assert 850 < fact.distance_m < 950 and fact.accuracy_m == 30 and fact.flagged
    assert db.get(Job, world.job.id).status == "on_site"
    # D15 + issue 13: 900 m away is not "arrived" until the dispatcher accepts the check-in
    assert clock(db, world.request.id, "arrival").stopped_at is None
    assert_each_fact_once(db, [m])


def test_a_record_id_already_used_by_another_device_is_refused_once(phone, db, world):
    first = note(world.job.id)
    results(push(phone, [first], "phone-1"))
    copy = note(world.job.id)
    copy["args"]["fact_id"] = first["id"]  # a buggy phone reuses a record's id
    r = results(push(phone, [copy], "tablet-1"))[0]
    assert r["status"] == "rejected" and "另一台设备" in r["message"]
    again = results(push(phone, [copy], "tablet-1"))[0]
    assert again["replayed"] and again["status"] == "rejected"
    assert count(db, FieldFact) == 1
    assert count(db, ClientMutation) == 2


# -- accepting, and setting off before accepting (D8b) -------------------------------------------


def test_accept_and_on_my_way_stop_first_response_at_the_device_time(client, db, settings):
    world = build_world(db, settings, job_status="offered")
    login(client, "zhang.qiang")
    tapped = utcnow() - timedelta(minutes=2)
    r = results(push(client, [mutation("accept", world.job.id, tapped)]))[0]
    assert r["status"] == "applied"
    assert clock(db, world.request.id, "first_response").stopped_at == tapped
    assert db.get(Job, world.job.id).status == "accepted"
    again = mutation("accept", world.job.id)  # a second tap, another id: changes nothing
    assert results(push(client, [again]))[0]["status"] == "applied"
    assert clock(db, world.request.id, "first_response").stopped_at == tapped
    way = mutation("on_my_way", world.job.id)
    assert results(push(client, [way]))[0]["status"] == "applied"
    db.commit()
    db.expire_all()
    assert db.get(Job, world.job.id).status == "en_route"
    assert_each_fact_once(db, [again, way])


def test_setting_off_is_also_the_answer_to_an_offer(client, db, settings):
    world = build_world(db, settings, job_status="offered")
    login(client, "zhang.qiang")
    left = utcnow() - timedelta(minutes=3)
    r = results(push(client, [mutation("on_my_way", world.job.id, left)]))[0]
    assert r["status"] == "applied"
    db.commit()
    db.expire_all()
    job = db.get(Job, world.job.id)
    assert job.status == "en_route" and job.accepted_at == left
    assert db.get(SupportRequest, world.request.id).status == "in_progress"


# -- a change committing late, below the cursor (PostgreSQL serials) -------------------------


def test_a_change_that_commits_late_below_the_cursor_is_still_pulled(phone, db, world):
    """Versions 1, 2, 4 are visible, 3 commits after the pull: the next pull must list it."""
    me, base = world.engineer.id, (db.exec(select(func.max(ChangeRecord.version))).one() or 0) + 100
    old, now = utcnow() - timedelta(minutes=5), utcnow()

    def add(n, at):
        db.add(ChangeRecord(version=base + n, staff_id=me, entity="job", entity_id=f"late-{n}", at=at))
        db.commit()

    add(1, old)
    add(2, old)
    add(4, now)
    first = phone.get(f"/sync/pull?cursor={base}&client_id=phone-1",
                      headers={"accept": "application/json"}).json()
    assert {c["entity_id"] for c in first["changes"]} == {"late-1", "late-2", "late-4"}
    assert first["cursor"] == base + 2  # settled: no later change can still appear below it
    add(3, now)  # the transaction that took version 3 commits only now
    second = phone.get(f"/sync/pull?cursor={first['cursor']}&client_id=phone-1",
                       headers={"accept": "application/json"}).json()
    assert "late-3" in {c["entity_id"] for c in second["changes"]}
