"""Drills (S14, D12): the manager starts one from a script, follows it, reviews it,
records it on the training record and cleans its requests up."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from server.actions import ActionError
from server.actions import drill as actions
from server.domain.drill import SCRIPTS
from server.domain.text import N_
from server.i18n import render
from server.models import Role
from server.queries import drill as q
from server.queries.request_page import TIMELINE_LABELS
from server.routes._http import DB, get, page, post
from server.routes.kpi import now_of
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath, form_text
from server.security import requires

register(Screen("/drills", N_("Drills"),
                N_("Run the quarterly emergency drill and review it"), ("manager",)))


def _report_page(request: Request, db: DB, drill_id: int, status_code: int = 200,
                 **extra: Any) -> Template:
    rep = q.report(db, drill_id, now_of(request), request.app.state.settings.sla)
    if rep is None:
        raise NotFoundException()
    return page(request, "pages/drill.html", rep=rep, status_code=status_code,
                labels=TIMELINE_LABELS, **extra)


class DrillController(Controller):
    path = "/drills"
    guards = [requires(Role.manager)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Template:
        return page(request, "pages/drills.html", drills=q.drills(db), scripts=SCRIPTS)

    @post("/")
    def start(self, request: Request, db: DB, data: Form) -> Template | Redirect:
        try:
            drill = actions.start_drill(db, request.scope["user"].id, form_text(data, "script", 32),
                                        now_of(request), request.app.state.settings)
        except ActionError as exc:
            db.rollback()
            return page(request, "pages/drills.html", drills=q.drills(db), scripts=SCRIPTS,
                        error=render(exc.message), status_code=422)
        return Redirect(f"/drills/{drill.id}", status_code=303)

    @get("/{drill_id:int}")
    def show(self, request: Request, db: DB, drill_id: IdPath) -> Template:
        return _report_page(request, db, drill_id)

    @post("/{drill_id:int}/review")
    def review(self, request: Request, db: DB, drill_id: IdPath, data: Form) -> Any:
        return self._act(request, db, drill_id, lambda user, now: actions.review_drill(
            db, user.id, drill_id, form_text(data, "review", 10000, multiline=True), now), data)

    @post("/{drill_id:int}/record")
    def record(self, request: Request, db: DB, drill_id: IdPath) -> Any:
        def run(user, now):
            rep = q.report(db, drill_id, now, request.app.state.settings.sla)
            if rep is None:
                raise NotFoundException()
            hours = max((s.minute for s in rep.steps), default=0) / 60
            actions.record_training(db, user.id, drill_id, sorted(rep.participants),
                                    round(max(hours, 0.5), 2), now, request.app.state.settings)
        return self._act(request, db, drill_id, run)

    @post("/{drill_id:int}/clean")
    def clean(self, request: Request, db: DB, drill_id: IdPath) -> Any:
        def run(user, now):
            rep = q.report(db, drill_id, now, request.app.state.settings.sla)
            if rep is None:
                raise NotFoundException()
            actions.clean_up(db, user.id, drill_id, rep.summary(), now)
        return self._act(request, db, drill_id, run)

    def _act(self, request: Request, db: DB, drill_id: int, run, data: Form | None = None) -> Any:
        try:
            run(request.scope["user"], now_of(request))
        except ActionError as exc:
            db.rollback()
            return _report_page(request, db, drill_id, 422, error=render(exc.message),
                                review_text=str((data or {}).get("review", ""))[:10000])
        return Redirect(f"/drills/{drill_id}", status_code=303)


ROUTES = [DrillController]
