"""The remote engineer's screens (tablet): the queue, and a job with its fault checklists."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template
from sqlmodel import Session

from server.actions import ActionError
from server.actions import jobs as job_actions
from server.db import utcnow
from server.domain.bounds import LONG_TEXT
from server.domain.checklists import FAULT_TITLES
from server.domain.field import FLAG_REASONS
from server.domain.text import N_
from server.i18n import gettext as _
from server.i18n import render
from server.models import Role
from server.queries import remote as q
from server.queries import request_page as request_q
from server.routes._http import DB, fragment, get, page, post
from server.routes.nav import Screen, register
from server.routes.params import IdPath, MultiForm, form_text
from server.security import requires

register(Screen("/remote", N_("Remote queue"), N_("My remote jobs and fault checklists"),
                (Role.remote,)))


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _steps(data: dict[str, Any]) -> list[str]:
    value = data.get("steps", [])
    return [value] if isinstance(value, str) else [str(v) for v in value]


class RemoteController(Controller):
    path = "/remote"
    guards = [requires(Role.remote)]
    include_in_schema = False

    @get("/")
    def queue(self, request: Request, db: DB) -> Template:
        return self._queue(request, db)

    @post("/requests/{request_id:int}/take")
    def take(self, request: Request, db: DB, request_id: IdPath) -> Response:
        """Take a waiting remote request: assigned to me and accepted in one step."""
        user = request.scope["user"]
        now = utcnow()
        try:
            with db.begin_nested():
                job = job_actions.assign_job(db, user.id, request_id, user.id, "remote", now,
                                             _settings(request))
                job_actions.accept_job(db, user.id, job.id, now, now, _settings(request))
        except ActionError as exc:
            return self._queue(request, db, error=render(exc.message), status_code=422)
        return Redirect(f"/remote/jobs/{job.id}", status_code=303)

    @get("/jobs/{job_id:int}")
    def job(self, request: Request, db: DB, job_id: IdPath) -> Template:
        return self._job(request, db, job_id)

    @post("/jobs/{job_id:int}/accept")
    def accept(self, request: Request, db: DB, job_id: IdPath) -> Template:
        user = request.scope["user"]
        now = utcnow()
        try:
            with db.begin_nested():
                job_actions.accept_job(db, user.id, job_id, now, now, _settings(request))
        except ActionError as exc:
            return self._job(request, db, job_id, error=render(exc.message), status_code=422,
                             force_fragment=True)
        return self._job(request, db, job_id, message=_("Accepted."), force_fragment=True)

    @post("/jobs/{job_id:int}/finish")
    def finish(self, request: Request, db: DB, job_id: IdPath, data: MultiForm) -> Template:
        """One form: save the notes and steps, or finish as solved / needs onsite."""
        user = request.scope["user"]
        now = utcnow()
        outcome = form_text(data, "outcome", default="save")
        notes = form_text(data, "notes", LONG_TEXT, multiline=True)
        steps = _steps(data)
        try:
            with db.begin_nested():
                if outcome == "save":
                    job_actions.save_job_notes(db, user.id, job_id, notes, now, steps)
                    message = _("Notes saved.")
                else:
                    job_actions.finish_remote_job(db, user.id, job_id, outcome, notes, now,
                                                  _settings(request), steps_done=steps)
                    message = (_("Solved: the request waits for the customer's feedback.")
                               if outcome == "solved"
                               else _("Escalated: the dispatcher will send an onsite engineer."))
        except ActionError as exc:
            return self._job(request, db, job_id, error=render(exc.message),
                             field=exc.field, status_code=422, force_fragment=True,
                             form={"notes": notes, "steps": set(steps)})
        return self._job(request, db, job_id, message=message, force_fragment=True)

    # -- helpers -------------------------------------------------------------------------

    def _queue(self, request: Request, db: Session, error: str | None = None,
               status_code: int = 200) -> Template:
        user = request.scope["user"]
        now = utcnow()
        data = q.remote_queue(db, user.id, now, _settings(request))
        return page(request, "pages/remote_queue.html", fragment="partials/remote_queue.html",
                    queue=data, now=now, error=error, status_code=status_code)

    def _job(self, request: Request, db: Session, job_id: int, *, message: str | None = None,
             error: str | None = None, field: str | None = None, status_code: int = 200,
             force_fragment: bool = False, form: dict | None = None) -> Template:
        user = request.scope["user"]
        now = utcnow()
        data = q.remote_job(db, job_id, now, _settings(request).sla)
        if data is None:
            raise NotFoundException()
        ctx = {
            "d": data, "job": data.job, "req": data.page.request, "now": now,
            "mine": data.job.assignee_id == user.id, "message": message, "error": error,
            "field": field, "form": form, "fault_titles": FAULT_TITLES,
            "labels": request_q.TIMELINE_LABELS, "flag_reasons": FLAG_REASONS,
        }
        if force_fragment:
            return fragment(request, "partials/remote_job.html", status_code=status_code, **ctx)
        return page(request, "pages/remote_job.html", fragment="partials/remote_job.html",
                    status_code=status_code, **ctx)


ROUTES = [RemoteController]
