"""The rental business system's machine API: upsert customers, venues, orders and units,
read a unit's status. Documented in the OpenAPI schema at /schema.

Only an integration token (``Authorization: Bearer fo_...``, created by the admin) opens
these routes; a person's session does not, and a token opens nothing else (the session
middleware ignores it). Writes are idempotent by natural key; a refusal is a 4xx with a
reason per field and nothing written (the request's transaction is rolled back).
Rate-limited per token with Litestar's ``RateLimitConfig``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from litestar import Request, Response, Router, put
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody
from sqlmodel import Session, select

from server import i18n
from server.actions import ActionError, FieldErrors, catalog, orders
from server.actions.audit import record
from server.actions.integrations import token_for
from server.db import utcnow
from server.models import Depot, IntegrationToken, Unit
from server.routes._http import DB, get
from server.settings import Settings

PATH = "/api/rental/v1"
TAG = ["rental system"]


def _bearer(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def integration_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Guard: a live integration token, whoever else is signed in."""
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own answer: the allowed methods, no data
    with Session(connection.app.state.engine) as db:
        row = token_for(db, _bearer(connection))
    if row is None:
        if connection.scope.get("user") is not None:  # a person's session is not a token
            raise PermissionDeniedException("integration token")
        raise NotAuthorizedException("a valid integration token is required")
    connection.scope["integration"] = (row.id, row.name)


def _per_token(request: Request) -> str:
    return "token:" + hashlib.sha256(_bearer(request).encode()).hexdigest()[:16]


@dataclass
class ContactIn:
    name: str
    phone: str


@dataclass
class CustomerIn:
    """A customer by natural key: name + switchboard phone."""

    name: str
    phone: str
    contacts: list[ContactIn] = field(default_factory=list)


@dataclass
class VenueIn:
    """A venue of a customer (named by name + phone), by its name within that customer."""

    customer_name: str
    customer_phone: str
    name: str
    address: str
    region: str
    lat: float
    lon: float
    datum: str = "GCJ-02"  # GCJ-02 (Chinese maps) or WGS-84 (GPS)
    radius_m: int | None = None


@dataclass
class OrderIn:
    """A rental order; ``units`` is the complete list of asset tags on it now."""

    customer_name: str
    customer_phone: str
    contact_name: str = ""
    contact_phone: str = ""
    venue: str = ""
    scenario: str = ""
    starts_at: str = ""  # "2026-12-31 18:00" Asia/Shanghai, or ISO 8601 with offset
    ends_at: str = ""
    units: list[str] = field(default_factory=list)


@dataclass
class UnitIn:
    device_type: str  # camera | encoder | mixer | audio | other
    model: str
    depot: str = ""
    status: str = ""  # reserve | in_transit | in_repair | retired; empty = unchanged


@dataclass
class Upserted:
    outcome: str  # created | updated | unchanged
    id: int


@dataclass
class UnitStatusOut:
    asset_tag: str
    device_type: str
    model: str
    status: str
    depot: str | None
    order_no: str | None


@dataclass
class FieldError:
    field: str
    message: str
    message_zh: str


@dataclass
class Refusal:
    errors: list[FieldError]


def _refusal(db: Session, exc: ActionError) -> Response[Refusal]:
    """422 with one reason per field, English and Chinese; the transaction rolled back."""
    db.rollback()
    errors = exc.errors if isinstance(exc, FieldErrors) else {exc.field or "": exc.message}
    out = []
    for name, message in errors.items():
        text = {}
        for locale in ("en", "zh_CN"):
            i18n.set_locale(locale)
            text[locale] = i18n.render(message)
        out.append(FieldError(name, text["en"], text["zh_CN"]))
    return Response(Refusal(out), status_code=422)


