"""Run the server with a CPU profile of every thread, written when it stops.

    .venv/bin/python bench/profile_server.py OUT.prof [serve arguments...]

What ``python -m server.cli serve`` does, with ``cProfile`` in the event loop's thread
and in every worker thread (sync route handlers run in anyio's worker threads, which a
plain ``python -m cProfile`` does not see). On SIGTERM or Ctrl+C the profiles are merged
into OUT.prof (read it with ``python -m pstats OUT.prof`` or snakeviz). ``bench/sync.py
--profile OUT.prof`` runs its server this way.
"""

from __future__ import annotations

import atexit
import contextlib
import cProfile
import pstats
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_in_thread(frame, event, arg) -> None:  # noqa: ANN001 - sys.setprofile's signature
    """The first profile event in a new thread swaps this hook for a cProfile of its own."""
    profile = cProfile.Profile(time.thread_time)  # CPU, not wall: no GIL or lock waits
    with _lock:
        _profiles.append(profile)
    profile.enable()


def _write(out: str) -> None:
    with _lock:
        profiles = list(_profiles)
    for p in profiles:
        p.disable()
    stats = None
    for p in profiles:
        try:
            stats = pstats.Stats(p) if stats is None else stats.add(p)
        except TypeError:  # a thread that recorded nothing
            continue
    if stats is not None:
        stats.dump_stats(out)


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    atexit.register(_write, out)
    # uvicorn stops on SIGTERM, then raises it again under the handler it found at start:
    # make that one a normal exit, so the profile is written.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.setprofile(_start_in_thread)
    main_profile = cProfile.Profile(time.thread_time)  # CPU, not wall: no GIL or lock waits
    with _lock:
        _profiles.append(main_profile)
    main_profile.enable()
    from server.cli import main as cli

    with contextlib.suppress(KeyboardInterrupt):
        cli(["serve", *argv])


if __name__ == "__main__":
    main()
