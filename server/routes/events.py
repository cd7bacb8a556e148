"""``GET /events``: server-sent events for every signed-in screen that shows live data.

Every committed change (``server.live``) is relayed as an event whose id is the server's
change version; the screens marked ``data-live`` re-fetch their fragment on it. A
dispatcher's stream sends each change once the board for it is rendered
(``board_shared.prepared``).
"""

from __future__ import annotations

import asyncio
import json
import weakref
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


class VersionReads:
    """The change version read once per change for every stream of a process and loop.

    Twenty boards hear each change at once, and each needs a version read begun after its
    change arrived (so the read sees that change): one such read serves them all.
    ``heard()`` marks the moment a stream's change arrives; ``after(mark)`` joins the
    newest read if it began since that mark, or begins one.
    """

    def __init__(self, engine) -> None:  # noqa: ANN001 - an Engine
        self.engine = engine
        self.begun = 0  # reads begun so far
        self._newest: asyncio.Future[int] | None = None

    def heard(self) -> int:
        return self.begun

    async def after(self, mark: int) -> int:
        if self._newest is None or self.begun <= mark:  # none began since: begin one
            self.begun += 1
            self._newest = asyncio.ensure_future(sync_to_thread(current_version, self.engine))
        # shielded: a stream that goes away must not cancel the others' read
        return await asyncio.shield(self._newest)


_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, VersionReads]] = \
    weakref.WeakKeyDictionary()


def version_reads(engine) -> VersionReads:  # noqa: ANN001 - an Engine
    """This loop's shared reads for ``engine``."""
    per_engine = _reads.setdefault(asyncio.get_running_loop(), {})
    found = per_engine.get(id(engine))
    if found is None or found.engine is not engine:
        found = per_engine[id(engine)] = VersionReads(engine)
    return found


async def change_stream(plugin: ChannelsPlugin, engine, last_seen: int | None,
                        lifetime: float = STREAM_SECONDS,
                        board_app: Any = None) -> AsyncIterator[ServerSentEventMessage]:
    """Relay every committed change until ``lifetime`` ends.

    Each event's id is the server's change version, so a browser that reconnects
    (``Last-Event-ID``) hears at once about anything it missed meanwhile. ``board_app``
    (a dispatcher's stream): each change is sent once the board for it is rendered
    (``board_shared.prepared``), so the board's fetch on the event finds it made.
    """
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    reads = version_reads(engine)

    async def heard(message: bytes) -> None:  # marked as it arrives, after its commit
        await queue.put((reads.heard(), message))

    async with plugin.start_subscription([live.CHANNEL]) as subscriber, \
            subscriber.run_in_background(heard):
        version = await reads.after(reads.heard())
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
            mark, batch = first[0], [first[1]]
            while not queue.empty():
                mark, message = queue.get_nowait()
                batch.append(message)
            version = await reads.after(mark)
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
