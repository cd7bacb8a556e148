"""The SQLite engine's pool and its reads without a transaction (issue 18)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text

from server.db import SQLITE_POOL, autocommit, make_engine


def _statements(engine) -> list[str]:  # noqa: ANN001
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: seen.append(statement))
    return seen


def test_connections_are_kept_for_the_threads_that_use_them_at_once(tmp_path: Path):
    """40 threads each holding a connection: every one goes back to the pool, so the
    next burst opens none (opening one, with its pragmas, costs more than a receipt's read)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    opened: list[object] = []
    event.listen(engine, "connect", lambda *a: opened.append(a))
    held = [engine.connect() for _ in range(40)]
    for conn in held:
        conn.close()
    assert len(opened) == 40 and engine.pool.checkedin() == 40
    again = [engine.connect() for _ in range(40)]
    for conn in again:
        conn.close()
    assert len(opened) == 40  # none opened for the second burst
    assert SQLITE_POOL >= 40
    engine.dispose()


def test_a_read_without_a_transaction_sends_no_begin(tmp_path: Path):
    """``autocommit``: one statement is its own read on SQLite (no BEGIN, nothing to end);
    a read on the engine itself still runs in a transaction."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    seen = _statements(engine)
    with autocommit(engine).connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert seen == ["SELECT 1"]
    seen.clear()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert seen[-2:] == ["BEGIN", "SELECT 1"]
    engine.dispose()
