"""The sync inbox's rows as the applier reads them: plain rows in receipt order, cut into
the pushes they came in, and pushes into groups applied together (``server.sync.applier``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, select

from server.models import SyncInbox


def chunks(pushes: list[tuple[str, list[Any]]],
           most: int) -> Iterator[list[tuple[str, list[Any]]]]:
    """Consecutive runs of pushes of at most ``most`` mutations in all (one push at least)."""
    chunk: list[tuple[str, list[Any]]] = []
    size = 0
    for push in pushes:
        if chunk and size + len(push[1]) > most:
            yield chunk
            chunk, size = [], 0
        chunk.append(push)
        size += len(push[1])
    if chunk:
        yield chunk


# Built once (a statement built per call computes its cache key again each time).
_INBOX = select(*SyncInbox.__table__.columns).order_by(SyncInbox.id)  # type: ignore[attr-defined]
_OLDEST = _INBOX.limit(bindparam("limit"))
_OF_CLIENT = _INBOX.where(SyncInbox.client_id == bindparam("client_id"))
_QUEUED_FOR = select(SyncInbox.id).where(SyncInbox.client_id == bindparam("client_id")).limit(1)


def oldest(db: Session, limit: int) -> list[Any]:
    """Up to ``limit`` inbox rows in receipt order, as plain rows (a round reads up to
    ``BATCH_ROWS``: no ORM objects to build and track)."""
    return list(db.connection().execute(_OLDEST, {"limit": limit}).all())


def of_client(db: Session, client_id: str) -> list[Any]:
    """This phone's inbox rows in receipt order, as plain rows."""
    return list(db.connection().execute(_OF_CLIENT, {"client_id": client_id}).all())


def any_for(db: Session, client_id: str) -> bool:
    """Whether the inbox holds a row of this phone."""
    return db.connection().execute(_QUEUED_FOR, {"client_id": client_id}).first() is not None


def row_key(row: Any) -> tuple[Any, ...]:
    """An inbox row, told apart from a later one (SQLite reuses a deleted row's id)."""
    return row.id, row.client_id, row.mutation_id, row.received_at


def by_client(rows: list[Any]) -> dict[str, list[list[Any]]]:
    """Rows per client in receipt order, cut into the pushes they came in (one person,
    one sending moment: ``apply_push`` corrects a push's device times together, D8c)."""
    out: dict[str, list[list[Any]]] = {}
    for row in rows:
        pushes = out.setdefault(row.client_id, [])
        last = pushes[-1][-1] if pushes else None
        if last is not None and (last.staff_id, last.sent_at, last.received_at) == \
                (row.staff_id, row.sent_at, row.received_at) and len(pushes[-1]) < 100:
            pushes[-1].append(row)
        else:
            pushes.append([row])
    return out


def args_of(stored: str) -> dict[str, Any]:
    try:
        value = json.loads(stored)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
