"""Who holds a role: the people a notice goes to when it is not about one engineer; and
people's display names by id."""

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


def names_of(db: Session, ids: set[int | None]) -> dict[int, str]:
    """Display names by staff id (``None`` ids ignored)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.exec(select(Staff.id, Staff.display_name).where(Staff.id.in_(list(ids)))).all())


def managers(db: Session) -> list[Staff]:
    return list(
        db.exec(
            select(Staff)
            .join(StaffRole, StaffRole.staff_id == Staff.id)
            .where(StaffRole.role == "manager", Staff.active)
        )
    )
