"""Engine and session wiring. SQLite gets WAL and foreign keys; PostgreSQL is used as is."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from server import clock

# the request threads (32, ``server.app``), anyio's 40 worker threads (the session
# store's reads), the appliers and the background loop: each holds one connection at a
# time, and never all at once
SQLITE_POOL = 50


def make_engine(url: str, durable_sync: bool = True) -> Engine:
    if url.startswith("sqlite"):
        # As many pooled connections as threads that may each hold one at once: a
        # connection opened past the pool is closed again after its one use, and opening
        # one (with its pragmas) costs more than the read a receipt makes on it (issue 18).
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=SQLITE_POOL, max_overflow=SQLITE_POOL)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # A writing transaction takes the write lock at BEGIN, so two writers queue on
        # busy_timeout instead of one failing when it upgrades a read lock mid-way.
        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            options = conn.get_execution_options()
            if options.get("fieldops_autocommit", False):
                return  # one statement, its own implicit read transaction (``autocommit``)
            write = options.get("fieldops_write", False)
            # Durability (README "Durability"): WAL with synchronous=NORMAL may lose the last
            # commits on a power cut; a sync push is answered "applied" and the phone then
            # deletes its copy, so its transaction is synced to disk first (FULL).
            if not write:  # a read commits nothing to sync: its connection's level stays
                conn.exec_driver_sql("BEGIN")
                return
            durable = durable_sync and options.get("fieldops_durable", False)
            level = "FULL" if durable else "NORMAL"
            if conn.info.get("fieldops_synchronous") != level:  # only when it changes
                conn.exec_driver_sql("PRAGMA synchronous=" + level)
                conn.info["fieldops_synchronous"] = level
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def open_session(engine: Engine, write: bool = False, durable: bool = False) -> Session:
    """A session; ``write`` takes SQLite's write lock at BEGIN; ``durable`` commits with
    synchronous=FULL on SQLite (the fsync before the answer; no effect on PostgreSQL,
    which always syncs its WAL at commit)."""
    if durable:
        bind = durable_writes(engine)
    elif write:
        bind = engine.execution_options(fieldops_write=True)
    else:
        bind = engine
    return Session(bind, expire_on_commit=False)


def durable_writes(engine: Engine) -> Engine:
    """The engine for a write transaction committed to disk before its answer (SQLite:
    the write lock at BEGIN, synchronous=FULL; see ``open_session``)."""
    return engine.execution_options(fieldops_write=True, fieldops_durable=True)


_autocommit: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def autocommit(engine: Engine) -> Engine:
    """The engine for work that needs no transaction of its own: one read statement, or a
    session-level advisory lock. Its connections run without BEGIN and COMMIT/ROLLBACK:
    on PostgreSQL two round trips fewer each time; on SQLite each statement is its own
    implicit read transaction (no BEGIN statement; the end is a no-op).
    Never for writes: on SQLite they would not take the write lock first."""
    found = _autocommit.get(engine)
    if found is None:
        options = ({"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql"
                   else {"fieldops_autocommit": True})
        found = _autocommit[engine] = engine.execution_options(**options)
    return found


@contextmanager
def session_scope(engine: Engine, write: bool = True, durable: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with open_session(engine, write, durable) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def utcnow() -> datetime:
    """Now in UTC, from the server's one clock (``server.clock``)."""
    return clock.utcnow()
