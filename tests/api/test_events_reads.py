"""One change version read per change for every ``/events`` stream of a process
(``events.VersionReads``): twenty boards hearing one change cost one query, and a
stream never gets a version read before its change arrived."""

from __future__ import annotations

import asyncio
import threading

from server.routes import events


class Counted:
    """``current_version`` that counts its reads and answers only when released."""

    def __init__(self) -> None:
        self.reads = 0
        self.version = 7
        self.go = threading.Event()
        self.began = threading.Event()  # a read has taken its version

    def __call__(self, engine) -> int:  # noqa: ANN001
        self.reads += 1
        seen = self.version  # the version as the read began
        self.began.set()
        self.go.wait()
        return seen


def test_streams_that_heard_one_change_share_one_read(monkeypatch):
    counted = Counted()
    monkeypatch.setattr(events, "current_version", counted)

    async def run() -> None:
        reads = events.VersionReads(engine=object())
        mark = reads.heard()  # twenty streams hear the same change
        waiting = [asyncio.ensure_future(reads.after(mark)) for _ in range(20)]
        await asyncio.sleep(0)
        counted.go.set()
        assert await asyncio.gather(*waiting) == [7] * 20
        assert counted.reads == 1

        # a change heard after that read began needs a read of its own
        counted.version = 8
        assert await reads.after(reads.heard()) == 8
        assert counted.reads == 2

    asyncio.run(run())


def test_a_change_heard_during_a_read_waits_for_a_later_read(monkeypatch):
    counted = Counted()
    monkeypatch.setattr(events, "current_version", counted)

    async def run() -> None:
        reads = events.VersionReads(engine=object())
        first = asyncio.ensure_future(reads.after(reads.heard()))
        await asyncio.to_thread(counted.began.wait)  # that read has begun
        late_mark = reads.heard()  # a change arrives while it runs
        counted.version = 9
        late = asyncio.ensure_future(reads.after(late_mark))
        await asyncio.sleep(0)
        counted.go.set()
        assert await first == 7
        assert await late == 9  # not the read that began before its change
        assert counted.reads == 2

    asyncio.run(run())


def test_a_stream_that_goes_away_leaves_the_shared_read_to_the_others(monkeypatch):
    counted = Counted()
    monkeypatch.setattr(events, "current_version", counted)

    async def run() -> None:
        reads = events.VersionReads(engine=object())
        mark = reads.heard()
        leaving, staying = (asyncio.ensure_future(reads.after(mark)) for _ in range(2))
        await asyncio.sleep(0)
        leaving.cancel()
        counted.go.set()
        assert await staying == 7
        assert counted.reads == 1

    asyncio.run(run())
