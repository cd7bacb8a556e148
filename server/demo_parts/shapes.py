"""In-memory shapes the demo loader plans with before it writes rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.models import (
    Contact,
    Customer,
    FieldFact,
    OrderLine,
    RentalOrder,
    SupportRequest,
    Unit,
    Venue,
)


@dataclass
class Order:
    row: RentalOrder
    customer: Customer
    contact: Contact
    venue: Venue
    kind: str  # past | ongoing | upcoming
    lines: list[tuple[OrderLine, Unit]] = field(default_factory=list)

    def active(self, at: datetime) -> bool:
        return self.row.starts_at <= at <= self.row.ends_at

    def units_at(self, at: datetime) -> list[tuple[OrderLine, Unit]]:
        return [
            (line, unit)
            for line, unit in self.lines
            if line.added_at <= at and (line.removed_at is None or line.removed_at > at)
        ]


@dataclass
class Plan:
    """What one support request should look like; the loader fills in the rest."""

    stage: str  # new | handed_off | assigned | in_progress | resolved | closed | cancelled
    classification: str  # remote | onsite
    priority: str  # P1 | P2 | P3
    region: str | None = None  # onsite open requests pick a venue in this region
    job_state: str = ""  # in_progress: accepted | en_route | on_site
    assignee: str | None = None  # a demo login that gets this job
    received_at: datetime | None = None
    late_handoff: bool = False
    late_arrival: bool = False
    flagged: bool = False
    flag_resolved: bool = False
    late_sync: bool = False
    swap: bool = False
    no_feedback: bool = False


@dataclass
class Req:
    plan: Plan
    received: datetime
    t: dict[str, datetime]  # the events that have happened, as instants
    order: Order
    unit: Unit
    region: str
    symptom: str
    channel: str
    stream_state: str
    stream_starts_at: datetime | None
    agent: int
    dispatcher: int
    jobs: list[dict[str, Any]] = field(default_factory=list)
    swap: dict[str, Any] | None = None
    row: SupportRequest | None = None
    check_in: FieldFact | None = None
    score: int | None = None
