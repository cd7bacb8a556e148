"""My profile: language, job alerts on this device, my password and my sessions."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response, Template

from server.actions import FieldErrors
from server.actions.signin import change_password, sign_out_everywhere
from server.db import utcnow
from server.i18n import render
from server.models import Staff
from server.routes._http import DB, get, page, post
from server.routes.push import devices as push_devices
from server.sessions import current_session_hash, end_session, staff_sessions

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _me(request: Request, db: DB, *, status_code: int = 200, **extra: Any) -> Template:
    user = request.scope["user"]
    context = {"errors": {}, "password_changed": False} | extra
    return page(request, "pages/profile.html", status_code=status_code, staff=db.get(Staff, user.id),
                devices=push_devices(db, user.id), sessions=staff_sessions(db, user.id, utcnow()),
                push_problem=request.app.state.push_problem if user.has("admin") else None,
                **context)


class ProfileController(Controller):
    include_in_schema = False

    @get("/me")
    def me(self, request: Request, db: DB) -> Template:
        return _me(request, db)

    @post("/me/password")
    def password(self, request: Request, db: DB, data: Form) -> Template:
        """Every user changes their own password; their other sessions end."""
        user = request.scope["user"]
        try:
            change_password(db, user.id, str(data.get("current", "")), str(data.get("new", "")),
                            str(data.get("repeat", "")), utcnow(),
                            keep_session=current_session_hash(request))
        except FieldErrors as exc:
            db.rollback()
            return _me(request, db, status_code=422,
                       errors={k: render(v) for k, v in exc.errors.items()})
        return _me(request, db, password_changed=True)

    @post("/me/sign-out-everywhere")
    def sign_out_all(self, request: Request, db: DB) -> Response:
        """Every browser and phone of mine, this one too."""
        user = request.scope["user"]
        sign_out_everywhere(db, user.id, user.id, utcnow())
        end_session(request)
        return Redirect("/login", status_code=303)


ROUTES = [ProfileController]
