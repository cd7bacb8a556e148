"""Each engineer's own shifts on the phone: swap requests (S11), backup calls (S12), days
off, hours (D16) and the private calendar feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template
from sqlmodel import select

from server.actions import ActionError, FieldErrors, absences, swaps
from server.actions import assign as assign_actions
from server.actions import roster as actions
from server.actions.roster import RosterRefused
from server.domain.roster import hours_report
from server.domain.text import N_
from server.i18n import render
from server.models import Role, Shift, Staff
from server.queries import duty as duty_q
from server.queries import ical, roster_hours
from server.queries import my_shifts as my_shifts_q
from server.queries import roster as q
from server.queries import swaps as swaps_q
from server.queries.duty import job_calls
from server.queries.team import eligible_ids
from server.routes._http import DB, fragment, get, is_htmx, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath, TokenPath
from server.routes.roster import calendar_of, local_today, now_of, rules_of
from server.security import requires

register(Screen("/my/shifts", N_("My shifts"), N_("Shifts, swaps, backup calls, calendar"),
                ("remote", "onsite")))  # fmt: skip


def _my_hours(request: Request, db: DB, staff_id: int) -> dict[str, Any] | None:
    today = local_today(request)
    key = q.month_key(today.year, today.month)
    roster = q.rosters_by_month(db, [key]).get(key)
    if roster is None or roster.status != "published":
        return None
    slots = calendar_of(request, db).month_slots(today.year, today.month)
    split = hours_report(slots, [a for a in roster_hours.worked_assignments(db, roster) if a.staff_id == staff_id])
    return {"month": key, "split": split.get(staff_id)}


def _context(request: Request, db: DB, **extra: Any) -> dict[str, Any]:
    user = request.scope["user"]
    now = now_of(request)
    staff = db.get(Staff, user.id)
    return {
        "shifts": my_shifts_q.my_shifts(db, user.id, now, rules_of(request)),
        "calls": duty_q.backup_calls(db, user.id, now),
        "job_calls": job_calls(db, user.id),
        "my_swaps": swaps_q.swaps(db, staff_id=user.id, since=now - timedelta(days=45), limit=20),
        "days_off": my_shifts_q.my_days_off(db, user.id, local_today(request)),
        "hours": _my_hours(request, db, user.id),
        "staff": staff,
        "feed_url": _feed_url(request, staff.ical_token) if staff.ical_token else None,
        "fmt_day": q.fmt_day,
        "rules": rules_of(request),
        "now": now,
        "errors": {},
    } | extra


def _feed_url(request: Request, token: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/ical/{token}.ics"


def _own_shift(db: DB, user_id: int, shift_id: int) -> Shift:
    shift = db.get(Shift, shift_id)
    if shift is None or shift.staff_id != user_id:
        raise NotFoundException()
    return shift


class MyShiftsController(Controller):
    path = "/my/shifts"
    guards = [requires(Role.remote, Role.onsite)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Template:
        return page(request, "pages/my_shifts.html", **_context(request, db))

    def _swap_form(self, request: Request, db: DB, shift: Shift, **extra: Any) -> dict[str, Any]:
        eligible = eligible_ids(db, local_today(request), rules_of(request))
        mine = next((m for m in my_shifts_q.my_shifts(db, shift.staff_id, now_of(request), rules_of(request))
                     if m.shift.id == shift.id), None)  # fmt: skip
        return {"m": mine, "candidates": my_shifts_q.swap_candidates(db, shift, eligible),
                "fmt_day": q.fmt_day, "rules": rules_of(request), "form": {}, "errors": {},
                "refused": []} | extra  # fmt: skip

    @get("/{shift_id:int}/swap")
    def swap_form(self, request: Request, db: DB, shift_id: IdPath) -> Template:
        shift = _own_shift(db, request.scope["user"].id, shift_id)
        ctx = self._swap_form(request, db, shift)
        if ctx["m"] is None:
            raise NotFoundException()
        return page(request, "pages/my_swap.html", fragment="partials/swap_form.html", **ctx)

    @post("/{shift_id:int}/swap")
    def swap(self, request: Request, db: DB, shift_id: IdPath, data: Form) -> Response:
        user = request.scope["user"]
        shift = _own_shift(db, user.id, shift_id)
        if not any(m.shift.id == shift.id
                   for m in my_shifts_q.my_shifts(db, user.id, now_of(request), rules_of(request))):
            raise NotFoundException()  # ended, or in a roster not yet published: as the GET  # fmt: skip
        try:
            swaps.request_swap(db, user.id, shift.id, data.get("to_staff_id", ""),
                                 str(data.get("reason", "")), now_of(request),
                                 calendar_of(request, db), rules_of(request),
                                 local_today(request))  # fmt: skip
        except FieldErrors as exc:
            db.rollback()
            errors = {k: render(v) for k, v in exc.errors.items()}
            return page(request, "pages/my_swap.html", fragment="partials/swap_form.html",
                        status_code=422,
                        **self._swap_form(request, db, shift, errors=errors, form=data))  # fmt: skip
        except RosterRefused as exc:
            db.rollback()
            return page(request, "pages/my_swap.html", fragment="partials/swap_form.html",
                        status_code=422,
                        **self._swap_form(request, db, shift, refused=exc.lines(), form=data))  # fmt: skip
        except ActionError as exc:
            db.rollback()
            return page(request, "pages/my_swap.html", fragment="partials/swap_form.html",
                        status_code=422,
                        **self._swap_form(request, db, shift, refused=[render(exc.message)],
                                          form=data))  # fmt: skip
        db.flush()
        if not is_htmx(request):
            return Redirect("/my/shifts", status_code=303)
        ctx = _context(request, db)
        mine = next(m for m in ctx["shifts"] if m.shift.id == shift.id)
        colleague = db.get(Staff, mine.pending_swap.to_staff_id)
        return fragment(request, "partials/swap_done.html", m=mine, done=colleague.display_name,
                        **ctx)  # fmt: skip

    @post("/calls/{absence_id:int}/accept")
    def accept(self, request: Request, db: DB, absence_id: IdPath) -> Response:
        error = None
        try:
            absences.accept_absence(db, request.scope["user"].id, absence_id, now_of(request))
        except ActionError as exc:
            db.rollback()
            error = render(exc.message)
        db.flush()
        if not is_htmx(request) and not error:
            return Redirect("/my/shifts", status_code=303)
        return page(request, "pages/my_shifts.html", fragment="partials/my_shifts_body.html",
                    status_code=422 if error else 200, call_error=error, call_id=absence_id,
                    accepted=None if error else absence_id,
                    **_context(request, db))  # fmt: skip

    @post("/job-calls/{call_id:int}/accept")
    def accept_job_call(self, request: Request, db: DB, call_id: IdPath) -> Response:
        """S12: a backup alerted for one request takes its job (the first to accept)."""
        try:
            job = assign_actions.accept_backup_call(db, request.scope["user"].id, call_id,
                                                    now_of(request), request.app.state.settings)
        except ActionError as exc:
            db.rollback()
            return page(request, "pages/my_shifts.html", fragment="partials/my_shifts_body.html",
                        status_code=422, call_error=render(exc.message), **_context(request, db))
        db.flush()
        where = f"/field/jobs/{job.id}" if job.kind == "onsite" else f"/remote/jobs/{job.id}"
        if is_htmx(request):
            return Response("", headers={"HX-Redirect": where})
        return Redirect(where, status_code=303)

    @post("/days-off")
    def day_off(self, request: Request, db: DB, data: Form) -> Response:
        user = request.scope["user"]
        errors: dict[str, str] = {}
        try:
            actions.set_day_off(db, user.id, user.id, str(data.get("day", "")),
                                data.get("on", "1") == "1", local_today(request))  # fmt: skip
        except FieldErrors as exc:
            db.rollback()
            errors = {k: render(v) for k, v in exc.errors.items()}
        except ActionError as exc:
            db.rollback()
            errors = {"day": render(exc.message)}
        db.flush()
        if not is_htmx(request) and not errors:
            return Redirect("/my/shifts#days-off", status_code=303)
        return page(request, "pages/my_shifts.html", fragment="partials/my_days_off.html",
                    status_code=422 if errors else 200,
                    **_context(request, db, errors=errors))  # fmt: skip

    @post("/calendar-link")
    def calendar_link(self, request: Request, db: DB, data: Form) -> Response:
        actions.ical_token(db, request.scope["user"].id, reset=data.get("reset") == "1")
        db.flush()
        if not is_htmx(request):
            return Redirect("/my/shifts#calendar", status_code=303)
        return fragment(request, "partials/my_calendar_link.html", **_context(request, db))


class ICalController(Controller):
    """The private feed: the token in the address is the only key (no session on a phone's
    calendar app); unknown tokens get 404, and a reset token stops working at once."""

    path = "/ical"
    include_in_schema = False

    @get("/{token:str}", opt={"public": True})
    def feed(self, request: Request, db: DB, token: TokenPath) -> Response:
        token = token.removesuffix(".ics")
        if not token or len(token) > 64:
            raise NotFoundException()
        staff = db.exec(select(Staff).where(Staff.ical_token == token)).first()
        if staff is None or not staff.active:
            raise NotFoundException()
        body = ical.feed(db, staff, now_of(request), str(request.base_url).rstrip("/"))
        return Response(body, media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'inline; filename="fieldops.ics"',
                                 "Cache-Control": "private, max-age=300"})  # fmt: skip


ROUTES = [MyShiftsController, ICalController]