def _done(request: Request, db: Session, what: str, key: str, obj, outcome: str) -> Upserted:
    token_id, name = request.scope["integration"]
    token = db.get(IntegrationToken, token_id)
    token.last_used_at = utcnow()
    record(db, "api.upsert", None, entity="integration_token", entity_id=token_id,
           integration=name, what=what, key=key, outcome=outcome)
    return Upserted(outcome, obj.id)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _put(path: str, summary: str):
    return put(path, sync_to_thread=True, status_code=200, summary=summary, tags=TAG,
               description="Idempotent by natural key. 422 lists a reason per field.")


@_put("/customers", "Create or update a customer and their contacts")
def put_customer(request: Request, db: DB, data: JSONBody[CustomerIn]) -> Response:
    try:
        customer, outcome = catalog.upsert_customer(
            db, None, {"name": data.name, "phone": data.phone},
            [{"name": c.name, "phone": c.phone} for c in data.contacts], utcnow())
    except ActionError as exc:
        return _refusal(db, exc)
    return Response(_done(request, db, "customer", data.name, customer, outcome))


@_put("/venues", "Create or update a venue of a customer")
def put_venue(request: Request, db: DB, data: JSONBody[VenueIn]) -> Response:
    try:
        venue, outcome = catalog.upsert_venue(db, None, vars(data),
                                              _settings(request).roster.regions, utcnow())
    except ActionError as exc:
        return _refusal(db, exc)
    return Response(_done(request, db, "venue", data.name, venue, outcome))


@_put("/orders/{order_no:str}", "Create or update a rental order and the units on it")
def put_order(request: Request, db: DB, order_no: FromPath[str], data: JSONBody[OrderIn]) -> Response:
    values = vars(data) | {"order_no": order_no, "units": " ".join(data.units)}
    zone = ZoneInfo(_settings(request).time_zone)
    values["starts_at"] = _instant(data.starts_at)
    values["ends_at"] = _instant(data.ends_at)
    try:
        order, outcome = orders.upsert_order(db, None, values, zone, utcnow())
    except ActionError as exc:
        return _refusal(db, exc)
    return Response(_done(request, db, "order", order.order_no, order, outcome))


def _instant(raw: str) -> str | datetime:
    """ISO 8601 with an offset as an instant; anything else is checked as local time."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return value if value.tzinfo else raw


@_put("/units/{asset_tag:str}", "Create or update a unit (asset tag, type, model, depot, status)")
def put_unit(request: Request, db: DB, asset_tag: FromPath[str], data: JSONBody[UnitIn]) -> Response:
    existing = db.exec(select(Unit.id).where(Unit.asset_tag == asset_tag.strip().upper())).first()
    try:
        unit, outcome = catalog.upsert_unit(db, None, existing, vars(data) | {"asset_tag": asset_tag},
                                            utcnow())
    except ActionError as exc:
        return _refusal(db, exc)
    return Response(_done(request, db, "unit", unit.asset_tag, unit, outcome))


@get("/units/{asset_tag:str}", summary="A unit's status and the order it is on", tags=TAG)
def get_unit(db: DB, asset_tag: FromPath[str]) -> Response:
    tag = "".join(asset_tag.split()).upper()
    unit = db.exec(select(Unit).where(Unit.asset_tag == tag)).first()
    if unit is None:
        return Response({"errors": [{"field": "asset_tag", "message": "Unknown unit.",
                                     "message_zh": "没有这台设备。"}]}, status_code=404)
    depot = db.get(Depot, unit.depot_id) if unit.depot_id else None
    return Response(UnitStatusOut(unit.asset_tag, unit.device_type, unit.model, unit.status,
                                  depot.name if depot else None,
                                  catalog.open_order_of(db, unit.id)))


def router(settings: Settings) -> Router:
    limit = RateLimitConfig(rate_limit=("minute", settings.rental_api_rate_per_minute),
                            identifier_for_request=_per_token, store="rental_api_rate")
    return Router(PATH, route_handlers=[put_customer, put_venue, put_order, put_unit, get_unit],
                  guards=[integration_only], middleware=[limit.middleware],
                  opt={"public": True, "exclude_from_csrf": True},
                  security=[{"integrationToken": []}])
