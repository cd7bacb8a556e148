"""The support manager's special-period calendar (S1, D2): day kinds, shifts, overrides."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.response import Redirect, Response, Template

from server.actions import ActionError, FieldErrors
from server.actions import calendar as actions
from server.db import utcnow
from server.domain.text import N_
from server.i18n import current_locale, render
from server.models import Role
from server.queries.calendar import load_calendar
from server.queries.calendar_month import month_view, overrides
from server.routes._http import DB, get, is_htmx, page, post
from server.routes.nav import Screen, register
from server.routes.params import DayPath, Form, MonthQuery
from server.security import requires

register(Screen("/calendar", N_("Special-period calendar"),
                N_("Holidays, make-up working days, hand-entered days"), ("manager",)))  # fmt: skip


def _month(value: str | None, today: datetime) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return year, month
    except ValueError:
        pass
    return today.year, today.month


def _render(request: Request, db: DB, month: str | None, status_code: int = 200,
            errors: dict[str, str] | None = None, form: dict | None = None) -> Template:  # fmt: skip
    settings = request.app.state.settings
    today = utcnow().astimezone(ZoneInfo(settings.time_zone))
    year, mon = _month(month, today)
    view = month_view(load_calendar(db, settings.time_zone), year, mon, today.date(),
                      current_locale())  # fmt: skip
    # htmx restoring a pushed month (back button) needs the whole page, not the fragment
    restoring = request.headers.get("hx-history-restore-request") == "true"
    return page(request, "pages/calendar.html",
                fragment=None if restoring else "partials/calendar_body.html",
                status_code=status_code, view=view, overrides=overrides(db), errors=errors or {},
                form=form or {"day": "", "until": "", "kind": "holiday", "name": ""})  # fmt: skip


class CalendarController(Controller):
    path = "/calendar"
    guards = [requires(Role.manager)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB, month: MonthQuery = None) -> Template:
        return _render(request, db, month)

    @post("/overrides")
    def add(self, request: Request, db: DB, data: Form) -> Response:
        user = request.scope["user"]
        try:
            actions.set_overrides(db, user.id, data, utcnow())
        except FieldErrors as exc:
            db.rollback()
            errors = {k: render(v) for k, v in exc.errors.items()}
            return _render(request, db, data.get("month"), 422, errors, data)
        return self._done(request, db, str(data.get("day", ""))[:7])

    @post("/overrides/{day:str}/remove")
    def remove(self, request: Request, db: DB, day: DayPath, data: Form) -> Response:
        user = request.scope["user"]
        try:
            actions.remove_override(db, user.id, day, utcnow())
        except ActionError as exc:
            db.rollback()
            return _render(request, db, data.get("month"), 422, {"list": render(exc.message)})
        return self._done(request, db, str(data.get("month") or day[:7]))

    def _done(self, request: Request, db: DB, month: str) -> Response:
        if is_htmx(request):
            db.flush()  # the fragment shows the calendar with the change applied
            return _render(request, db, month)
        return Redirect(f"/calendar?month={month}", status_code=303)


ROUTES = [CalendarController]
