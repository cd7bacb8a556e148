"""Rental orders and the units on them (agent and dispatcher)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response
from sqlmodel import select

from server.actions import ActionError
from server.actions import orders as actions
from server.db import utcnow
from server.domain.text import N_
from server.models import Contact, Customer, RentalOrder, Venue
from server.queries import catalog as q
from server.routes._http import DB, fragment, get, page, post
from server.routes.customers import STAFF, refusal
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath
from server.security import requires

register(Screen("/orders", N_("Rental orders"), N_("Orders, their customers, venues and units"),
                tuple(STAFF)))


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.time_zone)


class OrdersController(Controller):
    path = "/orders"
    guards = [requires(*STAFF)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Response:
        text = request.query_params.get("q", "")[:64]
        return page(request, "pages/orders.html", q=text, orders=q.search_orders(db, text))

    @get("/new")
    def new(self, request: Request, db: DB) -> Response:
        return _order_page(request, db, None)

    @post("/")
    def create(self, request: Request, db: DB, data: Form) -> Response:
        try:
            order = actions.save_order(db, request.user.id, None, data, _zone(request), utcnow())
        except ActionError as exc:
            db.rollback()
            return _order_page(request, db, None, 422, errors=refusal(exc), form=data)
        return Redirect(f"/orders/{order.id}?saved=1", status_code=303)

    @get("/{order_id:int}")
    def show(self, request: Request, db: DB, order_id: IdPath) -> Response:
        return _order_page(request, db, _order(db, order_id))

    @post("/{order_id:int}")
    def save(self, request: Request, db: DB, order_id: IdPath, data: Form) -> Response:
        try:
            actions.save_order(db, request.user.id, order_id, data, _zone(request), utcnow())
        except ActionError as exc:
            db.rollback()
            return _order_page(request, db, _order(db, order_id), 422, errors=refusal(exc),
                               form=data)
        return Redirect(f"/orders/{order_id}?saved=1", status_code=303)

    @post("/{order_id:int}/units")
    def add_unit(self, request: Request, db: DB, order_id: IdPath, data: Form) -> Response:
        order = _order(db, order_id)
        try:
            actions.add_unit(db, request.user.id, order_id, str(data.get("asset_tag", "")), utcnow())
        except ActionError as exc:
            db.rollback()
            return _units(request, db, order, 422, errors=refusal(exc))
        return _units(request, db, order)

    @post("/{order_id:int}/units/{unit_id:int}/remove")
    def remove_unit(self, request: Request, db: DB, order_id: IdPath,
                    unit_id: IdPath) -> Response:
        order = _order(db, order_id)
        try:
            actions.remove_unit(db, request.user.id, order_id, unit_id, utcnow())
        except ActionError as exc:
            db.rollback()
            return _units(request, db, order, 422, errors=refusal(exc))
        return _units(request, db, order)

    @post("/{order_id:int}/archive")
    def archive(self, request: Request, db: DB, order_id: IdPath) -> Response:
        order = _order(db, order_id)
        try:
            actions.archive_order(db, request.user.id, order_id, utcnow())
        except ActionError as exc:
            db.rollback()
            return _order_page(request, db, order, 422, errors=refusal(exc))
        return Redirect("/orders", status_code=303)


def _order(db: DB, order_id: int) -> RentalOrder:
    order = db.get(RentalOrder, order_id)
    if order is None or order.archived_at:
        raise NotFoundException()
    return order


def _units(request: Request, db: DB, order: RentalOrder, status_code: int = 200,
           errors: dict[str, str] | None = None) -> Response:
    """The order's units: a fragment for htmx, else the whole page."""
    context = {"units": actions.open_units(db, order.id), "unit_errors": errors or {}}
    if request.headers.get("hx-request") == "true":
        return fragment(request, "partials/order_units.html", status_code=status_code,
                        order=order, **context)  # fmt: skip
    # (the order went twice to _order_page: a refused unit without htmx was a 500)
    return _order_page(request, db, order, status_code, **context)


def _order_page(request: Request, db: DB, order: RentalOrder | None, status_code: int = 200,
                **extra: Any) -> Response:
    customers = db.exec(select(Customer).where(Customer.archived_at.is_(None))
                        .order_by(Customer.name).limit(2000)).all()
    contacts = db.exec(select(Contact).order_by(Contact.name).limit(5000)).all()
    venues = db.exec(select(Venue).where(Venue.archived_at.is_(None)).order_by(Venue.name)
                     .limit(5000)).all()
    context = {"order": order, "customers": customers, "contacts": contacts, "venues": venues,
               "units": actions.open_units(db, order.id) if order else [], "unit_errors": {},
               "errors": {}, "form": None, "zone": _zone(request),
               "history": q.history(db, "order", order.id) if order else [],
               "saved": request.query_params.get("saved")} | extra
    return page(request, "pages/order.html", status_code=status_code, **context)


ROUTES = [OrdersController]
