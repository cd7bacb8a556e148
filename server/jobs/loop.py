"""The background loop: wakes every ``loop_interval_seconds`` and runs each registered tick.

A tick is ``fn(db, now, settings)``. Each runs in its own transaction (committed when it
returns, rolled back if it raises) in a worker thread, so blocking database work never
stalls the event loop, and one failing tick never stops the others or the loop. Ticks
must be safe to run in several server processes at once: uniqueness keys in the
database, not this loop, make a second process harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import pkgutil
from collections.abc import Callable
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.db import session_scope, utcnow

log = logging.getLogger(__name__)

Tick = Callable[[Session, datetime, Any], object]
_ticks: list[Tick] = []


def register_tick(fn: Tick) -> Tick:
    """Add a tick (usable as a decorator); ticks run in the order they were registered."""
    if fn not in _ticks:
        _ticks.append(fn)
    return fn


def unregister_tick(fn: Tick) -> None:
    if fn in _ticks:
        _ticks.remove(fn)


def registered() -> list[Tick]:
    return list(_ticks)


def discover() -> None:
    """Import every module of ``server.jobs`` so the ticks they register are known."""
    import server.jobs as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "loop":
            importlib.import_module(f"{package.__name__}.{info.name}")


def tick_name(fn: Tick) -> str:
    return f"{fn.__module__}.{getattr(fn, '__qualname__', repr(fn))}"


def run_once(engine: Engine, settings: Any, now: datetime | None = None) -> dict[str, str | None]:
    """One round of every tick, each in its own transaction; returns each tick's error or None."""
    results: dict[str, str | None] = {}
    for fn in registered():
        name = tick_name(fn)
        try:
            with session_scope(engine) as db:
                fn(db, now or utcnow(), settings)
            results[name] = None
        except Exception as exc:  # noqa: BLE001 - one broken tick must not stop the others
            log.exception("background tick %s failed", name)
            results[name] = f"{type(exc).__name__}: {exc}"
    return results


class BackgroundLoop:
    """The asyncio task that runs ``run_once`` in a worker thread every interval."""

    def __init__(self, engine: Engine, settings: Any) -> None:
        self.engine = engine
        self.settings = settings
        self.rounds = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="fieldops-loop")

    async def _run(self) -> None:
        interval = max(0.05, float(self.settings.loop_interval_seconds))
        while not self._stop.is_set():
            try:
                await anyio.to_thread.run_sync(run_once, self.engine, self.settings)
            except Exception:  # noqa: BLE001 - keep the loop alive whatever happens
                log.exception("background round failed")
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    async def stop(self) -> None:
        """Let the round in progress finish (its transaction commits), then end."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=30)
            except TimeoutError:
                self._task.cancel()


async def start(app) -> None:
    """``on_startup`` hook of ``create_app``: runs only when ``settings.background_loop``."""
    settings = app.state.settings
    if not settings.background_loop:
        return
    discover()
    loop = BackgroundLoop(app.state.engine, settings)
    app.state.background_loop = loop
    loop.start()


async def stop(app) -> None:
    loop = getattr(app.state, "background_loop", None)
    if loop is not None:
        await loop.stop()
        app.state.background_loop = None
