"""The support manager's roster screens: the month grid, "Fill for me", publishing, swap
approvals, absences and hours (S9-S12, D10, D16)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template

from server.actions import ActionError, FieldErrors, roster_fill
from server.actions import roster as actions
from server.actions.roster import RosterRefused
from server.db import utcnow
from server.domain.roster import RosterRules
from server.domain.spreadsheet import csv_row, xlsx_append
from server.domain.text import N_
from server.i18n import gettext as _
from server.i18n import render
from server.models import Role
from server.queries import roster as q
from server.queries import roster_hours
from server.queries import swaps as swaps_q
from server.queries.calendar import load_calendar
from server.routes._http import DB, fragment, get, is_htmx, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, MonthPath, form_day, form_id, form_month
from server.security import requires

FILL_SECONDS = 8.0  # CP-SAT's time limit for "Fill for me" (the issue asks for < 10 s)

register(Screen("/roster", N_("Roster"), N_("Monthly shifts, backups, publishing"), ("manager",)))
register(Screen("/roster/swaps", N_("Swap requests"), N_("Approve or refuse shift swaps"),
                ("manager",)))  # fmt: skip
register(Screen("/roster/duty", N_("On duty and absences"),
                N_("Who is on duty, call in a backup"), ("manager", "dispatcher")))  # fmt: skip


# -- request helpers shared by the roster, team and my-shifts screens --------------------


def now_of(request: Request) -> datetime:
    """The current instant, from the server's one clock (``server.clock``)."""
    return utcnow()


def tz_of(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.time_zone)


def local_today(request: Request, now: datetime | None = None) -> date:
    return (now or now_of(request)).astimezone(tz_of(request)).date()


def rules_of(request: Request) -> RosterRules:
    return request.app.state.settings.roster


def calendar_of(request: Request, db: DB):
    return load_calendar(db, request.app.state.settings.time_zone)


def _month(value: str) -> tuple[int, int]:
    ym = q.parse_month(value)
    if ym is None:
        raise NotFoundException()
    return ym


def _view(request: Request, db: DB, year: int, month: int) -> q.MonthView:
    return q.month_view(db, year, month, calendar_of(request, db), rules_of(request),
                        local_today(request))  # fmt: skip


def _grid_context(request: Request, view: q.MonthView, **extra: Any) -> dict[str, Any]:
    return {"view": view, "say": view.describe, "fmt_day": q.fmt_day,
            "weekdays": q.WEEKDAYS, "now": now_of(request)} | extra  # fmt: skip


# -- the month grid ---------------------------------------------------------------------


