"""The audit log screen for the support manager and the administrator."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.response import Template

from server.domain.text import N_
from server.models import Role
from server.queries.audit import ENTITIES, AuditSearch, search
from server.queries.request_page import TIMELINE_LABELS
from server.routes._http import DB, get, page
from server.routes.nav import Screen, register
from server.routes.params import IdQuery, TextQuery
from server.security import requires

register(Screen("/audit", N_("Audit log"),
                N_("Who changed what, when, from which device"), ("manager", "admin")))

FIELDS = ("who", "what", "device", "request", "entity", "entity_id", "since", "until")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class AuditController(Controller):
    path = "/audit"
    guards = [requires(Role.manager, Role.admin)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB, who: TextQuery = None, what: TextQuery = None,
              device: TextQuery = None, request_no: TextQuery = None,
              entity: TextQuery = None, entity_id: TextQuery = None,
              since: TextQuery = None, until: TextQuery = None,
              before: IdQuery = None) -> Template:
        form = {"who": who, "what": what, "device": device, "request_no": request_no,
                "entity": entity if entity in ENTITIES else "", "entity_id": entity_id,
                "since": since, "until": until}  # fmt: skip
        form = {k: (v or "").strip()[:64] for k, v in form.items()}
        errors = {k: True for k in ("since", "until") if form[k] and _day(form[k]) is None}
        s = AuditSearch(who=form["who"], what=form["what"], device=form["device"],
                        request=form["request_no"], entity=form["entity"],
                        entity_id=form["entity_id"], since=_day(form["since"]),
                        until=_day(form["until"]),
                        before_id=before if before and before > 0 else None)  # fmt: skip
        rows, more = search(db, s, ZoneInfo(request.app.state.settings.time_zone))
        older = "/audit?" + urlencode({**{k: v for k, v in form.items() if v}, "before": more}) if more else ""
        return page(request, "pages/audit.html", rows=rows, form=form, errors=errors,
                    entities=ENTITIES, older=older, labels=TIMELINE_LABELS, status_code=422 if errors else 200)


ROUTES = [AuditController]
