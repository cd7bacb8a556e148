"""The customer's private feedback page (S6, D9) and the agent's "make a link" button."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.response import Template

from server.actions import ActionError, FieldErrors
from server.actions.feedback_link import LinkRefused, answer_link, make_link, open_link
from server.db import utcnow
from server.i18n import render
from server.models import RequestStatus, Role, SupportRequest
from server.routes._http import DB, _base_context, fragment, get, post
from server.routes.params import Form, IdPath, TokenPath, form_text
from server.security import requires

PUBLIC = {"public": True}
# The page tells nothing to a guesser: no caching, no referrer carrying the secret onward.
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _client(request: Request) -> str:
    return (request.client.host if request.client else "") or "unknown"


def _page(request: Request, status: int = 200, **context: Any) -> Template:
    context.setdefault("form", {})
    context.setdefault("errors", {})
    return Template("pages/feedback_public.html",
                    context=_base_context(request) | context,
                    status_code=status, headers=NO_STORE)  # fmt: skip


class CustomerFeedbackController(Controller):
    """No sign-in: the unguessable token in the address is the only key."""

    path = "/f"
    include_in_schema = False

    @get("/{token:str}", opt=PUBLIC)
    def show(self, request: Request, db: DB, token: TokenPath) -> Template:
        try:
            link, req = open_link(db, token, _client(request), utcnow(),
                                  request.app.state.settings)  # fmt: skip
        except LinkRefused as exc:  # committed: a wrong token counts as a guess
            return _page(request, exc.status, refused=render(exc.message), code=exc.status)
        return _page(request, token=token, req=req)

    @post("/{token:str}", opt=PUBLIC)
    def answer(self, request: Request, db: DB, token: TokenPath, data: Form) -> Template:
        form = {"score": form_text(data, "score", 8), "resolved": form_text(data, "resolved", 8),
                "comment": form_text(data, "comment", 2000, multiline=True)}
        now, settings = utcnow(), request.app.state.settings
        try:
            feedback = answer_link(
                db, token, _client(request), now=now, settings=settings,
                score=int(form["score"]) if form["score"].isdigit() else None,
                resolved={"yes": True, "no": False}.get(form["resolved"]),
                comment=form["comment"])  # fmt: skip
        except LinkRefused as exc:
            return _page(request, exc.status, refused=render(exc.message), code=exc.status)
        except ActionError as exc:
            db.rollback()
            errors = ({k: render(v) for k, v in exc.errors.items()}
                      if isinstance(exc, FieldErrors) else {"form": render(exc.message)})
            link, req = open_link(db, token, _client(request), now, settings)
            return _page(request, 422, token=token, req=req, form=form, errors=errors)
        req = db.get(SupportRequest, feedback.request_id)
        return _page(request, thanks=True, reopened=req.status != RequestStatus.closed)


class FeedbackLinkController(Controller):
    path = "/requests"
    guards = [requires(Role.agent, Role.manager)]
    include_in_schema = False

    @post("/{request_id:int}/feedback-link")
    def make(self, request: Request, db: DB, request_id: IdPath) -> Template:
        user, now = request.scope["user"], utcnow()
        try:
            link, token = make_link(db, user.id, request_id, now, request.app.state.settings)
        except ActionError as exc:
            db.rollback()
            return fragment(request, "partials/feedback_link.html", status_code=422,
                            error=render(exc.message), request_id=request_id)  # fmt: skip
        url = str(request.base_url).rstrip("/") + f"/f/{token}"
        req = db.get(SupportRequest, request_id)
        return fragment(request, "partials/feedback_link.html", url=url, link=link, req=req,
                        request_id=request_id)


ROUTES = [CustomerFeedbackController, FeedbackLinkController]
