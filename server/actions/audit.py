"""Writing the audit log; a request's entries are its timeline."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlmodel import Session

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
) -> AuditEntry:
    entry = AuditEntry(
        at=at or utcnow(),
        actor_id=actor_id,
        action=action,
        request_id=request_id,
        entity=entity,
        entity_id=str(entity_id)[:36],  # the column's size: a 40-char typed username (issue 11)
        device=current_device.get()[:64],
        details=details,
    )
    db.add(entry)
    return entry
