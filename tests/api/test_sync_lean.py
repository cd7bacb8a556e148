"""The lean push (issue 18): a push reads each job and request once, writes one change
record per record, tells the live screens once, after its commit, and a refused mutation
in the middle still leaves the rest applied (the careful path) without a word about it.

On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from server import db_queue
from server.actions import ActionError, audit, changes, fact_queue
from server.actions import field as field_actions
from server.db import utcnow
from server.models import AuditEntry, ChangeRecord, ClientMutation, FieldFact, Job
from server.security import load_user
from server.sync import registry
from server.sync.log import LogRead, last_applied, read_log
from tests.api import sync_dbs
from tests.api.field_world import (
    assert_each_fact_once,
    check_in,
    done,
    mutation,
    note,
    push,
    results,
    swap,
)

settings, world, phone = sync_dbs.settings, sync_dbs.world, sync_dbs.phone  # both databases


@pytest.fixture
def statements(phone):
    """Every SQL statement the server runs from here on."""
    seen: list[str] = []
    engine = phone.app.state.engine

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def heard():
    """What the live screens are told, one list per announcement."""
    told: list[list[changes.Change]] = []
    changes.on_commit(told.append)
    yield told
    changes.remove_listener(told.append)


def tables_written(seen: list[str]) -> list[str]:
    """The table of each statement that wrote rows: an INSERT, or PostgreSQL's COPY
    (``server.bulk``)."""
    return [m.group(1) for s in seen if (m := re.match(r"(?:INSERT INTO|COPY) (\w+)", s))]


def reads_of(seen: list[str], table: str) -> int:
    return sum(1 for s in seen if s.startswith("SELECT") and re.search(rf"\bFROM {table}\b", s))


def test_a_push_reads_its_job_and_request_once(phone, world, statements):
    batch = [note(world.job.id, text=f"第 {i} 步") for i in range(10)]
    statements.clear()
    assert {r["status"] for r in results(push(phone, batch))} == {"applied"}
    # once to see whose job it is, once under the row lock; the request once, locked
    assert reads_of(statements, "job") <= 2, [s for s in statements if "FROM job" in s]
    assert reads_of(statements, "support_request") <= 1


def test_a_push_writes_its_audit_and_change_rows_in_one_insert_each(phone, world, statements):
    """The reads between a push's mutations (venue, clocks, swaps, jobs, held units) say
    which tables they read; the audit and change rows wait for the end, not each read."""
    job = world.job.id
    batch = [mutation("on_my_way", job), check_in(job)]
    batch += [note(job, text=f"第 {i} 步") for i in range(6)] + [done(job)]
    statements.clear()
    assert {r["status"] for r in results(push(phone, batch))} == {"applied"}
    inserts = tables_written(statements)
    assert inserts.count("audit_entry") == 1, inserts
    assert inserts.count("change_record") == 1, inserts
    # one: the swap check reads field_fact only through unit_swap, so queued facts wait
    assert inserts.count("field_fact") == 1, inserts


def test_a_sign_off_asks_its_four_questions_in_one_statement(phone, world, statements):
    """Swapped? Other active jobs? Units held, spares waiting? One read for a "done"."""
    job = world.job.id
    statements.clear()
    assert {r["status"] for r in results(push(phone, [check_in(job), done(job)]))} == {
        "applied"}
    asked = [s for s in statements if s.startswith("SELECT")
             and re.search(r"\bFROM (unit_swap|unit|spare_request)\b", s)]
    assert len(asked) == 1, asked
    assert all(re.search(rf"\bFROM {table}\b", asked[0])
               for table in ("unit_swap", "job", "unit", "spare_request"))


def test_a_swap_and_done_in_one_push_finish_the_job_as_swapped(phone, world, statements):
    """The swap check that ``done`` makes, which lets queued facts wait, still finds a swap
    recorded just before it in the same push."""
    job = world.job.id
    batch = [check_in(job), note(job), swap(job, "ENC-0001", "ENC-0100"), done(job)]
    statements.clear()
    assert [r["status"] for r in results(push(phone, batch))] == ["applied"] * 4
    with Session(phone.app.state.engine) as db:
        assert db.get(Job, job).outcome == "swapped"
        assert_each_fact_once(db, batch)
    inserts = tables_written(statements)
    assert inserts.count("unit_swap") == 1, inserts


def test_rows_queued_for_a_table_are_written_before_any_read_that_may_find_them(db, world):
    db.commit()
    audit.record(db, "test.queued", None, entity="job", entity_id="q")
    with db_queue.reading(db, "job"):  # a read of jobs only: the entry waits
        db.exec(select(Job)).all()
        assert db_queue.items(db, "audit_entries")
        with db_queue.reading(db, "audit_entry"):
            assert db.exec(select(AuditEntry.action).where(AuditEntry.action == "test.queued")).all()
    audit.record(db, "test.undeclared", None, entity="job", entity_id="u")
    found = db.exec(select(func.count()).select_from(AuditEntry)  # said nothing: written first
                    .where(AuditEntry.action == "test.undeclared")).one()
    assert found == 1
    audit.record(db, "test.committed", None, entity="job", entity_id="c")
    with db_queue.reading(db, "job"):
        db.exec(select(Job)).all()
        db.commit()  # the commit writes every queue, whatever was declared
    assert db.exec(select(func.count()).select_from(AuditEntry)
                   .where(AuditEntry.action == "test.committed")).one() == 1


def test_a_push_writes_one_change_record_per_record_and_person(phone, db, world):
    batch = [note(world.job.id, text=f"第 {i} 步") for i in range(10)]
    assert {r["status"] for r in results(push(phone, batch))} == {"applied"}
    db.commit()
    rows = db.exec(select(ChangeRecord.entity, ChangeRecord.entity_id, ChangeRecord.staff_id,
                          func.count()).group_by(ChangeRecord.entity, ChangeRecord.entity_id,
                                                 ChangeRecord.staff_id)).all()
    assert all(n == 1 for *_, n in rows), rows
    assert ("request", str(world.request.id), None, 1) in rows  # the board: once
    facts = {entity_id for entity, entity_id, _staff, _n in rows if entity == "fact"}
    assert facts == {m["id"] for m in batch}  # the engineer's phones: every fact


def test_the_screens_hear_a_push_once_after_it_commits(phone, world, settings, heard,
                                                      monkeypatch):
    """A refused mutation in the middle of the push: the others are applied and announced
    together, once the data can be read; nothing is said about the refused one."""
    real = field_actions.fix_note
    visible: list[int] = []

    def refuse_after_writing(db, staff_id, args, *rest):
        outcome = real(db, staff_id, args, *rest)  # the fact and its changes, then no
        if args.text == "拒绝":
            raise ActionError(field_actions.N_("This job was cancelled."))
        return outcome

    spec = registry.REGISTRY["fix_note"]
    monkeypatch.setitem(registry.REGISTRY, "fix_note", registry.Mutation(
        "fix_note", spec.args, refuse_after_writing, spec.roles, spec.label))

    def count_facts(_batch) -> None:  # what a board reading now would find
        with Session(phone.app.state.engine) as other:
            visible.append(other.exec(select(func.count()).select_from(FieldFact)).one())

    changes.on_commit(count_facts)
    try:
        good, bad, after = note(world.job.id), note(world.job.id, text="拒绝"), note(world.job.id)
        r = results(push(phone, [good, bad, after]))
    finally:
        changes.remove_listener(count_facts)
    assert [x["status"] for x in r] == ["applied", "rejected", "applied"], r
    told = [b for b in heard if any(c.entity == "fact" for c in b)]
    assert len(told) == 1, heard
    facts = {c.entity_id for c in told[0] if c.entity == "fact"}
    assert facts == {good["id"], after["id"]}  # not the refused one
    assert visible and visible[-1] >= 2  # already committed when the screens were told


def test_a_refused_mutations_change_records_go_with_it(phone, db, world, monkeypatch):
    real = field_actions.fix_note

    def refuse_after_writing(db_, staff_id, args, *rest):
        outcome = real(db_, staff_id, args, *rest)
        if args.text == "拒绝":
            raise ActionError(field_actions.N_("This job was cancelled."))
        return outcome

    spec = registry.REGISTRY["fix_note"]
    monkeypatch.setitem(registry.REGISTRY, "fix_note", registry.Mutation(
        "fix_note", spec.args, refuse_after_writing, spec.roles, spec.label))
    batch = [note(world.job.id), note(world.job.id, text="拒绝"), note(world.job.id)]
    assert [x["status"] for x in results(push(phone, batch))] == ["applied", "rejected",
                                                                   "applied"]
    assert_each_fact_once(db, batch, kept=[batch[0], batch[2]])
    logged = set(db.exec(select(ChangeRecord.entity_id).where(ChangeRecord.entity == "fact")))
    assert logged == {batch[0]["id"], batch[2]["id"]}
    # the request's own record survived the rollback of the one that came after it
    assert db.exec(select(func.count()).select_from(ChangeRecord).where(
        ChangeRecord.entity == "request", ChangeRecord.entity_id == str(world.request.id))).one() == 1


def test_a_savepoint_rolled_back_takes_its_own_changes_and_no_others(db, world, heard):
    db.commit()
    changes.changed(db, "job", "before")  # still queued when the savepoint rolls back
    inside = db.begin_nested()
    changes.changed(db, "job", "inside")
    inside.rollback()
    db.exec(select(ChangeRecord)).all()  # "before" written here, outside any savepoint
    inside = db.begin_nested()
    changes.changed(db, "job", "written inside")
    db.exec(select(ChangeRecord)).all()  # written inside the savepoint: undone with it
    changes.changed(db, "job", "queued after the write")
    inside.rollback()
    changes.changed(db, "job", "written inside")  # forgotten: its row again
    changes.changed(db, "job", "before")  # written and kept: no second row
    db.commit()
    rows = db.exec(select(ChangeRecord.entity_id).where(ChangeRecord.entity == "job")).all()
    assert sorted(rows) == ["before", "written inside"]
    assert [c.entity_id for c in heard[-1]] == ["before", "written inside"]


def test_rows_queued_before_a_savepoint_and_written_inside_it_outlive_its_rollback(db, world):
    """The database undoes the write with the savepoint: the rows are queued again."""
    db.commit()
    audit.record(db, "test.before", None, entity="job", entity_id="before")
    changes.changed(db, "job", "before")
    inside = db.begin_nested()
    audit.record(db, "test.inside", None, entity="job", entity_id="inside")
    db.exec(select(AuditEntry)).all()  # both queues written here, inside the savepoint
    changes.changed(db, "job", "after the write")
    inside.rollback()
    db.commit()
    entries = db.exec(select(AuditEntry.action).where(AuditEntry.action.like("test.%"))).all()
    assert entries == ["test.before"]
    rows = db.exec(select(ChangeRecord.entity_id).where(ChangeRecord.entity == "job")).all()
    assert rows == ["before"]


def test_a_savepoint_rolled_back_takes_the_facts_queued_inside_it(db, world):
    def draft(n: int) -> fact_queue.Draft:
        at = utcnow()
        return fact_queue.make(db, id=f"fact-{n}", job_id=world.job.id, author_id=world.engineer.id,
                               request_id=world.request.id, kind="fix_note", device_time=at,
                               effective_at=at, received_at=at, data={})

    db.commit()
    fact_queue.start(db)
    fact_queue.keep(db, draft(1))
    inside = db.begin_nested()
    fact_queue.keep(db, draft(2))
    with pytest.raises(fact_queue.QueuedInSavepoint):  # its rollback would lose fact-1
        db.exec(select(FieldFact)).all()
    inside.rollback()
    assert fact_queue.queued(db, "fact-1") and not fact_queue.queued(db, "fact-2")
    fact_queue.finish(db)
    db.commit()
    assert db.exec(select(FieldFact.id).where(FieldFact.id.like("fact-%"))).all() == ["fact-1"]


def test_the_signed_in_person_is_read_in_one_query(db, world, engine):
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as fresh:  # as the middleware reads it: nothing loaded yet
            user = load_user(fresh, world.engineer.id)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert user is not None and user.roles == frozenset({"onsite"})
    assert user.username == "zhang.qiang" and user.display_name == "张强"
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1
    world.engineer.active = False
    db.add(world.engineer)
    db.commit()
    with Session(engine) as fresh:
        assert load_user(fresh, world.engineer.id) is None


def test_a_push_reads_its_log_entries_and_the_newest_seq_in_one_query(phone, world, statements):
    """Inside the push's transaction the log is read once: the entries it asks for and
    the phone's newest ``seq`` together (SQLite reads the entries once more before it
    queues for the write lock, to answer a replay without it)."""
    job = world.job.id
    first = [check_in(job), note(job)]
    assert {r["status"] for r in results(push(phone, first))} == {"applied"}
    statements.clear()
    later = [note(job, text="再次测试"), first[1]]  # a new one, and a resend among them
    answer = results(push(phone, later))
    assert [r["status"] for r in answer] == ["applied", "applied"]
    assert answer[1]["replayed"] is True
    most = 2 if phone.app.state.engine.dialect.name == "sqlite" else 1
    assert reads_of(statements, "client_mutation") <= most, statements
    with Session(phone.app.state.engine) as db:
        seqs = db.exec(select(ClientMutation.seq).order_by(ClientMutation.seq)).all()
    assert len(seqs) == 3 and len(set(seqs)) == 3  # the new one after the two before


def test_the_log_read_does_not_read_the_phones_whole_history(phone, world):
    """A phone keeps its log for months: the read of a push (its ids, its newest entry) is
    index lookups, whatever the history's length, never a scan of it (SQLite's plan)."""
    engine = phone.app.state.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the query plan checked is SQLite's")
    sent: list[tuple[str, tuple]] = []

    def _record(_conn, _cursor, statement, parameters, *_args) -> None:  # noqa: ANN001
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", _record)
    try:
        with Session(engine) as db:
            read_log(db, "phone-1", ["a", "b"])
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    statement, parameters = next((s, p) for s, p in sent if "client_mutation" in s)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    steps = [row[-1] for row in plan]
    assert not any(step.startswith("SCAN") for step in steps), steps
    assert any("ix_client_mutation_client_seq" in step for step in steps), steps
    assert any("client_id=? AND mutation_id=?" in step for step in steps), steps


def test_the_log_read_finds_the_entries_asked_for_and_the_newest(phone, world):
    engine = phone.app.state.engine
    with Session(engine) as db:
        assert read_log(db, "phone-1", ["a", "b"]) == LogRead({}, 0, None)  # nothing yet
    batch = [check_in(world.job.id), note(world.job.id), note(world.job.id)]
    assert {r["status"] for r in results(push(phone, batch))} == {"applied"}
    with Session(engine) as db:
        newest = db.exec(select(func.max(ClientMutation.seq))).one()
        staff = db.exec(select(ClientMutation.staff_id)).first()
        read = read_log(db, "phone-1", [batch[0]["id"], "unknown"])
        assert read.seq == newest and list(read.stored) == [batch[0]["id"]]
        assert read.stored[batch[0]["id"]][1].status == "applied"
        assert read.newest == (batch[-1]["id"], staff)
        assert last_applied(db, read, "phone-1", staff) == batch[-1]["id"]
        # someone else on the same phone: their own newest, read (none here)
        assert last_applied(db, read, "phone-1", staff + 1000) is None
        assert read_log(db, "another-phone", [batch[0]["id"]]) == LogRead({}, 0, None)
