"""Recording a support request and handing it to technical service (S2-S4, D3-D5, D8a).

``record_request`` saves what the agent typed (checked by ``server.domain.intake``) and
starts the 10-minute handoff clock from the moment the call came in. ``hand_off`` stops
that clock and starts the first-response and resolution clocks; for a stream that is on
air now it records that remote guidance and onsite dispatch start at once and holds a
reserve unit if the fault looks like hardware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.changes import changed
from server.actions.equipment import release_for_request
from server.actions.notify import Notice, enqueue_all
from server.actions.sla import start_clock, stop_clock
from server.actions.spares import hold_reserve_unit  # D8a, the equipment desk's queue
from server.db import utcnow
from server.domain.intake import (
    Proposal,
    looks_like_hardware,
    normalize_phone,
    parse_instant,
    propose_classification,
    validate_request,
)
from server.domain.sla import PRIORITIES, REGIONS
from server.domain.text import N_, Message
from server.i18n import translations
from server.models import RequestStatus, SupportRequest
from server.queries.orders import find_caller, find_order
from server.queries.staff import active_with_roles

CLASSIFICATIONS = ("remote", "onsite")


@dataclass(frozen=True)
class RequestForm:
    """The form's values, read and checked; times are aware instants."""

    values: dict[str, Any]
    received_at: datetime
    proposal: Proposal


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _when(form: Mapping[str, Any], name: str, tz: str) -> datetime | None:
    return parse_instant(_text(form, name), tz) if _text(form, name) else None


def propose(form: Mapping[str, Any], now: datetime, tz: str) -> Proposal | None:
    """S4/D4/D8a proposal for a form being typed; None while it cannot be worked out."""
    device = _text(form, "device_type") or "other"
    kind = _text(form, "symptom_kind") or None
    state = _text(form, "stream_state") or "none"
    try:
        return propose_classification(device, kind, state, _when(form, "stream_starts_at", tz), now)
    except ValueError:
        return None


def read_form(db: Session, form: Mapping[str, Any], now: datetime, tz: str) -> RequestForm:
    """The checked values of a request form, or ``FieldErrors`` naming each bad field."""
    errors = validate_request(form, now, tz)
    region = _text(form, "region")
    if region and region not in REGIONS:
        errors["region"] = Message(N_("Choose urban or suburban."))
    choice = _text(form, "classification")
    if choice and choice not in CLASSIFICATIONS:
        errors["classification"] = Message(N_("Choose remote or onsite handling."))
    if _text(form, "priority") and _text(form, "priority") not in PRIORITIES:
        errors["priority"] = Message(N_("Choose a priority."))
    order = find_order(db, _text(form, "order_no"))
    unit_id = _text(form, "unit_id")
    unit = None
    if unit_id:
        unit = next((u for u in order.units if str(u.id) == unit_id), None) if order else None
        if unit is None:
            errors["unit_id"] = Message(N_("Choose a unit on this order."))
    proposal = propose(form, now, tz)
    if errors or proposal is None:
        raise FieldErrors(errors or {"symptom_kind": Message(N_("Choose one of the listed kinds of fault."))})

    values: dict[str, Any] = {
        name: _text(form, name)
        for name in ("channel", "customer_name", "contact_name", "address", "device_type",
                     "device_model", "scenario", "symptom")
    }  # fmt: skip
    values.update(
        phone=normalize_phone(_text(form, "phone")),
        order_no=_text(form, "order_no"),
        symptom_kind=_text(form, "symptom_kind") or "other",
        fault_started_at=_when(form, "fault_started_at", tz),
        stream_state=_text(form, "stream_state") or "none",
        stream_starts_at=None,
        classification=choice or proposal.classification,
        priority=_text(form, "priority") or proposal.priority,
        region=region or "urban",
    )
    if values["stream_state"] == "upcoming":
        values["stream_starts_at"] = _when(form, "stream_starts_at", tz)
    if order is not None:  # D3: the order says who and where
        values.update(order_id=order.order.id, order_no=order.order.order_no,
                      customer_id=order.customer.id)  # fmt: skip
        if order.venue is not None:
            values.update(venue_id=order.venue.id, region=region or order.venue.region)
            values["address"] = values["address"] or order.venue.address
        values["scenario"] = values["scenario"] or order.order.scenario
    else:
        caller = find_caller(db, values["phone"])
        if caller is not None:
            values["customer_id"] = caller.customer.id
    if unit is not None:
        values["unit_id"] = unit.id
        values["device_model"] = values["device_model"] or unit.model
    received = _when(form, "received_at", tz) or now
    return RequestForm(values, received, proposal)


