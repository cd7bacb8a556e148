"""Several phones' pushes applied together (issue 18): the inbox's applier applies the
first push of each phone in a round in one transaction (``apply_group``), one INSERT per
table for the lot, and falls back to one push at a time when any of them needs the
careful path, so every mutation is still applied exactly once, in order per phone, and a
bad one is refused alone (D14).

On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, text
from sqlmodel import create_engine, select

from server.db import utcnow
from server.models import ClientMutation, FieldFact, Job, SupportRequest, SyncInbox
from server.security import load_user
from server.sync import applier as sync_applier
from server.sync import inbox, inbox_rows
from server.sync.apply import parse_device_time
from server.sync.log import MutationIn
from server.sync.phone_locks import lock_key
from server.sync.registry import REGISTRY
from tests.api import sync_dbs
from tests.api.field_world import assert_each_fact_once, check_in, clock, done, note

settings, world = sync_dbs.settings, sync_dbs.world  # both databases


@pytest.fixture
def engine(settings):
    engine = create_engine(settings.db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def worker(engine, settings):
    """An applier that runs only when the test drains it."""
    worker = sync_applier.Applier(engine, settings)
    worker.poke = lambda: None  # type: ignore[method-assign]
    return worker


def receive(engine, worker, user, client_id: str, batch: list[dict],
            now: datetime | None = None) -> None:
    mutations = [MutationIn(m["id"], m["name"], m["args"], parse_device_time(m["device_time"]))
                 for m in batch]
    got = inbox.receive(engine, user, client_id, mutations, None, worker, now=now)
    assert got.waiting == [m.id for m in mutations]


def drained(worker) -> None:
    while worker.drain():
        pass


def watch(engine, seen: list[str]):  # noqa: ANN201
    """Record each statement's first words (and whether it takes or gives back advisory
    locks) and each commit on ``engine``."""

    def _statement(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()[:3])
                    + (" [advisory]" if "advisory" in statement else ""))

    def _commit(_conn) -> None:  # noqa: ANN001
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", _statement)
    event.listen(engine, "commit", _commit)

    def stop() -> None:
        event.remove(engine, "before_cursor_execute", _statement)
        event.remove(engine, "commit", _commit)

    return stop


def applied_watching(engine, worker, user, batches: dict[str, list[dict]]) -> list[str]:
    """Receive each phone's batch, then drain the applier; the statements it ran."""
    for client_id, batch in batches.items():
        receive(engine, worker, user, client_id, batch)
    seen: list[str] = []
    stop = watch(engine, seen)
    try:
        drained(worker)
    finally:
        stop()
    return seen


def writes_to(seen: list[str], table: str) -> int:
    """Statements that wrote rows into ``table``: an INSERT, or PostgreSQL's COPY
    (``server.bulk``)."""
    return sum(s == f"INSERT INTO {table}" or s.startswith(f"COPY {table} ") for s in seen)


def logged(db, client_id: str) -> list[ClientMutation]:
    db.commit()
    db.expire_all()
    return list(db.exec(select(ClientMutation).where(ClientMutation.client_id == client_id)
                        .order_by(ClientMutation.seq)).all())


def another_job(db, world, number: str) -> Job:
    """A job of the world's engineer on a request of its own (same customer and venue)."""
    request = SupportRequest(**{**world.request.model_dump(exclude={"id", "version"}),
                                "number": number})
    db.add(request)
    db.flush()
    job = Job(request_id=request.id, kind="onsite", assignee_id=world.engineer.id,
              status="accepted", assigned_at=world.job.assigned_at,
              accepted_at=world.job.accepted_at)
    db.add(job)
    db.commit()
    return job


def test_phones_pushes_are_applied_in_one_transaction_with_one_insert_per_table(
        db, world, engine, worker):
    user = load_user(db, world.engineer.id)
    jobs = [world.job, another_job(db, world, "GROUP-2"), another_job(db, world, "GROUP-3")]
    batches = {f"phone-{k}": [note(job.id, text=f"第 {k} 部手机 第 {j} 条") for j in range(3)]
               for k, job in enumerate(jobs)}
    seen = applied_watching(engine, worker, user, batches)
    for table in ("client_mutation", "field_fact", "change_record"):
        assert writes_to(seen, table) == 1, table
    assert seen.count("DELETE FROM sync_inbox") == 1
    assert seen.count("UPDATE job SET") == 1  # the three jobs' notes in one executemany
    assert seen.count("COMMIT") == 1
    for client_id, batch in batches.items():
        rows = logged(db, client_id)
        assert [(r.mutation_id, r.result, r.seq) for r in rows] == [
            (m["id"], "applied", k + 1) for k, m in enumerate(batch)]
    assert_each_fact_once(db, [m for batch in batches.values() for m in batch])
    for job, batch in zip(jobs, batches.values(), strict=True):
        db.refresh(job)
        assert job.notes.endswith("\n".join(m["args"]["text"] for m in batch))
    assert not db.exec(select(SyncInbox)).all()


