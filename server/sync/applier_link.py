"""The sync applier's side of applying in a process of its own
(``server.sync.applier_process``), mixed into ``server.sync.applier.Applier``.

In the server: ``attach`` an applier process (``poke`` then tells it instead of starting
threads), ``detach`` it when it stops, and take its reports (``answered_there``,
``idle_there``). In the applier process: ``note_poke`` the server's pokes, and let the
server's receipts under way go first on SQLite (``_let_server_receipts_first``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from server.sync.log import Result

DEFER_SECONDS = 0.5  # the longest the applier lets receipts go first, in a row
POLL_FIRST, POLL_MOST = 0.0002, 0.001  # seconds between looks at the receipts under way


class ProcessSide:
    """Methods of ``Applier`` (its state is set in ``Applier.__init__``)."""

    _cond: threading.Condition
    _queued: set[tuple[str, str]]
    _results: dict[tuple[str, str], Any]
    _answered: dict[tuple[Any, ...], None]
    _receiving: int
    _deferred_since: float | None
    _threads: set[threading.Thread]
    _child: Any
    _since_poke: set[tuple[str, str]]
    _pokes: dict[int, set[tuple[str, str]]]
    _poke_seq: int
    shared_receiving: Any
    engine: Any
    poke: Callable[[], None]  # ``Applier.poke``
    _forget_oldest: Callable[[], None]  # ``Applier._forget_oldest``

    def _let_server_receipts_first(self) -> None:
        """``let_receipts_first`` in the applier process on SQLite: the server's receipts under
        way are a number in shared memory; wait (polling, bounded the same way) until there
        are none, so a receipt does not queue behind a group for the writer's lock. It looks
        again after 0.2 ms, then less often, up to every 1 ms: a burst's receipts go on for
        hundreds of milliseconds, and looking 5,000 times a second cost CPU they need."""
        if (self.shared_receiving is None or threading.current_thread() not in self._threads
                or not self.shared_receiving.value):
            self._deferred_since = None
            return
        now = time.monotonic()
        if self._deferred_since is None:
            self._deferred_since = now
        deadline = self._deferred_since + DEFER_SECONDS
        pause = POLL_FIRST
        while self.shared_receiving.value and time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, POLL_MOST)
        if not self.shared_receiving.value:
            self._deferred_since = None

    def note_poke(self, seq: int) -> None:
        """In the applier process: the server's poke number ``seq`` (reported back with
        ``idle`` once a round after it finds nothing more)."""
        with self._cond:
            self._poke_seq = max(self._poke_seq, seq)
        self.poke()

    def wait_idle(self, timeout: float) -> bool:
        """In the applier process, stopping: wait (bounded) for the round under way to end,
        so its transaction commits rather than dies with the process."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._threads, timeout)

    def attach(self, child: Any) -> None:
        """From now on ``poke`` tells ``child`` (an applier process) instead of threads."""
        with self._cond:
            # what was received before and is not answered yet goes with its next poke
            self._child, self._since_poke, self._pokes = child, set(self._queued), {}
            self.shared_receiving = child.receiving
            child.receiving.value = self._receiving

    def detach(self, child: Any, poke: bool = True) -> None:
        """``child`` stopped: threads apply again (``poke``: what it left, at once)."""
        with self._cond:
            if self._child is not child:
                return
            self._child, self.shared_receiving = None, None
            self._pokes.clear()
            self._since_poke.clear()
        if poke:
            self.poke()

    def answered_there(self, client_id: str, done: list[tuple[tuple[Any, ...], int, Result]]) -> None:
        """The applier process applied these (inbox row key, sender, result)."""
        with self._cond:
            for key, staff_id, r in done:
                self._answered[key] = None
                queued = (client_id, r.id)
                if queued in self._queued:
                    self._queued.discard(queued)
                    self._results[queued] = (staff_id, r)
            self._forget_oldest()
            self._cond.notify_all()

    def idle_there(self, seq: int) -> None:
        """The applier process has done what the pokes up to ``seq`` asked: what was received
        before them and is still not applied is not for now (as at a round's end here)."""
        with self._cond:
            for k in [k for k in self._pokes if k <= seq]:
                self._queued -= self._pokes.pop(k)
            self._cond.notify_all()
