"""Lists kept on a session for one transaction, some of them written together.

``items(db, name)`` is the transaction's list under that name. ``register(name, write)``
makes it a queue: ``add(db, name, *items)`` queues items, and before the session's next
ORM query, flush or commit the queue is written at once, ``write(session, items)`` (a
multi-row INSERT, say), and emptied, so later reads see its rows as they would ORM
objects. A writer that raises leaves its items queued.

A queue registered with its ``table`` may wait through a query made ``reading(session,
*tables)`` other tables (the caller's word for what that block reads), so a push's audit and
change rows go in one INSERT each rather than one before every read in between.

A savepoint rolled back forgets the items added inside it and keeps those added before,
queued again if they were first written inside it (the database undid that write); the
outer transaction's end (commit, rollback or close) forgets every list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

_LISTS = "fieldops_lists"  # session.info: {name: [items]} for this transaction
_DUE = "fieldops_due"  # session.info: set by add(): a queue may wait to be written
_MARKS = "fieldops_marks"  # session.info: per open savepoint, [(name, list, its length then)]
# Written in registration order (import order; in the app: change rows, then facts). The
# order does not matter: no queued table refers to another; all share one transaction.
_writers: dict[str, Callable[[Session, list[Any]], None]] = {}
_tables: dict[str, str] = {}  # queue -> the one table its rows go to, if registered with it
_READING = "fieldops_reading"  # session.info: the tables the queries now read (reading())


def register(name: str, write: Callable[[Session, list[Any]], None], table: str = "") -> None:
    """``write(session, items)`` writes a queue's items; ``table``: the only table they go
    to (they may then wait through queries ``reading`` other tables)."""
    _writers[name] = write
    if table:
        _tables[name] = table


@contextmanager
def reading(session: Session, *tables: str) -> Iterator[None]:
    """Within: the session's queries read only ``tables`` (table names), so queues bound for
    other tables are not written before them."""
    before = session.info.get(_READING)
    session.info[_READING] = frozenset(tables)
    try:
        yield
    finally:
        if before is None:
            session.info.pop(_READING, None)
        else:
            session.info[_READING] = before


def items(session: Session, name: str) -> list[Any]:
    return session.info.setdefault(_LISTS, {}).setdefault(name, [])


def add(session: Session, name: str, *new: Any) -> None:
    items(session, name).extend(new)
    session.info[_DUE] = True


def write(session: Session, name: str | None = None) -> None:
    """Write what is queued (in queue ``name`` only, if given)."""
    lists = session.info.get(_LISTS) or {}
    for key, writer in _writers.items():
        if name in (None, key) and lists.get(key):
            writer(session, lists[key])
            del lists[key]  # what comes next goes to a new list (see _forget)
    if name is None:
        session.info.pop(_DUE, None)


@event.listens_for(Session, "do_orm_execute")
def _before_query(state) -> None:  # noqa: ANN001 - ORMExecuteState
    session = state.session
    if not session.info.get(_DUE):  # all that a query pays when nothing is queued
        return
    read = session.info.get(_READING)
    if read is None:
        write(session)
        return
    lists = session.info.get(_LISTS) or {}
    queued = [key for key in _writers if lists.get(key)]
    due = [key for key in queued if key not in _tables or _tables[key] in read]
    for key in due:
        write(session, key)
    if len(due) == len(queued):
        session.info.pop(_DUE, None)


event.listen(Session, "before_flush", lambda session, _context, _instances: write(session))
event.listen(Session, "before_commit", write)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction) -> None:  # noqa: ANN001 - SessionTransaction
    if transaction.nested:
        lists = (session.info.get(_LISTS) or {}).items()
        session.info.setdefault(_MARKS, []).append([(k, v, len(v)) for k, v in lists])


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction) -> None:  # noqa: ANN001 - SessionTransaction
    if transaction.nested:
        session.info[_MARKS].pop()
    elif transaction.parent is None:  # committed, rolled back or closed
        for key in (_LISTS, _DUE, _MARKS):
            session.info.pop(key, None)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_nested_transaction():
        return  # the outer transaction: _end forgets everything
    # A savepoint: a list it began with keeps its items from before. A queue written since
    # it began is a new list, with nothing from before; the items of its old list from
    # before the savepoint were written inside it, and the database has just undone that:
    # they are queued again.
    lists = session.info.setdefault(_LISTS, {})
    marked = {k: (v, n) for k, v, n in session.info[_MARKS][-1]}
    for name in set(lists) | set(marked):
        v, n = marked.get(name, (None, 0))
        if v is not None and lists.get(name) is v:
            del v[n:]
        elif v is not None and n and name in _writers:
            lists[name] = v[:n]
            session.info[_DUE] = True
        else:
            lists.pop(name, None)