def test_phones_finishing_their_jobs_are_applied_together_with_one_flush(db, world, engine,
                                                                         worker):
    """Check-in, note and sign-off on three requests: their clocks stop, the requests are
    resolved, and the group's rows are written together (reads of one request's clocks
    and jobs do not write the other requests' rows first)."""
    user = load_user(db, world.engineer.id)
    jobs = [world.job, another_job(db, world, "GROUP-2"), another_job(db, world, "GROUP-3")]
    batches = {f"phone-{k}": [check_in(job.id), note(job.id), done(job.id)]
               for k, job in enumerate(jobs)}
    seen = applied_watching(engine, worker, user, batches)
    assert seen.count("COMMIT") == 1
    for table in ("client_mutation", "field_fact", "change_record", "audit_entry"):
        assert writes_to(seen, table) == 1, table
    # the group's requests, their clocks and venues read once, not once a phone
    for table in ("support_request", "sla_clock", "venue"):
        assert sum(s.startswith(f"SELECT {table}.id") for s in seen) == 1, (table, seen)
    assert [r.result for c in batches for r in logged(db, c)] == ["applied"] * 9
    for job in jobs:
        db.refresh(job)
        request = db.get(SupportRequest, job.request_id)
        db.refresh(request)
        assert (job.status, request.status) == ("done", "resolved")
    assert clock(db, world.request.id, "resolution").stopped_at is not None


def test_phones_on_one_job_are_applied_together_each_note_once(db, world, engine, worker):
    user = load_user(db, world.engineer.id)
    batches = {f"phone-{k}": [note(world.job.id, text=f"第 {k} 部手机 第 {j} 条")
                              for j in range(2)] for k in range(3)}
    seen = applied_watching(engine, worker, user, batches)
    assert seen.count("COMMIT") == 1
    every = [m for batch in batches.values() for m in batch]
    assert [r.result for c in batches for r in logged(db, c)] == ["applied"] * len(every)
    assert_each_fact_once(db, every)
    db.refresh(world.job)
    assert world.job.notes.endswith("\n".join(m["args"]["text"] for m in every))


def test_a_push_that_needs_the_careful_path_is_refused_alone_and_the_group_is_applied(
        db, world, engine, worker, monkeypatch):
    spec = REGISTRY["fix_note"]

    def fix_note(db, staff_id, args, *rest):  # noqa: ANN001, ANN202
        if args.text == "boom":
            raise RuntimeError("a fault in this mutation's own data")
        return spec.handler(db, staff_id, args, *rest)

    monkeypatch.setitem(REGISTRY, "fix_note", replace(spec, handler=fix_note))
    user = load_user(db, world.engineer.id)
    good_a, bad, good_b = (note(world.job.id), note(world.job.id, text="boom"),
                           note(world.job.id))
    receive(engine, worker, user, "phone-a", [good_a])
    receive(engine, worker, user, "phone-b", [bad])
    receive(engine, worker, user, "phone-c", [good_b])
    drained(worker)
    assert [r.result for r in logged(db, "phone-a")] == ["applied"]
    assert [r.result for r in logged(db, "phone-c")] == ["applied"]
    refused = logged(db, "phone-b")
    assert [r.result for r in refused] == ["rejected"]  # logged once, with the reason
    assert "cannot be stored" in refused[0].message
    assert_each_fact_once(db, [good_a, good_b])
    assert db.get(FieldFact, bad["id"]) is None
    assert not db.exec(select(SyncInbox)).all()


