"""Receive, then apply (issue 18): a push is durably received into ``sync_inbox`` and
applied in order right after, each mutation exactly once.

- a busy server answers "received" (the phone may delete its copy); the applier applies
  them; the phone's resend is answered from the log with the results;
- what a crash left in the inbox is applied by the background loop's tick;
- order per phone across pushes; a resend while still in the inbox is received once;
- two appliers (two processes) on one inbox apply each mutation once;
- a person disabled between receipt and apply: refused with the reason, never lost.

On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import event
from sqlmodel import select

from server.jobs.loop import discover, run_once
from server.models import ClientMutation, FieldFact, Job, Staff, SyncInbox
from server.security import load_user, load_users
from server.sync import applier as sync_applier
from server.sync import inbox
from server.sync.inbox_rows import by_client
from server.sync.log import MutationIn
from tests.api import sync_dbs
from tests.api.field_world import (
    assert_each_fact_once,
    check_in,
    done,
    note,
    push,
    results,
)
from tests.conftest import login

settings, world, phone = sync_dbs.settings, sync_dbs.world, sync_dbs.phone  # both databases


@pytest.fixture
def busy(monkeypatch):
    """The server is busy: every push is answered at receipt, not after its apply."""
    real = sync_applier.Applier.expect

    def expect(self, client_id, ids):
        real(self, client_id, ids)
        return False

    monkeypatch.setattr(sync_applier.Applier, "expect", expect)
    monkeypatch.setattr(sync_applier.Applier, "apply_alone", lambda self, *args: None)


@pytest.fixture
def stalled(monkeypatch):
    """The applier does not start (a crash right after the receipt's commit)."""
    monkeypatch.setattr(sync_applier.Applier, "poke", lambda self: None)


def inbox_rows(db) -> list[SyncInbox]:
    db.commit()
    db.expire_all()
    return list(db.exec(select(SyncInbox).order_by(SyncInbox.id)).all())


def until_applied(db, seconds: float = 30) -> None:
    """Bounded wait until the inbox is empty (the applier runs on its own thread)."""
    deadline = time.monotonic() + seconds
    while inbox_rows(db):
        assert time.monotonic() < deadline, "the inbox was not applied"
        time.sleep(0.02)


def test_a_busy_server_answers_received_then_the_resend_gets_the_results(phone, db, world,
                                                                          busy):
    batch = [check_in(world.job.id), note(world.job.id)]
    answer = push(phone, batch).json()
    first = answer["results"]
    assert [r["status"] for r in first] == ["received", "received"]
    assert all("服务器已收到" in r["message"] for r in first)  # in the engineer's language
    assert answer["last_mutation_id"] is None  # nothing applied yet: the phone keeps both
    until_applied(db)
    answer = push(phone, batch).json()
    again = answer["results"]
    assert [(r["status"], r["replayed"]) for r in again] == [("applied", True)] * 2
    assert answer["last_mutation_id"] == batch[-1]["id"]
    assert_each_fact_once(db, batch)


def test_what_a_crash_left_in_the_inbox_is_applied_by_the_background_tick(phone, db, world,
                                                                          settings, monkeypatch,
                                                                          busy):
    batch = [check_in(world.job.id), note(world.job.id)]
    with monkeypatch.context() as m:
        m.setattr(sync_applier.Applier, "poke", lambda self: None)
        assert [r["status"] for r in results(push(phone, batch))] == ["received"] * 2
    assert len(inbox_rows(db)) == 2
    assert not db.exec(select(FieldFact)).all()  # received, not applied yet
    discover()
    errors = run_once(phone.app.state.engine, settings)
    assert errors["server.jobs.sync_inbox.apply_sync_inbox"] is None
    until_applied(db)
    assert_each_fact_once(db, batch)


def test_order_per_phone_holds_across_pushes_received_at_once(phone, db, world, stalled, busy):
    jid = world.job.id
    pushes = [[check_in(jid)], [note(jid)], [done(jid)]]
    for batch in pushes:
        assert [r["status"] for r in results(push(phone, batch))] == ["received"]
    worker = sync_applier.applier(phone.app.state.engine, phone.app.state.settings)
    while worker.drain():
        pass
    db.commit()
    db.expire_all()
    logged = db.exec(select(ClientMutation).order_by(ClientMutation.seq)).all()
    assert [m.mutation_id for m in logged] == [b[0]["id"] for b in pushes]
    assert [m.result for m in logged] == ["applied"] * 3  # done after check-in: not refused
    assert db.get(Job, jid).status == "done"
    assert not inbox_rows(db)


def test_a_resend_while_still_in_the_inbox_is_received_once(phone, db, world, stalled, busy):
    batch = [check_in(world.job.id), note(world.job.id)]
    for _ in range(3):
        assert [r["status"] for r in results(push(phone, batch))] == ["received"] * 2
    assert len(inbox_rows(db)) == 2
    worker = sync_applier.applier(phone.app.state.engine, phone.app.state.settings)
    while worker.drain():
        pass
    assert_each_fact_once(db, batch)


def test_two_appliers_on_one_inbox_apply_each_mutation_once(phone, db, world, stalled, busy):
    """Two server processes draining the same inbox at once (two Applier objects)."""
    jid = world.job.id
    batches = [[check_in(jid), note(jid)], [note(jid, text="换电源")], [done(jid)]]
    for batch in batches:
        results(push(phone, batch))
    engine, settings = phone.app.state.engine, phone.app.state.settings
    twins = [sync_applier.Applier(engine, settings), sync_applier.Applier(engine, settings)]
    start = threading.Barrier(2)

    def drain(worker: sync_applier.Applier) -> None:
        start.wait()
        while worker.drain():
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in twins]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    while twins[0].drain():  # one may have skipped a phone the other held: finish it
        pass
    every = [m for b in batches for m in b]
    assert_each_fact_once(db, every)
    logged = db.exec(select(ClientMutation).order_by(ClientMutation.seq)).all()
    assert [m.mutation_id for m in logged] == [m["id"] for m in every]
    assert all(m.result == "applied" for m in logged)


