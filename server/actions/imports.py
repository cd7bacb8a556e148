"""Importing customers, venues, orders with their units, and units from a CSV or XLSX file.

``dry_run`` reads the file and says per row what "apply" would do: created, updated or
refused, with the row number, the column and the reason. It checks against one snapshot
of the database loaded up front (not a query per row), so 5,000 orders take about a
second. ``apply`` runs the same checks again, then writes every accepted row through the
same ``upsert_*`` actions the rental system's API uses, in the caller's one transaction:
if any row is refused at that point, nothing is written. Idempotent by natural keys
(order number, asset tag, customer name + phone): the same file twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from uuid import uuid4

from sqlmodel import Session, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.catalog import (
    aliases,
    region_aliases,
    upsert_customer,
    upsert_unit,
    upsert_venue,
)
from server.actions.orders import upsert_order
from server.domain import catalog as rules
from server.domain import equipment as equipment_rules
from server.domain import imports as files
from server.domain.text import N_, Message
from server.models import (
    Customer,
    Depot,
    ImportUpload,
    OrderLine,
    RentalOrder,
    SupportRequest,
    Unit,
    UnitStatus,
    Venue,
)


@dataclass
class RowResult:
    row: int
    outcome: str  # created | updated | refused
    key: str = ""
    column: str = ""
    reason: Message | None = None


@dataclass
class Report:
    kind: str
    rows: list[RowResult] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(r.outcome for r in self.rows)

    @property
    def refused(self) -> list[RowResult]:
        return [r for r in self.rows if r.outcome == "refused"]


class _Snapshot:
    """What the database holds, loaded once, plus what earlier rows of the file add."""

    def __init__(self, db: Session, kind: str) -> None:
        self.customers = {(c.name, c.phone): c.id for c in db.exec(
            select(Customer).where(Customer.archived_at.is_(None)))}
        self.venues = {(v.customer_id, v.name) for v in db.exec(
            select(Venue).where(Venue.archived_at.is_(None)))}
        self.depots = {d.name for d in db.exec(select(Depot).where(Depot.archived_at.is_(None)))}
        self.units: dict[str, tuple[int, str, int | None]] = {}
        self.on_order: dict[int, str] = {}
        self.orders: dict[str, bool] = {}
        self.request_numbers: dict[int, str] = {}
        if kind in ("orders", "units"):
            self.units = {u.asset_tag: (u.id, u.status, u.held_for_request_id)
                          for u in db.exec(select(Unit))}
            self.request_numbers = dict(db.exec(
                select(SupportRequest.id, SupportRequest.number)
                .where(SupportRequest.id.in_(select(Unit.held_for_request_id)))).all())
            self.on_order = dict(db.exec(
                select(OrderLine.unit_id, RentalOrder.order_no)
                .join(RentalOrder, RentalOrder.id == OrderLine.order_id)
                .where(OrderLine.removed_at.is_(None))).all())
        if kind == "orders":
            self.orders = {no: archived is not None for no, archived in db.exec(
                select(RentalOrder.order_no, RentalOrder.archived_at))}
        self.seen: dict[str, int] = {}  # natural key -> first row of the file


def _field_errors(errors: dict[str, Message], headers: dict[str, str]) -> tuple[str, Message]:
    name, message = next(iter(errors.items()))
    base = name.split(".")[-1] if name.startswith("contacts.") else name
    column = {"name": "contact_name", "phone": "contact_phone"}.get(base, base) if name.startswith(
        "contacts.") else base
    return headers.get(column, headers.get(base, column)), message


def _check(kind: str, values: dict[str, Any], snap: _Snapshot, regions: tuple[str, ...],
           zone: tzinfo) -> tuple[str, str, dict[str, Message]]:
    """(natural key, created|updated, field errors) for one row against the snapshot."""
    if kind == "customers":
        data, errors = rules.clean_customer(values)
        _, contact_errors = rules.clean_contacts(
            [{"name": values.get("contact_name"), "phone": values.get("contact_phone")}])
        errors.update({"contact_" + k.split(".")[-1]: v for k, v in contact_errors.items()})
        key = (data["name"], data["phone"])
        return f"{key[0]} {key[1]}", "updated" if key in snap.customers else "created", errors
    if kind == "venues":
        data, errors = rules.clean_venue(values, regions, aliases() | region_aliases(regions))
        owner, owner_errors = rules.clean_customer(
            {"name": values.get("customer_name"), "phone": values.get("customer_phone")})
        errors.update({"customer_" + k: v for k, v in owner_errors.items()})
        customer_id = snap.customers.get((owner["name"], owner["phone"]))
        if not owner_errors and customer_id is None:
            errors["customer_name"] = Message(N_("Unknown customer: {name} {phone}."), owner)
        seen = (customer_id, data["name"]) in snap.venues
        return f"{owner['name']} / {data['name']}", "updated" if seen else "created", errors
    if kind == "units":
        data, errors = rules.clean_unit(values, aliases())
        known = snap.units.get(data["asset_tag"])
        if data["depot"] and data["depot"] not in snap.depots:
            errors["depot"] = Message(N_("Unknown depot: {name}."), {"name": data["depot"]})
        if known and data["status"] and data["status"] != known[1]:
            errors.update(_status_errors(data, known, snap))
        return data["asset_tag"], "updated" if known else "created", errors
    data, errors = rules.clean_order(values, zone)
    order_no = data["order_no"]
    if snap.orders.get(order_no):
        errors["order_no"] = Message(N_("Order {order_no} is archived."), {"order_no": order_no})
    customer_id = snap.customers.get((data["customer_name"], data["customer_phone"]))
    if data["venue"] and (customer_id, data["venue"]) not in snap.venues:
        errors["venue"] = Message(N_("Unknown venue of this customer: {name}."), {"name": data["venue"]})
    for tag in data["units"]:
        unit = snap.units.get(tag)
        if unit is None:
            errors.setdefault("units", Message(N_("Unknown unit: {tag}."), {"tag": tag}))
            continue
        other = snap.on_order.get(unit[0])
        if other and other != order_no:
            errors.setdefault("units", Message(N_("{tag} is already on order {order_no}."),
                                               {"tag": tag, "order_no": other}))
        elif not other and unit[1] in (UnitStatus.retired, UnitStatus.in_repair):
            errors.setdefault("units", Message(N_("{tag} is {status} and cannot be rented."),
                                               {"tag": tag, "status": Message(unit[1])}))
        elif not other and unit[2]:
            errors.setdefault("units", Message(N_("{tag} is held for request {request}."),
                                               {"tag": tag, "request": unit[2]}))
    if not errors:  # later rows see this order's units and customer
        for tag in data["units"]:
            snap.on_order[snap.units[tag][0]] = order_no
        snap.customers.setdefault((data["customer_name"], data["customer_phone"]), -1)
    return order_no, "updated" if order_no in snap.orders else "created", errors


def _status_errors(data: dict[str, Any], known: tuple[int, str, int | None],
                   snap: _Snapshot) -> dict[str, Message]:
    """A known unit's new status: refused here exactly when ``upsert_unit`` would refuse
    the move that sets it (``server.domain.equipment.status_refusal``)."""
    unit_id, status, held = known
    order_no = snap.on_order.get(unit_id)
    unit = equipment_rules.UnitFacts(data["asset_tag"], equipment_rules.unit_state(status, held),
                                     held, 1 if order_no else 0)
    refusal = equipment_rules.status_refusal(unit, data["status"], order_no,
                                             snap.request_numbers.get(held or 0))
    if refusal is not None:
        return {"status": refusal}
    move = equipment_rules.MOVES[equipment_rules.STATUS_MOVES[(unit.state, data["status"])]]
    if move.at_depot and not data["depot"]:
        return {"depot": Message(N_("Choose the depot the unit goes back to."))}
    return {}


def dry_run(db: Session, kind: str, filename: str, content: bytes, regions: tuple[str, ...],
            zone: tzinfo) -> Report:
    """Per row: what apply would do. Raises ActionError when the file itself is unreadable."""
    if kind not in files.KINDS:
        raise ActionError(N_("Unknown kind of import."))
    try:
        rows, unknown, headers = files.rows_of(kind, filename, content)
    except files.FileRefused as exc:
        raise ActionError(exc.message, "file") from exc
    snap = _Snapshot(db, kind)
    report = Report(kind, unknown_columns=unknown)
    for number, values in rows:
        key, outcome, errors = _check(kind, values, snap, regions, zone)
        first = snap.seen.get(key) if kind != "customers" else None
        if errors:
            column, reason = _field_errors(errors, headers)
            report.rows.append(RowResult(number, "refused", key, column, reason))
        elif first is not None:
            column = headers.get("order_no" if kind == "orders" else "asset_tag"
                                 if kind == "units" else "name", "")
            report.rows.append(RowResult(number, "refused", key, column,
                                         Message(N_("The same as row {row}."), {"row": first})))
        else:
            snap.seen.setdefault(key, number)
            if kind == "customers":  # further rows of this customer add contacts
                snap.customers.setdefault(tuple(key.rsplit(" ", 1)), -1)
            report.rows.append(RowResult(number, outcome, key))
    return report


def keep_upload(db: Session, actor_id: int | None, kind: str, filename: str, content: bytes,
                now: datetime) -> ImportUpload:
    """Keep the file between its dry run and apply (any server process can apply it)."""
    upload = ImportUpload(id=uuid4().hex, kind=kind, filename=filename[-128:], content=content,
                          created_by=actor_id, created_at=now)
    db.add(upload)
    return upload


def apply(db: Session, actor_id: int | None, upload_id: str, regions: tuple[str, ...],
          zone: tzinfo, now: datetime, refused_before: set[int] | None = None) -> Report:
    """Write every accepted row, all in the caller's transaction; the report as applied.

    ``refused_before``: the rows the dry run the user saw refused. A row refused now but
    not then (the data changed meanwhile) refuses the whole apply: nothing is written.
    """
    upload = db.get(ImportUpload, upload_id)
    if upload is None or upload.created_by != actor_id:
        raise ActionError(N_("This upload is gone: upload the file again."))
    if upload.applied_at is not None:
        raise ActionError(N_("This file has been applied already."))
    report = dry_run(db, upload.kind, upload.filename, upload.content, regions, zone)
    for result in report.refused:
        if refused_before is not None and result.row not in refused_before:
            raise ActionError(N_("Row {row}, column {column}: {reason} Nothing was imported."),
                              row=result.row, column=result.column, reason=result.reason)
    rows, _, headers = files.rows_of(upload.kind, upload.filename, upload.content)
    accepted = {r.row for r in report.rows if r.outcome != "refused"}
    for done, (number, values) in enumerate(rows):
        if number not in accepted:
            continue
        if done % 200 == 199:  # written rows leave the session: its flushes stay small
            db.flush()
            db.expunge_all()
        try:
            _write(db, actor_id, upload.kind, values, regions, zone, now)
        except FieldErrors as exc:
            column, reason = _field_errors(exc.errors, headers)
            raise ActionError(N_("Row {row}, column {column}: {reason} Nothing was imported."),
                              row=number, column=column, reason=reason) from exc
        except ActionError as exc:
            raise ActionError(N_("Row {row}: {reason} Nothing was imported."), row=number,
                              reason=exc.message) from exc
    upload = db.get(ImportUpload, upload_id)
    upload.applied_at = now
    counts = report.counts
    record(db, "import.applied", actor_id, entity="import", entity_id=upload.id, at=now,
           kind=upload.kind, filename=upload.filename, created=counts["created"],
           updated=counts["updated"], refused=counts["refused"])
    return report


def _write(db: Session, actor_id: int | None, kind: str, values: dict[str, Any],
           regions: tuple[str, ...], zone: tzinfo, now: datetime) -> None:
    if kind == "customers":
        contact = {"name": values.get("contact_name"), "phone": values.get("contact_phone")}
        upsert_customer(db, actor_id, values, [contact], now)
    elif kind == "venues":
        upsert_venue(db, actor_id, values, regions, now)
    elif kind == "units":
        upsert_unit(db, actor_id, None, values, now)
    else:
        upsert_order(db, actor_id, values, zone, now)
