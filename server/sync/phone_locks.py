"""One process at a time applies a phone's inbox rows.

PostgreSQL: a session-level advisory lock keyed by the client id (``pg_try_advisory_lock``,
never waited for: a phone another process applies now is left to it). SQLite: nothing to
take. The server and its applier process (``server.sync.applier_process``) may both apply
a phone's rows, one push at a time under the one writer's lock (``server.sync.writer``);
each push reads the log in its own transaction, so the second answers from it (duplicate
work, never a second apply). Within a process the applier keeps its own set of the phones
being applied (``server.sync.applier``).
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from server.db import autocommit

LOCK_CLASS = 18  # the first key of every advisory lock on a phone's inbox

_TRY_ONE = text(f"SELECT pg_try_advisory_lock({LOCK_CLASS}, :k)")
_UNLOCK_ONE = text(f"SELECT pg_advisory_unlock({LOCK_CLASS}, :k)")
_TRY_MANY = text(f"SELECT k FROM unnest(CAST(:keys AS integer[])) AS k "
                 f"WHERE pg_try_advisory_lock({LOCK_CLASS}, k)")
_UNLOCK_MANY = text(f"SELECT pg_advisory_unlock({LOCK_CLASS}, k) "
                    f"FROM unnest(CAST(:keys AS integer[])) AS k")


def lock_key(client_id: str) -> int:
    """The phone's advisory lock key (a 32-bit signed integer; two phones may share one,
    and then take turns)."""
    return zlib.crc32(client_id.encode()) - 2**31


class phone_lock:  # noqa: N801 - used as a context manager
    """``with phone_lock(engine, client_id) as mine:`` ``mine`` is False when another
    process applies this phone now (PostgreSQL; one autocommit connection, held until
    the block ends)."""

    def __init__(self, engine: Engine, client_id: str) -> None:
        self.engine, self.key = engine, lock_key(client_id)
        self.conn: Any = None

    def __enter__(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        self.conn = autocommit(self.engine).connect()  # a session lock: no transaction
        got = self.conn.execute(_TRY_ONE, {"k": self.key}).scalar()
        if not got:
            self.conn.close()
            self.conn = None
        return bool(got)

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(_UNLOCK_ONE, {"k": self.key})
            finally:
                self.conn.close()


class phone_locks:  # noqa: N801 - used as a context manager
    """``with phone_locks(engine, client_ids) as mine:`` the set of those phones no other
    process applies now, locked until the block ends: one statement on one connection
    for them all (a group of phones' pushes, ``server.sync.apply.apply_group``)."""

    def __init__(self, engine: Engine, client_ids: list[str]) -> None:
        self.engine, self.client_ids = engine, client_ids
        self.keys = {c: lock_key(c) for c in client_ids}
        self.conn: Any = None
        self.held: list[int] = []

    def __enter__(self) -> set[str]:
        if self.engine.dialect.name != "postgresql":
            return set(self.client_ids)
        if not self.keys:
            return set()
        self.conn = autocommit(self.engine).connect()
        try:
            self.held = list(self.conn.execute(
                _TRY_MANY, {"keys": sorted(set(self.keys.values()))}).scalars())
        except BaseException:
            self.conn.close()
            self.conn = None
            raise
        held = set(self.held)
        return {c for c, k in self.keys.items() if k in held}

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            try:
                if self.held:
                    self.conn.execute(_UNLOCK_MANY, {"keys": self.held})
            finally:
                self.conn.close()
