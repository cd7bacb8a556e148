"""The admin's screen: add people, set their roles, reset passwords, end sessions."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template
from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors, accounts, signin
from server.db import utcnow
from server.domain.bounds import LONG_TEXT
from server.domain.text import N_
from server.i18n import render
from server.models import Role, Staff, StaffRole
from server.routes._http import DB, fragment, get, page, post
from server.routes.params import Form, IdPath, MultiForm, form_text
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
                    errors={}, form={}, push_problem=request.app.state.push_problem)

    @post("/")
    def add(self, request: Request, db: DB, data: MultiForm) -> Response:
        user = request.scope["user"]
        try:
            accounts.add_person(
                db, user.id,
                username=form_text(data, "username", LONG_TEXT, multiline=True),
                display_name=form_text(data, "display_name", LONG_TEXT, multiline=True),
                password=form_text(data, "password", LONG_TEXT, strip=False),
                roles=_roles_from(data),
                phone=form_text(data, "phone", LONG_TEXT, multiline=True),
                group=form_text(data, "group", LONG_TEXT, multiline=True) or None,
                region=form_text(data, "region", LONG_TEXT, multiline=True) or None,
                now=utcnow(),
            )
        except FieldErrors as exc:
            errors = {k: render(v) for k, v in exc.errors.items()}
            return page(request, "pages/admin_people.html", status_code=422, people=_people(db),
                        roles=list(Role), errors=errors, form=data,
                        chosen_roles=_roles_from(data))  # what was ticked stays ticked
        return Redirect("/admin/people", status_code=303)

    @post("/{staff_id:int}/roles")
    def set_roles(self, request: Request, db: DB, staff_id: IdPath, data: MultiForm) -> Response:
        user = request.scope["user"]
        return _row_after(request, db, staff_id,
                          lambda: accounts.set_roles(db, user.id, staff_id, _roles_from(data)))

    @post("/{staff_id:int}/password")
    def reset_password(self, request: Request, db: DB, staff_id: IdPath, data: Form) -> Response:
        """A new password for someone who forgot theirs; their sessions end."""
        user = request.scope["user"]
        return _row_after(request, db, staff_id, lambda: accounts.reset_password(
            db, user.id, staff_id, str(data.get("new", "")), str(data.get("repeat", "")), utcnow()),
            done=N_("Password reset. Their devices are signed out."), where="password")

    @post("/{staff_id:int}/sign-out")
    def sign_out(self, request: Request, db: DB, staff_id: IdPath) -> Response:
        """Sign this person out everywhere (a lost phone, a shared computer)."""
        user = request.scope["user"]
        return _row_after(request, db, staff_id,
                          lambda: signin.sign_out_everywhere(db, user.id, staff_id, utcnow()),
                          done=N_("Signed out everywhere."), where="account")

    @post("/{staff_id:int}/active")
    def set_active(self, request: Request, db: DB, staff_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        active = data.get("active") == "1"
        return _row_after(request, db, staff_id,
                          lambda: accounts.set_active(db, user.id, staff_id, active), where="account")

    @post("/{staff_id:int}/wecom")
    def set_wecom(self, request: Request, db: DB, staff_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        return _row_after(request, db, staff_id, lambda: accounts.set_wecom_userid(
            db, user.id, staff_id, str(data.get("wecom_userid", ""))[:100], utcnow()))


def _row_after(request: Request, db: Session, staff_id: int, change, done: str | None = None,
               where: str = "roles") -> Response:
    """Apply one change to a person and answer with their table row (422 if refused)."""
    error = None
    try:
        change()
    except ActionError as exc:
        db.rollback()
        error = render(exc.message)
    staff = db.get(Staff, staff_id)
    if staff is None:
        raise NotFoundException()
    roles = sorted(db.exec(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).all())
    return fragment(request, "partials/person_row.html", status_code=422 if error else 200,
                    person=staff, person_roles=roles, roles=list(Role), error=error,
                    saved=not error, done=render(done) if done and not error else None,
                    error_at=where)


ROUTES = [PeopleController]
