"""Customer service's follow-up screen (S6, S7, D9): record the feedback, close or reopen."""

from __future__ import annotations

from litestar import Controller, Request
from litestar.response import Template

from server.actions import ActionError, FieldErrors
from server.actions.feedback import record_feedback
from server.db import utcnow
from server.domain.bounds import parse_id
from server.domain.text import N_
from server.i18n import render
from server.models import Role, SupportRequest
from server.queries.followup import waiting
from server.routes._http import DB, fragment, get, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath
from server.security import requires

FIELDS = ("reached", "score", "resolved", "comment", "no_feedback_reason")

register(Screen("/requests/followup", N_("Follow-up"),
                N_("Ask resolved customers for feedback and close the loop"),
                ("agent", "manager")))  # fmt: skip


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class FollowUpController(Controller):
    path = "/requests"
    guards = [requires(Role.agent, Role.manager)]
    include_in_schema = False

    @get("/followup")
    def index(self, request: Request, db: DB) -> Template:
        now = utcnow()
        return page(request, "pages/followup.html", now=now,
                    rows=waiting(db, now, request.app.state.settings))

    @post("/{request_id:int}/feedback")
    def feedback(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Template:
        settings, user, now = request.app.state.settings, request.scope["user"], utcnow()
        form = {k: str(data.get(k) or "").strip() for k in FIELDS}
        reached = _yes_no(form["reached"])
        try:
            if reached is None:
                raise ActionError(N_("Say whether you reached the customer."), "reached")
            score = parse_id(form["score"])  # 1..5 is the action's rule
            record_feedback(db, user.id, request_id, reached=reached, score=score,
                            resolved=_yes_no(form["resolved"]), comment=form["comment"],
                            no_feedback_reason=form["no_feedback_reason"], now=now,
                            settings=settings)  # fmt: skip
        except ActionError as exc:
            db.rollback()
            if isinstance(exc, FieldErrors):
                errors = {k: render(v) for k, v in exc.errors.items()}
            else:
                errors = {exc.field or "form": render(exc.message)}
            rows = waiting(db, now, settings, request_id)
            req = db.get(SupportRequest, request_id)
            return fragment(request, "partials/followup_row.html", status_code=422,
                            row=rows[0] if rows else None, req=req, form=form, errors=errors,
                            now=now)  # fmt: skip
        req = db.get(SupportRequest, request_id)
        return fragment(request, "partials/followup_row.html", row=None, req=req, form=form,
                        errors={}, done=True, now=now)


ROUTES = [FollowUpController]
