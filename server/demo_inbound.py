"""Demo inbound contacts for the agents' inbox (issue 17): a few customers waiting on each
channel, at fixed offsets before "now" so the clocks show every state."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from server.actions.inbound import record_incoming
from server.channels import Incoming
from server.models import Contact

# (minutes ago, channel, sender, kind, text)
CONTACTS = [
    (1, "wechat", "oFieldOpsDemo_wx_0001", "text", "你好，我们的推流盒子突然推流失败，直播间黑屏了，急！"),
    (4, "wecom", "wmFieldOpsDemo_kf_0002", "text", "导播台有一路信号没有画面，今晚八点开播"),
    (4, "wecom", "wmFieldOpsDemo_kf_0002", "image", ""),
    (7, "hotline", None, "missed_call", "missed"),
    (12, "wechat", "oFieldOpsDemo_wx_0003", "voice", "摄像机开不了机，换了电池也不行"),
]


def load(db: Session, now: datetime) -> int:
    """Answers how many contacts there are; deterministic for a given ``now``."""
    caller = db.exec(select(Contact.phone).order_by(Contact.id)).first() or "13800138000"
    for i, (minutes, channel, sender, kind, text) in enumerate(CONTACTS):
        at = now - timedelta(minutes=minutes)
        record_incoming(db, Incoming(
            channel=channel, external_id=f"demo-{i}", sender=sender or caller, kind=kind,
            text=text, received_at=at, media_id="demo-media" if kind in ("image", "voice") else "",
            reply_to="wkFieldOpsDemo" if channel == "wecom" else "",
        ), now, data={"event": "missed"} if kind == "missed_call" else None)
    db.flush()
    return len({(c[1], c[2]) for c in CONTACTS})
