"""The support manager's KPI dashboard, the monthly review (S5, S7, D9) and breach reasons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response
from litestar.exceptions import NotFoundException
from litestar.response import Template

from server.actions import ActionError
from server.actions.breaches import explain_breach, explain_run_breach
from server.db import utcnow
from server.domain import kpi
from server.domain.text import N_
from server.i18n import render
from server.models import Role
from server.queries import kpi as q
from server.routes import kpi_view as view
from server.routes._http import DB, fragment, get, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath, MonthPath, TextQuery, form_text
from server.security import requires

register(Screen("/kpi", N_("KPIs"),
                N_("Satisfaction and resolution against the targets, time limits, the monthly review"),
                ("manager",)))  # fmt: skip


def now_of(request: Request) -> datetime:
    """The current instant, from the server's one clock (``server.clock``)."""
    return utcnow()


def _period(request: Request, value: str | None, month_only: bool = False) -> str:
    """A valid 'YYYY-MM' (or 'YYYY-Www'), else this month; junk is a 404, never a 500."""
    tz = ZoneInfo(request.app.state.settings.time_zone)
    if not value:
        return kpi.month_of(now_of(request), tz)
    value = value.strip()[:10]
    try:
        if month_only and "-W" in value:
            raise ValueError(value)
        kpi.period_bounds(value, tz)
    except (ValueError, TypeError, OverflowError) as exc:
        raise NotFoundException() from exc
    if not 2000 <= int(value[:4]) <= 2100:
        raise NotFoundException()
    return value


class KpiController(Controller):
    path = "/kpi"
    guards = [requires(Role.manager)]
    include_in_schema = False

    @get("/")
    def dashboard(self, request: Request, db: DB, period: TextQuery = None) -> Template:
        settings = request.app.state.settings
        d = q.dashboard(db, _period(request, period), now_of(request), settings)
        return page(request, "pages/kpi.html", d=d, rows=view.figure_rows(d),
                    sla=view.sla_table(d), charts=view.charts(d), href=view.href,
                    pct=view.pct, sla_columns=view.SLA_COLUMNS)  # fmt: skip

    @get("/requests")
    def requests(self, request: Request, db: DB, period: TextQuery = None,
                 figure: TextQuery = None) -> Template:
        settings = request.app.state.settings
        d = q.dashboard(db, _period(request, period), now_of(request), settings)
        ids = d.report.ids((figure or "")[:80])
        if ids is None:
            raise NotFoundException()
        return page(request, "pages/kpi_requests.html", d=d, figure=figure,
                    requests=q.requests_by_id(db, ids))

    @get("/review")
    def review(self, request: Request, db: DB, month: TextQuery = None) -> Template:
        settings = request.app.state.settings
        r = q.review(db, _period(request, month, True), now_of(request), settings)
        return page(request, "pages/kpi_review.html", r=r, d=r.dashboard,
                    rows=view.figure_rows(r.dashboard), href=view.href, pct=view.pct)

    @get("/review/{month:str}/xlsx")
    def review_xlsx(self, request: Request, db: DB, month: MonthPath) -> Response:
        settings = request.app.state.settings
        r = q.review(db, _period(request, month, True), now_of(request), settings)
        return Response(view.review_xlsx(r), media_type=view.XLSX_TYPE,
                        headers={"Content-Disposition":
                                 f'attachment; filename="review-{r.dashboard.period}.xlsx"'})

    @post("/breaches/{clock_id:int}/reason")
    def breach_reason(self, request: Request, db: DB, clock_id: IdPath,
                      data: Form) -> Template:
        reason = form_text(data, "reason", 500)
        try:
            clock = explain_breach(db, request.scope["user"].id, clock_id, reason, now_of(request))
        except ActionError as exc:
            db.rollback()
            return fragment(request, "partials/breach_reason.html", status_code=422,
                            clock_id=clock_id, reason=reason[:500], error=render(exc.message))
        return fragment(request, "partials/breach_reason.html", clock_id=clock.id,
                        reason=clock.breach_reason, saved=True)

    @post("/runs/{run_id:int}/reason")
    def run_breach_reason(self, request: Request, db: DB, run_id: IdPath,
                          data: Form) -> Template:
        """The reason for an earlier run of a restarted clock (a reopened request)."""
        reason = form_text(data, "reason", 500)
        try:
            run = explain_run_breach(db, request.scope["user"].id, run_id, reason,
                                     now_of(request))
        except ActionError as exc:
            db.rollback()
            return fragment(request, "partials/breach_reason.html", status_code=422,
                            clock_id=0, run_id=run_id, reason=reason[:500],
                            error=render(exc.message))  # fmt: skip
        return fragment(request, "partials/breach_reason.html", clock_id=run.clock_id,
                        run_id=run.id, reason=run.breach_reason, saved=True)


ROUTES = [KpiController]
