"""The dispatch board (dispatcher, support manager; laptop) and the live-update stream.

``/board`` lists every open request with its running clocks and who is on duty;
htmx requests get the fragment, which the page re-fetches whenever ``/events`` says
something changed (and every 10 s while the stream is down). A request's page holds
its timeline and the actions: assign, reassign, escalate, pause or resume a clock,
cancel.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Response
from sqlmodel import Session, select

from server.actions import ActionError, field_flags
from server.actions import assign as assign_actions
from server.actions import jobs as job_actions
from server.db import utcnow
from server.domain.bounds import MAX_COUNT
from server.domain.field import FLAG_REASONS
from server.domain.sla import CLOCK_KINDS
from server.domain.text import N_
from server.i18n import gettext as _
from server.i18n import render
from server.models import ACTIVE_JOB_STATUSES, Job, Role, SupportRequest
from server.queries import duty as duty_q
from server.queries import request_page as rp
from server.queries.board_duty import person_jobs
from server.queries.board_page import board_page
from server.routes import board_rows, board_shared
from server.routes._http import DB, SELF_COMPRESSED, fragment, get, is_htmx, page, post
from server.routes.nav import Screen, register
from server.routes.params import (
    CountQuery,
    Form,
    IdPath,
    IdQuery,
    TextQuery,
    TokenPath,
    WordQuery,
    choice_path,
)
from server.security import requires

BOARD_ROLES = (Role.dispatcher, Role.manager)
PAGE_ROWS = 200  # rows a board shows at first; more load as the dispatcher scrolls
MAX_ROWS = 5000
PAUSE_REASONS = (N_("Customer unreachable"), N_("Customer asked to wait"))

register(Screen("/board", N_("Dispatch board"), N_("Open requests, clocks, who is on duty"),
                tuple(BOARD_ROLES)))


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _now(request: Request) -> datetime:
    """The current instant, from the server's one clock (``server.clock``)."""
    return utcnow()


