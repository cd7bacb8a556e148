"""Customers, their contacts and the venues where they stream."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.base import instant


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=128)
    phone: str = Field(default="", index=True, max_length=32)
    # Never deleted once something points at it: archived, hidden from lists and lookups.
    archived_at: datetime | None = instant()


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    phone: str = Field(index=True, max_length=32)


class Venue(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    name: str = Field(max_length=128)
    address: str = Field(max_length=256)
    lat: float
    lon: float
    datum: str = Field(default="WGS-84", max_length=8)  # WGS-84 | GCJ-02 (D15)
    region: str = Field(max_length=16)  # one of the service regions (S9), e.g. urban | suburban
    radius_m: int | None = None  # check-in radius; None = the setting (D15)
    archived_at: datetime | None = instant()
