"""``GET /events``: server-sent events for every signed-in screen that shows live data.

Every committed change (``server.live``) is relayed as an event whose id is the server's
change version; the screens marked ``data-live`` re-fetch their fragment on it. A
dispatcher's stream sends each change once the board for it is rendered
(``board_shared.prepared``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import litestar
from litestar import Controller, Request
from litestar.channels import ChannelsPlugin
from litestar.concurrency import sync_to_thread
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy import func
from sqlmodel import Session, select

from server import live
from server.models import ChangeRecord
from server.routes import board_shared
from server.routes.board import BOARD_ROLES

STREAM_SECONDS = 25.0  # then the browser reconnects (so a server can stop promptly)
PING_SECONDS = 10.0
RETRY_MS = 1000


def current_version(engine) -> int:
    with Session(engine) as db:
        return db.exec(select(func.max(ChangeRecord.version))).one() or 0


async def change_stream(plugin: ChannelsPlugin, engine, last_seen: int | None,
                        lifetime: float = STREAM_SECONDS,
                        board_app: Any = None) -> AsyncIterator[ServerSentEventMessage]:
    """Relay every committed change until ``lifetime`` ends.

    Each event's id is the server's change version, so a browser that reconnects
    (``Last-Event-ID``) hears at once about anything it missed meanwhile. ``board_app``
    (a dispatcher's stream): each change is sent once the board for it is rendered
    (``board_shared.prepared``), so the board's fetch on the event finds it made.
    """
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    async with plugin.start_subscription([live.CHANNEL]) as subscriber, \
            subscriber.run_in_background(queue.put):
        version = await sync_to_thread(current_version, engine)
        if last_seen is not None and last_seen < version:
            yield ServerSentEventMessage(event="change", data='{"requests": null}', id=version,
                                         retry=RETRY_MS)
        else:
            yield ServerSentEventMessage(data=None, comment="ready", id=version, retry=RETRY_MS)
        ends = loop.time() + lifetime
        while (left := ends - loop.time()) > 0:
            try:
                first = await asyncio.wait_for(queue.get(), timeout=min(PING_SECONDS, left))
            except TimeoutError:
                yield ServerSentEventMessage(data=None, comment="ping")
                continue
            batch = [first]
            while not queue.empty():
                batch.append(queue.get_nowait())
            version = await sync_to_thread(current_version, engine)
            if board_app is not None:
                await board_shared.prepared(board_app, version)
            yield ServerSentEventMessage(event="change", data=_merge(batch), id=version)


def _merge(batch: list[bytes]) -> str:
    if len(batch) == 1:
        return batch[0].decode()
    requests: set[int] | None = set()
    staff: set[int] | None = set()
    entities: set[str] = set()
    for raw in batch:
        msg = json.loads(raw)
        entities.update(msg.get("entities") or [])
        if requests is not None:
            requests = None if msg.get("requests") is None else requests | set(msg["requests"])
        if staff is not None:
            staff = None if msg.get("staff") is None else staff | set(msg["staff"])
    return json.dumps({"entities": sorted(entities),
                       "requests": None if requests is None else sorted(requests),
                       "staff": None if staff is None else sorted(staff)})


class EventsController(Controller):
    """``GET /events``: server-sent events for every signed-in screen that shows live data."""

    path = "/events"
    include_in_schema = False

    @litestar.get("/")
    async def stream(self, request: Request) -> ServerSentEvent:
        plugin = live.hub(request.app)
        last = _last_seen(request.headers.get("last-event-id"))
        board = request.app if request.user.has(*BOARD_ROLES) else None
        return ServerSentEvent(change_stream(plugin, request.app.state.engine, last,
                                             board_app=board),
                               headers={"Cache-Control": "no-cache"})


def _last_seen(value: str | None) -> int | None:
    """The ``Last-Event-ID`` a reconnecting browser sends: a change version, or None."""
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


ROUTES = [EventsController]
