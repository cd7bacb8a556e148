"""Live updates on PostgreSQL: one long-lived NOTIFY connection per process (issue 18)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import create_engine, text

from server.live import CHANNEL, _pg_backend, libpq_dsn

pytestmark = pytest.mark.postgres


def test_notifies_share_one_connection_and_survive_a_dropped_one(pg_url, monkeypatch):
    opened = []
    real_connect = psycopg.AsyncConnection.connect

    async def counting_connect(*args, **kwargs):
        conn = await real_connect(*args, **kwargs)
        opened.append(conn)
        return conn

    monkeypatch.setattr(psycopg.AsyncConnection, "connect", counting_connect)

    async def scenario() -> list[bytes]:
        backend = _pg_backend(libpq_dsn(pg_url))
        await backend.on_startup()
        await backend.subscribe([CHANNEL])
        got: list[bytes] = []

        async def collect(n: int) -> None:
            async for _channel, payload in backend.stream_events():
                got.append(payload)
                if len(got) == n:
                    return

        try:
            reader = asyncio.create_task(collect(31))
            for i in range(30):
                await backend.publish(f'{{"n": {i}}}'.encode(), [CHANNEL])
            assert len(opened) == 2, "the listener and one publisher, not one per message"
            # PostgreSQL drops the publisher's connection: the next message reconnects once.
            pid = backend._publisher.info.backend_pid
            engine = create_engine(pg_url)
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            engine.dispose()
            await backend.publish(b'{"n": 30}', [CHANNEL])
            await asyncio.wait_for(reader, 30)
        finally:
            await backend.on_shutdown()
        return got

    got = asyncio.run(scenario())
    assert [int(p.decode().split(":")[1].strip(" }")) for p in got] == list(range(31))
    assert len(opened) == 3
