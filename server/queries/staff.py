"""Who holds a role: the people a notice goes to when it is not about one engineer."""

from __future__ import annotations

from sqlmodel import Session, select

from server.models import Staff, StaffRole


def active_with_roles(db: Session, *roles: str) -> list[Staff]:
    """Active people holding any of ``roles``, each once, in a stable order."""
    rows = db.exec(
        select(Staff)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role.in_(roles), Staff.active)
        .order_by(Staff.id)
    ).all()
    return list({s.id: s for s in rows}.values())