def test_a_person_disabled_before_the_apply_is_refused_with_the_reason(phone, db, world,
                                                                       stalled, busy):
    batch = [note(world.job.id)]
    assert [r["status"] for r in results(push(phone, batch))] == ["received"]
    engineer = db.exec(select(Staff).where(Staff.username == "zhang.qiang")).one()
    engineer.active = False
    db.add(engineer)
    db.commit()
    worker = sync_applier.applier(phone.app.state.engine, phone.app.state.settings)
    while worker.drain():
        pass
    db.commit()
    row = db.exec(select(ClientMutation)).one()  # logged once, with the reason
    assert row.result == "rejected"
    assert not inbox_rows(db)


def test_receive_keeps_what_postgres_json_cannot_hold_so_the_applier_refuses_it(db, world,
                                                                                 settings):
    """A NUL in the arguments: received (nothing is lost), then refused with the reason."""
    from sqlmodel import create_engine

    engine = create_engine(settings.db_url)
    user = load_user(db, world.engineer.id)
    worker = sync_applier.Applier(engine, settings)
    worker.poke = lambda: None  # type: ignore[method-assign]
    m = MutationIn("6a1f3b5e-8f0e-4c55-9b3c-0c1c2d3e4f99", "fix_note",
                   {"job_id": world.job.id, "fault_kind": "cabling", "text": "电源\x00接口"})
    got = inbox.receive(engine, user, "phone-nul", [m], None, worker)
    assert got.waiting == [m.id]
    while worker.drain():
        pass
    db.commit()
    row = db.exec(select(ClientMutation).where(ClientMutation.client_id == "phone-nul")).one()
    assert row.result == "rejected"
    assert "cannot be stored" in row.message
    engine.dispose()


