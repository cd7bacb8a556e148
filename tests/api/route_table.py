"""Who may call what: ONE table for every route x method of the app (issue 11).

``ACCESS[(method, path)]`` is the set of roles the route lets through, or PUBLIC (no
sign-in) or SIGNED_IN (any role). ``app_routes(app)`` lists the app's real routes, so a
route added without a row here fails the authorization matrix test: it cannot be
forgotten. OPTIONS is answered on every path for everyone (Litestar's own, no data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from litestar import Litestar
from litestar.routes import HTTPRoute

from server.models import Role

PUBLIC = "public"
SIGNED_IN = "signed in"
ANONYMOUS = "anonymous"
ROLES = [r.value for r in Role]
PEOPLE = [*ROLES, ANONYMOUS]

A, D, R, O, E, M, ADMIN = "agent", "dispatcher", "remote", "onsite", "equipment", "manager", "admin"  # noqa: E741

ACCESS: dict[tuple[str, str], str | frozenset[str]] = {
    ("POST", "/language"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/"): SIGNED_IN,
    ("GET", "/me"): SIGNED_IN,
    ("POST", "/me/password"): SIGNED_IN,
    ("POST", "/me/sign-out-everywhere"): SIGNED_IN,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/manifest.webmanifest"): PUBLIC,
    ("GET", "/sw.js"): PUBLIC,
    ("GET", "/offline"): PUBLIC,
    ("GET", "/admin/people"): frozenset({ADMIN}),
    ("POST", "/admin/people"): frozenset({ADMIN}),
    ("POST", "/admin/people/{staff_id:int}/active"): frozenset({ADMIN}),
    ("POST", "/admin/people/{staff_id:int}/roles"): frozenset({ADMIN}),
    ("POST", "/admin/people/{staff_id:int}/password"): frozenset({ADMIN}),
    ("POST", "/admin/people/{staff_id:int}/sign-out"): frozenset({ADMIN}),
    ("POST", "/admin/people/{staff_id:int}/wecom"): frozenset({ADMIN}),
    # issue 17: the agents' inbox; the outside services' callbacks (signed by each
    # service); the customer's status link and the WeCom card's accept link (own tokens)
    ("GET", "/inbox"): frozenset({A, D, M}),
    ("GET", "/inbox/calls"): frozenset({A, D, M}),
    ("POST", "/inbox/{contact_id:int}/close"): frozenset({A, D, M}),
    ("GET", "/channels/wechat"): PUBLIC,
    ("POST", "/channels/wechat"): PUBLIC,
    ("GET", "/channels/wecom"): PUBLIC,
    ("POST", "/channels/wecom"): PUBLIC,
    ("POST", "/channels/callcenter"): PUBLIC,
    ("GET", "/s/{token:str}"): PUBLIC,
    ("GET", "/s/{token:str}/card"): PUBLIC,
    ("GET", "/s/{token:str}/events"): PUBLIC,
    ("GET", "/a/{token:str}"): PUBLIC,
    ("POST", "/a/{token:str}"): PUBLIC,
    # intake and follow-up: the agent (and the manager)
    ("GET", "/requests/new"): frozenset({A, M}),
    ("POST", "/requests/new"): frozenset({A, M}),
    ("GET", "/requests/new/order"): frozenset({A, M}),
    ("GET", "/requests/new/phone"): frozenset({A, M}),
    ("GET", "/requests/new/proposal"): frozenset({A, M}),
    ("GET", "/requests/new/unit"): frozenset({A, M}),
    ("GET", "/requests/mine"): frozenset({A, M}),
    ("POST", "/requests/{request_id:int}/handoff"): frozenset({A, M}),
    ("GET", "/requests/followup"): frozenset({A, M}),
    ("POST", "/requests/{request_id:int}/feedback"): frozenset({A, M}),
    # the dispatch board
    ("GET", "/board"): frozenset({D, M}),
    ("GET", "/board/more"): frozenset({D, M}),
    ("GET", "/board/duty/{staff_id:int}"): frozenset({D, M}),
    ("GET", "/board/requests/{request_id:int}"): frozenset({D, M}),
    ("GET", "/board/requests/{request_id:int}/panel"): frozenset({D, M}),
    ("GET", "/board/requests/{request_id:int}/assign"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/assign"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/call-backups"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/raise"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/facts/{fact_id:str}/resolve"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/cancel"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/escalate"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/clocks/{kind:str}/pause"): frozenset({D, M}),
    ("POST", "/board/requests/{request_id:int}/clocks/{kind:str}/resume"): frozenset({D, M}),
    ("GET", "/events"): SIGNED_IN,
    ("GET", "/push/requests/{request_id:int}/notifications"): frozenset({D, M}),
    # remote engineers
    ("GET", "/remote"): frozenset({R}),
    ("POST", "/remote/requests/{request_id:int}/take"): frozenset({R}),
    ("GET", "/remote/jobs/{job_id:int}"): frozenset({R}),
    ("POST", "/remote/jobs/{job_id:int}/accept"): frozenset({R}),
    ("POST", "/remote/jobs/{job_id:int}/finish"): frozenset({R}),
    # the onsite engineer's phone (a job page: its engineer or an overseer, checked per job)
    ("GET", "/field"): frozenset({O}),
    ("GET", "/field/jobs/{job_id:int}"): frozenset({O, D, M}),
    ("POST", "/field/jobs/{job_id:int}"): frozenset({O, R}),
    ("GET", "/field/photos/{photo_id:str}"): frozenset({O, E, D, M}),
    ("POST", "/sync/push"): SIGNED_IN,
    ("GET", "/sync/pull"): SIGNED_IN,
    ("GET", "/sync/saved"): SIGNED_IN,
    # alerts on a device: any signed-in person; receipts come from the service worker
    ("GET", "/push/key"): SIGNED_IN,
    ("POST", "/push/subscribe"): SIGNED_IN,
    ("POST", "/push/unsubscribe"): SIGNED_IN,
    ("POST", "/push/test"): SIGNED_IN,
    ("POST", "/push/devices/{subscription_id:int}/remove"): SIGNED_IN,
    ("POST", "/push/shown"): PUBLIC,
    ("POST", "/push/ack"): PUBLIC,
    # the manager's calendar, roster and team
    ("GET", "/calendar"): frozenset({M}),
    ("POST", "/calendar/overrides"): frozenset({M}),
    ("POST", "/calendar/overrides/{day:str}/remove"): frozenset({M}),
    ("GET", "/roster"): frozenset({M}),
    ("POST", "/roster"): frozenset({M}),
    ("GET", "/roster/{month:str}"): frozenset({M}),
    ("POST", "/roster/{month:str}/toggle"): frozenset({M}),
    ("POST", "/roster/{month:str}/backup"): frozenset({M}),
    ("POST", "/roster/{month:str}/days-off"): frozenset({M}),
    ("POST", "/roster/{month:str}/fill"): frozenset({M}),
    ("POST", "/roster/{month:str}/publish"): frozenset({M}),
    ("GET", "/roster/{month:str}/hours"): frozenset({M}),
    ("GET", "/roster/{month:str}/hours/csv"): frozenset({M}),
    ("GET", "/roster/{month:str}/hours/xlsx"): frozenset({M}),
    ("GET", "/roster/swaps"): frozenset({M}),
    ("POST", "/roster/swaps/{swap_id:int}/approve"): frozenset({M}),
    ("POST", "/roster/swaps/{swap_id:int}/refuse"): frozenset({M}),
    ("GET", "/roster/duty"): frozenset({M, D}),
    ("POST", "/roster/duty/{shift_id:int}/absent"): frozenset({M, D}),
    ("GET", "/team"): frozenset({M}),
    ("GET", "/team/{staff_id:int}"): frozenset({M}),
    ("POST", "/team/{staff_id:int}"): frozenset({M}),
    ("POST", "/team/{staff_id:int}/office-hours"): frozenset({M}),
    ("POST", "/team/{staff_id:int}/training"): frozenset({M}),
    ("POST", "/team/{staff_id:int}/training/{record_id:int}/delete"): frozenset({M}),
    # the engineers' own shifts; the calendar feed is reached by its secret token
    ("GET", "/my/shifts"): frozenset({R, O}),
    ("GET", "/my/shifts/{shift_id:int}/swap"): frozenset({R, O}),
    ("POST", "/my/shifts/{shift_id:int}/swap"): frozenset({R, O}),
    ("POST", "/my/shifts/calls/{absence_id:int}/accept"): frozenset({R, O}),
    ("POST", "/my/shifts/job-calls/{call_id:int}/accept"): frozenset({R, O}),
    ("POST", "/my/shifts/days-off"): frozenset({R, O}),
    ("POST", "/my/shifts/calendar-link"): frozenset({R, O}),
    ("GET", "/ical/{token:str}"): PUBLIC,
    # closing the loop (issue 16): the customer's link, KPIs, drills, the audit log
    ("GET", "/f/{token:str}"): PUBLIC,
    ("POST", "/f/{token:str}"): PUBLIC,
    ("POST", "/requests/{request_id:int}/feedback-link"): frozenset({A, M}),
    ("GET", "/requests/{request_id:int}/status-link"): frozenset({A, D, M}),
    ("POST", "/requests/{request_id:int}/status-link"): frozenset({A, D, M}),
    ("POST", "/requests/{request_id:int}/status-link/send"): frozenset({A, D, M}),
    ("GET", "/kpi"): frozenset({M}),
    ("GET", "/kpi/requests"): frozenset({M}),
    ("GET", "/kpi/review"): frozenset({M}),
    ("GET", "/kpi/review/{month:str}/xlsx"): frozenset({M}),
    ("POST", "/kpi/breaches/{clock_id:int}/reason"): frozenset({M}),
    ("POST", "/kpi/runs/{run_id:int}/reason"): frozenset({M}),
    ("GET", "/drills"): frozenset({M}),
    ("POST", "/drills"): frozenset({M}),
    ("GET", "/drills/{drill_id:int}"): frozenset({M}),
    ("POST", "/drills/{drill_id:int}/review"): frozenset({M}),
    ("POST", "/drills/{drill_id:int}/record"): frozenset({M}),
    ("POST", "/drills/{drill_id:int}/clean"): frozenset({M}),
    ("GET", "/audit"): frozenset({M, ADMIN}),
    # real company data (issue 14): customers, venues, orders (agent, dispatcher), units and
    # depots (equipment), import (by kind), integration tokens (admin)
    ("GET", "/customers"): frozenset({A, D}),
    ("POST", "/customers"): frozenset({A, D}),
    ("GET", "/customers/{customer_id:int}"): frozenset({A, D}),
    ("POST", "/customers/{customer_id:int}"): frozenset({A, D}),
    ("POST", "/customers/{customer_id:int}/archive"): frozenset({A, D}),
    ("GET", "/venues"): frozenset({A, D}),
    ("POST", "/venues"): frozenset({A, D}),
    ("GET", "/venues/new"): frozenset({A, D}),
    ("GET", "/venues/{venue_id:int}"): frozenset({A, D}),
    ("POST", "/venues/{venue_id:int}"): frozenset({A, D}),
    ("POST", "/venues/{venue_id:int}/archive"): frozenset({A, D}),
    ("GET", "/orders"): frozenset({A, D}),
    ("POST", "/orders"): frozenset({A, D}),
    ("GET", "/orders/new"): frozenset({A, D}),
    ("GET", "/orders/{order_id:int}"): frozenset({A, D}),
    ("POST", "/orders/{order_id:int}"): frozenset({A, D}),
    ("POST", "/orders/{order_id:int}/units"): frozenset({A, D}),
    ("POST", "/orders/{order_id:int}/units/{unit_id:int}/remove"): frozenset({A, D}),
    ("POST", "/orders/{order_id:int}/archive"): frozenset({A, D}),
    ("GET", "/units"): frozenset({E}),
    ("POST", "/units"): frozenset({E}),
    ("GET", "/units/{unit_id:int}"): frozenset({E}),
    ("POST", "/units/{unit_id:int}"): frozenset({E}),
    ("POST", "/units/{unit_id:int}/retire"): frozenset({E}),
    ("GET", "/depots"): frozenset({E}),
    ("POST", "/depots"): frozenset({E}),
    ("POST", "/depots/{depot_id:int}"): frozenset({E}),
    ("POST", "/depots/{depot_id:int}/archive"): frozenset({E}),
    ("GET", "/import"): frozenset({A, D, E}),
    ("POST", "/import"): frozenset({A, D, E}),
    ("POST", "/import/{upload_id:str}/apply"): frozenset({A, D, E}),
    ("GET", "/import/template/{name:str}"): frozenset({A, D, E}),
    ("GET", "/admin/integrations"): frozenset({ADMIN}),
    ("POST", "/admin/integrations"): frozenset({ADMIN}),
    ("POST", "/admin/integrations/{token_id:int}/revoke"): frozenset({ADMIN}),
    # the equipment desk (issue 15): the equipment manager, the support manager reads along;
    # a spare unit is asked from the request page or by the job's engineer
    ("GET", "/equipment"): frozenset({E, M}),
    ("GET", "/equipment/queue"): frozenset({E, M}),
    ("GET", "/equipment/labels"): frozenset({E, M}),
    ("GET", "/equipment/units/{unit_id:int}"): frozenset({E, M}),
    ("POST", "/equipment/units/{unit_id:int}/retire"): frozenset({E, M}),
    ("POST", "/equipment/units/{unit_id:int}/back"): frozenset({E, M}),
    ("POST", "/equipment/spares/{spare_id:int}/ship"): frozenset({E, M}),
    ("POST", "/equipment/spares/{spare_id:int}/cancel"): frozenset({E, M}),
    ("POST", "/equipment/repairs/{ticket_id:int}/receive"): frozenset({E, M}),
    ("POST", "/equipment/repairs/{ticket_id:int}/finish"): frozenset({E, M}),
    ("POST", "/equipment/swaps/{fact_id:str}/resolve"): frozenset({E, M}),
    ("POST", "/spares/ask/{request_id:int}"): frozenset({D, M, O, E}),
    # the rental system's machine API: an integration token only, never a person (403)
    ("PUT", "/api/rental/v1/customers"): frozenset(),
    ("PUT", "/api/rental/v1/venues"): frozenset(),
    ("PUT", "/api/rental/v1/orders/{order_no:str}"): frozenset(),
    ("PUT", "/api/rental/v1/units/{asset_tag:str}"): frozenset(),
    ("GET", "/api/rental/v1/units/{asset_tag:str}"): frozenset(),
    # files and the API document
    ("GET", "/static/{file_path:path}"): PUBLIC,
    ("HEAD", "/static/{file_path:path}"): PUBLIC,
    # the OpenAPI document only (no UI from a CDN), to signed-in staff (issue 11)
    ("GET", "/schema"): SIGNED_IN,
    ("GET", "/schema/openapi.json"): SIGNED_IN,
    ("GET", "/schema/{path:str}"): SIGNED_IN,
}

# Answers that look like a refusal but are the route's own work: a sign-in with no
# password is 401, signing out sends you to the sign-in page.
OWN_ANSWERS = {("POST", "/login"): {401}, ("POST", "/logout"): {303},
               ("POST", "/me/sign-out-everywhere"): {303},  # signed out: off to sign in
               # an unsigned callback is refused whoever sends it (issue 17)
               **{(m, f"/channels/{c}"): {403} for m in ("GET", "POST")
                  for c in ("wechat", "wecom", "callcenter")}}

# A typical valid value for each path parameter, by its name.
SAMPLE = {"month": "2026-11", "day": "2026-11-03", "kind": "handoff", "token": "nope.ics",
          "photo_id": "nope", "file_path": "css/app.css", "path": "nothing"}  # fmt: skip
_PARAM = re.compile(r"\{(\w+):(\w+)\}")


def app_routes(app: Litestar) -> Iterator[tuple[str, str, object]]:
    """(method, path template, handler) for every route of the app, OPTIONS included."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                yield method, route.path, handler


def concrete(path: str, **values: str) -> str:
    """A template path with each parameter filled in: ``values`` first, else SAMPLE, else 1."""
    return _PARAM.sub(lambda m: str(values.get(m.group(1), SAMPLE.get(m.group(1), "1"))), path)


def params_of(path: str) -> list[tuple[str, str]]:
    return _PARAM.findall(path)


def allowed(access: str | frozenset[str], who: str) -> bool:
    if access == PUBLIC:
        return True
    if who == ANONYMOUS:
        return False
    return access == SIGNED_IN or who in access


def a_person_for(access: str | frozenset[str]) -> str | None:
    """Someone the route lets through (None: anonymous will do)."""
    if access == PUBLIC:
        return None
    if access == SIGNED_IN:
        return M
    return sorted(access)[0]