def test_a_phones_later_pushes_follow_its_first_in_order(db, world, engine, worker):
    user = load_user(db, world.engineer.id)
    first, second = [note(world.job.id, text="先")], [note(world.job.id, text="后")]
    now = utcnow()
    receive(engine, worker, user, "phone-a", first, now)
    receive(engine, worker, user, "phone-b", [note(world.job.id)], now)
    receive(engine, worker, user, "phone-a", second, now + timedelta(seconds=1))
    rows = db.exec(select(SyncInbox).where(SyncInbox.client_id == "phone-a")).all()
    assert len({r.received_at for r in rows}) == 2  # two pushes of one phone
    drained(worker)
    assert [(r.mutation_id, r.seq) for r in logged(db, "phone-a")] == [
        (first[0]["id"], 1), (second[0]["id"], 2)]
    notes = db.get(Job, world.job.id).notes.split("\n")
    assert notes.index("先") < notes.index("后")


def test_a_phone_another_process_applies_is_left_out_of_the_group(db, world, engine, worker,
                                                                  settings):
    if not settings.db_url.startswith("postgresql"):
        pytest.skip("SQLite: one process serves the database")
    user = load_user(db, world.engineer.id)
    for client_id in ("phone-a", "phone-b", "phone-c"):
        receive(engine, worker, user, client_id, [note(world.job.id)])
    other = create_engine(settings.db_url, isolation_level="AUTOCOMMIT")
    with other.connect() as conn:  # another process holds phone-b
        assert conn.execute(text("SELECT pg_try_advisory_lock(18, :k)"),
                            {"k": lock_key("phone-b")}).scalar()
        drained(worker)
        assert [r.result for r in logged(db, "phone-a")] == ["applied"]
        assert [r.result for r in logged(db, "phone-c")] == ["applied"]
        assert not logged(db, "phone-b")
        assert [r.client_id for r in db.exec(select(SyncInbox)).all()] == ["phone-b"]
        conn.execute(text("SELECT pg_advisory_unlock(18, :k)"), {"k": lock_key("phone-b")})
    other.dispose()
    drained(worker)
    assert [r.result for r in logged(db, "phone-b")] == ["applied"]
    other = create_engine(settings.db_url, isolation_level="AUTOCOMMIT")
    with other.connect() as conn:  # the group's locks were given back: another takes them
        for client_id in ("phone-a", "phone-b", "phone-c"):
            key = {"k": lock_key(client_id)}
            assert conn.execute(text("SELECT pg_try_advisory_lock(18, :k)"), key).scalar()
            conn.execute(text("SELECT pg_advisory_unlock(18, :k)"), key)
    other.dispose()


def test_a_group_takes_its_phones_locks_once(db, world, engine, worker, settings):
    """PostgreSQL: the group's phones are locked and unlocked with one statement each; a
    phone whose pushes all went in the group is not locked again afterwards."""
    if not settings.db_url.startswith("postgresql"):
        pytest.skip("SQLite: one process serves the database, no lock to take")
    user = load_user(db, world.engineer.id)
    batches = {f"phone-{k}": [note(world.job.id)] for k in range(4)}
    seen = applied_watching(engine, worker, user, batches)
    locks = [s for s in seen if "advisory" in s]
    assert len(locks) == 2, locks  # the group's try-lock and its unlock
    assert [r.result for c in batches for r in logged(db, c)] == ["applied"] * 4


def test_groups_are_cut_by_mutations_and_keep_the_order():
    at = datetime(2026, 12, 1)
    pushes = [(f"p{k}", [at] * size) for k, size in enumerate([150, 40, 20, 300, 1])]
    chunks = list(inbox_rows.chunks(pushes, 200))
    assert [[c for c, _ in chunk] for chunk in chunks] == [["p0", "p1"], ["p2"], ["p3"], ["p4"]]


def test_phones_with_history_continue_their_seq_in_a_group(db, world, engine, worker):
    user = load_user(db, world.engineer.id)
    first = {f"phone-{k}": [note(world.job.id) for _ in range(k + 1)] for k in range(2)}
    for client_id, batch in first.items():
        receive(engine, worker, user, client_id, batch)
    drained(worker)
    second = {**{c: [note(world.job.id) for _ in range(2)] for c in first},
              "phone-new": [note(world.job.id)]}
    seen = applied_watching(engine, worker, user, second)
    assert seen.count("COMMIT") == 1  # one group
    for client_id in second:
        rows = logged(db, client_id)
        every = first.get(client_id, []) + second[client_id]
        assert [(r.mutation_id, r.seq) for r in rows] == [
            (m["id"], k + 1) for k, m in enumerate(every)]
    assert_each_fact_once(db, [m for b in (*first.values(), *second.values()) for m in b])