def test_a_round_of_the_applier_reads_its_senders_in_one_query(db, world, settings):
    """The applier reads the inbox, then every sender of the round at once (not one read
    per push), and applies each push as the person who sent it."""
    from sqlmodel import create_engine

    engine = create_engine(settings.db_url)
    worker = sync_applier.Applier(engine, settings)
    worker.poke = lambda: None  # type: ignore[method-assign]
    senders = [load_user(db, world.engineer.id), load_user(db, world.colleague.id)] * 2
    for k, user in enumerate(senders):  # four phones, two people
        m = MutationIn(f"6a1f3b5e-8f0e-4c55-9b3c-0c1c2d3e4f{k:02d}", "fix_note",
                       {"job_id": world.job.id, "fault_kind": "cabling", "text": f"第 {k} 步"})
        assert inbox.receive(engine, user, f"phone-{k}", [m], None, worker).waiting == [m.id]
    reads: list[str] = []

    def _record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if "JOIN staffrole" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", _record)
    try:
        while worker.drain():
            pass
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    assert len(reads) == 1
    db.commit()
    logged = db.exec(select(ClientMutation).order_by(ClientMutation.client_id)).all()
    assert [(r.client_id, r.staff_id) for r in logged] == [
        (f"phone-{k}", user.id) for k, user in enumerate(senders)]
    assert not inbox_rows(db)
    engine.dispose()


def test_the_senders_are_read_with_their_roles_and_a_disabled_one_is_nobody(db, world):
    world.colleague.active = False
    db.add(world.colleague)
    db.commit()
    people = load_users(db, {world.engineer.id, world.colleague.id, 987654})
    assert people[world.engineer.id] == load_user(db, world.engineer.id)
    assert "onsite" in people[world.engineer.id].roles
    assert people[world.colleague.id] is None  # disabled: its pushes are refused, logged
    assert people[987654] is None
    assert load_users(db, set()) == {}


def test_a_form_post_does_not_overtake_what_the_inbox_holds_for_that_phone(phone, db, world,
                                                                           stalled, busy):
    from tests.conftest import csrf_token

    jid = world.job.id
    earlier = check_in(jid)
    assert [r["status"] for r in results(push(phone, [earlier], client_id="phone-9"))] == [
        "received"]
    data = {"_csrf_token": csrf_token(phone), "mutation": "fix_note", "client_id": "phone-9",
            "mutation_id": "6a1f3b5e-8f0e-4c55-9b3c-0c1c2d3e4f77", "fault_kind": "cabling",
            "text": "重新插好信号线"}
    r = phone.post(f"/field/jobs/{jid}", data=data, headers={"hx-request": "true"})
    assert r.status_code == 200, r.text
    db.commit()
    logged = db.exec(select(ClientMutation).where(ClientMutation.client_id == "phone-9")
                     .order_by(ClientMutation.seq)).all()
    assert [m.mutation_id for m in logged] == [earlier["id"], data["mutation_id"]]
    assert not inbox_rows(db)


def test_receipts_arriving_together_are_each_stored_once(db, world, settings):
    """Group commit: twelve pushes at once (one resent twice), each row stored once, then
    every mutation applied once in the order each phone sent it."""
    from sqlmodel import create_engine

    from server.db import make_engine

    engine = make_engine(settings.db_url) if settings.db_url.startswith("sqlite") \
        else create_engine(settings.db_url)
    user = load_user(db, world.engineer.id)
    worker = sync_applier.Applier(engine, settings)
    worker.poke = lambda: None  # type: ignore[method-assign]
    jid = world.job.id
    pushes = {f"phone-{k}": [MutationIn(m["id"], m["name"], m["args"])
                             for m in (note(jid, text=f"第{k}条"), note(jid, text=f"第{k}条补充"))]
              for k in range(10)}
    sends = [*pushes.items(), ("phone-0", pushes["phone-0"]), ("phone-1", pushes["phone-1"])]
    start = threading.Barrier(len(sends))
    failures: list[BaseException] = []

    def send(client_id: str, mutations: list[MutationIn]) -> None:
        start.wait()
        try:
            inbox.receive(engine, user, client_id, mutations, None, worker)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=s) for s in sends]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert len(inbox_rows(db)) == 20
    while worker.drain():
        pass
    db.commit()
    for client_id, mutations in pushes.items():
        logged = db.exec(select(ClientMutation.mutation_id).where(
            ClientMutation.client_id == client_id).order_by(ClientMutation.seq)).all()
        assert list(logged) == [m.id for m in mutations]
    assert len(db.exec(select(FieldFact)).all()) == 20
    engine.dispose()


