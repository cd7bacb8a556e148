"""Shift swaps (S11): the requests, with who asked, who takes it and who decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from server.models import Shift, SwapRequest
from server.queries.staff import names_of


@dataclass
class SwapView:
    swap: SwapRequest
    shift: Shift
    from_name: str
    to_name: str
    decided_by_name: str | None = None


def swaps(
    db: Session,
    *,
    status: str | None = None,
    staff_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[SwapView]:
    query = select(SwapRequest, Shift).join(Shift, Shift.id == SwapRequest.shift_id)
    if status:
        query = query.where(SwapRequest.status == status)
    if staff_id is not None:
        query = query.where(
            (SwapRequest.from_staff_id == staff_id) | (SwapRequest.to_staff_id == staff_id)
        )
    if since is not None:
        query = query.where(SwapRequest.requested_at >= since)
    rows = db.exec(query.order_by(SwapRequest.requested_at.desc()).limit(limit)).all()
    names = names_of(
        db,
        {i for sw, _ in rows for i in (sw.from_staff_id, sw.to_staff_id, sw.decided_by)},
    )
    return [
        SwapView(
            sw,
            sh,
            names.get(sw.from_staff_id, "?"),
            names.get(sw.to_staff_id, "?"),
            names.get(sw.decided_by) if sw.decided_by else None,
        )
        for sw, sh in rows
    ]


def pending_swaps(db: Session) -> int:
    return len(db.exec(select(SwapRequest.id).where(SwapRequest.status == "pending")).all())
