"""Live updates: every committed change is fanned out to the connected screens.

``server.actions.changes`` calls its after-commit listeners with each transaction's
changes. The listener installed here publishes a small message (the ids of the
requests and people concerned, never their data) on one channel of Litestar's
channels plugin; ``GET /events`` (server-sent events, ``server.routes.board``) relays it
to every connected board and engineer list, which then re-fetch their fragment.

Backends: in memory for SQLite (one server process); PostgreSQL LISTEN/NOTIFY through
psycopg for several processes on one database, so a change committed by one process
reaches the browsers connected to any other.

One hub (plugin, backend, bridge) per event loop running the app's lifespan, made inside
that lifespan (``lifespan``) and found by the running loop (``hub``): its queues, locks,
tasks and connections belong to that loop. A server runs one lifespan per process; a
harness that runs a second one on another loop (schemathesis' ASGI client beside the
test client) gets a hub of its own instead of corrupting the first one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from sqlalchemy.engine import make_url

from server.actions import changes

CHANNEL = "fieldops_changes"  # a plain identifier: it is a LISTEN channel on PostgreSQL
MAX_IDS = 200  # a NOTIFY payload stays far below PostgreSQL's 8000 bytes

log = logging.getLogger(__name__)


def channels_plugin(settings: Any) -> ChannelsPlugin:
    """A new, not yet started plugin (``async with`` starts it); call it in the loop that
    will use it."""
    if settings.is_sqlite:
        backend: Any = MemoryChannelsBackend()
    else:
        backend = _pg_backend(libpq_dsn(settings.db_url))
    return ChannelsPlugin(backend=backend, channels=[CHANNEL])


def _pg_backend(dsn: str) -> Any:
    """Litestar's LISTEN/NOTIFY backend, publishing over one long-lived connection per process.

    The stock backend opens a new PostgreSQL connection for every NOTIFY (most of the event
    loop's time under load); this one keeps a second connection open beside the listener's,
    reconnecting once if PostgreSQL dropped it.
    """
    import psycopg
    from litestar.channels.backends.psycopg import PsycoPgChannelsBackend
    from psycopg.sql import SQL, Identifier

    class PersistentPublisher(PsycoPgChannelsBackend):
        _publisher: psycopg.AsyncConnection | None = None
        _publish_lock: asyncio.Lock | None = None

        async def publish(self, data: bytes, channels: Any) -> None:
            text = data.decode("utf-8")
            if self._publish_lock is None:
                self._publish_lock = asyncio.Lock()
            async with self._publish_lock:
                for attempt in (1, 2):
                    if self._publisher is None or self._publisher.closed:
                        self._publisher = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
                    try:
                        for channel in channels:
                            await self._publisher.execute(
                                SQL("NOTIFY {channel}, {data}").format(channel=Identifier(channel),
                                                                      data=text))
                        return
                    except psycopg.OperationalError:
                        await self._publisher.close()
                        self._publisher = None
                        if attempt == 2:
                            raise

        async def on_shutdown(self) -> None:
            await super().on_shutdown()
            if self._publisher is not None:
                await self._publisher.close()
                self._publisher = None

    return PersistentPublisher(dsn)


def libpq_dsn(url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy) as the ``postgresql://...`` psycopg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def message(batch: list[changes.Change]) -> dict[str, Any]:
    """What one committed transaction changed: request and staff ids, entity kinds."""
    requests = sorted({c.request_id for c in batch if c.request_id is not None}
                      | {int(c.entity_id) for c in batch
                         if c.entity == "request" and c.entity_id.isdigit()})
    staff = sorted({s for c in batch for s in c.staff_ids})
    everyone = any(not c.staff_ids for c in batch)
    too_many = len(requests) > MAX_IDS or len(staff) > MAX_IDS
    return {
        "entities": sorted({c.entity for c in batch}),
        "requests": None if too_many else requests,
        "staff": None if too_many or everyone else staff,
    }


class Bridge:
    """The after-commit listener: hands each batch to the plugin on the server's loop.

    Actions commit in worker threads (sync handlers) or on the loop itself (the
    background loop); ``call_soon_threadsafe`` is right for both.
    """

    def __init__(self, plugin: ChannelsPlugin, loop: asyncio.AbstractEventLoop) -> None:
        self.plugin = plugin
        self.loop = loop

    def __call__(self, batch: list[changes.Change]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
            self.loop.call_soon_threadsafe(self._publish, message(batch))

    def _publish(self, data: dict[str, Any]) -> None:
        try:
            self.plugin.publish(data, CHANNEL)
        except RuntimeError:  # the plugin has shut down already
            log.debug("live update dropped during shutdown")


HUBS = "live_hubs"  # app.state key: {event loop: started ChannelsPlugin}


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """The app's live updates for one lifespan, on the loop running it (``lifespan=`` of
    ``create_app``): a started plugin, and the after-commit bridge into it."""
    loop = asyncio.get_running_loop()
    hubs: dict[asyncio.AbstractEventLoop, ChannelsPlugin] = app.state.setdefault(HUBS, {})
    async with channels_plugin(app.state.settings) as plugin:
        bridge = Bridge(plugin, loop)
        hubs[loop] = plugin
        changes.on_commit(bridge)
        try:
            yield
        finally:
            changes.remove_listener(bridge)
            hubs.pop(loop, None)


def hub(app: Litestar) -> ChannelsPlugin:
    """The started plugin of the running loop's lifespan.

    Raises ``RuntimeError`` when the app's lifespan has not started on this loop.
    """
    plugin = app.state.get(HUBS, {}).get(asyncio.get_running_loop())
    if plugin is None:
        raise RuntimeError("live updates are not running on this event loop (no lifespan)")
    return plugin
