"""One writer at a time on SQLite, across the server's threads and its applier process.

SQLite takes one writer at a time; its busy handler makes the others poll with growing
sleeps (1, 2, 5, 10 ... ms), so fifty phones at once left the lock idle between pushes.
The sync paths (receipts, pushes, groups) queue here instead and hand the lock on at
once: a thread lock within a process, and an exclusive ``flock`` on a file beside the
database between the server and its applier process (``server.sync.applier_process``).
PostgreSQL needs no such thing.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from contextlib import nullcontext
from typing import Any

from sqlalchemy.engine import Engine


class SqliteWriter:
    """``with`` it: this thread is the database's one sync writer (blocks until it is)."""

    def __init__(self, database: str | None) -> None:
        self._thread_lock = threading.Lock()
        self._path = f"{database}-writer" if database and database != ":memory:" else ""
        self._fd: int | None = None

    def __enter__(self) -> SqliteWriter:
        self._thread_lock.acquire()
        try:
            if self._path:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                    weakref.finalize(self, os.close, self._fd)  # closed with the engine's
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # another process's writer: wait for it
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_writers: weakref.WeakKeyDictionary[Engine, SqliteWriter] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def one_writer(engine: Engine) -> Any:
    """The database's sync writer lock (SQLite), or a no-op (PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    engine = getattr(engine, "_proxied", engine)  # a copy with execution options: its base
    with _lock:
        found = _writers.get(engine)
        if found is None:
            found = _writers[engine] = SqliteWriter(engine.url.database)
        return found
