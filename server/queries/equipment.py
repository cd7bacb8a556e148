"""What the equipment manager's screens show: stock, a unit's history, low stock, the
spare-unit queue, returns and repair, refused swaps; and "spare on its way" for a request."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from server.domain import equipment as rules
from server.domain.field import refused_swap_awaits_equipment
from server.domain.geo import distance_to_venue_m
from server.models import (
    OPEN_STATUSES,
    AuditEntry,
    Depot,
    DeviceType,
    FieldFact,
    Job,
    OrderLine,
    RentalOrder,
    RepairTicket,
    SpareRequest,
    SpareStatus,
    Staff,
    SupportRequest,
    Unit,
    Venue,
)

PAGE = 300  # units listed at once; filters narrow it
# Entries about a unit written for the request's timeline; its movements say the same.
REQUEST_TIMELINE_ONLY = ("unit.held", "unit.swapped")


@dataclass
class StockRow:
    unit: Unit
    state: str
    depot: str
    order_no: str
    request_number: str


@dataclass
class Stock:
    rows: list[StockRow]
    total: int
    counts: list[dict[str, Any]]  # per depot / type / model: {state: n}
    depots: list[Depot]
    low: list[rules.LowStock]


def stock(db: Session, rules_: rules.EquipmentRules, *, depot_id: int | None = None,
          device_type: str = "", state: str = "", tag: str = "") -> Stock:
    """Every unit with its one state, filtered; counts per depot, type and model."""
    query = select(Unit)
    if depot_id:
        query = query.where(Unit.depot_id == depot_id)
    if device_type:
        query = query.where(Unit.device_type == device_type)
    if state:
        query = query.where(Unit.status == rules.stored(state))
        if state == "held":
            query = query.where(Unit.held_for_request_id.is_not(None))
        elif state == "reserve":
            query = query.where(Unit.held_for_request_id.is_(None))
    if tag:
        query = query.where(Unit.asset_tag.contains(tag.strip().upper()))
    units = list(db.exec(query.order_by(Unit.asset_tag)))
    depots = list(db.exec(select(Depot).order_by(Depot.name)))
    names = {d.id: d.name for d in depots}
    orders = dict(db.exec(select(OrderLine.unit_id, RentalOrder.order_no)
                          .join(RentalOrder, RentalOrder.id == OrderLine.order_id)
                          .where(OrderLine.removed_at.is_(None))).all())
    held_ids = {u.held_for_request_id for u in units if u.held_for_request_id}
    numbers = dict(db.exec(select(SupportRequest.id, SupportRequest.number)
                           .where(SupportRequest.id.in_(held_ids))).all()) if held_ids else {}
    rows = [StockRow(u, rules.unit_state(u.status, u.held_for_request_id),
                     names.get(u.depot_id, ""), orders.get(u.id, ""),
                     numbers.get(u.held_for_request_id, "")) for u in units]
    groups: dict[tuple[str, str, str], Counter] = {}
    for r in rows:
        groups.setdefault((r.depot, r.unit.device_type, r.unit.model), Counter())[r.state] += 1
    counts = [{"depot": k[0], "device_type": k[1], "model": k[2], "states": dict(c),
               "total": sum(c.values())}
              for k, c in sorted(groups.items(), key=lambda kv: (not kv[0][0], kv[0]))]
    return Stock(rows[:PAGE], len(rows), counts, depots, low_stock(db, rules_))


def low_stock(db: Session, rules_: rules.EquipmentRules) -> list[rules.LowStock]:
    """Free reserve (in reserve, not held) per depot and type under its threshold."""
    free = db.exec(select(Depot.name, Unit.device_type, func.count())
                   .join(Depot, Depot.id == Unit.depot_id)
                   .where(Unit.status == "reserve", Unit.held_for_request_id.is_(None))
                   .group_by(Depot.name, Unit.device_type)).all()
    depots = list(db.exec(select(Depot.name).order_by(Depot.name)))
    return rules.low_stock({(d, t): n for d, t, n in free}, depots,
                           [t.value for t in DeviceType], rules_)


@dataclass
class HistoryEntry:
    at: datetime
    action: str
    actor: str
    details: dict


def unit_history(db: Session, unit_id: int) -> list[HistoryEntry]:
    """Who moved the unit, what, when, for which request / order (newest first)."""
    rows = db.exec(select(AuditEntry, Staff.display_name)
                   .join(Staff, Staff.id == AuditEntry.actor_id, isouter=True)
                   .where(AuditEntry.entity == "unit", AuditEntry.entity_id == str(unit_id),
                          AuditEntry.action.not_in(REQUEST_TIMELINE_ONLY))
                   .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())).all()
    requests = {e.details.get("for_request") for e, _ in rows if e.details.get("for_request")}
    numbers = dict(db.exec(select(SupportRequest.id, SupportRequest.number)
                           .where(SupportRequest.id.in_(requests))).all()) if requests else {}
    out = []
    for entry, name in rows:
        details = dict(entry.details) | {"request_number": numbers.get(
            entry.details.get("for_request"), "")}
        out.append(HistoryEntry(entry.at, entry.action, name or "", details))
    return out


# -- the spare-unit queue -----------------------------------------------------------------------


@dataclass
class SpareRow:
    spare: SpareRequest
    request: SupportRequest
    unit: Unit | None
    candidates: list[rules.Candidate]
    engineers: list[Staff]
    carrier_name: str = ""
    from_depot: str = ""


def spare_queue(db: Session) -> list[SpareRow]:
    """Waiting spare requests, the nearest deadline first; for each open one, the units that
    could go, nearest depot with a matching unit first."""
    spares = list(db.exec(select(SpareRequest).where(
        SpareRequest.status.in_([SpareStatus.open, SpareStatus.shipped]))))
    far_future = datetime.max.replace(tzinfo=None)
    spares.sort(key=lambda s: (s.status != "open",
                               s.deadline_at.replace(tzinfo=None) if s.deadline_at else far_future,
                               s.id))
    free = list(db.exec(select(Unit, Depot).join(Depot, Depot.id == Unit.depot_id)
                        .where(Unit.status == "reserve")))
    rows = []
    for spare in spares:
        request = db.get(SupportRequest, spare.request_id)
        venue = db.get(Venue, request.venue_id) if request.venue_id else None
        candidates = []
        for unit, depot in free:
            if unit.device_type != spare.device_type or unit.held_for_request_id not in (
                    None, spare.request_id):
                continue
            far = (distance_to_venue_m(depot.lat, depot.lon, venue.lat, venue.lon, venue.datum)
                   if venue else None)
            candidates.append(rules.Candidate(unit.id, unit.asset_tag, unit.model, depot.name,
                                              far, unit.held_for_request_id == spare.request_id))
        engineers = list(db.exec(select(Staff).join(Job, Job.assignee_id == Staff.id)
                                 .where(Job.request_id == spare.request_id).distinct()))
        carrier = db.get(Staff, spare.carrier_staff_id) if spare.carrier_staff_id else None
        depot = db.get(Depot, spare.from_depot_id) if spare.from_depot_id else None
        rows.append(SpareRow(spare, request, db.get(Unit, spare.unit_id) if spare.unit_id else None,
                             rules.rank_candidates(candidates, spare.device_model)[:6], engineers,
                             carrier.display_name if carrier else "", depot.name if depot else ""))
    return rows


@dataclass
class RepairRow:
    ticket: RepairTicket
    unit: Unit
    request_number: str


def repair_queue(db: Session) -> list[RepairRow]:
    rows = db.exec(select(RepairTicket, Unit).join(Unit, Unit.id == RepairTicket.unit_id)
                   .where(RepairTicket.closed_at.is_(None)).order_by(RepairTicket.opened_at)).all()
    out = []
    for ticket, unit in rows:
        req = db.get(SupportRequest, ticket.request_id) if ticket.request_id else None
        out.append(RepairRow(ticket, unit, req.number if req else ""))
    return out


@dataclass
class RefusedSwap:
    fact: FieldFact
    request: SupportRequest
    author: str
    reason: str
    handed_by: str = ""  # the dispatcher who handed it over from the request page, if one did


def refused_swaps(db: Session) -> list[RefusedSwap]:
    """Swaps the server refused at sync (D13) that wait for the equipment manager, oldest
    first: not decided yet, or handed over by the dispatcher (``flag_resolution ==
    'equipment'``, with their note in ``fact.flag_note``), until the manager resolves them
    (``refused_swap_awaits_equipment``)."""
    handed = aliased(Staff)
    facts = db.exec(select(FieldFact, SupportRequest, Staff.display_name, handed.display_name)
                    .join(SupportRequest, SupportRequest.id == FieldFact.request_id)
                    .join(Staff, Staff.id == FieldFact.author_id)
                    .join(handed, handed.id == FieldFact.flag_resolved_by, isouter=True)
                    .where(FieldFact.kind == "swap", FieldFact.flagged,
                           or_(FieldFact.flag_resolved_at.is_(None),
                               FieldFact.flag_resolution == "equipment"))
                    .order_by(FieldFact.received_at)).all()
    return [RefusedSwap(f, r, name, f.flag_reason,
                        (by or "") if f.flag_resolution == "equipment" else "")
            for f, r, name, by in facts
            if refused_swap_awaits_equipment(f.kind, f.data, f.flag_resolved_at, f.flag_resolution)]


@dataclass
class Stray:
    unit: Unit
    request_number: str
    since: datetime | None


def in_transit_unclaimed(db: Session) -> list[Stray]:
    """Units on their way for a request that ended or whose shipment was withdrawn: to be
    recorded back at a depot."""
    waiting = select(SpareRequest.unit_id).where(SpareRequest.status == SpareStatus.shipped,
                                                 SpareRequest.unit_id.is_not(None))
    rows = db.exec(select(Unit, SupportRequest)
                   .join(SupportRequest, SupportRequest.id == Unit.held_for_request_id,
                         isouter=True)
                   .where(Unit.status == "in_transit", Unit.id.not_in(waiting))).all()
    return [Stray(u, r.number if r else "", None) for u, r in rows]


def recently_released(db: Session, now: datetime, hours: int = 24) -> list[HistoryEntry]:
    """Held units that went back to the reserve lately (the hold ended), visibly."""
    rows = db.exec(select(AuditEntry, Staff.display_name)
                   .join(Staff, Staff.id == AuditEntry.actor_id, isouter=True)
                   .where(AuditEntry.entity == "unit",
                          or_(AuditEntry.action == "unit.release",
                              AuditEntry.action == "unit.back_to_reserve"),
                          AuditEntry.at >= now - timedelta(hours=hours))
                   .order_by(AuditEntry.at.desc()).limit(50)).all()
    requests = {e.details.get("for_request") or e.details.get("returned_from") for e, _ in rows}
    requests.discard(None)
    numbers = dict(db.exec(select(SupportRequest.id, SupportRequest.number)
                           .where(SupportRequest.id.in_(requests))).all()) if requests else {}
    return [HistoryEntry(e.at, e.action, n or "", dict(e.details) | {"request_number": numbers.get(
        e.details.get("for_request") or e.details.get("returned_from"), "")}) for e, n in rows]


# -- "spare unit on its way" on the request page and the engineer's phone ------------------------


@dataclass
class SpareStatusView:
    spare: SpareRequest
    unit_tag: str
    carrier_name: str
    depot: str = ""
    fields: dict = field(default_factory=dict)


def spare_for_request(db: Session, request_id: int) -> SpareStatusView | None:
    """The request's latest spare request (waiting first), for the dispatcher and engineer."""
    spare = db.exec(select(SpareRequest).where(SpareRequest.request_id == request_id)
                    .order_by((SpareRequest.status.in_(["open", "shipped"])).desc(),
                              SpareRequest.id.desc())).first()
    if spare is None:
        return None
    unit = db.get(Unit, spare.unit_id) if spare.unit_id else None
    carrier = db.get(Staff, spare.carrier_staff_id) if spare.carrier_staff_id else None
    depot = db.get(Depot, spare.from_depot_id) if spare.from_depot_id else None
    return SpareStatusView(spare, unit.asset_tag if unit else "",
                           carrier.display_name if carrier else "", depot.name if depot else "")


def open_request(db: Session, request_id: int) -> bool:
    request = db.get(SupportRequest, request_id)
    return request is not None and request.status in OPEN_STATUSES


def units_by_ids(db: Session, ids: list[int]) -> list[Unit]:
    if not ids:
        return []
    return list(db.exec(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.asset_tag)))


def stock_depots(db: Session) -> list[Depot]:
    return list(db.exec(select(Depot).order_by(Depot.name)))


def queue_counts(db: Session) -> dict[str, int]:
    """For the home screen: what waits for the equipment manager."""
    waiting = db.exec(select(SpareRequest.status, func.count())
                      .where(SpareRequest.status.in_(["open", "shipped"]))
                      .group_by(SpareRequest.status)).all()
    repairs = db.exec(select(func.count()).select_from(RepairTicket)
                      .where(RepairTicket.closed_at.is_(None))).one()
    return dict(waiting) | {"repairs": repairs, "refused": len(refused_swaps(db))}
