"""WeCom customer service (微信客服): pulling the messages, from the callback and as a
safety net in the background loop (S2 "none may be missed", D18).

The callback (``kf_msg_or_event``) only says there is news; ``pull_kf`` then reads
kf/sync_msg from the stored cursor. A callback the platform never delivered, or a pull
cut short after the callback was answered, would leave messages unread until the next
callback, maybe hours later. So the loop also pulls every customer-service account whose
cursor has not moved for ``wecom_kf_pull_seconds`` (default 60): the same cursor, the
same per-message dedupe (channel + msgid), so each message is recorded exactly once
whichever path reads it first, and in several server processes at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from server.actions import inbound
from server.channels import ChannelError, wecom
from server.db import session_scope, utcnow
from server.jobs.loop import register_tick
from server.models import ChannelCursor

log = logging.getLogger(__name__)
PREFIX = "wecom_kf:"  # ChannelCursor.name of one customer-service account's feed
MAX_PAGES = 50
_listed: dict[tuple[str, str], datetime] = {}  # when this process last asked kf/account/list


def pull_kf(engine, settings: Any, open_kfid: str, token: str = "", pages: int = MAX_PAGES,
            limit: int = 1000) -> tuple[int, bool]:
    """Pull new messages of one customer-service account, at most ``pages`` pages of
    ``limit``; answers (how many were new, whether more are waiting).

    Each page is recorded in one transaction together with the cursor that follows it,
    so a crash between pages re-reads at most that page (its messages are deduplicated by
    msgid) and never skips one. The network call happens with no transaction open.
    ``ChannelError`` when WeCom cannot be read (the cursor stays where it was).
    """
    name = PREFIX + open_kfid
    new, more, moved = 0, False, True
    for _ in range(pages):
        with session_scope(engine, write=False) as db:
            seen = inbound.cursor_of(db, name)
        messages, cursor, more = wecom.sync_messages(settings, open_kfid, seen, token, limit)
        now = utcnow()
        with session_scope(engine) as db:
            for raw in messages:
                incoming = wecom.as_incoming(raw, now)
                if incoming is not None:
                    recorded = inbound.record_incoming(db, incoming, now)
                    inbound.acknowledge(db, recorded, now)
                    new += not recorded.duplicate
            moved = inbound.advance_cursor(db, name, seen, cursor, now)
        if not more or not moved:
            break
    return new, more and moved


def _accounts(engine, settings: Any, now: datetime) -> dict[str, datetime | None]:
    """Every account to watch, with when its cursor last moved (None: never read): the
    ones already read, and those kf/account/list names (asked once per interval)."""
    with session_scope(engine, write=False) as db:
        rows = db.exec(select(ChannelCursor).where(
            col(ChannelCursor.name).startswith(PREFIX))).all()  # fmt: skip
        accounts = {r.name.removeprefix(PREFIX): r.updated_at for r in rows}
    key = (settings.wecom_api_base, settings.wecom_corp_id)
    last = _listed.get(key)
    if last is None or now - last >= timedelta(seconds=settings.wecom_kf_pull_seconds):
        try:
            for open_kfid in wecom.kf_accounts(settings):
                accounts.setdefault(open_kfid, None)
            _listed[key] = now
        except ChannelError as exc:  # the accounts already known are still pulled
            log.warning("kf/account/list failed: %s", exc)
    return accounts


@register_tick
def wecom_kf_safety_pull(db: Session, now: datetime, settings: Any) -> int:
    """Pull every customer-service account not read for ``wecom_kf_pull_seconds``;
    answers how many new messages were recorded. Off without the customer-service
    secret, or with ``wecom_kf_pull_seconds`` 0."""
    if not (settings.wecom_kf_secret and settings.wecom_corp_id) or settings.wecom_kf_pull_seconds <= 0:
        return 0
    engine = db.get_bind()
    every = timedelta(seconds=settings.wecom_kf_pull_seconds)
    new = 0
    for open_kfid, read_at in sorted(_accounts(engine, settings, now).items()):
        if read_at is not None and now - read_at < every:
            continue
        try:
            found, _more = pull_kf(engine, settings, open_kfid)
        except ChannelError as exc:  # the next round tries again from the same cursor
            log.warning("safety pull of %s failed: %s", open_kfid, exc)
            continue
        if found:
            log.warning("safety pull recorded %d message(s) of %s no callback brought",
                        found, open_kfid)
        new += found
    return new
