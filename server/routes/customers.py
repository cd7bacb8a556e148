"""Customers with their contacts, and their venues (agent and dispatcher)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response

from server.actions import ActionError, FieldErrors
from server.actions import catalog as actions
from server.db import utcnow
from server.domain.catalog import venue_positions
from server.domain.text import N_
from server.i18n import gettext, render
from server.models import Role, Venue
from server.queries import catalog as q
from server.routes._http import DB, get, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath, MultiForm
from server.security import requires

STAFF = (Role.agent, Role.dispatcher)

register(Screen("/customers", N_("Customers and venues"), N_("Contacts, venues, positions"),
                tuple(STAFF)))


def refusal(exc: ActionError) -> dict[str, str]:
    """field -> reason in the user's language ("" for a reason about the whole form)."""
    if isinstance(exc, FieldErrors):
        return {k: render(v) for k, v in exc.errors.items()}
    return {exc.field or "": render(exc.message)}


def contacts_from(data: dict[str, Any]) -> list[dict[str, str]]:
    """contact_name / contact_phone come as parallel lists (several rows on the form)."""
    names, phones = data.get("contact_name", []), data.get("contact_phone", [])
    names = [names] if isinstance(names, str) else list(names)
    phones = [phones] if isinstance(phones, str) else list(phones)
    return [{"name": n, "phone": p} for n, p in zip(names, phones, strict=False)]


def customer_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The customer's own fields: one text each (the last, if a field came twice)."""
    return {k: (v[-1] if isinstance(v, list) and v else v) for k, v in data.items()
            if k not in ("contact_name", "contact_phone")}


class CustomersController(Controller):
    path = "/customers"
    guards = [requires(*STAFF)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Response:
        text = request.query_params.get("q", "")[:64]
        return page(request, "pages/customers.html", fragment="partials/customer_rows.html",
                    q=text, customers=q.search_customers(db, text), errors={}, form={})

    @post("/")
    def create(self, request: Request, db: DB, data: MultiForm) -> Response:
        try:
            customer = actions.save_customer(db, request.user.id, None, customer_fields(data),
                                             contacts_from(data),
                                             utcnow())
        except ActionError as exc:
            db.rollback()
            return page(request, "pages/customers.html", status_code=422, q="",
                        customers=q.search_customers(db, ""), errors=refusal(exc), form=data)
        return Redirect(f"/customers/{customer.id}", status_code=303)

    @get("/{customer_id:int}")
    def show(self, request: Request, db: DB, customer_id: IdPath) -> Response:
        return _customer_page(request, db, customer_id)

    @post("/{customer_id:int}")
    def save(self, request: Request, db: DB, customer_id: IdPath, data: MultiForm) -> Response:
        try:
            actions.save_customer(db, request.user.id, customer_id, customer_fields(data),
                                  contacts_from(data), utcnow())
        except ActionError as exc:
            db.rollback()
            return _customer_page(request, db, customer_id, 422, errors=refusal(exc), form=data)
        return Redirect(f"/customers/{customer_id}?saved=1", status_code=303)

    @post("/{customer_id:int}/archive")
    def archive(self, request: Request, db: DB, customer_id: IdPath) -> Response:
        try:
            actions.archive_customer(db, request.user.id, customer_id, utcnow())
        except ActionError as exc:
            db.rollback()
            return _customer_page(request, db, customer_id, 422, errors=refusal(exc))
        return Redirect("/customers", status_code=303)


def _customer_page(request: Request, db: DB, customer_id: int, status_code: int = 200,
                   **extra: Any) -> Response:
    card = q.customer_card(db, customer_id)
    if card is None:
        raise NotFoundException()
    context = {"card": card, "venues": q.venues_of(db, customer_id), "errors": {}, "form": None,
               "history": q.history(db, "customer", customer_id),
               "saved": request.query_params.get("saved")} | extra
    return page(request, "pages/customer.html", status_code=status_code, **context)


class VenuesController(Controller):
    path = "/venues"
    guards = [requires(*STAFF)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Response:
        text = request.query_params.get("q", "")[:64]
        return page(request, "pages/venues.html", q=text, venues=q.venues_of(db, q=text))

    @get("/new")
    def new(self, request: Request, db: DB) -> Response:
        customer_id = request.query_params.get("customer_id", "")
        card = q.customer_card(db, int(customer_id)) if customer_id.isdigit() and len(customer_id) < 10 else None
        if card is None:
            raise NotFoundException()
        return _venue_page(request, db, None, card.customer.id)

    @post("/")
    def create(self, request: Request, db: DB, data: Form) -> Response:
        customer_id = str(data.get("customer_id", ""))
        customer_id = int(customer_id) if customer_id.isdigit() and len(customer_id) < 10 else None
        try:
            venue = actions.save_venue(db, request.user.id, None, customer_id, data,
                                       _regions(request), utcnow())
        except ActionError as exc:
            db.rollback()
            return _venue_page(request, db, None, customer_id, 422, errors=refusal(exc), form=data)
        return Redirect(f"/venues/{venue.id}?saved=1", status_code=303)

    @get("/{venue_id:int}")
    def show(self, request: Request, db: DB, venue_id: IdPath) -> Response:
        venue = _venue(db, venue_id)
        return _venue_page(request, db, venue, venue.customer_id)

    @post("/{venue_id:int}")
    def save(self, request: Request, db: DB, venue_id: IdPath, data: Form) -> Response:
        venue = _venue(db, venue_id)
        try:
            actions.save_venue(db, request.user.id, venue_id, venue.customer_id, data,
                               _regions(request), utcnow())
        except ActionError as exc:
            db.rollback()
            return _venue_page(request, db, _venue(db, venue_id), venue.customer_id, 422,
                               errors=refusal(exc), form=data)
        return Redirect(f"/venues/{venue_id}?saved=1", status_code=303)

    @post("/{venue_id:int}/archive")
    def archive(self, request: Request, db: DB, venue_id: IdPath) -> Response:
        venue = _venue(db, venue_id)
        try:
            actions.archive_venue(db, request.user.id, venue_id, utcnow())
        except ActionError as exc:
            db.rollback()
            return _venue_page(request, db, _venue(db, venue_id), venue.customer_id, 422,
                               errors=refusal(exc))
        return Redirect(f"/customers/{venue.customer_id}" if venue.customer_id else "/venues",
                        status_code=303)


def _regions(request: Request) -> tuple[str, ...]:
    return request.app.state.settings.roster.regions


def _venue(db: DB, venue_id: int) -> Venue:
    venue = db.get(Venue, venue_id)
    if venue is None or venue.archived_at:
        raise NotFoundException()
    return venue


def _venue_page(request: Request, db: DB, venue: Venue | None, customer_id: int | None,
                status_code: int = 200, **extra: Any) -> Response:
    card = q.customer_card(db, customer_id) if customer_id else None
    positions = venue_positions(venue.lat, venue.lon, venue.datum) if venue else None
    options = [(r, gettext(r)) for r in _regions(request)]
    context = {"venue": venue, "card": card, "region_options": options, "errors": {},
               "form": None, "positions": positions,
               "default_radius": request.app.state.settings.venue_radius_m,
               "history": q.history(db, "venue", venue.id) if venue else [],
               "saved": request.query_params.get("saved")} | extra
    return page(request, "pages/venue.html", status_code=status_code, **context)


ROUTES = [CustomersController, VenuesController]