def next_number(db: Session, received_at: datetime, tz: str) -> str:
    """FO-YYYYMMDD-NNNN, numbered per day of the service's time zone (D1)."""
    prefix = "FO-" + received_at.astimezone(ZoneInfo(tz)).strftime("%Y%m%d") + "-"
    last = db.exec(
        select(SupportRequest.number)
        .where(SupportRequest.number.startswith(prefix))
        .order_by(SupportRequest.number.desc())
    ).first()
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def record_request(
    db: Session, actor_id: int, form: Mapping[str, Any], now: datetime, settings
) -> SupportRequest:
    """S2/S3: save the request form and start the handoff clock from 'received at' (S4).

    Made from an inbound contact (``contact_id``), the clock starts when the contact
    arrived, whatever the form says (D18), and the contact's messages join the timeline.
    """
    from server.actions import inbound

    contact = inbound.open_contact(db, _contact_id(form)) if _contact_id(form) else None
    if contact is not None:
        form = {**form, "channel": contact.channel}
    checked = read_form(db, form, now, settings.time_zone)
    if contact is not None:
        checked = replace(checked, received_at=contact.received_at)
    request = None
    for _attempt in range(20):  # another agent may take the same number at the same moment
        request = SupportRequest(
            number=next_number(db, checked.received_at, settings.time_zone),
            received_at=checked.received_at,
            recorded_by=actor_id,
            status=RequestStatus.new,
            **checked.values,
        )
        try:
            with db.begin_nested():
                db.add(request)
        except IntegrityError:
            continue
        break
    else:
        raise ActionError(N_("The request could not be numbered. Save it again."))
    start_clock(db, request, "handoff", checked.received_at, settings.sla)
    record(db, "request.received", actor_id, request_id=request.id, entity="request",
           entity_id=request.id, at=checked.received_at, channel=request.channel,
           priority=request.priority, recorded_at=now.isoformat())  # fmt: skip
    if contact is not None:
        inbound.link_request(db, actor_id, contact, request, now, settings)
    changed(db, "request", request.id, request_id=request.id)
    return request


def _contact_id(form: Mapping[str, Any]) -> int | None:
    raw = _text(form, "contact_id")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def on_air(request: SupportRequest, now: datetime) -> bool:
    """D8a: the stream is live now (or was to start and has started)."""
    if request.stream_state == "live":
        return True
    starts = request.stream_starts_at
    return request.stream_state == "upcoming" and starts is not None and starts <= now


def hand_off(
    db: Session,
    actor_id: int,
    request_id: int,
    classification: str,
    priority: str,
    now: datetime,
    settings,
) -> SupportRequest:
    """S4: classified and handed to technical service; the dispatch clocks start (D5, D8a)."""
    errors: dict[str, Message] = {}
    if classification not in CLASSIFICATIONS:
        errors["classification"] = Message(N_("Choose remote or onsite handling."))
    if priority not in PRIORITIES:
        errors["priority"] = Message(N_("Choose a priority."))
    if errors:
        raise FieldErrors(errors)
    request = db.get(SupportRequest, request_id, with_for_update=True)
    if request is None:
        raise ActionError(N_("There is no such request."))
    if request.status != RequestStatus.new:
        raise ActionError(N_("Request {number} has already been handed off."), number=request.number)
    request.classification, request.priority = classification, priority
    request.status, request.handed_off_at = RequestStatus.handed_off, now
    request.version += 1
    db.add(request)
    handoff = stop_clock(db, request.id, "handoff", now)
    for kind in ("first_response", "resolution"):
        start_clock(db, request, kind, now, settings.sla)
    record(db, "request.handed_off", actor_id, request_id=request.id, entity="request",
           entity_id=request.id, at=now, classification=classification, priority=priority,
           in_time=bool(handoff and handoff.stopped_at <= handoff.deadline_at))  # fmt: skip
    if on_air(request, now):
        record(db, "request.live_dispatch", actor_id, request_id=request.id, entity="request",
               entity_id=request.id, at=now, remote=True, onsite=True)  # fmt: skip
        if looks_like_hardware(request.symptom_kind):
            hold_reserve_unit(db, actor_id, request, now)
    changed(db, "request", request.id, request_id=request.id)
    _tell_dispatchers(db, request, now)
    return request


def _in_language(locale: str, message: Message) -> str:
    return message.render(translations(locale).gettext)


def _tell_dispatchers(db: Session, request: SupportRequest, now: datetime) -> None:
    """A handed-off request reaches the dispatch desk: every active dispatcher (the desk
    has no roster of its own); a P1 (D4) with high urgency."""
    notices = [
        Notice(lead.id, _in_language(lead.locale, Message(
            N_("{priority} request {number}: {customer}"),
            {"priority": request.priority, "number": request.number,
             "customer": request.customer_name},
        )), request.symptom[:120], f"handoff:{request.id}:{lead.id}")
        for lead in active_with_roles(db, "dispatcher")
    ]  # fmt: skip
    enqueue_all(db, notices, kind="request.handed_off", request_id=request.id,
                urgency="high" if request.priority == "P1" else "normal", now=now)


def release_holds(db: Session, request_id: int, actor_id: int | None = None,
                  at: datetime | None = None, found: tuple[list, list] | None = None) -> None:
    """D8a holds end with the request (resolved or cancelled): the unit is back in the
    emergency reserve for the next live stream, visibly (issue 15). A unit swapped in was
    released then. ``found``: the held units and waiting spare requests, read just now
    by the caller (``release_for_request``)."""
    release_for_request(db, actor_id, request_id, at or utcnow(), "request ended", found)
