"""Spare-unit requests and shipments (S15, D8a): asked, shipped with a carrier and an ETA,
delivered by the engineer's swap (``equipment.swap_units``), or cancelled."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from server.actions import ActionError, audit, changes
from server.actions.equipment import MoveRefused, move
from server.domain.geo import distance_to_venue_m
from server.domain.text import N_
from server.models import (
    OPEN_STATUSES,
    Depot,
    Job,
    SlaClock,
    SpareRequest,
    SpareStatus,
    Staff,
    SupportRequest,
    Unit,
    Venue,
)

WAITING = (SpareStatus.open, SpareStatus.shipped)
SOURCES = ("auto", "dispatcher", "engineer")


def ask_for_spare(db: Session, actor_id: int | None, request_id: int, source: str,
                  now: datetime, *, job_id: int | None = None, note: str = "",
                  unit: Unit | None = None) -> SpareRequest:
    """A spare unit is asked for a request: by a dispatcher or the job's engineer, or by the
    live-hardware hold (D8a, ``source="auto"``, ``unit`` = the held one). One waiting spare
    request per request: asking again answers the one already waiting."""
    if source not in SOURCES:
        raise ActionError(N_("Unknown source of a spare request."))
    request = db.get(SupportRequest, request_id, with_for_update=True)
    if request is None:
        raise ActionError(N_("There is no such request."))
    if request.status not in OPEN_STATUSES:
        raise ActionError(N_("Request {number} is closed: no spare unit can be asked for it."),
                          number=request.number)
    if source == "engineer" and not _engineer_of(db, request_id, actor_id):
        raise ActionError(N_("Only an engineer of this request's jobs can ask for its spare."))
    waiting = db.exec(select(SpareRequest).where(SpareRequest.request_id == request_id,
                                                 SpareRequest.status.in_(WAITING))).first()
    if waiting is not None:
        return waiting
    if unit is None and source != "auto":  # keep the nearest matching unit for it now
        unit = _held(db, request_id) or _hold_nearest(db, actor_id, request, now)
    deadline = db.exec(select(SlaClock.deadline_at).where(
        SlaClock.request_id == request_id, SlaClock.kind == "resolution")).first()
    fault = request.symptom + (f"\n{note.strip()}" if note.strip() else "")
    spare = SpareRequest(request_id=request_id, job_id=job_id, source=source, asked_by=actor_id,
                         asked_at=now, device_type=request.device_type,
                         device_model=request.device_model, fault=fault[:2000],
                         deadline_at=deadline, unit_id=unit.id if unit else None,
                         from_depot_id=unit.depot_id if unit else None)
    db.add(spare)
    db.flush()
    audit.record(db, "spare.asked", actor_id, request_id=request_id, entity="spare",
                 entity_id=spare.id, at=now, source=source,
                 asset_tag=unit.asset_tag if unit else "", text=note.strip()[:500])
    _announce(db, request)
    return spare


def hold_reserve_unit(db: Session, actor_id: int | None, request: SupportRequest,
                      now: datetime) -> Unit | None:
    """D8a: a live stream's hardware fault holds the nearest reserve unit of the same type
    (the same model first) and puts a spare request in the equipment manager's queue.

    The unit stays at its depot, held for the request, so it can be shipped the moment it
    is needed. A unit held for another request is never taken; two requests racing for
    one unit each get their own (the hold is a conditional update). Without a unit, the
    spare request still reaches the queue: another depot or model may serve.
    """
    held = _held(db, request.id)
    if held is not None:
        return held
    unit = _hold_nearest(db, actor_id, request, now)
    ask_for_spare(db, actor_id, request.id, "auto", now, unit=unit)
    return unit


def _held(db: Session, request_id: int) -> Unit | None:
    return db.exec(select(Unit).where(Unit.held_for_request_id == request_id,
                                      Unit.status == "reserve")).first()


def _hold_nearest(db: Session, actor_id: int | None, request: SupportRequest,
                  now: datetime) -> Unit | None:
    rows = db.exec(select(Unit, Depot).join(Depot, Depot.id == Unit.depot_id, isouter=True)
                   .where(Unit.status == "reserve", Unit.device_type == request.device_type,
                          Unit.held_for_request_id.is_(None))).all()
    venue = db.get(Venue, request.venue_id) if request.venue_id else None

    def rank(row: tuple[Unit, Depot | None]) -> tuple:
        unit, depot = row
        far = float("inf")
        if venue is not None and depot is not None:
            far = distance_to_venue_m(depot.lat, depot.lon, venue.lat, venue.lon, venue.datum)
        same_region = depot is not None and depot.region == request.region
        return (not same_region, unit.model != request.device_model, far, unit.asset_tag)

    for unit, depot in sorted(rows, key=rank):
        try:  # a unit someone else held meanwhile is skipped (conditional update)
            move(db, unit, "hold", actor_id, now, request_id=request.id, model=unit.model)
        except MoveRefused:
            continue
        audit.record(db, "unit.held", actor_id, request_id=request.id, entity="unit",
                     entity_id=unit.id, at=now, asset_tag=unit.asset_tag, model=unit.model,
                     depot=depot.name if depot else "")
        return unit
    audit.record(db, "unit.hold_failed", actor_id, request_id=request.id, entity="request",
                 entity_id=request.id, at=now, device_type=request.device_type)
    return None


def ship_spare(db: Session, actor_id: int, spare_id: int, unit_id: int, carrier: str,
               carrier_staff_id: int | None, tracking_note: str, eta: datetime | None,
               now: datetime) -> SpareRequest:
    """The manager ships a unit (the held one or another) with an engineer of the job or a
    courier, and an expected arrival. A different unit held for the request goes back to
    the reserve, visibly. Refused with the reason if the unit cannot go (invariants)."""
    spare = _waiting(db, spare_id)
    if spare.status != SpareStatus.open:
        raise ActionError(N_("This spare unit has already been shipped."))
    if carrier not in ("engineer", "courier"):
        raise ActionError(N_("Say who carries the unit."), "carrier")
    tracking_note = tracking_note.strip()[:200]
    if carrier == "engineer":
        if not _engineer_of(db, spare.request_id, carrier_staff_id):
            raise ActionError(N_("Choose an engineer of this request's jobs."), "carrier_staff_id")
    else:
        carrier_staff_id = None
        if not tracking_note:
            raise ActionError(N_("Give the courier and tracking number."), "tracking_note")
    if eta is None or eta < now:
        raise ActionError(N_("Give an expected arrival that is not in the past."), "eta")
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise ActionError(N_("There is no such unit."), "unit_id")
    if unit.device_type != spare.device_type:
        raise ActionError(N_("Unit {tag} is not of the device type asked for."), "unit_id",
                          tag=unit.asset_tag)
    from_depot = unit.depot_id
    for other in db.exec(select(Unit).where(Unit.held_for_request_id == spare.request_id,
                                            Unit.status == "reserve", Unit.id != unit.id)):
        move(db, other, "release", actor_id, now, request_id=spare.request_id,
             reason="another unit shipped")
    try:
        move(db, unit, "ship", actor_id, now, request_id=spare.request_id, spare_id=spare.id,
             carrier=carrier, eta=eta.isoformat())
    except MoveRefused as exc:
        exc.field = "unit_id"
        raise
    spare.status, spare.unit_id, spare.from_depot_id = SpareStatus.shipped, unit.id, from_depot
    spare.carrier, spare.carrier_staff_id, spare.tracking_note = (carrier, carrier_staff_id,
                                                                  tracking_note)
    spare.eta_at, spare.shipped_at, spare.shipped_by = eta, now, actor_id
    spare.version += 1
    db.add(spare)
    carrier_name = db.get(Staff, carrier_staff_id).display_name if carrier_staff_id else ""
    audit.record(db, "spare.shipped", actor_id, request_id=spare.request_id, entity="spare",
                 entity_id=spare.id, at=now, asset_tag=unit.asset_tag, carrier=carrier,
                 carrier_name=carrier_name, text=tracking_note, eta=eta.isoformat())
    _announce(db, db.get(SupportRequest, spare.request_id))
    return spare


def cancel_spare(db: Session, actor_id: int, spare_id: int, reason: str,
                 now: datetime) -> SpareRequest:
    """The manager withdraws a spare request: a held unit goes back to the reserve; a unit
    already on its way stays in transit until it is recorded back at a depot."""
    spare = _waiting(db, spare_id)
    reason = reason.strip()[:500]
    if not reason:
        raise ActionError(N_("Give the reason for cancelling."), "reason")
    for unit in db.exec(select(Unit).where(Unit.held_for_request_id == spare.request_id,
                                           Unit.status == "reserve")):
        move(db, unit, "release", actor_id, now, request_id=spare.request_id, reason=reason)
    spare.status, spare.closed_at = SpareStatus.cancelled, now
    spare.version += 1
    db.add(spare)
    audit.record(db, "spare.cancelled", actor_id, request_id=spare.request_id, entity="spare",
                 entity_id=spare.id, at=now, reason=reason)
    _announce(db, db.get(SupportRequest, spare.request_id))
    return spare


def back_to_reserve(db: Session, actor_id: int, unit_id: int, depot_id: int,
                    now: datetime) -> Unit:
    """A unit in transit whose request ended (or whose shipment was withdrawn) is back at a
    depot: it is in the reserve again."""
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise ActionError(N_("There is no such unit."))
    request_id = unit.held_for_request_id
    waiting = db.exec(select(SpareRequest).where(SpareRequest.unit_id == unit_id,
                                                 SpareRequest.status == SpareStatus.shipped)
                      ).first()
    if waiting is not None:
        raise ActionError(N_("Unit {tag} is on its way to a request: cancel that shipment first."),
                          tag=unit.asset_tag)
    move(db, unit, "back_to_reserve", actor_id, now, depot_id=depot_id,
         returned_from=request_id)
    return unit


def _waiting(db: Session, spare_id: int) -> SpareRequest:
    spare = db.get(SpareRequest, spare_id, with_for_update=True)
    if spare is None:
        raise ActionError(N_("There is no such spare request."))
    if spare.status not in WAITING:
        raise ActionError(N_("This spare request is already closed."))
    return spare


def _engineer_of(db: Session, request_id: int, staff_id: int | None) -> bool:
    if staff_id is None:
        return False
    return db.exec(select(Job.id).where(Job.request_id == request_id,
                                        Job.assignee_id == staff_id)).first() is not None


def _announce(db: Session, request: SupportRequest | None) -> None:
    """The dispatcher's request page and the job's engineer's phone refresh."""
    if request is None:
        return
    request.version += 1
    db.add(request)
    engineers = db.exec(select(Job.assignee_id).where(Job.request_id == request.id)).all()
    changes.changed(db, "request", request.id, staff_ids=engineers, request_id=request.id)
