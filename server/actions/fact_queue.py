"""A sync push's field facts, written with one INSERT instead of one ORM object each.

A push of twenty mutations keeps twenty facts; building each as a ``FieldFact`` and
flushing it through the ORM cost more than the rules themselves. While the sync layer's
fast path holds a push (``start`` .. ``finish``, ``server.sync.apply``), ``make`` gives a
plain ``Draft`` with the same fields and ``keep`` queues it. The queue is written, with
one executemany, before the session's next query, flush or commit, so a later
mutation's read sees every fact kept before it, just as with ORM objects. Elsewhere (the
careful path, a form post) ``make`` gives a ``FieldFact`` and ``keep`` adds it.

A draft may be changed until it is written: by its action before ``keep`` returns, or
through ``queued`` (the sync layer's clock flag, D8c). A savepoint rolled back forgets
the drafts queued inside it; drafts still waiting when a savepoint is entered cannot be
written inside it (its rollback would lose them), so that raises ``QueuedInSavepoint``
and the push takes the careful path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from server.models import FieldFact

_QUEUE = "fieldops_fact_queue"  # session.info: drafts kept, not written yet
_MARKS = "fieldops_fact_marks"  # session.info: len(queue) when each savepoint began
_INSERT = FieldFact.__table__.insert()  # type: ignore[attr-defined]
COLUMNS = tuple(FieldFact.__table__.columns.keys())  # type: ignore[attr-defined]


class QueuedInSavepoint(RuntimeError):
    """Facts were waiting when a savepoint began: the careful path applies the push."""


class Draft:
    """A field fact not written yet: ``FieldFact``'s columns as plain attributes."""

    __slots__ = COLUMNS

    def __init__(self, **values: Any) -> None:
        for name in COLUMNS:
            setattr(self, name, values[name] if name in values else _default(name))

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


def _default(name: str) -> Any:
    field = FieldFact.model_fields[name]
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return _DEFAULTS[name]


_DEFAULTS = {name: None if f.is_required() else f.default
             for name, f in FieldFact.model_fields.items()}


def start(db: Session) -> None:
    db.info[_QUEUE] = []


def finish(db: Session) -> None:
    """Write what waits and stop queueing (the push's end)."""
    write(db)
    db.info.pop(_QUEUE, None)
    db.info.pop(_MARKS, None)


def make(db: Session, **values: Any) -> FieldFact | Draft:
    return Draft(**values) if db.info.get(_QUEUE) is not None else FieldFact(**values)


def keep(db: Session, fact: FieldFact | Draft) -> None:
    if isinstance(fact, Draft):
        db.info[_QUEUE].append(fact)
    else:
        db.add(fact)


def stored(db: Session, fact: FieldFact | Draft) -> FieldFact:
    """The fact as an ORM object in the session, written now (other rows point at it)."""
    if isinstance(fact, Draft):
        fact = FieldFact(**fact.row())
    db.add(fact)
    db.flush()
    return fact


def queued(db: Session, fact_id: str) -> Draft | None:
    """The draft of this fact while it waits to be written."""
    for draft in reversed(db.info.get(_QUEUE) or ()):
        if draft.id == fact_id:
            return draft
    return None


def write(session: Session) -> None:
    queue = session.info.get(_QUEUE)
    if queue:
        if session.in_nested_transaction():
            raise QueuedInSavepoint(f"{len(queue)} facts waiting")
        rows = [draft.row() for draft in queue]
        queue.clear()
        session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush_context, _instances) -> None:  # noqa: ANN001
    write(session)


@event.listens_for(Session, "do_orm_execute")
def _before_query(state) -> None:  # noqa: ANN001 - ORMExecuteState
    if state.session.info.get(_QUEUE):
        write(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write(session)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction) -> None:  # noqa: ANN001 - SessionTransaction
    if transaction.nested and session.info.get(_QUEUE) is not None:
        session.info.setdefault(_MARKS, []).append(len(session.info[_QUEUE]))


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction) -> None:  # noqa: ANN001 - SessionTransaction
    if transaction.nested and session.info.get(_MARKS):
        session.info[_MARKS].pop()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    queue, marks = session.info.get(_QUEUE), session.info.get(_MARKS)
    if queue is None:
        return
    if session.in_nested_transaction() and marks:
        del queue[marks[-1]:]  # made inside the savepoint: undone with it
    elif not session.in_nested_transaction():
        queue.clear()
