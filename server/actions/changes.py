"""What changed, for whom: the version counter /sync/pull reads and the live board hears.

An action calls ``changed(db, "job", job.id, staff_ids=[...])`` for every record it
touches. That writes a ChangeRecord row (its autoincrement ``version`` is the server's
version counter) in the same transaction, once per record and person however often the
transaction touches it (a sync push of twenty notes on one request writes one row for
the request), and after the transaction commits, the listeners registered with
``on_commit`` (the live board's server-sent events) hear about it, once per transaction.
The rows are queued and written together, with one INSERT, at the session's next flush,
query or commit, whichever comes first.

Savepoints: releasing one announces nothing yet (its changes are not visible to anyone
until the whole transaction commits); rolling one back forgets the changes made inside
it and keeps the ones before. Nothing is announced for a transaction that rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import event
from sqlmodel import Session

from server.db import utcnow
from server.models import ChangeRecord


@dataclass(frozen=True)
class Change:
    entity: str  # request | job | fact | shift | roster | unit | notification
    entity_id: str
    staff_ids: tuple[int, ...]  # who should hear (empty: everyone on the board)
    request_id: int | None = None


_listeners: list[Callable[[list[Change]], None]] = []
_INSERT = ChangeRecord.__table__.insert()  # type: ignore[attr-defined]
_PENDING = "fieldops_changes"  # session.info: this transaction's changes, in order
_WRITTEN = "fieldops_change_rows"  # session.info: (entity, id, staff id) rows written
_MARKS = "fieldops_change_marks"  # session.info: len(pending) when each savepoint began
_QUEUE = "fieldops_change_queue"  # session.info: [(len(pending) then, row values)] unwritten


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
    db.connection()  # the transaction has begun: the rows belong to it
    ids = tuple(sorted({s for s in staff_ids if s is not None}))
    key, at = str(entity_id), utcnow()
    written = db.info.setdefault(_WRITTEN, set())
    pending = db.info.setdefault(_PENDING, [])
    for staff_id in ids or (None,):
        if (entity, key, staff_id) not in written:  # one row per transaction is enough
            written.add((entity, key, staff_id))
            db.info.setdefault(_QUEUE, []).append((len(pending), {
                "staff_id": staff_id, "entity": entity, "entity_id": key, "at": at}))
    change = Change(entity, key, ids, request_id)
    if change not in pending[-8:]:  # the same change again: said once
        pending.append(change)


def _write(session: Session) -> None:
    """The queued rows, with one plain INSERT (no ORM objects to track)."""
    queue = session.info.get(_QUEUE)
    if queue:
        rows = [row for _, row in queue]
        queue.clear()
        session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush_context, _instances) -> None:  # noqa: ANN001
    _write(session)


@event.listens_for(Session, "do_orm_execute")
def _before_query(state) -> None:  # noqa: ANN001 - ORMExecuteState
    if state.session.info.get(_QUEUE):  # a query in this transaction sees them too
        _write(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write(session)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction) -> None:  # noqa: ANN001 - SessionTransaction
    if transaction.nested:
        session.info.setdefault(_MARKS, []).append(len(session.info.get(_PENDING, ())))


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction) -> None:  # noqa: ANN001 - SessionTransaction
    if transaction.nested:
        if session.info.get(_MARKS):
            session.info[_MARKS].pop()
    elif transaction.parent is None:  # committed (announced), rolled back or closed
        for key in (_PENDING, _WRITTEN, _MARKS, _QUEUE):
            session.info.pop(key, None)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: not visible to anyone yet
        return
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for listener in list(_listeners):
        try:
            listener(pending)
        except Exception:  # noqa: BLE001 - a broken listener must not break the commit
            import logging

            logging.getLogger(__name__).exception("change listener failed")


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    marks = session.info.get(_MARKS)
    if session.in_nested_transaction() and marks:
        # a savepoint rolled back: forget what was changed inside it, keep what came before
        pending = session.info.get(_PENDING, [])
        del pending[marks[-1]:]
        session.info[_WRITTEN] = {(c.entity, c.entity_id, s)
                                  for c in pending for s in c.staff_ids or (None,)}
        queue = session.info.get(_QUEUE)
        if queue:
            queue[:] = [(at, row) for at, row in queue if at < marks[-1]]
        return
    session.info.pop(_PENDING, None)
