"""The admin's integration tokens for the rental system's machine API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.response import Redirect, Response
from sqlmodel import select

from server.actions import ActionError
from server.actions import integrations as actions
from server.db import utcnow
from server.domain.text import N_
from server.models import IntegrationToken, Role
from server.routes._http import DB, get, page, post
from server.routes.customers import refusal
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath
from server.routes.rental_api import PATH
from server.security import requires

register(Screen("/admin/integrations", N_("Integrations"),
                N_("Tokens for the rental system's API"), (Role.admin,)))


class IntegrationsController(Controller):
    path = "/admin/integrations"
    guards = [requires(Role.admin)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Response:
        return _page(request, db)

    @post("/")
    def create(self, request: Request, db: DB, data: Form) -> Response:
        try:
            row, token = actions.create_token(db, request.user.id, str(data.get("name", "")), utcnow())
        except ActionError as exc:
            db.rollback()
            return _page(request, db, 422, errors=refusal(exc))
        # Shown once, in this answer only (never stored, never in a URL).
        return _page(request, db, new_token=token, new_name=row.name)

    @post("/{token_id:int}/revoke")
    def revoke(self, request: Request, db: DB, token_id: IdPath) -> Response:
        try:
            actions.revoke_token(db, request.user.id, token_id, utcnow())
        except ActionError as exc:
            db.rollback()
            return _page(request, db, 422, errors=refusal(exc))
        return Redirect("/admin/integrations", status_code=303)


def _page(request: Request, db: DB, status_code: int = 200, **extra: Any) -> Response:
    tokens = db.exec(select(IntegrationToken).order_by(IntegrationToken.revoked_at.is_not(None),
                                                       IntegrationToken.created_at.desc())).all()
    context = {"tokens": tokens, "errors": {}, "new_token": None, "api_path": PATH} | extra
    return page(request, "pages/admin_integrations.html", status_code=status_code, **context)


ROUTES = [IntegrationsController]
