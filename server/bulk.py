"""Many rows into one table in one statement: PostgreSQL's COPY, else an executemany INSERT.

A sync push's writes are rows of a few tables (its facts, log entries, change records and
audit entries: about 70 rows for 20 mutations). ``conn.execute(table.insert(), rows)``
sends them as one pipelined executemany, and psycopg and PostgreSQL then still bind,
plan and execute each row as a statement of its own. ``COPY table (columns) FROM STDIN``
streams them into the table as one statement instead (issue 18; the figures are in
``bench/README.md``). The values go through the same type processing as an INSERT's (the
columns' bind processors), so what is stored is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_Processors = list[tuple[str, Callable[[Any], Any] | None]]
_plans: dict[tuple[Table, frozenset[str]], tuple[str, _Processors] | None] = {}


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (column name -> value; every row with the same keys) into ``table``,
    in the connection's transaction, as ``conn.execute(table.insert(), rows)`` does.

    On PostgreSQL, two rows or more whose keys leave out no column that needs a value from
    Python (a column default, or NOT NULL with no server default) go in by COPY; otherwise,
    and on SQLite, by the INSERT. Raises what the INSERT would: SQLAlchemy's
    ``IntegrityError`` for a duplicate key, ``OperationalError`` when the database is gone
    (the connection is then invalidated, as SQLAlchemy does for its own statements)."""
    if not rows:
        return
    keys = rows[0].keys()
    plan = None
    if conn.dialect.name == "postgresql" and len(rows) > 1 and all(r.keys() == keys for r in rows):
        plan = _plan(conn, table, frozenset(keys))
    if plan is None:
        conn.execute(table.insert(), list(rows))
        return
    statement, processors = plan
    dbapi_conn = conn.connection.dbapi_connection
    conn.dispatch.before_cursor_execute(conn, None, statement, rows, None, True)
    cursor = dbapi_conn.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] if process is None or row[name] is None
                                else process(row[name]) for name, process in processors])
    except conn.dialect.loaded_dbapi.Error as exc:
        invalidated = conn.dialect.is_disconnect(exc, dbapi_conn, cursor)
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error,
                                  connection_invalidated=invalidated,
                                  dialect=conn.dialect) from exc
    finally:
        cursor.close()


def _plan(conn: Connection, table: Table, keys: frozenset[str]) -> tuple[str, _Processors] | None:
    """The COPY statement and each column's bind processor for rows with these keys; None
    when a column left out needs a value from Python (the INSERT then supplies it)."""
    found = _plans.get((table, keys), False)
    if found is not False:
        return found  # type: ignore[return-value]
    columns = [c for c in table.columns if c.name in keys]
    left_out = [c for c in table.columns if c.name not in keys]
    serial = table.autoincrement_column  # an integer key the database numbers itself
    needs_python = any(c.default is not None or (not c.nullable and c.server_default is None
                                                  and c is not serial) for c in left_out)
    if needs_python or len(columns) != len(keys):
        plan = None
    else:
        quote = conn.dialect.identifier_preparer
        statement = (f"COPY {quote.format_table(table)} "
                     f"({', '.join(quote.quote(c.name) for c in columns)}) FROM STDIN")
        plan = (statement, [(c.name, c.type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
                            for c in columns])
    _plans[(table, keys)] = plan
    return plan
