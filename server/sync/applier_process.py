"""The sync inbox applied in a process of its own, beside the server's.

Receiving a push (HTTP, the session, the body, one INSERT) and applying pushes (every rule
of every mutation) share one interpreter in a process, so under a burst their costs add up
on one core (issue 18). With ``sync_applier_process`` (on for ``serve``), the server starts
one applier process: the server receives, the applier process applies, each on a core.

- The server pokes it after each receipt (a pipe) instead of starting applier threads; it
  runs the same ``Applier`` (``server.sync.applier``) with its threads, and reports back
  on the pipe what it applied (for the pushes waiting for their results), when it has
  done what it was poked for, the changes each commit made (the live board, through the
  server's listeners) and that notifications were queued (the server's push sender).
- Receipts still go first: the server counts those under way in shared memory and the
  applier process waits for none (bounded, as before). On SQLite both take the one
  writer's lock (``server.sync.writer``).
- Exactly once and order per phone do not depend on it: the mutation log is read in the
  applying transaction, and inbox rows go with their results (``server.sync.apply``).
- If it dies, the server's own threads apply until it is started again (1 s later); rows
  it left are applied there. A pipe's end closing stops it (the server is gone).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

from server import clock

log = logging.getLogger(__name__)

RESTART_SECONDS = 1.0  # after a crash, doubled after each quick one (up to 60 s)
QUICK_SECONDS = 10.0  # a process that died sooner than this after its start died quickly
GIVE_UP_AFTER = 5  # quick deaths in a row: stop starting it, the server's threads apply
STOP_SECONDS = 3.0  # stopping, the longest it waits for the round under way


class ApplierProcess:
    """The server's handle on its applier process (``start``, ``poke``, ``stop``)."""

    def __init__(self, worker: Any, settings: Any) -> None:
        self.worker, self.settings = worker, settings
        self._ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads forked
        self.receiving = self._ctx.RawValue("i", 0)  # receipts under way in the server
        self._send_lock = threading.Lock()
        self._life = threading.Lock()  # start and stop one at a time
        self._stopping = False
        self._conn: Any = None
        self._started_at = 0.0
        self._quick_deaths = 0
        self.process: Any = None
        self.ready = threading.Event()  # the process now running has started applying

    def start(self) -> None:
        """Start it (raises what spawning raised; nothing is started then)."""
        with self._life:
            if self._stopping:
                return
            self.ready.clear()
            ours, theirs = self._ctx.Pipe()
            process = self._ctx.Process(target=run, args=(theirs, self.settings, self.receiving,
                                                          clock.state()),
                                        name="fieldops-sync-applier", daemon=True)
            try:
                process.start()
            except BaseException:
                ours.close()
                raise
            finally:
                theirs.close()
            self.process, self._conn, self._started_at = process, ours, time.monotonic()
            self.worker.attach(self)
            threading.Thread(target=self._listen, args=(ours,), name="sync-applier-pipe",
                             daemon=True).start()

    def poke(self, seq: int) -> bool:
        """Ask it to apply what the inbox holds (``seq``: this poke's number). False when
        it cannot hear (stopped): the caller applies in threads."""
        try:
            with self._send_lock:
                self._conn.send(("poke", seq))
            return True
        except (OSError, ValueError, AttributeError):
            return False

    def stop(self, timeout: float = STOP_SECONDS + 2) -> None:
        with self._life:
            self._stopping = True
        self.worker.detach(self, poke=False)  # the server is stopping too
        try:
            with self._send_lock:
                self._conn.send(("stop",))
        except (OSError, ValueError, AttributeError):
            pass
        if self.process is not None:
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout)

    def _listen(self, conn: Any) -> None:
        """The server's side of the pipe: what the applier process reports."""
        from server.actions import changes
        from server.jobs import push

        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            try:
                if kind == "answered":
                    self.worker.answered_there(message[1], message[2])
                elif kind == "idle":
                    self.worker.idle_there(message[1])
                elif kind == "changes":
                    changes.announce(message[1])
                elif kind == "ready":
                    self.ready.set()
                elif kind == "nudge":
                    for nudge in list(push.nudges()):
                        nudge.poke()
            except Exception:  # noqa: BLE001 - one report must not stop the others
                log.exception("sync applier process: a report failed (%s)", kind)
        conn.close()
        if self._stopping:
            return
        self.worker.detach(self)  # the server's threads apply what it left, now
        lived = time.monotonic() - self._started_at
        self._quick_deaths = self._quick_deaths + 1 if lived < QUICK_SECONDS else 0
        if self._quick_deaths >= GIVE_UP_AFTER:
            log.error("sync applier process died %d times in a row within %.0f s of starting; "
                      "applying in the server from now on", self._quick_deaths, QUICK_SECONDS)
            return
        wait = min(60.0, RESTART_SECONDS * 2 ** max(0, self._quick_deaths - 1))
        code = self._exit_code()
        # 0: it stopped on SIGTERM, as it does when systemd or Ctrl+C stops the whole
        # group and the server's own stop follows: not worth a warning
        (log.info if code == 0 else log.warning)(
            "sync applier process stopped (exit code %s); applying here, starting it again "
            "in %.0f s unless the server is stopping", code, wait)
        time.sleep(wait)
        try:
            self.start()
        except Exception:  # noqa: BLE001 - the server's threads go on applying
            log.exception("sync applier process could not be started again")

    def _exit_code(self) -> int | None:
        """The exit code of the process whose pipe just closed (it is ending: bounded wait;
        None if it has not ended by then)."""
        process = self.process
        if process is None:
            return None
        process.join(STOP_SECONDS + 2)
        for _ in range(50):  # another thread joining it may have reaped it a moment before
            if process.exitcode is not None:
                break
            time.sleep(0.01)
        return process.exitcode


