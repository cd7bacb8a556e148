"""The equipment desk's part of the demo (issue 15): spare requests waiting and on their way,
units in repair with their fault, each made through the same actions people use, so every
unit's history and invariants hold. Called once by ``server.demo`` after the requests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from server.actions import ActionError, repairs, spares
from server.models import (
    OPEN_STATUSES,
    AuditEntry,
    Depot,
    FieldFact,
    Job,
    RepairTicket,
    SpareRequest,
    Staff,
    SupportRequest,
    Unit,
    UnitSwap,
)


def add_equipment_desk(db: Session, now: datetime) -> dict[str, int]:
    """Spare requests for a few open onsite requests (one waiting with its held unit, two
    shipped: by courier and by the job's engineer), and repair tickets for the units the
    demo swaps sent to repair (one already received). Deterministic for one ``now``."""
    manager = db.exec(select(Staff).where(Staff.username == "equipment")).one()
    depots = list(db.exec(select(Depot).order_by(Depot.id)))
    _home_strays(db, depots)
    shipped = _spares(db, manager.id, now)
    tickets = _repairs(db, manager.id, now)
    db.flush()
    return {"spare_requests": shipped, "repair_tickets": tickets}


def _home_strays(db: Session, depots: list[Depot]) -> None:
    """Units the base demo marks "in transit" for no request are at a depot before the
    story starts; the shipments below put units on the road for real requests."""
    for i, unit in enumerate(db.exec(select(Unit).where(Unit.status == "in_transit",
                                                        Unit.held_for_request_id.is_(None))
                                     .order_by(Unit.id)).all()):
        unit.status, unit.depot_id = "reserve", depots[i % len(depots)].id
        db.add(unit)
    db.flush()


def _spares(db: Session, manager_id: int, now: datetime) -> int:
    """The demo onsite login's job gets a spare asked with its unit held (for the manager
    to ship); up to two other requests have theirs on the way (courier, engineer)."""
    onsite_login = db.exec(select(Staff.id).where(Staff.username == "onsite")).one()
    dispatcher = db.exec(select(Staff.id).where(Staff.username == "dispatcher")).one()
    rows = db.exec(select(SupportRequest, Job)
                   .join(Job, Job.request_id == SupportRequest.id)
                   .where(SupportRequest.status.in_(OPEN_STATUSES),
                          SupportRequest.classification == "onsite", Job.kind == "onsite",
                          Job.status.in_(["offered", "accepted", "en_route", "on_site"]))
                   .order_by(SupportRequest.priority, SupportRequest.id)).all()
    mine = [(r, j) for r, j in rows if j.assignee_id == onsite_login][:1]
    others = [(r, j) for r, j in rows if j.assignee_id != onsite_login]
    seen: set[int] = set()
    shipped = 0
    for request, job in mine + others:
        if request.id in seen or shipped == 2:
            continue
        seen.add(request.id)
        engineer_asks = job.status != "offered"
        last = db.exec(select(func.max(AuditEntry.at))
                       .where(AuditEntry.request_id == request.id)).one()
        asked = min(now, (last or now) + timedelta(seconds=30))  # after what came before
        try:
            spare = spares.ask_for_spare(
                db, job.assignee_id if engineer_asks else dispatcher, request.id,
                "engineer" if engineer_asks else "dispatcher", asked, job_id=job.id,
                note="现场判断为硬件故障，需要换机")
            if spare.unit_id is None or (request, job) in mine:
                continue
            by_engineer = shipped == 1 and engineer_asks
            spares.ship_spare(db, manager_id, spare.id, spare.unit_id,
                              "engineer" if by_engineer else "courier",
                              job.assignee_id if by_engineer else None,
                              "" if by_engineer else "顺丰同城 SF1402 2231 9087",
                              now + timedelta(minutes=35 - 10 * shipped),
                              min(now, asked + timedelta(seconds=20)))
            shipped += 1
        except ActionError:
            continue
    return len(db.exec(select(SpareRequest.id)).all())


def _repairs(db: Session, manager_id: int, now: datetime) -> int:
    """Each unit in repair gets its ticket, the fault from the request whose swap took it
    out (or "to be checked" for one that came back from a rental); the oldest is received."""
    open_tickets = set(db.exec(select(RepairTicket.unit_id).where(
        RepairTicket.closed_at.is_(None))).all())
    units = [u for u in db.exec(select(Unit).where(Unit.status == "in_repair")
                                .order_by(Unit.id)).all() if u.id not in open_tickets]
    for unit in units:
        found = db.exec(select(UnitSwap, SupportRequest)
                        .join(FieldFact, FieldFact.id == UnitSwap.fact_id)
                        .join(SupportRequest, SupportRequest.id == FieldFact.request_id)
                        .where(UnitSwap.unit_out_id == unit.id)).first()
        swap, request = found if found else (None, None)
        db.add(RepairTicket(unit_id=unit.id, request_id=request.id if request else None,
                            fault=request.symptom if request else "租赁归还时报告故障，待检测",
                            opened_at=swap.swapped_at if swap else now - timedelta(days=2),
                            note=swap.reason if swap else ""))
    db.flush()
    first = db.exec(select(RepairTicket).where(RepairTicket.closed_at.is_(None))
                    .order_by(RepairTicket.opened_at, RepairTicket.id)).first()
    if first is not None and first.received_at is None:
        repairs.receive(db, manager_id, first.id, max(now - timedelta(hours=3), first.opened_at))
    return len(units)
