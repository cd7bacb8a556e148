"""When the database cannot write: disk full, a read-only file or volume (issue 11).

``cannot_write(exc)`` tells such a failure from any other database error, on SQLite
(SQLITE_FULL "database or disk is full", SQLITE_READONLY "attempt to write a readonly
database", SQLITE_IOERR "disk I/O error") and PostgreSQL (SQLSTATE class 53
"insufficient resources" such as 53100 disk_full, and 25006 read-only transaction).
Routes answer 503 with a readable message; ``/healthz`` probes with a real write. Nothing
is cached: the next write is simply tried again, so the app recovers by itself as soon
as there is space (or the file is writable) again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

_SQLITE_WORDS = ("database or disk is full", "readonly database", "disk i/o error",
                 "unable to open database file")  # fmt: skip
_PG_STATES = ("53", "25006")  # insufficient resources (disk full, out of memory); read-only


def cannot_write(exc: BaseException) -> bool:
    """True for a database error that says the storage cannot take a write."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if isinstance(state, str) and state.startswith(_PG_STATES):
        return True
    text = str(orig).lower()
    return any(word in text for word in _SQLITE_WORDS) or "no space left on device" in text


def probe_write(session: Session, now: datetime) -> None:
    """Write one row and commit: raises what a real write would. Used by /healthz."""
    from server.models import AppMeta

    row = session.get(AppMeta, "healthz.write_probe") or AppMeta(key="healthz.write_probe")
    row.value = now.isoformat()
    session.add(row)
    session.commit()
