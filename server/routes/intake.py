"""The agent's intake screen (S2-S4, D3, D4, D8a): record a call and hand it off."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response, Template
from sqlmodel import select

from server.actions import ActionError, FieldErrors
from server.actions import requests as intake
from server.db import utcnow
from server.domain import sla as sla_rules
from server.domain.bounds import LONG_TEXT
from server.domain.intake import CHANNELS, DEVICE_TYPES, SYMPTOM_KINDS, parse_instant
from server.domain.text import N_
from server.i18n import gettext, render
from server.models import AuditEntry, Role, SlaClock, SupportRequest, Unit
from server.queries import inbox as inbox_q
from server.queries.orders import current_orders, find_caller, find_order
from server.routes._http import DB, fragment, get, is_htmx, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath, IdQuery, form_text
from server.security import requires

FORM_FIELDS = (
    "channel", "received_at", "order_no", "unit_id", "customer_name", "contact_name", "phone",
    "address", "region", "device_type", "device_model", "scenario", "symptom_kind", "symptom",
    "fault_started_at", "stream_state", "stream_starts_at", "classification", "priority",
    "opened_at", "contact_id",
)  # fmt: skip
SYMPTOM_LABELS = {
    "no_power": N_("Will not power on"),
    "no_signal": N_("Signal lost"),
    "push_failed": N_("Stream fails to push"),
    "physical_damage": N_("Physical damage"),
    "cabling": N_("Cabling at the venue"),
    "settings": N_("Settings"),
    "operation": N_("How to operate it"),
    "other": N_("Something else"),
}
CLASSIFICATION_LABELS = {"remote": N_("Remote-handleable"), "onsite": N_("Onsite needed")}
STREAM_LABELS = {"live": N_("Live now"), "upcoming": N_("Starts at a set time"),
                 "none": N_("No stream affected")}  # fmt: skip

register(Screen("/requests/new", N_("New request"), N_("Record a call and hand it off"),
                ("agent", "manager")))  # fmt: skip


def _local_input(instant: datetime, tz: str) -> str:
    """An instant as ``<input type=datetime-local>`` shows it, in the service's zone."""
    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def _values(data: Any) -> dict[str, str]:
    """The form's fields as text; ``data`` is a posted form or the query of an htmx lookup.

    A field longer than LONG_TEXT or with a control character (a NUL) -> BadInput (400).
    """
    return {k: form_text(data, k, LONG_TEXT, multiline=True) for k in FORM_FIELDS}


def _received(values: dict[str, str], tz: str) -> str:
    """'Received at' as typed; left as the form showed it, the moment it opened, to the second.

    The field shows minutes only, so an untouched field would otherwise lose up to a
    minute of the 10-minute handoff clock.
    """
    opened = parse_instant(values["opened_at"], tz) if values["opened_at"] else None
    if opened is not None and values["received_at"] == _local_input(opened, tz):
        return opened.isoformat()
    return values["received_at"]


def _handoff_clock(values: dict[str, str], now: datetime, settings) -> dict[str, Any]:
    """The running 10-minute handoff clock (S4), cut short by an upcoming stream (D8a)."""
    tz = settings.time_zone
    typed = _received(values, tz)
    received = parse_instant(typed, tz) if typed else None
    received = min(received or now, now)
    starts = None
    if values["stream_state"] == "upcoming" and values["stream_starts_at"]:
        starts = parse_instant(values["stream_starts_at"], tz)
    priority = values["priority"] if values["priority"] in sla_rules.PRIORITIES else "P3"
    due = sla_rules.deadline("handoff", received, priority, None, settings.sla, starts)
    status = sla_rules.clock_status(received, due, [], None, now, settings.sla)
    return {"received": received, "deadline": due, "status": status,
            "warn_at": received + (due - received) * settings.sla.warn_fraction}  # fmt: skip


