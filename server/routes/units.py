"""Units and depots (the equipment manager): asset tag, type, model, depot, status; retire."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response
from sqlmodel import select

from server.actions import ActionError
from server.actions import catalog as actions
from server.db import utcnow
from server.domain.catalog import DEVICE_TYPES, SETTABLE_UNIT_STATUSES
from server.domain.text import N_
from server.i18n import gettext
from server.models import Depot, Role, Unit, UnitStatus
from server.queries import catalog as q
from server.routes._http import DB, get, page, post
from server.routes.customers import refusal
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath
from server.security import requires

register(Screen("/units", N_("Units and depots"), N_("Asset tags, models, depots, retiring"),
                (Role.equipment,)))


def _options(request: Request, db: DB) -> dict[str, Any]:
    depots = db.exec(select(Depot).where(Depot.archived_at.is_(None)).order_by(Depot.name)).all()
    return {
        "type_options": [(t, gettext(t)) for t in DEVICE_TYPES],
        "status_options": [(s, gettext(s)) for s in SETTABLE_UNIT_STATUSES if s != "retired"],
        "depot_options": [(d.name, d.name) for d in depots],
        "region_options": [(r, gettext(r)) for r in request.app.state.settings.roster.regions],
        "all_statuses": [s.value for s in UnitStatus],
    }


class UnitsController(Controller):
    path = "/units"
    guards = [requires(Role.equipment)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Response:
        return _list(request, db)

    @post("/")
    def create(self, request: Request, db: DB, data: Form) -> Response:
        try:
            unit, _ = actions.upsert_unit(db, request.user.id, None, _new_only(db, data), utcnow())
        except ActionError as exc:
            db.rollback()
            return _list(request, db, 422, errors=refusal(exc), form=data)
        return Redirect(f"/units/{unit.id}?saved=1", status_code=303)

    @get("/{unit_id:int}")
    def show(self, request: Request, db: DB, unit_id: IdPath) -> Response:
        return _unit_page(request, db, unit_id)

    @post("/{unit_id:int}")
    def save(self, request: Request, db: DB, unit_id: IdPath, data: Form) -> Response:
        try:
            actions.upsert_unit(db, request.user.id, unit_id, data, utcnow())
        except ActionError as exc:
            db.rollback()
            return _unit_page(request, db, unit_id, 422, errors=refusal(exc), form=data)
        return Redirect(f"/units/{unit_id}?saved=1", status_code=303)

    @post("/{unit_id:int}/retire")
    def retire(self, request: Request, db: DB, unit_id: IdPath, data: Form) -> Response:
        try:
            actions.retire_unit(db, request.user.id, unit_id, str(data.get("reason", "")), utcnow())
        except ActionError as exc:
            db.rollback()
            return _unit_page(request, db, unit_id, 422, retire_errors=refusal(exc))
        return Redirect(f"/units/{unit_id}?saved=1", status_code=303)


def _new_only(db: DB, data: dict[str, Any]) -> dict[str, Any]:
    """The "add a unit" form never edits another unit silently: a known tag is refused."""
    tag = "".join(str(data.get("asset_tag", "")).split()).upper()
    if tag and db.exec(select(Unit.id).where(Unit.asset_tag == tag)).first():
        raise ActionError(N_("A unit with asset tag {tag} exists already."), "asset_tag", tag=tag)
    return data


def _list(request: Request, db: DB, status_code: int = 200, **extra: Any) -> Response:
    text = request.query_params.get("q", "")[:64]
    status = request.query_params.get("status", "")
    status = status if status in {s.value for s in UnitStatus} else ""
    context = {"q": text, "status": status, "units": q.units_list(db, text, status),
               "errors": {}, "form": {}} | _options(request, db) | extra
    return page(request, "pages/units.html", status_code=status_code, **context)


def _unit_page(request: Request, db: DB, unit_id: int, status_code: int = 200,
               **extra: Any) -> Response:
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise NotFoundException()
    depot = db.get(Depot, unit.depot_id) if unit.depot_id else None
    context = {"unit": unit, "depot": depot, "order_no": actions.open_order_of(db, unit.id),
               "errors": {}, "retire_errors": {}, "form": None,
               "history": q.history(db, "unit", unit.id),
               "saved": request.query_params.get("saved")} | _options(request, db) | extra
    return page(request, "pages/unit.html", status_code=status_code, **context)


class DepotsController(Controller):
    path = "/depots"
    guards = [requires(Role.equipment)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Response:
        return _depots(request, db)

    @post("/")
    def create(self, request: Request, db: DB, data: Form) -> Response:
        return _save_depot(request, db, None, data)

    @post("/{depot_id:int}")
    def save(self, request: Request, db: DB, depot_id: IdPath, data: Form) -> Response:
        return _save_depot(request, db, depot_id, data)

    @post("/{depot_id:int}/archive")
    def archive(self, request: Request, db: DB, depot_id: IdPath) -> Response:
        try:
            actions.archive_depot(db, request.user.id, depot_id, utcnow())
        except ActionError as exc:
            db.rollback()
            return _depots(request, db, 422, errors=refusal(exc), editing=depot_id)
        return Redirect("/depots", status_code=303)


def _save_depot(request: Request, db: DB, depot_id: int | None, data: dict[str, Any]) -> Response:
    try:
        actions.save_depot(db, request.user.id, depot_id, data,
                           request.app.state.settings.roster.regions, utcnow())
    except ActionError as exc:
        db.rollback()
        return _depots(request, db, 422, errors=refusal(exc), form=data, editing=depot_id)
    return Redirect("/depots?saved=1", status_code=303)


def _depots(request: Request, db: DB, status_code: int = 200, **extra: Any) -> Response:
    context = {"depots": q.depots(db), "errors": {}, "form": {}, "editing": None,
               "saved": request.query_params.get("saved")} | _options(request, db) | extra
    return page(request, "pages/depots.html", status_code=status_code, **context)


ROUTES = [UnitsController, DepotsController]
