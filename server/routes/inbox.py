"""The agents' inbox (D18): every inbound contact until it is a request or closed with a
reason, its age and S4's 10-minute clock from its arrival; the hotline's call panel."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.datastructures import Cookie
from litestar.params import FromQuery
from litestar.response import Response, Template

from server.actions import ActionError
from server.actions import inbound as actions
from server.db import utcnow
from server.domain.inbound import CLOSE_REASON_LABELS
from server.domain.text import N_
from server.i18n import render
from server.models import Role
from server.queries import inbox as q
from server.routes._http import DB, fragment, get, is_htmx, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath
from server.security import requires

READERS = (Role.agent, Role.dispatcher, Role.manager)

register(Screen("/inbox", N_("Inbox"), N_("WeChat, WeCom and hotline contacts waiting"),
                (Role.agent, Role.dispatcher, Role.manager)))


def _context(request: Request, db: DB, **extra: Any) -> dict[str, Any]:
    now = utcnow()
    settings = request.app.state.settings
    return {"rows": q.open_contacts(db, now, settings), "now": now,
            "reasons": CLOSE_REASON_LABELS, **extra}


class InboxController(Controller):
    path = "/inbox"
    guards = [requires(*READERS)]
    include_in_schema = False

    @get("/")
    def inbox(self, request: Request, db: DB) -> Template:
        return page(request, "pages/inbox.html", fragment="partials/inbox_list.html",
                    **_context(request, db))

    @get("/calls")
    def calls(self, request: Request, db: DB, auto: FromQuery[bool] = False) -> Response:
        """The call panel: ringing calls, and the one this agent answered, whose request
        form opens at once on the inbox screen (``auto``)."""
        user = request.scope["user"]
        calls = q.ringing(db, user.id, utcnow())
        mine = next((c for c in calls if c.answered_by_me), None)
        opened = request.cookies.get("fo_call_opened") == str(mine.contact.id) if mine else True
        if auto and mine is not None and is_htmx(request) and not opened:
            # once per call: back on the inbox, the agent is not thrown into the form again
            return Response("", headers={"HX-Redirect": f"/requests/new?contact={mine.contact.id}"},
                            cookies=[Cookie(key="fo_call_opened", value=str(mine.contact.id), max_age=600,
                                            httponly=True, samesite="strict", path="/inbox")])
        return fragment(request, "partials/call_panel.html", calls=calls)

    @post("/{contact_id:int}/close")
    def close(self, request: Request, db: DB, contact_id: IdPath, data: Form) -> Template:
        user = request.scope["user"]
        error = None
        try:
            actions.close_contact(db, user.id, contact_id, str(data.get("reason") or ""),
                                  str(data.get("note") or ""), utcnow())
        except ActionError as exc:
            db.rollback()
            error = render(exc.message)
        return page(request, "pages/inbox.html", fragment="partials/inbox_list.html",
                    status_code=422 if error else 200,
                    **_context(request, db, error=error, error_for=contact_id))


ROUTES = [InboxController]