class RosterController(Controller):
    path = "/roster"
    guards = [requires(Role.manager)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Template:
        today = local_today(request)
        keys = [q.month_key(*q.add_months(today.year, today.month, n)) for n in range(-1, 4)]
        rosters = q.rosters_by_month(db, keys)
        cal = calendar_of(request, db)
        months = []
        for key in keys:
            y, m = q.parse_month(key)
            last = date(*q.add_months(y, m, 1), 1) - timedelta(days=1)
            months.append({"key": key, "roster": rosters.get(key), "past": last < today,
                           "missing_calendar": not cal.is_covered(y),
                           "overrides": cal.override_count(y)})  # fmt: skip
        pending = len(swaps_q.swaps(db, status="pending"))
        return page(request, "pages/roster_index.html", months=months, pending=pending,
                    reminder=q.draft_reminder(db, today, rules_of(request)), today=today)  # fmt: skip

    @post("/")
    def create(self, request: Request, db: DB, data: Form) -> Response:
        ym = form_month(data, "month")
        try:
            actions.create_draft(db, request.scope["user"].id, *ym, local_today(request))
        except ActionError as exc:
            if q.rosters_by_month(db, [q.month_key(*ym)]):
                return Redirect(f"/roster/{q.month_key(*ym)}", status_code=303)
            return page(request, "pages/refused.html", status_code=422,
                        message=render(exc.message), status=422)  # fmt: skip
        return Redirect(f"/roster/{q.month_key(*ym)}", status_code=303)

    @get("/{month:str}")
    def month(self, request: Request, db: DB, month: MonthPath) -> Template:
        view = _view(request, db, *_month(month))
        return page(request, "pages/roster_month.html", **_grid_context(request, view))

    @post("/{month:str}/toggle")
    def toggle(self, request: Request, db: DB, month: MonthPath, data: Form) -> Response:
        y, m = _month(month)
        roster = q.rosters_by_month(db, [q.month_key(y, m)]).get(q.month_key(y, m))
        if roster is None:
            raise NotFoundException()
        error = None
        try:
            staff_id = form_id(data, "staff_id")
            day = form_day(data, "day")
        except ValueError:
            staff_id, day, error = None, None, _("This cell is not a shift of the month.")
        if error is None:
            try:
                actions.toggle_shift(db, request.scope["user"].id, roster.id, staff_id, day,
                                     str(data.get("kind", "")), calendar_of(request, db))  # fmt: skip
            except ActionError as exc:
                db.rollback()
                error = render(exc.message)
        db.flush()
        view = _view(request, db, y, m)
        ctx = _grid_context(request, view, error=error)
        member = next((x for x in view.member_list() if x.staff.id == staff_id), None)
        if member is None:
            return fragment(request, "partials/roster_problems.html", status_code=422,
                            oob=False, **ctx)  # fmt: skip
        return fragment(request, "partials/roster_row_update.html",
                        status_code=422 if error else 200, m=member, **ctx)  # fmt: skip

    @post("/{month:str}/backup")
    def backup(self, request: Request, db: DB, month: MonthPath, data: Form) -> Response:
        y, m = _month(month)
        roster = q.rosters_by_month(db, [q.month_key(y, m)]).get(q.month_key(y, m))
        if roster is None:
            raise NotFoundException()
        error = None
        try:
            actions.toggle_backup(db, request.scope["user"].id, roster.id,
                                  form_id(data, "staff_id"))  # fmt: skip
        except (ActionError, ValueError) as exc:
            db.rollback()
            error = render(exc.message) if isinstance(exc, ActionError) else _("Choose a person.")
        db.flush()
        view = _view(request, db, y, m)
        return fragment(request, "partials/roster_backups_update.html",
                        status_code=422 if error else 200,
                        **_grid_context(request, view, backup_error=error))  # fmt: skip

    @post("/{month:str}/days-off")
    def days_off(self, request: Request, db: DB, month: MonthPath, data: Form) -> Response:
        y, m = _month(month)
        error = None
        try:
            actions.set_day_off(db, request.scope["user"].id, form_id(data, "staff_id"),
                                str(data.get("day", "")), data.get("on", "1") == "1",
                                local_today(request))  # fmt: skip
        except FieldErrors as exc:
            db.rollback()
            error = render(next(iter(exc.errors.values())))
        except (ActionError, ValueError) as exc:
            db.rollback()
            error = render(exc.message) if isinstance(exc, ActionError) else _("Choose a person.")
        db.flush()
        if not is_htmx(request) and not error:
            return Redirect(f"/roster/{month}#days-off", status_code=303)
        view = _view(request, db, y, m)
        return page(request, "pages/roster_month.html", fragment="partials/roster_body.html",
                    status_code=422 if error else 200,
                    **_grid_context(request, view, dayoff_error=error))  # fmt: skip

    @post("/{month:str}/fill")
    def fill(self, request: Request, db: DB, month: MonthPath, data: Form) -> Response:
        y, m = _month(month)
        view = _view(request, db, y, m)
        if view.roster is None:
            raise NotFoundException()
        try:
            result = roster_fill.fill_draft(db, request.scope["user"].id, view,
                                        keep=data.get("keep") == "1",
                                        time_limit_s=FILL_SECONDS)  # fmt: skip
        except ActionError as exc:
            return page(request, "pages/roster_month.html", fragment="partials/roster_body.html",
                        status_code=422,
                        **_grid_context(request, view, fill_error=[render(exc.message)]))  # fmt: skip
        db.flush()
        fresh = _view(request, db, y, m)
        if not result.feasible:
            return page(request, "pages/roster_month.html", fragment="partials/roster_body.html",
                        status_code=422,
                        **_grid_context(request, fresh,
                                        fill_error=[view.describe(r) for r in result.reasons]))  # fmt: skip
        return page(request, "pages/roster_month.html", fragment="partials/roster_body.html",
                    **_grid_context(request, fresh, filled=result,
                                    fill_notes=[view.describe(r) for r in result.reasons]))  # fmt: skip

    @post("/{month:str}/publish")
    def publish(self, request: Request, db: DB, month: MonthPath) -> Response:
        y, m = _month(month)
        view = _view(request, db, y, m)
        try:
            actions.publish(db, request.scope["user"].id, view, now_of(request))
        except RosterRefused as exc:
            return page(request, "pages/roster_month.html", fragment="partials/roster_body.html",
                        status_code=422,
                        **_grid_context(request, view, publish_error=exc.lines()))  # fmt: skip
        except ActionError as exc:
            return page(request, "pages/roster_month.html", fragment="partials/roster_body.html",
                        status_code=422,
                        **_grid_context(request, view,
                                        publish_error=[render(exc.message)]))  # fmt: skip
        if is_htmx(request):
            return Response("", status_code=200, headers={"HX-Redirect": f"/roster/{month}"})
        return Redirect(f"/roster/{month}", status_code=303)

    # -- hours (D16) --------------------------------------------------------------------

    def _hours(self, request: Request, db: DB, month: MonthPath) -> tuple[Any, list[roster_hours.HoursRow]]:
        y, m = _month(month)
        roster = q.rosters_by_month(db, [q.month_key(y, m)]).get(q.month_key(y, m))
        if roster is None:
            raise NotFoundException()
        return roster, roster_hours.month_hours(db, roster, calendar_of(request, db))

    @get("/{month:str}/hours")
    def hours(self, request: Request, db: DB, month: MonthPath) -> Template:
        roster, rows = self._hours(request, db, month)
        return page(request, "pages/roster_hours.html", roster=roster, rows=rows)

    @get("/{month:str}/hours/csv")
    def hours_csv(self, request: Request, db: DB, month: MonthPath) -> Response:
        roster, rows = self._hours(request, db, month)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(csv_row(_hours_header()))
        for row in _hours_rows(rows):
            writer.writerow(csv_row(row))  # a name "=HYPERLINK(...)" stays text (OWASP)
        body = "\ufeff" + buf.getvalue()  # a BOM so spreadsheet programs read UTF-8
        return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers=_attachment(f"hours-{roster.month}.csv"))  # fmt: skip

    @get("/{month:str}/hours/xlsx")
    def hours_xlsx(self, request: Request, db: DB, month: MonthPath) -> Response:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        roster, rows = self._hours(request, db, month)
        wb = Workbook()
        ws = wb.active
        ws.title = roster.month
        xlsx_append(ws, _hours_header())
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in _hours_rows(rows):
            xlsx_append(ws, row)  # text cells typed string: "=..." is never a formula
        ws.append([])
        xlsx_append(ws, [_("Each shift is counted in full in the category of the date it starts on.")])
        for col, width in zip("ABCDEFGH", (12, 16, 10, 10, 14, 14, 14, 10), strict=True):
            ws.column_dimensions[col].width = width
        buf = io.BytesIO()
        wb.save(buf)
        return Response(buf.getvalue(),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers=_attachment(f"hours-{roster.month}.xlsx"))  # fmt: skip


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _hours_header() -> list[str]:
    return [_("Name"), _("Username"), _("Group"), _("Service region"), _("Weekday nights (h)"),
            _("Rest days (h)"), _("Statutory holidays (h)"), _("Total (h)")]  # fmt: skip


def _hours_rows(rows: list[roster_hours.HoursRow]) -> list[list[Any]]:
    def num(x: float) -> float | int:
        return int(x) if float(x).is_integer() else round(x, 2)

    return [
        [r.staff.display_name, r.staff.username, _(r.staff.group) if r.staff.group else "",
         _(r.staff.region) if r.staff.region else "", num(r.split.weekday_nights),
         num(r.split.weekend_days), num(r.split.holidays), num(r.split.total)]
        for r in rows
    ]  # fmt: skip


# -- swap approvals (S11) ---------------------------------------------------------------


ROUTES = [RosterController]
