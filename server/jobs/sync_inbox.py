"""Tick: apply what the sync inbox still holds (a crash between receipt and apply, an
outage while applying, another process that stopped): ``server.sync.inbox``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from server.jobs.loop import register_tick
from server.models import SyncInbox


@register_tick
def apply_sync_inbox(db: Session, now: datetime, settings: Any) -> None:
    if db.exec(select(SyncInbox.id).limit(1)).first() is not None:
        from server.sync.applier import applier

        applier(db.get_bind(), settings).poke()
