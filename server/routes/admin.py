"""The admin's screen: add people and set their roles."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.response import Redirect, Response, Template
from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors, accounts
from server.db import utcnow
from server.i18n import render
from server.models import Role, Staff, StaffRole
from server.routes._http import DB, fragment, get, page, post
from server.routes.params import Form, IdPath
from server.security import requires


def _people(db: DB) -> list[tuple[Staff, list[str]]]:
    roles: dict[int, list[str]] = {}
    for staff_id, role in db.exec(select(StaffRole.staff_id, StaffRole.role)):
        roles.setdefault(staff_id, []).append(role)
    staff = db.exec(select(Staff).order_by(Staff.active.desc(), Staff.display_name)).all()
    return [(s, sorted(roles.get(s.id, []))) for s in staff]


def _roles_from(data: dict[str, Any]) -> list[str]:
    value = data.get("roles", [])
    return [value] if isinstance(value, str) else list(value)


class PeopleController(Controller):
    path = "/admin/people"
    guards = [requires(Role.admin)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Template:
        return page(request, "pages/admin_people.html", people=_people(db), roles=list(Role),
                    errors={}, form={})

    @post("/")
    def add(self, request: Request, db: DB, data: Form) -> Response:
        user = request.scope["user"]
        try:
            accounts.add_person(
                db, user.id,
                username=str(data.get("username", "")),
                display_name=str(data.get("display_name", "")),
                password=str(data.get("password", "")),
                roles=_roles_from(data),
                phone=str(data.get("phone", "")),
                group=str(data.get("group", "")) or None,
                region=str(data.get("region", "")) or None,
                now=utcnow(),
            )
        except FieldErrors as exc:
            errors = {k: render(v) for k, v in exc.errors.items()}
            return page(request, "pages/admin_people.html", status_code=422, people=_people(db),
                        roles=list(Role), errors=errors, form=data)
        return Redirect("/admin/people", status_code=303)

    @post("/{staff_id:int}/roles")
    def set_roles(self, request: Request, db: DB, staff_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        return _row_after(request, db, staff_id,
                          lambda: accounts.set_roles(db, user.id, staff_id, _roles_from(data)))

    @post("/{staff_id:int}/active")
    def set_active(self, request: Request, db: DB, staff_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        active = data.get("active") == "1"
        return _row_after(request, db, staff_id,
                          lambda: accounts.set_active(db, user.id, staff_id, active))

    @post("/{staff_id:int}/wecom")
    def set_wecom(self, request: Request, db: DB, staff_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        return _row_after(request, db, staff_id, lambda: accounts.set_wecom_userid(
            db, user.id, staff_id, str(data.get("wecom_userid", ""))[:100], utcnow()))


def _row_after(request: Request, db: Session, staff_id: int, change) -> Response:
    """Apply one change to a person and answer with their table row (422 if refused)."""
    error = None
    try:
        change()
    except ActionError as exc:
        db.rollback()
        error = render(exc.message)
    staff = db.get(Staff, staff_id)
    roles = sorted(db.exec(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).all())
    return fragment(request, "partials/person_row.html", status_code=422 if error else 200,
                    person=staff, person_roles=roles, roles=list(Role), error=error,
                    saved=not error)


ROUTES = [PeopleController]
