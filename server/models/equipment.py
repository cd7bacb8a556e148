"""Units, depots of the emergency reserve, rental orders and the units on them (D13)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, text
from sqlmodel import Column, Field, SQLModel

from server.models.base import instant


class UnitStatus(StrEnum):
    """The stored status; "held for a request" is reserve + held_for_request_id (see
    server.domain.equipment.unit_state for the one state a person reads)."""

    rented = "rented"
    reserve = "reserve"
    in_transit = "in_transit"
    in_repair = "in_repair"
    retired = "retired"  # out of service for good; kept for the history that points at it


class DeviceType(StrEnum):
    camera = "camera"
    encoder = "encoder"
    mixer = "mixer"
    audio = "audio"
    other = "other"


class Depot(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    address: str = Field(max_length=256)
    region: str = Field(max_length=16)
    lat: float
    lon: float
    archived_at: datetime | None = instant()


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    asset_tag: str = Field(unique=True, index=True, max_length=32)
    device_type: str = Field(max_length=16)
    model: str = Field(max_length=64)
    status: str = Field(default=UnitStatus.reserve, index=True, max_length=16)
    depot_id: int | None = Field(default=None, foreign_key="depot.id", index=True)
    # D8a: a reserve unit held back for a live-now request whose fault looks like hardware.
    # use_alter: requests point at units too; this breaks the cycle when tables are sorted.
    held_for_request_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("support_request.id", use_alter=True), index=True, nullable=True
        ),
    )
    # Optimistic lock: a swap that read an old version fails instead of double-booking.
    version: int = 1


class RentalOrder(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    order_no: str = Field(unique=True, index=True, max_length=32)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    venue_id: int | None = Field(default=None, foreign_key="venue.id")
    scenario: str = Field(default="", max_length=128)  # usage scenario (S3)
    starts_at: datetime | None = instant()
    ends_at: datetime | None = instant()
    archived_at: datetime | None = instant()


class OrderLine(SQLModel, table=True):
    """A unit on a rental order; a swap closes one line and opens another.

    D13: a unit is on at most one order at a time: at most one open line per unit,
    enforced by the database too (a partial unique index, SQLite and PostgreSQL).
    """

    __table_args__ = (
        Index(
            "uq_orderline_open_unit", "unit_id", unique=True,
            sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="rentalorder.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    added_at: datetime | None = instant()
    removed_at: datetime | None = instant()


class SpareStatus(StrEnum):
    open = "open"  # asked for, no unit on its way yet (a held unit may wait at its depot)
    shipped = "shipped"  # on its way with a carrier and an ETA
    delivered = "delivered"  # the engineer's swap put it in ("delivered and swapped in")
    cancelled = "cancelled"  # the request ended or the manager withdrew it


class SpareRequest(SQLModel, table=True):
    """A request for a spare unit (S15, D8a): asked from the job or by the live hold."""

    __tablename__ = "spare_request"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    source: str = Field(max_length=16)  # auto | dispatcher | engineer
    asked_by: int | None = Field(default=None, foreign_key="staff.id")
    asked_at: datetime | None = instant(nullable=False)
    device_type: str = Field(max_length=16)
    device_model: str = Field(default="", max_length=64)
    fault: str = Field(default="", max_length=2000)
    deadline_at: datetime | None = instant()
    status: str = Field(default=SpareStatus.open, index=True, max_length=16)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    from_depot_id: int | None = Field(default=None, foreign_key="depot.id")
    carrier: str = Field(default="", max_length=16)  # engineer | courier
    carrier_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    tracking_note: str = Field(default="", max_length=200)
    eta_at: datetime | None = instant()
    shipped_at: datetime | None = instant()
    shipped_by: int | None = Field(default=None, foreign_key="staff.id")
    closed_at: datetime | None = instant()
    version: int = 1


class RepairTicket(SQLModel, table=True):
    """A unit taken out by a swap, on its way through repair (fault copied from the request)."""

    __tablename__ = "repair_ticket"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="support_request.id")
    fault: str = Field(default="", max_length=2000)
    opened_at: datetime | None = instant(nullable=False)
    received_at: datetime | None = instant()
    received_by: int | None = Field(default=None, foreign_key="staff.id")
    closed_at: datetime | None = instant(index=True)
    closed_by: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str = Field(default="", max_length=16)  # repaired | retired
    note: str = Field(default="", max_length=2000)