def _choices() -> dict[str, Any]:
    """Select options as (code, words in the user's language), and the words by code."""
    labels = {
        "channel": {c: gettext(c) for c in CHANNELS},
        "device_type": {d: gettext(d) for d in DEVICE_TYPES},
        "symptom_kind": {k: gettext(SYMPTOM_LABELS[k]) for k in SYMPTOM_KINDS},
        "stream_state": {k: gettext(v) for k, v in STREAM_LABELS.items()},
        "classification": {k: gettext(v) for k, v in CLASSIFICATION_LABELS.items()},
    }
    return {"labels": labels, "options": {k: list(v.items()) for k, v in labels.items()}}


def _context(request: Request, db: DB, values: dict[str, str], errors: dict[str, str] | None = None,
             focus: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """What the form and its fragments show; ``focus`` is the control to put the cursor in."""
    settings = request.app.state.settings
    now = utcnow()
    errors = errors or {}
    if errors:
        focus = next((name for name in FORM_FIELDS if name in errors), None)
    return {
        "form": values,
        "errors": errors,
        "focus": focus,
        "order": find_order(db, values["order_no"]) if values["order_no"] else None,
        "proposal": intake.propose(values, now, settings.time_zone),
        "clock": _handoff_clock(values, now, settings),
        "now": now,
        **_choices(),
        **extra,
    }


def _mine(db: DB, staff_id: int, now: datetime) -> list[tuple[SupportRequest, SlaClock | None]]:
    """The agent's requests of the last 24 hours, newest first, with their handoff clock."""
    rows = db.exec(
        select(SupportRequest, SlaClock)
        .join(SlaClock, (SlaClock.request_id == SupportRequest.id) & (SlaClock.kind == "handoff"),
              isouter=True)
        .where(SupportRequest.recorded_by == staff_id,
               SupportRequest.received_at >= now - timedelta(hours=24))
        .order_by(SupportRequest.received_at.desc())
        .limit(20)
    ).all()  # fmt: skip
    return list(rows)


def _filed(db: DB, request_id: int) -> dict[str, Any] | None:
    req = db.get(SupportRequest, request_id)
    if req is None:
        return None
    held = db.exec(select(Unit).where(Unit.held_for_request_id == req.id)).first()
    live = db.exec(
        select(AuditEntry.id).where(AuditEntry.request_id == req.id,
                                    AuditEntry.action == "request.live_dispatch")
    ).first()  # fmt: skip
    return {"request": req, "held": held, "live_dispatch": bool(live)}


class IntakeController(Controller):
    path = "/requests"
    guards = [requires(Role.agent, Role.manager)]
    include_in_schema = False

    @get("/new")
    def new(self, request: Request, db: DB, filed: IdQuery = None,
            contact: IdQuery = None) -> Template:
        settings = request.app.state.settings
        now = utcnow()
        values = _values({"channel": "hotline", "stream_state": "none", "region": "urban",
                          "received_at": _local_input(now, settings.time_zone),
                          "opened_at": now.isoformat()})  # fmt: skip
        came_from = inbox_q.prefill(db, contact, settings.time_zone) if contact else None
        if came_from:  # D18: from the inbox, the clock runs from the contact's arrival
            values.update(came_from)
        user = request.scope["user"]
        return page(request, "pages/intake.html", **_context(request, db, values, focus="order_no"),
                    mine=_mine(db, user.id, now), filed=_filed(db, filed) if filed else None)

    @post("/new")
    def save(self, request: Request, db: DB, data: Form) -> Response:
        settings, user, now = request.app.state.settings, request.scope["user"], utcnow()
        values = _values(data)
        try:
            typed = values | {"received_at": _received(values, settings.time_zone)}
            req = intake.record_request(db, user.id, typed, now, settings)
            if data.get("action") != "save":
                intake.hand_off(db, user.id, req.id, req.classification, req.priority, now,
                                settings)
        except ActionError as exc:
            db.rollback()
            if isinstance(exc, FieldErrors):
                errors = {k: render(v) for k, v in exc.errors.items()}
            else:
                errors = {exc.field or "form": render(exc.message)}
            return page(request, "pages/intake.html", fragment="partials/intake_form.html",
                        status_code=422, mine=_mine(db, user.id, now),
                        **_context(request, db, values, errors))
        target = f"/requests/new?filed={req.id}"
        return ClientRedirect(target) if is_htmx(request) else Redirect(target, status_code=303)

    @get("/new/order")
    def order_lookup(self, request: Request, db: DB) -> Template:
        """D3: the order number fills in the customer, the venue and the units on it."""
        values = _values(request.query_params)
        order = find_order(db, values["order_no"]) if values["order_no"] else None
        if order is not None:
            values.update(
                customer_name=order.customer.name,
                contact_name=order.contact.name if order.contact else values["contact_name"],
                address=order.venue.address if order.venue else values["address"],
                region=order.region or values["region"],
                scenario=order.order.scenario or values["scenario"],
            )
            if not values["phone"] and order.contact:
                values["phone"] = order.contact.phone
            if values["unit_id"] not in {str(u.id) for u in order.units}:
                values["unit_id"] = str(order.units[0].id) if len(order.units) == 1 else ""
            _fill_from_unit(values, order.units)
        return fragment(request, "partials/intake_customer.html",
                        **_context(request, db, values, lookup="order"))

    @get("/new/phone")
    def phone_lookup(self, request: Request, db: DB) -> Template:
        """A known phone number names the customer and suggests their current orders."""
        values = _values(request.query_params)
        caller = find_caller(db, values["phone"]) if values["phone"] else None
        orders = []
        if caller is not None:
            values["customer_name"] = values["customer_name"] or caller.customer.name
            if caller.contact is not None:
                values["contact_name"] = values["contact_name"] or caller.contact.name
            orders = current_orders(db, caller.customer.id, utcnow())
        return fragment(request, "partials/intake_customer.html",
                        **_context(request, db, values, caller=caller, caller_orders=orders,
                                   lookup="phone"))  # fmt: skip

    @get("/new/unit")
    def unit_pick(self, request: Request, db: DB) -> Template:
        values = _values(request.query_params)
        order = find_order(db, values["order_no"]) if values["order_no"] else None
        _fill_from_unit(values, order.units if order else [], force=True)
        return fragment(request, "partials/intake_device.html", **_context(request, db, values))

    @get("/new/proposal")
    def proposal(self, request: Request, db: DB) -> Template:
        """S4/D4/D8a: what the answers so far propose, and the handoff clock."""
        values = _values(request.query_params)
        return fragment(request, "partials/intake_proposal.html", **_context(request, db, values))

    @get("/mine")
    def mine(self, request: Request, db: DB) -> Template:
        user = request.scope["user"]
        return fragment(request, "partials/my_requests.html", mine=_mine(db, user.id, utcnow()),
                        now=utcnow(), **_choices())  # fmt: skip

    @post("/{request_id:int}/handoff")
    def hand_off(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Response:
        settings, user, now = request.app.state.settings, request.scope["user"], utcnow()
        error = None
        try:
            intake.hand_off(db, user.id, request_id, str(data.get("classification", "")),
                            str(data.get("priority", "")), now, settings)  # fmt: skip
        except ActionError as exc:
            db.rollback()
            error = render(exc.message)
        if error is None and not is_htmx(request):
            return Redirect(f"/requests/new?filed={request_id}", status_code=303)
        return fragment(request, "partials/my_requests.html", status_code=422 if error else 200,
                        mine=_mine(db, user.id, now), error=error, error_for=request_id,
                        **_choices())  # fmt: skip


def _fill_from_unit(values: dict[str, str], units: list[Unit], force: bool = False) -> None:
    """The chosen unit on the order tells the device type and model."""
    unit = next((u for u in units if str(u.id) == values["unit_id"]), None)
    if unit is None:
        return
    if force or not values["device_type"]:
        values["device_type"] = unit.device_type
    if force or not values["device_model"]:
        values["device_model"] = unit.model


ROUTES = [IntakeController]
