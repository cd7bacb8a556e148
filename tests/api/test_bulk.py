"""Many rows into one table (``server.bulk.insert_rows``): PostgreSQL's COPY stores exactly
what an executemany INSERT stores, falls back to the INSERT where a column needs a value
from Python, and fails as the INSERT fails (SQLAlchemy's exceptions; the connection of a
database that went away is invalidated). On SQLite and, where FIELDOPS_TEST_DATABASE_URL
is set, on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from server.bulk import insert_rows
from server.models import AuditEntry, ChangeRecord, ClientMutation, FieldFact
from server.sync.apply import OUTAGE
from tests.api import sync_dbs

settings, world = sync_dbs.settings, sync_dbs.world  # both databases

AT = datetime(2026, 12, 2, 1, 30, 15, 123456, tzinfo=UTC)
# what a text field may hold that COPY's text format escapes: tab, newline, backslash,
# carriage return, quotes, CJK, an emoji, a comma and a would-be NULL marker
AWKWARD = '第 3 步：重新插拔\t并测试推流\n"引号" \\N back\\slash\r, 🙂'


@pytest.fixture
def engine(settings):
    engine = create_engine(settings.db_url)
    yield engine
    engine.dispose()


def statements(engine) -> tuple[list[str], object]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()[:3]))

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


def log_rows(staff_id: int, client_id: str, n: int) -> list[dict]:
    return [{"client_id": client_id, "mutation_id": f"m-{k}", "staff_id": staff_id,
             "name": "fix_note", "args": {"job_id": 7, "text": AWKWARD, "nested": [1, None, 2.5]},
             "device_time": AT + timedelta(seconds=k) if k % 2 else None,
             "received_at": AT, "seq": k + 1, "result": "applied",
             "message": AWKWARD if k == 0 else "", "job_id": None, "fact_id": None,
             "detail": {"messages": [["Fix note saved.", {"n": k}]], "flags": []}}
            for k in range(n)]


def stored(engine, model, order) -> list[dict]:
    table = model.__table__
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(order)).all()]


def test_copy_stores_what_the_insert_stores(engine, world):
    """The same rows, once through ``insert_rows`` and once through the plain INSERT, read
    back equal: JSON, instants with their zone, NULLs, awkward text."""
    staff = world.engineer.id
    seen, stop = statements(engine)
    with engine.begin() as conn:
        insert_rows(conn, ClientMutation.__table__, log_rows(staff, "bulk", 5))
        conn.execute(ClientMutation.__table__.insert(), log_rows(staff, "plain", 5))
    stop()
    table = ClientMutation.__table__
    with engine.connect() as conn:
        got = {c: [tuple(v for k, v in r._mapping.items() if k != "client_id")
                   for r in conn.execute(select(table).where(table.c.client_id == c)
                                         .order_by(table.c.seq)).all()]
               for c in ("bulk", "plain")}
    assert got["bulk"] == got["plain"]
    assert got["bulk"][0][3]["text"] == AWKWARD  # args kept exactly
    assert got["bulk"][1][4] == AT + timedelta(seconds=1)  # the instant, aware
    first = seen[0]
    if engine.dialect.name == "postgresql":
        assert first.startswith("COPY client_mutation"), seen
    else:
        assert first.startswith("INSERT INTO client_mutation"), seen


def test_copy_numbers_serial_keys_in_row_order_and_keeps_facts_floats_and_flags(engine, world):
    job = world.job
    facts = [{"id": f"f-{k}", "job_id": job.id, "request_id": job.request_id,
              "author_id": world.engineer.id, "kind": "check_in", "device_time": AT,
              "effective_at": AT, "received_at": AT, "lat": 31.2304 + k, "lon": 121.4737,
              "accuracy_m": 12.5, "distance_m": None, "data": {"outcome": "fixed"},
              "flagged": bool(k % 2), "flag_reason": AWKWARD, "flag_resolution": "",
              "flag_note": "", "flag_resolved_at": None, "flag_resolved_by": None}
             for k in range(3)]
    facts = [{k: v for k, v in f.items() if k in FieldFact.__table__.c} for f in facts]
    changes = [{"staff_id": None, "entity": "fact", "entity_id": f"f-{k}", "at": AT}
               for k in range(4)]
    with engine.begin() as conn:
        insert_rows(conn, FieldFact.__table__, facts)
        insert_rows(conn, ChangeRecord.__table__, changes)
    rows = stored(engine, FieldFact, FieldFact.__table__.c.id)
    assert [(r["id"], r["lat"], r["distance_m"], r["flagged"], r["flag_reason"], r["data"])
            for r in rows] == [(f"f-{k}", 31.2304 + k, None, bool(k % 2), AWKWARD,
                                {"outcome": "fixed"}) for k in range(3)]
    versions = [r["entity_id"] for r in stored(engine, ChangeRecord,
                                               ChangeRecord.__table__.c.version)
                if r["entity_id"].startswith("f-")]
    assert versions == [f"f-{k}" for k in range(4)]  # numbered in row order


def test_a_column_left_out_gets_its_python_default_through_the_insert(engine, world):
    """Audit rows without ``device``: COPY could not give its default (''), so the INSERT
    does, on both databases."""
    rows = [{"at": AT, "actor_id": world.engineer.id, "action": "job.note",
             "request_id": None, "entity": "job", "entity_id": "7", "details": {}}
            for _ in range(3)]
    seen, stop = statements(engine)
    with engine.begin() as conn:
        insert_rows(conn, AuditEntry.__table__, rows)
    stop()
    assert seen[0].startswith("INSERT INTO audit_entry"), seen
    table = AuditEntry.__table__
    with engine.connect() as conn:
        devices = conn.execute(select(table.c.device).where(table.c.action == "job.note")).all()
    assert [d for (d,) in devices] == ["", "", ""]


def test_a_duplicate_key_fails_as_the_insert_does_and_writes_nothing(engine, world):
    rows = log_rows(world.engineer.id, "twice", 3)
    with engine.begin() as conn:
        insert_rows(conn, ClientMutation.__table__, rows[:2])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_rows(conn, ClientMutation.__table__, rows[1:])  # m-1 again
    table = ClientMutation.__table__
    with engine.connect() as conn:
        ids = conn.execute(select(table.c.mutation_id).where(table.c.client_id == "twice")
                           .order_by(table.c.seq)).scalars().all()
    assert ids == ["m-0", "m-1"]


def test_a_database_gone_midway_is_an_outage_and_the_pool_recovers(engine, world, settings):
    """PostgreSQL: the connection's backend ends before the COPY; the caller sees an
    outage (``OUTAGE``: the sync applier retries), the connection is invalidated, and the
    next transaction on the engine works."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: no server to lose")
    killer = create_engine(settings.db_url, isolation_level="AUTOCOMMIT")
    rows = log_rows(world.engineer.id, "gone", 3)
    with pytest.raises(OperationalError) as caught, engine.begin() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        insert_rows(conn, ClientMutation.__table__, rows)
    killer.dispose()
    assert isinstance(caught.value, OUTAGE)
    assert caught.value.connection_invalidated
    with engine.begin() as conn:
        insert_rows(conn, ClientMutation.__table__, rows)
    assert len(stored(engine, ClientMutation, ClientMutation.__table__.c.seq)) == 3