async def start(app: Any) -> None:
    """``on_startup``: with ``sync_applier_process``, start this server's applier process."""
    settings = app.state.settings
    if settings.sync_applier_process:
        from server.sync.applier import applier

        child = ApplierProcess(applier(app.state.engine, settings), settings)
        try:
            child.start()
        except Exception:  # noqa: BLE001 - the server's own threads apply instead
            log.exception("sync applier process did not start; applying in the server")
            child.worker.detach(child, poke=False)
            return
        app.state.sync_applier_process = child


async def stop(app: Any) -> None:
    child = app.state.get("sync_applier_process")
    if child is not None:
        import anyio

        await anyio.to_thread.run_sync(child.stop)
        app.state.sync_applier_process = None


class _Link:
    """The applier process's side of the pipe (its sends are serialised)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        try:
            with self._lock:
                self.conn.send(message)
        except (OSError, ValueError):  # the server is gone: the main loop ends on its EOF
            pass

    def answered(self, client_id: str, done: list[tuple[Any, ...]]) -> None:
        self.send(("answered", client_id, done))

    def idle(self, seq: int) -> None:
        self.send(("idle", seq))

    def changes(self, batch: list[Any]) -> None:
        self.send(("changes", list(batch)))

    def poke(self) -> None:  # as a push nudge: notifications were queued here
        self.send(("nudge",))


class _Stop(BaseException):
    """SIGTERM: stop as the server's "stop" does."""


def _stop(_signum: int, _frame: Any) -> None:
    raise _Stop


def run(conn: Any, settings: Any, receiving: Any, clock_state: Any = None) -> None:
    """The applier process: apply the inbox whenever the server pokes, until it says stop
    or goes away (or SIGTERM). Ctrl+C reaches the whole process group: the server stops
    it, so it ignores SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    clock.set_state(clock_state)  # the server's clock (tests and demos: server.clock)
    engine = worker = None
    try:
        from server import heap
        from server.actions import changes
        from server.db import make_engine
        from server.jobs import push
        from server.sync.applier import applier

        engine = make_engine(settings.db_url, durable_sync=settings.sqlite_durable_sync)
        worker = applier(engine, settings)
        heap.freeze()  # as the server does: a full collection here walked every module's objects
        link = _Link(conn)
        worker.link, worker.shared_receiving = link, receiving
        changes.on_commit(link.changes)
        push.nudges().append(link)
        link.send(("ready",))
        parent = os.getppid()
        while True:
            try:
                if not conn.poll(1.0):
                    if os.getppid() != parent:  # the server died without closing the pipe
                        break
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "stop":
                break
            if message[0] == "poke":
                worker.note_poke(message[1])
    except _Stop:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends it at once
    if worker is not None:
        worker.wait_idle(STOP_SECONDS)  # what it began is committed (or, past this, rolled back)
    if engine is not None:
        engine.dispose()
