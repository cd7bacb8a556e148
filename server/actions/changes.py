"""What changed, for whom: the version counter /sync/pull reads and the live board hears.

An action calls ``changed(db, "job", job.id, staff_ids=[...])`` for every record it
touches. That writes a ChangeRecord row (its autoincrement ``version`` is the server's
version counter) in the same transaction, and after the transaction commits, the
listeners registered with ``on_commit`` (the live board's server-sent events) hear
about it. Nothing is announced for a transaction that rolled back.
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
_PENDING = "fieldops_changes"


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
    ids = tuple(sorted({s for s in staff_ids if s is not None}))
    at = utcnow()
    for staff_id in ids or (None,):
        db.add(ChangeRecord(staff_id=staff_id, entity=entity, entity_id=str(entity_id), at=at))
    db.info.setdefault(_PENDING, []).append(Change(entity, str(entity_id), ids, request_id))


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
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
    session.info.pop(_PENDING, None)
