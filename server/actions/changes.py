"""What changed, for whom: the version counter /sync/pull reads and the live board hears.

An action calls ``changed(db, "job", job.id, staff_ids=[...])`` for every record it
touches. That writes a ChangeRecord row (its autoincrement ``version`` is the server's
version counter) in the same transaction, once per record and person however often the
transaction touches it (a sync push of twenty notes on one request writes one row for
the request), and after the transaction commits, the listeners registered with
``on_commit`` (the live board's server-sent events) hear about it, once per transaction.
The rows are queued and written together, with one INSERT, at the session's next flush,
query or commit, whichever comes first (``server.db_queue``).

Savepoints: releasing one announces nothing yet (its changes are not visible to anyone
until the whole transaction commits); rolling one back forgets the changes made inside
it and keeps the ones before. Nothing is announced for a transaction that rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import event
from sqlmodel import Session

from server import db_queue
from server.bulk import insert_rows
from server.db import utcnow
from server.models import ChangeRecord


@dataclass(frozen=True)
class Change:
    entity: str  # request | job | fact | shift | roster | unit | notification
    entity_id: str
    staff_ids: tuple[int, ...]  # who should hear (empty: everyone on the board)
    request_id: int | None = None


_listeners: list[Callable[[list[Change]], None]] = []
_TABLE = ChangeRecord.__table__  # type: ignore[attr-defined]
_ROWS = "change_rows"  # db_queue queue: the rows not written yet
_PENDING = "changes"  # db_queue list: this transaction's changes, to announce after commit
_KEYS = "change_keys"  # db_queue list: (entity, id, staff id) of each row queued
_SEEN = "fieldops_change_keys"  # session.info: set(_KEYS), for the lookup


def on_commit(listener: Callable[[list[Change]], None]) -> None:
    """Register a listener called with each committed transaction's changes."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: Callable[[list[Change]], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def changed(
    db: Session,
    entity: str,
    entity_id: object,
    staff_ids: Iterable[int | None] = (),
    request_id: int | None = None,
) -> None:
    if not db.in_transaction():
        db.connection()  # the transaction has begun: the rows belong to it
    ids = tuple(sorted({s for s in staff_ids if s is not None}))
    key, at = str(entity_id), utcnow()
    keys, pending = db_queue.items(db, _KEYS), db_queue.items(db, _PENDING)
    seen = db.info.get(_SEEN)
    if seen is None or len(seen) != len(keys):  # a new transaction, or a savepoint rolled back
        seen = db.info[_SEEN] = set(keys)
    for staff_id in ids or (None,):
        if (entity, key, staff_id) not in seen:  # one row per transaction is enough
            seen.add((entity, key, staff_id))
            keys.append((entity, key, staff_id))
            db_queue.add(db, _ROWS, {"staff_id": staff_id, "entity": entity,
                                     "entity_id": key, "at": at})
    change = Change(entity, key, ids, request_id)
    if change not in pending[-8:]:  # the same change again: said once
        pending.append(change)


# the rows in one statement (no ORM objects to track): COPY on PostgreSQL (server.bulk)
db_queue.register(_ROWS, lambda session, rows: insert_rows(session.connection(), _TABLE, rows),
                  table=_TABLE.name)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: not visible to anyone yet
        return
    pending = db_queue.items(session, _PENDING)
    if pending:
        announce(pending)


def announce(batch: list[Change]) -> None:
    """Tell the listeners what one committed transaction changed (also for a transaction
    committed in the applier process: ``server.sync.applier_process``)."""
    for listener in list(_listeners):
        try:
            listener(batch)
        except Exception:  # noqa: BLE001 - a broken listener must not break the commit
            logging.getLogger(__name__).exception("change listener failed")
