"""Background tick: unhandled inbound contacts alert the agents, then the on-duty lead (D18)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.actions.inbound import alert_waiting
from server.jobs.loop import register_tick


@register_tick
def inbox_alerts(db: Session, now: datetime, settings: Any) -> int:
    """Answers how many alerts fired; each fires once (``InboundContact.*_alerted_at``)."""
    return alert_waiting(db, now, settings)
