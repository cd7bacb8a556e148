"""The support manager's swap approvals (S11) and the on-duty screen with absences and
backup calls (S12, D11, D17), beside the roster's month grid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template

from server.actions import ActionError, FieldErrors, absences, swaps
from server.actions.roster import RosterRefused
from server.i18n import gettext as _
from server.i18n import render
from server.models import Role
from server.queries import duty as duty_q
from server.queries import roster as q
from server.queries import swaps as swaps_q
from server.queries.duty import on_duty
from server.routes._http import DB, fragment, get, is_htmx, page, post
from server.routes.params import Form, IdPath
from server.routes.roster import calendar_of, local_today, now_of, rules_of
from server.security import requires


def _swap_card(request: Request, db: DB, swap_id: int, **extra: Any) -> dict[str, Any]:
    views = [v for v in swaps_q.swaps(db) if v.swap.id == swap_id]
    if not views:
        raise NotFoundException()
    return {"s": views[0], "effects": _effects(request, db, views[0]), "fmt_day": q.fmt_day} | extra


def _effects(request: Request, db: DB, v: swaps_q.SwapView) -> dict[str, list[str]]:
    """What approving would do to the month, for a pending request (warnings included)."""
    if v.swap.status != "pending" or v.shift.staff_id != v.swap.from_staff_id:
        return {"errors": [], "warnings": []}
    try:
        errors, warnings, view = swaps.swap_effect(
            db, v.shift, v.swap.to_staff_id, calendar_of(request, db), rules_of(request),
            local_today(request))  # fmt: skip
    except ActionError as exc:
        return {"errors": [render(exc.message)], "warnings": []}
    return {"errors": [view.describe(x.message) for x in errors],
            "warnings": [view.describe(x.message) for x in warnings]}  # fmt: skip


class SwapsController(Controller):
    path = "/roster/swaps"
    guards = [requires(Role.manager)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Template:
        pending = swaps_q.swaps(db, status="pending")
        since = now_of(request) - timedelta(days=30)
        decided = [v for v in swaps_q.swaps(db, since=since) if v.swap.status != "pending"]
        cards = [{"s": v, "effects": _effects(request, db, v)} for v in pending]
        return page(request, "pages/roster_swaps.html", cards=cards, decided=decided,
                    fmt_day=q.fmt_day)  # fmt: skip

    def _decide(self, request: Request, db: DB, swap_id: int, approve: bool, data: dict) -> Response:
        error: list[str] = []
        try:
            swaps.decide_swap(db, request.scope["user"].id, swap_id, approve, now_of(request),
                                calendar_of(request, db), rules_of(request), local_today(request),
                                note=str(data.get("note", "")))  # fmt: skip
        except RosterRefused as exc:
            db.rollback()
            error = exc.lines()
        except ActionError as exc:
            db.rollback()
            error = [render(exc.message)]
        db.flush()
        if not is_htmx(request) and not error:
            return Redirect("/roster/swaps", status_code=303)
        if error:
            return fragment(request, "partials/swap_card.html", status_code=422,
                            **_swap_card(request, db, swap_id, decide_error=error))  # fmt: skip
        card = _swap_card(request, db, swap_id)["s"]
        said = (_("Approved: {name} now works this shift; both were told.") if approve
                else _("Refused: {name} keeps this shift; both were told."))
        since = now_of(request) - timedelta(days=30)
        return fragment(request, "partials/swap_decided_answer.html", fmt_day=q.fmt_day,
                        decided=[v for v in swaps_q.swaps(db, since=since) if v.swap.status != "pending"],
                        pending_left=bool(swaps_q.swaps(db, status="pending")),
                        just_decided=said.format(name=card.to_name if approve else card.from_name))

    @post("/{swap_id:int}/approve")
    def approve(self, request: Request, db: DB, swap_id: IdPath, data: Form) -> Response:
        return self._decide(request, db, swap_id, True, data)

    @post("/{swap_id:int}/refuse")
    def refuse(self, request: Request, db: DB, swap_id: IdPath, data: Form) -> Response:
        return self._decide(request, db, swap_id, False, data)


# -- duty and absences (S12, D11) -------------------------------------------------------


class DutyController(Controller):
    path = "/roster/duty"
    guards = [requires(Role.manager, Role.dispatcher)]
    include_in_schema = False

    def _context(self, request: Request, db: DB) -> dict[str, Any]:
        now = now_of(request)
        return {"now": now, "duty": on_duty(db, now, request.app.state.settings),
                "shifts": duty_q.shifts_between(db, now, now + timedelta(hours=36)),
                "fmt_day": q.fmt_day}  # fmt: skip

    @get("/")
    def index(self, request: Request, db: DB) -> Template:
        return page(request, "pages/roster_duty.html", **self._context(request, db))

    @post("/{shift_id:int}/absent")
    def absent(self, request: Request, db: DB, shift_id: IdPath, data: Form) -> Response:
        error = None
        try:
            absences.report_absence(db, request.scope["user"].id, shift_id,
                                   str(data.get("reason", "")), now_of(request))  # fmt: skip
        except FieldErrors as exc:
            db.rollback()
            error = render(next(iter(exc.errors.values())))
        except ActionError as exc:
            db.rollback()
            error = render(exc.message)
        db.flush()
        if not is_htmx(request) and not error:
            return Redirect("/roster/duty", status_code=303)
        return page(request, "pages/roster_duty.html", fragment="partials/duty_body.html",
                    status_code=422 if error else 200, absent_error=error,
                    error_shift=shift_id, **self._context(request, db))  # fmt: skip


ROUTES = [SwapsController, DutyController]
