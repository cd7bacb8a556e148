"""Each role's home screen: what needs attention now, and the way to its screens."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from litestar import Request
from litestar.response import Template

from server.db import utcnow
from server.queries import duty as duty_q
from server.queries import equipment as equipment_q
from server.queries import home as q
from server.queries import roster as roster_q
from server.queries import swaps as swaps_q
from server.queries.calendar import load_calendar
from server.routes._http import DB, get, page
from server.routes.nav import screens_for


@get("/", include_in_schema=False)
def home(request: Request, db: DB) -> Template:
    user = request.scope["user"]
    now = utcnow()
    local_now = now.astimezone(ZoneInfo(request.app.state.settings.time_zone))
    panels: dict = {}
    if user.has("agent"):
        panels["awaiting_handoff"] = q.awaiting_handoff(db)
    if user.has("dispatcher", "manager"):
        panels["request_counts"] = q.request_counts(db)
        settings = request.app.state.settings
        panels["on_duty"] = q.on_duty_count(db, now, settings)
        calendar = load_calendar(db, settings.time_zone)
        panels["shift_now"] = calendar.slot_at(now)
        panels["office_hours"] = str(settings.office)  # D17, as configured
        panels["office_now"] = calendar.office_hours_at(now, settings.office) is not None
    if user.has("remote", "onsite"):
        panels["my_jobs"] = q.my_jobs(db, user.id)
        panels["backup_calls"] = duty_q.backup_calls(db, user.id, now)
    if user.has("equipment"):
        panels["reserve"] = q.reserve_by_depot(db)
        panels["low_stock"] = equipment_q.low_stock(db, request.app.state.settings.equipment)
        panels["equipment_queue"] = equipment_q.queue_counts(db)
    if user.has("manager"):
        panels["rosters"] = q.roster_status(db, q.month_keys(local_now))
        panels["roster_reminder"] = roster_q.draft_reminder(
            db, local_now.date(), request.app.state.settings.roster
        )
        panels["pending_swaps"] = swaps_q.pending_swaps(db)
    if user.has("admin"):
        panels["people_by_role"] = q.people_by_role(db)
    return page(request, "pages/home.html", panels=panels, screens=screens_for(user), now=now)


ROUTES = [home]
