"""Two lifespans of one app on two event loops (a server runs one; schemathesis' ASGI
client runs a second beside the test client): each gets its own live-update hub made in
its own loop, a committed change reaches the subscribers of both, and both shut down
cleanly, the first while the second still runs (issue 11; before, the second startup
overwrote the first's channels plugin and event emitter, and the first shutdown hung or
failed with "bound to a different event loop")."""

from __future__ import annotations

import asyncio
import json
import threading

from litestar.testing import TestClient
from sqlmodel import Session

from server import live
from server.actions import changes

WAIT = 30  # seconds: generous, only reached when something is broken


async def _hub(app):
    return live.hub(app)


async def _first_message(app, subscribed: threading.Event) -> bytes:
    """Subscribe on the running loop's hub, say so, return the first message it relays."""
    async with live.hub(app).start_subscription([live.CHANNEL]) as subscriber:
        subscribed.set()
        async for message in subscriber.iter_events():
            return message
    raise AssertionError("the subscription ended without a message")


def test_two_lifespans_on_two_loops_each_have_a_hub_and_stop_cleanly(app, engine):
    first, second = TestClient(app=app), TestClient(app=app)
    first.__enter__()
    second.__enter__()
    try:
        portals = (first.blocking_portal, second.blocking_portal)
        loops = [portal.call(asyncio.get_running_loop) for portal in portals]
        assert loops[0] is not loops[1]
        assert portals[0].call(_hub, app) is not portals[1].call(_hub, app)

        ready = [threading.Event(), threading.Event()]
        heard = [portal.start_task_soon(_first_message, app, event)
                 for portal, event in zip(portals, ready, strict=True)]
        assert all(event.wait(WAIT) for event in ready)
        with Session(engine) as db:
            changes.changed(db, "request", 7)
            db.commit()
        for future in heard:
            assert json.loads(future.result(WAIT))["requests"] == [7]
    finally:
        stopped = threading.Event()

        def stop() -> None:
            first.__exit__(None, None, None)  # the first, while the second still runs
            second.__exit__(None, None, None)
            stopped.set()

        threading.Thread(target=stop, daemon=True).start()
        assert stopped.wait(WAIT), "the app's lifespans did not shut down"
    assert app.state[live.HUBS] == {}
