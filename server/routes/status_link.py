"""The request's "status link for the customer" panel (D19): copy the link, or send it on
the customer's channel (WeChat, WeCom customer service, SMS); each sending's fate shown.

On the request page (dispatcher, manager) and under the agent's "filed" note on the
intake page. The panel re-fetches itself when the request changes (a delivery, a retry).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Template

from server.actions import ActionError
from server.actions import status_link as actions
from server.db import utcnow
from server.i18n import gettext as _
from server.i18n import render
from server.models import Role, SupportRequest
from server.queries import status_link as q
from server.routes._http import DB, fragment, get, post
from server.routes.params import Form, IdPath, form_choice
from server.security import requires


def _panel(request: Request, db: DB, request_id: int, status_code: int = 200,
           **context: Any) -> Template:
    req = db.get(SupportRequest, request_id)
    if req is None:
        raise NotFoundException()
    return fragment(request, "partials/status_link.html", status_code=status_code,
                    s=q.panel(db, req, request.app.state.settings), via_labels=q.VIA_LABELS,
                    **context)


class StatusLinkController(Controller):
    path = "/requests"
    guards = [requires(Role.agent, Role.dispatcher, Role.manager)]
    include_in_schema = False

    @get("/{request_id:int}/status-link")
    def show(self, request: Request, db: DB, request_id: IdPath) -> Template:
        return _panel(request, db, request_id)

    @post("/{request_id:int}/status-link")
    def make(self, request: Request, db: DB, request_id: IdPath) -> Template:
        """Make the link (once), to copy."""
        try:
            actions.make_link(db, request.scope["user"].id, request_id, utcnow())
        except ActionError as exc:
            db.rollback()
            return _panel(request, db, request_id, 422, error=render(exc.message))
        return _panel(request, db, request_id)

    @post("/{request_id:int}/status-link/send")
    def send(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Template:
        via = form_choice(data, "via", q.VIAS)
        try:
            actions.send_link(db, request.scope["user"].id, request_id, via, utcnow(),
                              request.app.state.settings)
        except ActionError as exc:
            db.rollback()
            return _panel(request, db, request_id, 422, error=render(exc.message))
        return _panel(request, db, request_id,
                      message=_("Queued to send by {via}: how it went shows below.").format(
                          via=_(q.VIA_LABELS[via])))


ROUTES = [StatusLinkController]
