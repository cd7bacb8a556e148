"""S10: the daily reminder to draft next month's roster, from the 20th until a draft exists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.actions.roster import remind_draft
from server.jobs.loop import register_tick


@register_tick
def roster_draft_reminder(db: Session, now: datetime, settings: Any) -> None:
    """Queues at most one notice per support manager and day (its dedupe key holds the date)."""
    remind_draft(db, now, settings.roster, settings.time_zone)
