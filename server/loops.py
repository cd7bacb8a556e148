"""What lives for one ASGI lifespan is made in the event loop running it.

A server runs the app's lifespan once per process, on the loop that also serves its
requests. A test harness may run a second lifespan of the same app object on another
loop (schemathesis' ASGI client beside Litestar's test client): anything loop-bound the
app keeps (queues, locks, task groups, connections) must then be one per loop, or the
second startup overwrites the first's and a shutdown touches the other loop's objects
("bound to a different event loop", "cancel scope in a different task"). The live-update
hub does this in ``server.live``; this module does it for Litestar's event emitter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from litestar.events import BaseEventEmitterBackend, SimpleEventEmitter
from litestar.events.listener import EventListener


class PerLoopEventEmitter(BaseEventEmitterBackend):
    """Litestar's ``SimpleEventEmitter``, one per loop running the app's lifespan.

    ``emit`` goes to the running loop's emitter; it raises ``RuntimeError`` outside a
    lifespan, as the stock emitter does before start-up.
    """

    def __init__(self, listeners: Sequence[EventListener]) -> None:
        super().__init__(listeners)
        self._given = list(listeners)
        self._emitters: dict[asyncio.AbstractEventLoop, SimpleEventEmitter] = {}

    async def __aenter__(self) -> PerLoopEventEmitter:
        emitter = SimpleEventEmitter(self._given)
        await emitter.__aenter__()
        self._emitters[asyncio.get_running_loop()] = emitter
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc_val: BaseException | None,
                        exc_tb: TracebackType | None) -> None:
        emitter = self._emitters.pop(asyncio.get_running_loop(), None)
        if emitter is not None:
            await emitter.__aexit__(exc_type, exc_val, exc_tb)

    def emit(self, event_id: str, *args: Any, **kwargs: Any) -> None:
        emitter = self._emitters.get(asyncio.get_running_loop())
        if emitter is None:
            raise RuntimeError("Emitter not initialized on this event loop")
        emitter.emit(event_id, *args, **kwargs)