def test_someone_elses_received_mutation_id_is_never_answered_with_their_result(
        phone, db, world, monkeypatch):
    """A shared phone (one client id): what one person sent and the server still holds is
    not answered to the next person who sends the same id."""
    from dataclasses import replace

    m = note(world.job.id)
    app = phone.app
    settings = app.state.settings
    with monkeypatch.context() as patch:
        patch.setattr(sync_applier.Applier, "poke", lambda self: None)
        app.state.settings = replace(settings, sync_wait_seconds=0)
        assert [r["status"] for r in results(push(phone, [m]))] == ["received"]
    app.state.settings = settings
    sync_applier.applier(app.state.engine, settings)._queued.clear()  # as if another process had it
    login(phone, world.colleague.username)
    r = results(push(phone, [m]))  # alone: waits while the first person's copy is applied
    assert r[0]["status"] == "rejected" and "已被使用" in r[0]["message"], r
    db.commit()
    row = db.exec(select(ClientMutation)).one()
    assert (row.staff_id, row.result) == (world.engineer.id, "applied")


def inserts_at_sync_level(engine, seen: list[tuple[str, str]]):  # noqa: ANN201
    """Record (table, SQLite synchronous level) of every INSERT on ``engine``."""
    level: dict[int, str] = {}

    def _record(conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        key = id(conn.connection.dbapi_connection)
        if statement.startswith("PRAGMA synchronous="):
            level[key] = statement.split("=")[1]
        elif statement.startswith("INSERT INTO"):
            seen.append((statement.split()[2], level.get(key, "NORMAL")))

    event.listen(engine, "before_cursor_execute", _record)
    return lambda: event.remove(engine, "before_cursor_execute", _record)


def test_the_receipt_is_synced_to_disk_and_the_apply_need_not_be(phone, db, world, busy):
    """README Durability on SQLite: the receipt commits with synchronous=FULL (the phone may
    delete its copy); the applier's commit need not (a lost one is applied again)."""
    if phone.app.state.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's synchronous setting")
    seen: list[tuple[str, str]] = []
    stop = inserts_at_sync_level(phone.app.state.engine, seen)
    try:
        assert [r["status"] for r in results(push(phone, [note(world.job.id)]))] == ["received"]
        until_applied(db)
    finally:
        stop()
    assert ("sync_inbox", "FULL") in seen
    assert ("client_mutation", "NORMAL") in seen


def test_a_push_alone_is_applied_in_its_own_request(phone, db, world, stalled):
    """Nothing queued before it: the request applies it itself, in one transaction synced
    to disk, and answers the results (no inbox rows; the applier's thread never starts)."""
    batch = [check_in(world.job.id), note(world.job.id), done(world.job.id)]
    began: list[str] = []
    engine = phone.app.state.engine

    def _record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if statement.startswith("BEGIN"):
            began.append(statement)

    seen: list[tuple[str, str]] = []
    stop = inserts_at_sync_level(engine, seen)
    event.listen(engine, "before_cursor_execute", _record)
    try:
        answer = push(phone, batch).json()
    finally:
        event.remove(engine, "before_cursor_execute", _record)
        stop()
    r = answer["results"]
    assert [x["status"] for x in r] == ["applied", "applied", "applied"], r
    assert answer["last_mutation_id"] == batch[-1]["id"]  # the phone may trim all three
    assert inbox_rows(db) == []
    assert_each_fact_once(db, batch)
    assert "sync_inbox" not in [table for table, _level in seen]  # never went through it
    if engine.dialect.name == "sqlite":
        assert ("client_mutation", "FULL") in seen  # the answer lets the phone delete them
        # the session, the phone's inbox and log read, the apply: a transaction each
        assert len(began) <= 3, began


def pushed_noting_autocommit(phone, batch: list[dict], kind_of) -> tuple[list, list]:
    """Push ``batch``: its results, and (kind, whether the connection ran in autocommit)
    for each statement ``kind_of(statement)`` names (None: not noted)."""
    engine = phone.app.state.engine
    seen: list[tuple[str, bool | None]] = []

    def _record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        kind = kind_of(" ".join(statement.split()))
        if kind:
            seen.append((kind, getattr(conn.connection.dbapi_connection, "autocommit", None)))

    event.listen(engine, "before_cursor_execute", _record)
    try:
        return results(push(phone, batch)), seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)


