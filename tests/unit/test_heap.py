"""``server.heap.freeze``: what a process sets up before it hides its objects from the
garbage collector (the server's last start-up hook, and the sync applier process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a new interpreter, as the applier process starts: the models imported, no query yet.
PROBE = """
import gc
from sqlalchemy import inspect
from server.models import Job, SupportRequest, Venue
assert not inspect(Job).configured, "configured before freeze: the probe proves nothing"
from server import heap
heap.freeze()
assert all(inspect(m).configured for m in (Job, SupportRequest, Venue))
assert gc.get_freeze_count() > 0
print("ok")
"""


def test_freeze_sets_up_the_orm_mappers_before_it_freezes() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
