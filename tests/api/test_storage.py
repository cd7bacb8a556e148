"""When the database cannot write (issue 11): every write answers 503 with a readable
message, /healthz says the database is not writable, and the app recovers by itself.

The read-only database is real SQLite: ``PRAGMA query_only`` on every connection the
pool hands out makes each write fail with SQLITE_READONLY, as a read-only file does
(root ignores file permissions, so chmod cannot show it here). The disk-full and
PostgreSQL errors are told apart by ``cannot_write`` (unit cases below).
"""

from __future__ import annotations

import sqlite3

from litestar.testing import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from server.storage import cannot_write
from tests.conftest import form_post, login, text_of


def _read_only_switch(engine) -> dict:
    state = {"read_only": False}

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, _record, _proxy) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA query_only={'ON' if state['read_only'] else 'OFF'}")
        cur.close()

    engine.pool.dispose()  # connections made from now on go through the switch
    return state


def test_writes_answer_503_and_the_app_recovers_when_storage_comes_back(app, client, people):
    login(client, "admin")
    switch = _read_only_switch(app.state.engine)
    probe = TestClient(app=app)  # the monitor: no session, no cookies of the admin's
    assert probe.get("/healthz").json()["database_writable"] is True

    switch["read_only"] = True
    health = probe.get("/healthz")
    assert health.status_code == 503 and health.json()["database_writable"] is False
    new = {"username": "li.lei", "display_name": "李雷", "password": "long-enough-1",
           "roles": ["agent"]}  # fmt: skip
    r = form_post(client, "/admin/people/", new)
    assert r.status_code == 503, r.text[:300]
    assert "存储" in text_of(r.text) and r.headers["retry-after"] == "60"
    r = form_post(client, "/language", {"locale": "en"}, htmx=True)
    assert r.status_code in (503, 303)  # signed in: saved on the profile -> cannot write
    assert client.get("/admin/people").status_code == 200  # reading still works

    switch["read_only"] = False  # space is back: nothing to restart
    assert probe.get("/healthz").json()["database_writable"] is True
    assert form_post(client, "/admin/people/", new).status_code == 303


def _wrapped(orig: Exception) -> OperationalError:
    return OperationalError("INSERT ...", {}, orig)


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("could not extend file: No space left on device")
        self.sqlstate = sqlstate


def test_what_counts_as_cannot_write():
    assert cannot_write(_wrapped(sqlite3.OperationalError("database or disk is full")))
    assert cannot_write(_wrapped(sqlite3.OperationalError("attempt to write a readonly database")))
    assert cannot_write(_wrapped(_PgError("53100")))  # disk_full
    assert cannot_write(_wrapped(_PgError("25006")))  # read_only_sql_transaction
    assert not cannot_write(_wrapped(sqlite3.OperationalError("no such table: x")))
    assert not cannot_write(ValueError("database or disk is full"))


def test_a_sync_push_commits_with_synchronous_full_on_sqlite(app):
    """README "Durability": the phone deletes its copy when told "applied", so the push's
    transaction is synced to disk (FULL); other writes keep NORMAL (WAL). A read sets no
    level: it commits nothing."""
    from server.db import open_session, session_scope
    from server.models import AppMeta

    seen: list[str] = []

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def _record(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith(("PRAGMA synchronous", "BEGIN")):
            seen.append(statement)

    with session_scope(app.state.engine, write=True, durable=True) as db:
        db.add(AppMeta(key="durable", value="1"))
    with open_session(app.state.engine) as db:
        assert db.get(AppMeta, "durable") is not None
    with open_session(app.state.engine, write=True) as db:
        db.add(AppMeta(key="normal", value="1"))
        db.commit()
    assert seen == ["PRAGMA synchronous=FULL", "BEGIN IMMEDIATE", "BEGIN",
                    "PRAGMA synchronous=NORMAL", "BEGIN IMMEDIATE"]