def _int(value: Any) -> int | None:
    """A count or an id from a form, query or header; not a number in 0..2^31-1 -> None."""
    raw = str(value if value is not None else "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    number = int(raw)
    return number if number <= MAX_COUNT else None


def assign_context(db: Session, request: SupportRequest, kind: str | None, job_id: int | None,
                   now, settings: Any = None) -> dict[str, Any]:
    """The assign (or reassign) form: only the people on duty who may take this job (D11)."""
    job = db.get(Job, job_id) if job_id else None
    if job is not None and (job.request_id != request.id or job.status not in ACTIVE_JOB_STATUSES):
        job = None
    active = db.exec(
        select(Job).where(Job.request_id == request.id, Job.status.in_(ACTIVE_JOB_STATUSES))
    ).all()
    active_kinds = {j.kind for j in active}
    if job is not None:
        kind = job.kind
    if kind not in job_actions.JOB_KINDS:  # the request's own kind first, then what is missing
        first = request.classification if request.classification in job_actions.JOB_KINDS else "remote"
        kind = next((k for k in (first, "remote", "onsite") if k not in active_kinds), first)
    people = job_actions.eligible_engineers(db, request, kind, now, settings)
    load = duty_q.active_jobs_by_person(db, [p.staff_id for p in people])
    candidates = sorted(
        ((p, load.get(p.staff_id, [])) for p in people if job is None or p.staff_id != job.assignee_id),
        key=lambda pl: (len(pl[1]), pl[0].display_name),
    )
    call = backups = None
    if not candidates and job is None:  # nobody fits: the next step, in one click (S12)
        call = assign_actions.open_backup_call(db, request.id, kind)
        region = request.region if kind == "onsite" else None
        backups = assign_actions.month_backups(db, kind, region, now, settings)
    return {"req": request, "kind": kind, "job": job, "candidates": candidates,
            "active_kinds": active_kinds, "backup_call": call, "backups": backups,
            "call_names": _names(db, call.alerted) if call else []}


def _names(db: Session, ids: list[int]) -> list[str]:
    from server.models import Staff

    return list(db.exec(select(Staff.display_name).where(Staff.id.in_(ids or [0]))).all())


ClockKindPath = choice_path(*CLOCK_KINDS)


class BoardController(Controller):
    path = "/board"
    guards = [requires(*BOARD_ROLES)]
    include_in_schema = False

    @get("/", opt={SELF_COMPRESSED: True})
    def index(self, request: Request, db: DB, rows: TextQuery = None) -> Response:
        """The board. ``rows``: how many of the most urgent requests to show (the page
        shows ``PAGE_ROWS`` and loads more on scroll; a live refresh asks for as many as
        are loaded; ``all`` for every one). Its HTML is shared by every open board
        (``board_shared``); htmx requests get the requests section and the duty panel.
        Header ``FO-Seen``: the change version the page was told about (``app.js``)."""
        shown = None if rows == "all" else max(PAGE_ROWS, min(_int(rows) or 0, MAX_ROWS))
        seen = _int(request.headers.get("fo-seen"))  # the change version the board heard of
        shared = board_shared.shared_board(request, db, _now(request), shown, seen)
        if is_htmx(request):  # compressed once per render, for every board
            return board_shared.compressed(request, shared.fragment, shared.fragment_gzip)
        return board_shared.render(request, page(request, "pages/board.html",
                                                 board_html=shared.board, duty_html=shared.duty),
                                   compress=True)

    @get("/more")
    def more(self, request: Request, db: DB, offset: CountQuery = 0) -> Response:
        """The next rows of the board, below the ``offset`` most urgent ones."""
        settings = _settings(request)
        offset = max(0, min(offset, MAX_ROWS))
        end = offset + PAGE_ROWS
        data = board_page(db, _now(request), settings, end)
        words = board_rows.words()
        html = board_rows.rows_html(data.rows[offset:end], words, ZoneInfo(settings.time_zone))
        more = board_rows.more_row(end, data.open - end, words)
        return board_shared.html(str(html + more))

    @get("/duty/{staff_id:int}")
    def duty_jobs(self, request: Request, db: DB, staff_id: IdPath) -> Response:
        """Every active job of one person on duty (the duty panel shows the first few)."""
        found = person_jobs(db, staff_id)
        if found is None:
            raise NotFoundException()
        name, jobs = found
        person = SimpleNamespace(jobs=jobs, more=0, duty=SimpleNamespace(staff_id=staff_id))
        return board_shared.render(request, page(
            request, "pages/board_duty_jobs.html", fragment="partials/board_duty_jobs.html",
            person_name=name, p=person))

    @get("/requests/{request_id:int}")
    def request_page(self, request: Request, db: DB, request_id: IdPath) -> Response:
        """A request with its clocks, jobs and timeline (htmx: the detail fragment)."""
        return self._after(request, db, request_id, {})

    @get("/requests/{request_id:int}/panel")
    def panel(self, request: Request, db: DB, request_id: IdPath) -> Response:
        """The board's side panel for one request: reassign, a new job, escalate."""
        return self._after(request, db, request_id, {"origin": "board"})

    @get("/requests/{request_id:int}/assign")
    def assign_form(self, request: Request, db: DB, request_id: IdPath,
                    kind: TextQuery = None, job_id: IdQuery = None,
                    origin: WordQuery = "page") -> Response:
        """The new-job form again, for another kind of job (remote / onsite)."""
        req = self._request(db, request_id)
        return board_shared.render(request, fragment(
            request, "partials/assign_form.html",
            **assign_context(db, req, kind, job_id, _now(request), _settings(request)),
            error=None, origin="board" if origin == "board" else "page"))

    @post("/requests/{request_id:int}/assign")
    def assign(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Response:
        """Assign a new job, or (with ``job_id``) reassign an active one (D11)."""
        user = request.scope["user"]
        self._request(db, request_id)
        now = _now(request)
        job_id = _int(data.get("job_id"))
        engineer_id = _int(data.get("engineer_id")) or 0
        kind = str(data.get("kind", ""))
        try:
            with db.begin_nested():
                if job_id:
                    job = job_actions.reassign_job(db, user.id, job_id, engineer_id, now,
                                                   _settings(request), request_id=request_id)
                else:
                    job = job_actions.assign_job(db, user.id, request_id, engineer_id, kind, now,
                                                 _settings(request))
        except ActionError as exc:
            return self._after(request, db, request_id, data, error=render(exc.message),
                               status_code=422, failed=job_id or kind or "new")
        return self._after(request, db, request_id, data,
                           message=_("Assigned to {name}.").format(name=_name(db, job.assignee_id)))

    @post("/requests/{request_id:int}/escalate")
    def escalate(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        return self._act(request, db, request_id, data, _("Escalated to onsite: assign an onsite engineer."),
                         lambda now: job_actions.escalate_request(db, user.id, request_id, now,
                                                                  _settings(request)))

    @post("/requests/{request_id:int}/call-backups")
    def call_backups(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Response:
        """S12: nobody on duty fits: alert the backups of the group (and region) now."""
        user, kind = request.scope["user"], str(data.get("kind", ""))
        return self._act(request, db, request_id, data,
                         _("Backups alerted: the first to accept takes the job."),
                         lambda now: assign_actions.call_backups(db, user.id, request_id, kind, now,
                                                                 _settings(request)))

    @post("/requests/{request_id:int}/raise")
    def raise_to_lead(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Response:
        """Nobody fits and no backup is free: tell the on-duty leads now."""
        user = request.scope["user"]
        return self._act(request, db, request_id, data, _("Raised to the on-duty lead."),
                         lambda now: assign_actions.raise_to_lead(db, user.id, request_id, now,
                                                                  str(data.get("note", ""))))

    @post("/requests/{request_id:int}/facts/{fact_id:str}/resolve")
    def resolve_fact(self, request: Request, db: DB, request_id: IdPath,
                     fact_id: TokenPath, data: Form) -> Response:
        """D13-D15: accept a flagged field fact, reject it with a note, or hand a refused
        swap to the equipment manager."""
        user = request.scope["user"]
        return self._act(request, db, request_id, data, _("Flag resolved."),
                         lambda now: field_flags.resolve_flag(
                             db, user.id, fact_id[:36], str(data.get("decision", "")),
                             str(data.get("note", ""))[:2000], now, _settings(request),
                             request_id=request_id))

    @post("/requests/{request_id:int}/clocks/{kind:str}/pause")
    def pause(self, request: Request, db: DB, request_id: IdPath, kind: ClockKindPath,
              data: Form) -> Response:
        user = request.scope["user"]
        reason = str(data.get("reason_text") or "").strip() or str(data.get("reason") or "")
        return self._act(request, db, request_id, data, _("Clock paused."),
                         lambda now: job_actions.pause_request_clock(db, user.id, request_id, kind,
                                                                     reason, now))

    @post("/requests/{request_id:int}/clocks/{kind:str}/resume")
    def resume(self, request: Request, db: DB, request_id: IdPath, kind: ClockKindPath,
               data: Form) -> Response:
        user = request.scope["user"]
        return self._act(request, db, request_id, data, _("Clock resumed."),
                         lambda now: job_actions.resume_request_clock(db, user.id, request_id, kind,
                                                                      now))

    @post("/requests/{request_id:int}/cancel")
    def cancel(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        return self._act(request, db, request_id, data, _("Request cancelled."),
                         lambda now: job_actions.cancel_request(db, user.id, request_id,
                                                                str(data.get("reason", "")), now,
                                                                _settings(request)))

    # -- helpers -------------------------------------------------------------------------

    def _request(self, db: Session, request_id: int) -> SupportRequest:
        req = db.get(SupportRequest, request_id)
        if req is None:
            raise NotFoundException()
        return req

    def _act(self, request: Request, db: Session, request_id: int, data: dict, ok: str,
             action) -> Response:
        self._request(db, request_id)
        try:
            with db.begin_nested():
                action(_now(request))
        except ActionError as exc:
            return self._after(request, db, request_id, data, error=render(exc.message),
                               status_code=422)
        return self._after(request, db, request_id, data, message=ok)

    def _after(self, request: Request, db: Session, request_id: int, data: dict, *,
               message: str | None = None, error: str | None = None, status_code: int = 200,
               failed: int | str | None = None) -> Response:
        """What a form on the board's side panel or on the request page gets back: that
        panel or page, re-rendered, with the message (and a refusal next to the form that
        was sent, ``failed``: a job id, a job kind or "new")."""
        now = _now(request)
        data_ = rp.request_page(db, request_id, now, _settings(request).sla)
        if data_ is None:
            raise NotFoundException()
        req = data_.request
        new_kind = failed if failed in job_actions.JOB_KINDS else None
        assign = assign_context(db, req, new_kind, None, now, _settings(request))
        assign["error"] = error if failed is not None and not isinstance(failed, int) else None
        reassign = {}
        for j, _n in data_.jobs:
            if j.status in ACTIVE_JOB_STATUSES:
                reassign[j.id] = assign_context(db, req, None, j.id, now, _settings(request))
                reassign[j.id]["error"] = error if failed == j.id else None
        origin = "board" if data.get("origin") == "board" else "page"
        beside_a_form = failed is not None and (not isinstance(failed, int) or failed in reassign)
        ctx = {
            "p": data_, "req": req, "now": now, "message": message,
            "error": None if beside_a_form else error, "origin": origin,
            "pause_reasons": PAUSE_REASONS, "labels": rp.TIMELINE_LABELS,
            "flag_reasons": FLAG_REASONS, "can_resolve": True,
            "assign": assign, "reassign": reassign,
            "escalate_offered": req.classification == "remote",
        }
        if origin == "board":
            template = fragment(request, "partials/board_panel.html", status_code=status_code,
                                **ctx)
        elif request.method == "GET":
            template = page(request, "pages/request.html",
                            fragment="partials/request_detail.html", status_code=status_code,
                            **ctx)
        else:
            template = fragment(request, "partials/request_detail.html",
                                status_code=status_code, **ctx)
        return board_shared.render(request, template)  # in this worker thread


def _name(db: Session, staff_id: int | None) -> str:
    from server.models import Staff

    staff = db.get(Staff, staff_id) if staff_id else None
    return staff.display_name if staff else "—"


ROUTES = [BoardController]
