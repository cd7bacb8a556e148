"""D12: a running drill's later calls arrive on their minute (five calls in ten minutes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.actions import audit
from server.actions.drill import inject_all_running
from server.jobs.loop import register_tick


@register_tick
def drill_calls(db: Session, now: datetime, settings: Any) -> None:
    audit.current_device.set("server")
    inject_all_running(db, now, settings)
