"""A small world for the onsite engineer's tests: one live-stream request at a venue, its
rental order, an onsite job, spare units in the reserve, and the mutations a phone sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from sqlmodel import Session, func, select

from server.actions.sla import start_clock, stop_clock
from server.db import utcnow
from server.models import (
    ClientMutation,
    Customer,
    Depot,
    FieldFact,
    Job,
    OrderLine,
    RentalOrder,
    SlaClock,
    Staff,
    SupportRequest,
    Unit,
    Venue,
)
from tests.conftest import add_staff, csrf_token

VENUE = (31.2304, 121.4737)  # People's Square, WGS-84
NEAR = (31.2306, 121.4739)  # ~30 m away
FAR = (31.2304 + 900 / 111_320, 121.4737)  # ~900 m north


@dataclass
class World:
    engineer: Staff
    colleague: Staff
    dispatcher: Staff
    request: SupportRequest
    job: Job
    order: RentalOrder
    unit_out: Unit  # on the order, the faulty one
    spare: Unit  # in the reserve
    rented_elsewhere: Unit  # on another order
    in_repair: Unit
    dispatched_at: datetime


def build_world(db: Session, settings, job_status: str = "accepted", now: datetime | None = None,
                ) -> World:
    now = now or utcnow()
    engineer = add_staff(db, "zhang.qiang", "onsite", display_name="张强", group="onsite",
                         region="urban")
    colleague = add_staff(db, "yang.fan", "onsite", display_name="杨帆", group="onsite",
                          region="urban")
    dispatcher = add_staff(db, "wang.jg", "dispatcher", display_name="王建国")
    customer = Customer(name="星耀直播传媒", phone="021-55550000")
    db.add(customer)
    db.flush()
    venue = Venue(customer_id=customer.id, name="上海大剧院", address="人民大道300号",
                  lat=VENUE[0], lon=VENUE[1], datum="WGS-84", region="urban")
    depot = Depot(name="徐汇应急备件库", address="宜山路700号", region="urban", lat=31.17,
                  lon=121.42)
    db.add_all([venue, depot])
    db.flush()
    order = RentalOrder(order_no="RO-2026-11-0001", customer_id=customer.id, venue_id=venue.id,
                        starts_at=now - timedelta(hours=5), ends_at=now + timedelta(hours=20))
    other = RentalOrder(order_no="RO-2026-11-0002", customer_id=customer.id,
                        starts_at=now - timedelta(hours=5), ends_at=now + timedelta(hours=20))
    unit_out = Unit(asset_tag="ENC-0001", device_type="encoder", model="LiveU Solo",
                    status="rented")
    spare = Unit(asset_tag="ENC-0100", device_type="encoder", model="LiveU Solo",
                 status="reserve", depot_id=None)
    rented = Unit(asset_tag="ENC-0200", device_type="encoder", model="Kiloview P3",
                  status="rented")
    repair = Unit(asset_tag="ENC-0300", device_type="encoder", model="Kiloview P3",
                  status="in_repair")
    db.add_all([order, other, unit_out, spare, rented, repair])
    db.flush()
    spare.depot_id = depot.id
    shipped = now - timedelta(hours=6)
    db.add_all([OrderLine(order_id=order.id, unit_id=unit_out.id, added_at=shipped),
                OrderLine(order_id=other.id, unit_id=rented.id, added_at=shipped)])
    received = now - timedelta(minutes=40)
    handed_off = received + timedelta(minutes=3)
    dispatched = handed_off + timedelta(minutes=2)
    request = SupportRequest(
        number="FO-20261126-0001", channel="hotline", received_at=received,
        customer_id=customer.id, customer_name=customer.name, contact_name="李明",
        phone="13800138000", address=venue.address, venue_id=venue.id, region="urban",
        order_id=order.id, order_no=order.order_no, device_type="encoder",
        device_model="LiveU Solo", unit_id=unit_out.id, symptom="推流失败，直播中断",
        stream_state="live", classification="onsite", priority="P1", status="in_progress",
        handed_off_at=handed_off,
    )
    db.add(request)
    db.flush()
    for kind in ("handoff",):
        stop_clock(db, request.id, kind, handed_off)
    start_clock(db, request, "first_response", handed_off, settings.sla)
    start_clock(db, request, "resolution", handed_off, settings.sla)
    start_clock(db, request, "arrival", dispatched, settings.sla)
    job = Job(request_id=request.id, kind="onsite", assignee_id=engineer.id, status=job_status,
              assigned_at=dispatched, assigned_by=dispatcher.id)
    if job_status != "offered":
        job.accepted_at = dispatched + timedelta(minutes=1)
        stop_clock(db, request.id, "first_response", job.accepted_at)
    else:
        request.status = "assigned"
    db.add_all([job, request])
    db.commit()
    return World(engineer, colleague, dispatcher, request, job, order, unit_out, spare, rented,
                 repair, dispatched)


def mutation(name: str, job_id: int, at: datetime | None = None, **args) -> dict:
    return {"id": str(uuid4()), "name": name, "args": {"job_id": job_id, **args},
            "device_time": (at or utcnow()).isoformat()}


def check_in(job_id: int, at=None, where=NEAR, accuracy=15.0) -> dict:
    return mutation("check_in", job_id, at, lat=where[0], lon=where[1], accuracy_m=accuracy)


def note(job_id: int, at=None, text="换了一根 SDI 线，信号恢复") -> dict:
    return mutation("fix_note", job_id, at, fault_kind="cabling", text=text)


def swap(job_id: int, unit_out: str, unit_in: str, at=None) -> dict:
    return mutation("swap", job_id, at, unit_out=unit_out, unit_in=unit_in, reason="无法开机")


def done(job_id: int, at=None) -> dict:
    return mutation("done", job_id, at, customer_name="李明", stream_back="true")


def push(client, mutations: list[dict], client_id: str = "phone-1"):
    return client.post("/sync/push", json={"client_id": client_id, "mutations": mutations},
                       headers={"x-csrftoken": csrf_token(client), "accept": "application/json"})


def results(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["results"]


def assert_each_fact_once(db: Session, mutations: list[dict], kept: list[dict] | None = None) -> None:
    """Every mutation logged exactly once; every fact it made present exactly once."""
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    for m in mutations:
        logged = db.exec(select(func.count()).select_from(ClientMutation)
                         .where(ClientMutation.mutation_id == m["id"])).one()
        assert logged == 1, m
    for m in kept if kept is not None else mutations:
        facts = db.exec(select(func.count()).select_from(FieldFact)
                        .where(FieldFact.id == m["id"])).one()
        assert facts == 1, m


def clock(db: Session, request_id: int, kind: str) -> SlaClock:
    db.commit()  # a fresh snapshot: what the server committed meanwhile
    db.expire_all()
    return db.exec(select(SlaClock).where(SlaClock.request_id == request_id,
                                          SlaClock.kind == kind)).one()
