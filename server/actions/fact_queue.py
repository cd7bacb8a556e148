"""A sync push's field facts, written in one statement (COPY on PostgreSQL, else an INSERT)
instead of one ORM object each.

A push of twenty mutations keeps twenty facts; building each as a ``FieldFact`` and
flushing it through the ORM cost more than the rules themselves. While the sync layer's
fast path holds a push (``start`` .. ``finish``, ``server.sync.apply``), ``make`` gives a
plain ``Draft`` with the same fields and ``keep`` queues it (``server.db_queue``: written
before the session's next query, flush or commit, forgotten with a savepoint rolled back).
Elsewhere (the careful path, a form post) ``make`` gives a ``FieldFact`` and ``keep`` adds it.

A draft may be changed until it is written: by its action before ``keep`` returns, or
through ``queued`` (the sync layer's clock flag, D8c). Drafts are never written inside a
savepoint (its rollback would lose those queued before it): that raises
``QueuedInSavepoint`` and the push takes the careful path.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from server import db_queue
from server.bulk import insert_rows
from server.models import FieldFact

_ON = "fieldops_fact_queue"  # session.info: set from start to finish: facts are queued
_TABLE = FieldFact.__table__  # type: ignore[attr-defined]
COLUMNS = tuple(FieldFact.__table__.columns.keys())  # type: ignore[attr-defined]


class QueuedInSavepoint(RuntimeError):
    """Facts would be written inside a savepoint: the careful path applies the push."""


class Draft:
    """A field fact not written yet: ``FieldFact``'s columns as plain attributes."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(_DEFAULTS)
        for name, factory in _FACTORIES.items():
            if name not in values:
                self.__dict__[name] = factory()
        self.__dict__.update(values)

    def row(self) -> dict[str, Any]:
        return {name: self.__dict__[name] for name in COLUMNS}


_FACTORIES = {name: f.default_factory for name, f in FieldFact.model_fields.items()
              if f.default_factory is not None}
_DEFAULTS = {name: None if f.is_required() else f.default
             for name, f in FieldFact.model_fields.items() if name not in _FACTORIES}


def start(db: Session) -> None:
    db.info[_ON] = True


def finish(db: Session) -> None:
    """Write what waits and stop queueing (the push's end)."""
    db_queue.write(db, "facts")
    db.info.pop(_ON, None)


def make(db: Session, **values: Any) -> FieldFact | Draft:
    return Draft(**values) if db.info.get(_ON) else FieldFact(**values)


def keep(db: Session, fact: FieldFact | Draft) -> None:
    if isinstance(fact, Draft):
        db_queue.add(db, "facts", fact)
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
    for draft in reversed(db_queue.items(db, "facts")):
        if draft.id == fact_id:
            return draft
    return None


def _write(session: Session, drafts: list[Draft]) -> None:
    if session.in_nested_transaction():
        raise QueuedInSavepoint(f"{len(drafts)} facts waiting")
    insert_rows(session.connection(), _TABLE, [draft.row() for draft in drafts])


db_queue.register("facts", _write, table=_TABLE.name)
