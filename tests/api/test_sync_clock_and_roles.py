"""D8c clock skew measured at each push, and who may record what in the field.

On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from server.db import utcnow
from server.models import FieldFact, Job, Unit
from tests.api import session_dbs
from tests.api.field_world import (
    FAR,
    assert_each_fact_once,
    build_world,
    check_in,
    clock,
    mutation,
    note,
    results,
    swap,
)
from tests.conftest import add_staff, csrf_token, login

settings = session_dbs.settings  # every test here on both databases


def push_at(client, mutations, sent_at, client_id="phone-1"):
    body = {"client_id": client_id, "mutations": mutations, "sent_at": sent_at.isoformat()}
    return client.post("/sync/push", json=body,
                       headers={"x-csrftoken": csrf_token(client), "accept": "application/json"})


# -- D8c: the phone's clock, measured at each push -----------------------------------------


def test_a_phone_14_minutes_slow_cannot_make_a_late_arrival_look_on_time(client, db, settings):
    now = utcnow()
    world = build_world(db, settings, now=now - timedelta(minutes=20))
    deadline = clock(db, world.request.id, "arrival").deadline_at
    assert deadline < now  # the engineer is late already
    login(client, "zhang.qiang")
    slow = timedelta(minutes=14)
    m = check_in(world.job.id, at=now - slow)  # its clock says: 4 minutes before the deadline
    r = results(push_at(client, [m], now - slow))[0]
    assert "clock_skew" in r["flags"]
    stopped = clock(db, world.request.id, "arrival").stopped_at
    assert stopped > deadline  # late, as it was
    assert abs(stopped - now) < timedelta(minutes=1)
    fact = db.get(FieldFact, m["id"])
    assert fact.flagged and "时钟" in fact.flag_reason
    assert_each_fact_once(db, [m])


def test_a_phone_14_minutes_fast_cannot_make_an_early_arrival_look_late(client, db, settings):
    now = utcnow()
    world = build_world(db, settings, now=now - timedelta(minutes=20))
    deadline = clock(db, world.request.id, "arrival").deadline_at
    login(client, "zhang.qiang")
    fast = timedelta(minutes=14)
    arrived = deadline - timedelta(minutes=5)  # on time, synced later from the basement
    m = check_in(world.job.id, at=arrived + fast)  # its clock says: 9 minutes late
    assert arrived + fast > deadline
    r = results(push_at(client, [m], now + fast))[0]
    assert r["status"] == "flagged" and "clock_skew" in r["flags"]
    stopped = clock(db, world.request.id, "arrival").stopped_at
    assert stopped < deadline
    assert abs(stopped - arrived) < timedelta(minutes=1)


def test_a_small_offset_is_corrected_without_a_flag(client, db, settings):
    now = utcnow()
    world = build_world(db, settings)
    login(client, "zhang.qiang")
    noted = now - timedelta(minutes=10)
    m = note(world.job.id, at=noted - timedelta(minutes=2))  # the phone is 2 minutes slow
    r = results(push_at(client, [m], now - timedelta(minutes=2)))[0]
    assert r["status"] == "applied" and r["flags"] == []
    db.expire_all()
    fact = db.get(FieldFact, m["id"])
    assert abs(fact.effective_at - noted) < timedelta(seconds=30)


# -- who may record what ----------------------------------------------------------------------


def test_a_remote_engineer_cannot_check_in_swap_or_photograph(client, db, settings):
    world = build_world(db, settings)
    remote = add_staff(db, "liu.remote", "remote", display_name="刘远", group="remote")
    job = Job(request_id=world.request.id, kind="remote", assignee_id=remote.id,
              status="accepted", assigned_at=utcnow(), accepted_at=utcnow())
    db.add(job)
    db.commit()
    login(client, "liu.remote")
    batch = [check_in(job.id), swap(job.id, "ENC-0001", "ENC-0100"),
             mutation("photo", job.id, image="aGVsbG8="), note(job.id)]
    r = results(push_at(client, batch, utcnow()))
    assert [x["status"] for x in r] == ["rejected", "rejected", "rejected", "applied"]
    db.expire_all()
    assert db.get(Unit, world.spare.id).status == "reserve"  # no unit moved
    assert clock(db, world.request.id, "arrival").stopped_at is None  # no clock stopped
    assert_each_fact_once(db, batch, kept=batch[3:])


def test_an_onsite_engineer_on_a_remote_job_cannot_check_in_there(client, db, settings):
    world = build_world(db, settings)
    job = db.get(Job, world.job.id)
    job.kind = "remote"
    db.add(job)
    db.commit()
    login(client, "zhang.qiang")
    r = results(push_at(client, [check_in(job.id)], utcnow()))[0]
    assert r["status"] == "rejected" and "现场工程师" in r["message"]


def test_an_action_on_a_job_never_mine_is_refused_and_leaks_nothing(client, db, settings):
    world = build_world(db, settings)
    login(client, "yang.fan")  # an onsite colleague: not this job's engineer, never was
    batch = [check_in(world.job.id, where=FAR), note(world.job.id)]
    r = results(push_at(client, batch, utcnow()))
    assert [x["status"] for x in r] == ["rejected", "rejected"]
    assert not any(ch.isdigit() for ch in r[0]["message"])  # no distance to the venue
    assert_each_fact_once(db, batch, kept=[])
    form = client.post(f"/field/jobs/{world.job.id}", headers={"hx-request": "true"}, data={
        "_csrf_token": csrf_token(client), "mutation": "check_in", "lat": FAR[0], "lon": FAR[1],
        "mutation_id": "6a1f3b5e-8f0e-4c55-9b3c-0c1c2d3e4f52"})
    assert form.status_code == 403  # the form path does not even show the job


def test_a_fact_for_a_job_that_was_mine_and_was_reassigned_is_kept_flagged(client, db,
                                                                          settings):
    world = build_world(db, settings)
    job = db.get(Job, world.job.id)
    job.status = "reassigned"
    db.add(job)
    db.commit()
    login(client, "zhang.qiang")
    m = note(job.id)
    r = results(push_at(client, [m], utcnow()))[0]
    assert r["status"] == "flagged" and "reassigned" in r["flags"]
    assert_each_fact_once(db, [m])
