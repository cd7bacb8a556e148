"""Writing the audit log; a request's entries are its timeline.

Entries are queued on the session and written together, one statement for the lot (an
INSERT; COPY on PostgreSQL, ``server.bulk``), at its next query, flush or commit
(``server.db_queue``), as the change rows are: a sync push that records twenty facts
writes one statement for their entries, not one per flush."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlmodel import Session

from server import db_queue
from server.bulk import insert_rows
from server.db import utcnow
from server.models import AuditEntry

# The device the current change comes from: set per HTTP request (browser and address),
# by sync replay (the phone's client id) and by the background loop ('server').
current_device: ContextVar[str] = ContextVar("audit_device", default="server")


def record(
    db: Session,
    action: str,
    actor_id: int | None,
    *,
    request_id: int | None = None,
    entity: str = "",
    entity_id: Any = "",
    at: datetime | None = None,
    **details: Any,
) -> None:
    """Queue one entry in ``db``'s transaction (a savepoint rolled back forgets it).

    ``entity_id`` is cut to the column's 36 characters; ``details``: JSON-able values."""
    if not db.in_transaction():
        db.connection()  # the transaction has begun: the entry belongs to it
    db_queue.add(db, _ENTRIES, {
        "at": at or utcnow(),
        "actor_id": actor_id,
        "action": action,
        "request_id": request_id,
        "entity": entity,
        "entity_id": str(entity_id)[:36],  # the column's size: a 40-char typed username (issue 11)
        "device": current_device.get()[:64],
        "details": details,
    })  # fmt: skip


_ENTRIES = "audit_entries"  # db_queue queue: the entries not written yet
_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
db_queue.register(_ENTRIES, lambda session, rows: insert_rows(session.connection(), _TABLE, rows),
                  table=_TABLE.name)
