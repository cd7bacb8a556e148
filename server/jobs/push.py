"""Delivering notices: the background loop's drain tick, and a nudge after each commit.

Sending happens here, never in the request that assigned the job (architecture.md,
"Push"). The loop drains every few seconds (retries, other processes' notices). So
that a dispatch does not wait for the next round, a commit that queued notices also
wakes a sender thread of this process (``Nudge``), which drains at once. Both take
rows through the same atomic claim, so they never send one notice twice.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.actions.notify import QUEUED
from server.db import session_scope, utcnow
from server.jobs.loop import register_tick
from server.push.outbox import DEFAULT_POLICY, DeliveryPolicy, drain_outbox

BATCH = 50
MAX_BATCHES = 20  # then yield to the loop's other ticks; the rest goes next round

log = logging.getLogger(__name__)


@register_tick
def deliver_notices(db: Session, now: datetime, settings: Any,
                    policy: DeliveryPolicy = DEFAULT_POLICY) -> int:
    """Answers how many notices were handled (sent, retried or ended)."""
    handled = 0
    for _ in range(MAX_BATCHES):
        result = drain_outbox(db, now, settings, BATCH, policy=policy)
        handled += result.claimed
        if result.claimed < BATCH:
            break
    return handled


class Nudge:
    """A sender thread woken by commits that queued notices."""

    def __init__(self, engine: Engine, settings: Any) -> None:
        self.engine, self.settings = engine, settings
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fieldops-push", daemon=True)

    def start(self) -> None:
        _nudges.append(self)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self in _nudges:
            _nudges.remove(self)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                break
            try:
                with session_scope(self.engine) as db:
                    deliver_notices(db, utcnow(), self.settings)
            except Exception:  # noqa: BLE001 - the loop's tick retries; keep the thread alive
                log.exception("push nudge failed")


_nudges: list[Nudge] = []


def nudges() -> list[Any]:
    """What is poked after a commit that queued notifications (the push sender's threads;
    in the applier process, its pipe to the server's)."""
    return _nudges


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(QUEUED, False):
        for nudge in list(_nudges):
            nudge.poke()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(QUEUED, None)


async def start(app) -> None:
    """``on_startup`` hook: with the background loop on, drain right after dispatches too."""
    settings = app.state.settings
    if settings.background_loop:
        app.state.push_nudge = nudge = Nudge(app.state.engine, settings)
        nudge.start()


async def stop(app) -> None:
    nudge = getattr(app.state, "push_nudge", None)
    if nudge is not None:
        import anyio

        await anyio.to_thread.run_sync(nudge.stop)
        app.state.push_nudge = None
