"""A small world for the equipment desk's tests: two live requests with their orders and
onsite jobs, reserve units at two depots, and a check of every unit invariant."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from server.actions.sla import start_clock
from server.models import (
    Customer,
    Depot,
    Job,
    OrderLine,
    RentalOrder,
    RepairTicket,
    SpareRequest,
    Staff,
    SupportRequest,
    Unit,
    Venue,
)
from tests.conftest import add_staff

STATES = {"reserve", "in_transit", "rented", "in_repair", "retired"}


@dataclass
class Site:
    request: SupportRequest
    job: Job
    engineer: Staff
    order: RentalOrder
    unit: Unit  # on the order


@dataclass
class Desk:
    sites: list[Site]
    depots: list[Depot]
    spares: list[Unit]  # in the reserve
    manager: Staff


def build_desk(db: Session, settings, now: datetime, prefix: str = "", spares: int = 4) -> Desk:
    manager = db.exec(select(Staff).where(Staff.username == "equipment")).first() or add_staff(
        db, "equipment", "equipment", display_name="设备管理员")
    customer = Customer(name=f"{prefix}星耀直播", phone="021-55550000")
    db.add(customer)
    db.flush()
    depots = [Depot(name=f"{prefix}徐汇应急备件库", address="宜山路700号", region="urban",
                    lat=31.17, lon=121.42),
              Depot(name=f"{prefix}嘉定应急备件库", address="嘉定区", region="suburban",
                    lat=31.38, lon=121.25)]
    db.add_all(depots)
    db.flush()
    sites = []
    for i in range(2):
        engineer = add_staff(db, f"{prefix}eng{i}".lower(), "onsite", display_name=f"工程师{i}",
                             group="onsite", region="urban")
        venue = Venue(customer_id=customer.id, name=f"场馆{i}", address="人民大道300号",
                      lat=31.2304, lon=121.4737, datum="WGS-84", region="urban")
        order = RentalOrder(order_no=f"{prefix}RO-{i}", customer_id=customer.id,
                            starts_at=now - timedelta(hours=3), ends_at=now + timedelta(hours=9))
        unit = Unit(asset_tag=f"{prefix}ENC-{i:03d}", device_type="encoder", model="LiveU Solo",
                    status="rented")
        db.add_all([venue, order, unit])
        db.flush()
        order.venue_id = venue.id
        db.add(OrderLine(order_id=order.id, unit_id=unit.id, added_at=now - timedelta(hours=3)))
        request = SupportRequest(
            number=f"{prefix}FO-{i}", channel="hotline", received_at=now - timedelta(minutes=20),
            customer_id=customer.id, customer_name=customer.name, contact_name="李明",
            phone="13800138000", address=venue.address, venue_id=venue.id, region="urban",
            order_id=order.id, order_no=order.order_no, device_type="encoder",
            device_model="LiveU Solo", unit_id=unit.id, symptom="编码器无法开机",
            symptom_kind="power", stream_state="live", classification="onsite", priority="P1",
            status="in_progress", handed_off_at=now - timedelta(minutes=18))
        db.add(request)
        db.flush()
        start_clock(db, request, "resolution", request.handed_off_at, settings.sla)
        job = Job(request_id=request.id, kind="onsite", assignee_id=engineer.id,
                  status="on_site", assigned_at=now - timedelta(minutes=15),
                  accepted_at=now - timedelta(minutes=14))
        db.add(job)
        db.flush()
        sites.append(Site(request, job, engineer, order, unit))
    units = []
    for k in range(spares):
        u = Unit(asset_tag=f"{prefix}ENC-{100 + k}", device_type="encoder",
                 model="LiveU Solo" if k % 2 == 0 else "Kiloview P3", status="reserve",
                 depot_id=depots[k % 2].id)
        db.add(u)
        units.append(u)
    db.commit()
    return Desk(sites, depots, units, manager)


def invariant_problems(db: Session) -> list[str]:
    """Every unit in exactly one known state, on at most one open order line, and the
    records agreeing with each other (issue 15 invariants)."""
    db.commit()
    db.expire_all()
    problems = []
    open_lines = Counter(u for u in db.exec(select(OrderLine.unit_id).where(
        OrderLine.removed_at.is_(None))).all())
    tickets = Counter(u for u in db.exec(select(RepairTicket.unit_id).where(
        RepairTicket.closed_at.is_(None))).all())
    for unit in db.exec(select(Unit)).all():
        tag, lines = unit.asset_tag, open_lines.get(unit.id, 0)
        if unit.status not in STATES:
            problems.append(f"{tag}: unknown state {unit.status}")
        if lines > 1:
            problems.append(f"{tag}: on {lines} open order lines")
        if lines and unit.status != "rented":
            problems.append(f"{tag}: on an order but {unit.status}")
        if unit.held_for_request_id is not None and unit.status not in ("reserve", "in_transit"):
            problems.append(f"{tag}: held while {unit.status}")
        if unit.status == "in_transit" and unit.held_for_request_id is None:
            problems.append(f"{tag}: in transit for no request")
        if unit.status == "reserve" and unit.depot_id is None:
            problems.append(f"{tag}: in reserve at no depot")
        if tickets.get(unit.id, 0) > 1 or (tickets.get(unit.id) and unit.status != "in_repair"):
            problems.append(f"{tag}: {tickets.get(unit.id)} open repairs while {unit.status}")
    for spare in db.exec(select(SpareRequest).where(SpareRequest.status == "shipped")).all():
        unit = db.get(Unit, spare.unit_id)
        if unit.status != "in_transit" or unit.held_for_request_id != spare.request_id:
            problems.append(f"shipped spare {spare.id}: its unit is {unit.status}")
    waiting = Counter(r for r in db.exec(select(SpareRequest.request_id).where(
        SpareRequest.status.in_(["open", "shipped"]))).all())
    problems += [f"request {r}: {n} waiting spare requests" for r, n in waiting.items() if n > 1]
    return problems