def test_one_statement_reads_and_the_phone_lock_go_without_a_transaction(phone, db, world,
                                                                          stalled):
    """PostgreSQL: the session read, the phone's advisory lock and unlock and the inbox
    probe of a push alone run in autocommit (no BEGIN and COMMIT/ROLLBACK: two round trips
    fewer each); the apply itself is one transaction."""
    if phone.app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's transactions are calls in the process, not round trips")
    kinds = ("pg_try_advisory_lock", "pg_advisory_unlock", "FROM web_session",
             "FROM sync_inbox", "COPY client_mutation")  # its log rows (server.bulk)
    r, seen = pushed_noting_autocommit(phone, [check_in(world.job.id), note(world.job.id)],
                                       lambda flat: next((k for k in kinds if k in flat), None))
    assert [x["status"] for x in r] == ["applied", "applied"]
    assert set(seen) == {("pg_try_advisory_lock", True), ("pg_advisory_unlock", True),
                         ("FROM web_session", True), ("FROM sync_inbox", True),
                         ("COPY client_mutation", False)}, seen


def test_a_receipt_reads_the_log_in_one_statement_without_a_transaction(phone, db, world,
                                                                          busy, stalled):
    """A push answered at receipt reads its log entries and the phone's newest applied
    one in one statement (PostgreSQL: in autocommit, no BEGIN and no ROLLBACK); only the
    receipt's INSERT is a transaction."""
    def kind_of(flat: str) -> str | None:
        if "FROM client_mutation" in flat or flat.startswith("INSERT INTO sync_inbox"):
            return flat.split()[0]
        return flat if flat.startswith("BEGIN") else None  # SQLite's, emitted by us

    r, seen = pushed_noting_autocommit(phone, [check_in(world.job.id), note(world.job.id)],
                                       kind_of)
    assert [x["status"] for x in r] == ["received", "received"]
    if phone.app.state.engine.dialect.name == "postgresql":
        assert seen == [("SELECT", True), ("INSERT", False)], seen
    else:  # the session and log reads without BEGIN (a statement is its own read)
        assert [kind for kind, _ in seen] == ["SELECT", "BEGIN IMMEDIATE", "INSERT"], seen


