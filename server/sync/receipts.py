"""Receipts of sync pushes into ``sync_inbox``: group-committed, and first in line.

The pushes that arrive while one receipt is being written wait for it, then the first of
them writes all of theirs in one transaction (one fsync for the lot: SQLite's
synchronous=FULL, PostgreSQL's WAL flush). On SQLite's one write lock a receipt goes
before the inbox applier's next push (``server.sync.inbox``).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from server.db import durable_writes
from server.models import SyncInbox
from server.sync.writer import one_writer


def base_engine(engine: Any) -> Engine:
    """The engine itself, not a copy with execution options (one gate and one applier per
    database)."""
    return getattr(engine, "_proxied", engine)


class _Gate:
    """Receipts are written together and go before the applier's next push.

    Group commit: the pushes that arrive while one receipt is being written wait for it,
    then the first of them writes all of theirs in one transaction (one fsync for the
    lot). And on SQLite's one write lock a receipt goes before the applier's next push:
    it is one short INSERT, and an answer a phone is waiting for."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[_Receipt] = []
        self._writing = False

    def write(self, engine: Engine, rows: list[dict[str, Any]]) -> None:
        """Store these inbox rows durably, alone or with others' (raises what failed)."""
        mine = _Receipt(rows)
        with self._cond:
            self._waiting.append(mine)
            while not mine.done and self._writing:
                self._cond.wait()
            if mine.done:
                if mine.error is not None:
                    raise mine.error
                return
            self._writing = True
            batch, self._waiting = self._waiting, []
        try:
            _insert(engine, [row for receipt in batch for row in receipt.rows])
            errors: list[BaseException | None] = [None] * len(batch)
        except BaseException as exc:  # noqa: BLE001 - each receipt alone, to know whose it is
            errors = [exc] if len(batch) == 1 else [_alone(engine, r.rows) for r in batch]
        with self._cond:
            for receipt, error in zip(batch, errors, strict=True):
                receipt.done, receipt.error = True, error
            self._writing = False
            self._cond.notify_all()
        if mine.error is not None:
            raise mine.error

    def clear(self, timeout: float = 1.0) -> None:
        """Wait (bounded, so the applier is never starved) until no receipt is queued."""
        with self._cond:
            self._cond.wait_for(lambda: not self._waiting and not self._writing, timeout)


@dataclass
class _Receipt:
    rows: list[dict[str, Any]]
    done: bool = False
    error: BaseException | None = None


# a resend of a mutation still in the inbox is received once (built once per dialect)
_INSERTS = {name: dialect.insert(SyncInbox.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
    index_elements=["client_id", "mutation_id"])
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


def _insert(engine: Engine, rows: list[dict[str, Any]]) -> None:
    insert = _INSERTS["postgresql" if engine.dialect.name == "postgresql" else "sqlite"]
    # one transaction on a connection, no ORM session: a receipt is this one statement
    with one_writer(engine), durable_writes(engine).begin() as conn:
        conn.execute(insert, rows)


def _alone(engine: Engine, rows: list[dict[str, Any]]) -> BaseException | None:
    try:
        _insert(engine, rows)
    except BaseException as exc:  # noqa: BLE001 - handed to the push it belongs to
        return exc
    return None


_gates: weakref.WeakKeyDictionary[Engine, _Gate] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def gate(engine: Engine) -> _Gate:
    """The database's receipt gate (made on first use)."""
    with _lock:
        return _gates.setdefault(base_engine(engine), _Gate())