def test_a_push_behind_rows_in_the_inbox_is_received_behind_them(phone, db, world, stalled):
    """Not alone: this phone's earlier push is still in the inbox (another process
    received it, or a crash left it), so this one is received after it, not applied first."""
    jid = world.job.id
    with pytest.MonkeyPatch.context() as m:
        m.setattr(sync_applier.Applier, "apply_alone", lambda self, *args: None)
        m.setattr(sync_applier.Applier, "expect", lambda self, client_id, ids: False)
        assert [r["status"] for r in results(push(phone, [check_in(jid)]))] == ["received"]
    assert len(inbox_rows(db)) == 1
    # received behind it, and applied in its own request after it (the phone's order)
    assert [r["status"] for r in results(push(phone, [note(jid)]))] == ["applied"]
    assert inbox_rows(db) == []
    db.commit()
    logged = db.exec(select(ClientMutation.name).order_by(ClientMutation.seq)).all()
    assert logged == ["check_in", "fix_note"]


@pytest.mark.skipif("FAKETIME" in os.environ,
                    reason="a timed wait under faketime need not end when it should")
def test_the_applier_lets_receipts_go_first(phone):
    """While a receipt is under way the applier waits for it before its next push."""
    worker = sync_applier.Applier(phone.app.state.engine, phone.app.state.settings)
    went = threading.Event()

    def apply_next() -> None:
        worker.let_receipts_first()
        went.set()

    with worker.receiving():
        waiting = threading.Thread(target=apply_next)
        worker._threads.add(waiting)  # one of the applier's threads
        waiting.start()
        time.sleep(0.2)
        assert not went.is_set()  # held back while the receipt is under way
    waiting.join()  # woken by the receipt's end
    assert went.is_set()


def test_a_receipt_holds_the_applier_back_at_most_the_bound(phone):
    """A receipt that outlasts ``DEFER_SECONDS`` no longer holds the applier back."""
    worker = sync_applier.Applier(phone.app.state.engine, phone.app.state.settings)
    waits: list[float] = []  # the waits it asks for (none really taken: under faketime a
    # timed wait need not end when it should)
    worker._cond.wait_for = lambda predicate, timeout=None: (  # type: ignore[method-assign]
        waits.append(timeout) or False)
    worker._threads.add(threading.current_thread())  # as one of the applier's threads
    with worker.receiving():
        worker._deferred_since = time.monotonic() - sync_applier.DEFER_SECONDS - 1
        worker.let_receipts_first()  # returns at once, without waiting
        assert waits == []
        worker._deferred_since = time.monotonic()  # held back just now: it waits (bounded)
        worker.let_receipts_first()
        assert len(waits) == 1 and 0 < waits[0] <= sync_applier.DEFER_SECONDS


def test_a_push_catching_up_its_own_phone_does_not_wait_for_others_receipts(phone):
    """A push applying its own phone's rows in its request's thread (``catch_up``) is
    not held back by other phones' receipts: its phone is waiting for this answer."""
    worker = sync_applier.Applier(phone.app.state.engine, phone.app.state.settings)
    waits: list[float] = []  # the waits asked for (none really taken)
    worker._cond.wait_for = lambda predicate, timeout=None: (  # type: ignore[method-assign]
        waits.append(timeout) or True)
    with worker.receiving():  # another phone's receipt under way
        worker._deferred_since = time.monotonic()
        worker.let_receipts_first()  # in this (request) thread: no wait
    assert waits == []


def test_a_thread_with_an_older_read_of_the_inbox_skips_what_another_applied(
        phone, db, world, stalled, busy, monkeypatch):
    """PostgreSQL's applier threads each read the inbox, then walk its phones: what one
    thread applied since another's read is not applied (nor looked up) again."""
    batch = [check_in(world.job.id), note(world.job.id)]
    results(push(phone, batch))
    worker = sync_applier.applier(phone.app.state.engine, phone.app.state.settings)
    stale = inbox_rows(db)  # a thread's read, before the other thread's apply
    assert worker.drain() == 2  # the other thread
    applied: list[str] = []
    real = sync_applier.apply_push
    monkeypatch.setattr(sync_applier, "apply_push", lambda *a, **k: applied.append(a[2]) or real(*a, **k))
    assert worker._apply_client("phone-1", by_client(stale)["phone-1"]) == 0
    assert applied == []
    assert_each_fact_once(db, batch)
