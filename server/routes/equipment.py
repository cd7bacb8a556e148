"""The equipment department's desk (S15, D8a, D13): stock, the spare-unit queue, returns and
repair, refused swaps, QR labels; and "ask for a spare unit" from a request or a job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Template
from sqlmodel import Session

from server import qr
from server.actions import ActionError, repairs, spares
from server.db import utcnow
from server.domain import equipment as rules
from server.domain.text import N_
from server.i18n import render
from server.models import Depot, DeviceType, Role, SupportRequest, Unit
from server.queries import equipment as q
from server.routes._http import DB, fragment, get, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath, TokenPath, WordQuery
from server.security import requires

register(Screen("/equipment", N_("Equipment stock"),
                N_("Every unit, its state and history; low stock"), ("equipment", "manager")))
register(Screen("/equipment/queue", N_("Spare units and repairs"),
                N_("Ship spare units, returns and repair, refused swaps"),
                ("equipment", "manager")))  # fmt: skip


LABELS = {"state_labels": rules.STATE_LABELS, "move_labels": rules.MOVE_LABELS}


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _text(data: dict, name: str, limit: int = 500) -> str:
    return str(data.get(name) or "").strip()[:limit]


def _local_instant(value: str, tz: str) -> datetime | None:
    """A datetime-local field (Asia/Shanghai wall time, D1) as an aware UTC instant."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(tz))


class EquipmentController(Controller):
    path = "/equipment"
    guards = [requires(Role.equipment, Role.manager)]
    include_in_schema = False

    @get("/")
    def stock(self, request: Request, db: DB, depot: WordQuery = "", device_type: WordQuery = "",
              status: WordQuery = "", tag: WordQuery = "") -> Template:
        depot_id = _int(depot)
        device_type = device_type if device_type in DeviceType._value2member_map_ else ""
        state = status if status in rules.STATES else ""
        data = q.stock(db, request.app.state.settings.equipment, depot_id=depot_id,
                       device_type=device_type, state=state, tag=tag[:32])
        return page(request, "pages/equipment_stock.html", fragment="partials/stock_table.html",
                    stock=data, filters={"depot": depot_id, "device_type": device_type,
                                         "state": state, "tag": tag[:32]},
                    types=[t.value for t in DeviceType], states=rules.STATES,
                    request_query=request.url.query, **LABELS)

    @get("/units/{unit_id:int}")
    def unit(self, request: Request, db: DB, unit_id: IdPath) -> Template:
        return self._unit_page(request, db, unit_id)

    @post("/units/{unit_id:int}/retire")
    def retire(self, request: Request, db: DB, unit_id: IdPath, data: Form) -> Template:
        try:
            repairs.retire(db, request.scope["user"].id, unit_id, _text(data, "note", 2000),
                           utcnow())
        except ActionError as exc:
            db.rollback()
            return self._unit_page(request, db, unit_id, error=render(exc.message),
                                   status_code=422)
        return self._unit_page(request, db, unit_id, flash=N_("Unit retired."))

    def _unit_page(self, request: Request, db: Session, unit_id: int, status_code: int = 200,
                   **extra: Any) -> Template:
        unit = db.get(Unit, unit_id)
        if unit is None:
            raise NotFoundException()
        depot = db.get(Depot, unit.depot_id) if unit.depot_id else None
        return page(request, "pages/equipment_unit.html", status_code=status_code, unit=unit,
                    state=rules.unit_state(unit.status, unit.held_for_request_id),
                    depot=depot, history=q.unit_history(db, unit_id),
                    qr_svg=qr.label_svg(unit.asset_tag), **LABELS, **extra)

    @get("/queue")
    def queue(self, request: Request, db: DB) -> Template:
        return self._queue(request, db)

    @post("/spares/{spare_id:int}/ship")
    def ship(self, request: Request, db: DB, spare_id: IdPath, data: Form) -> Template:
        tz = request.app.state.settings.time_zone
        eta = _local_instant(_text(data, "eta", 32), tz)
        return self._act(request, db, spare_id, N_("Spare unit shipped."), lambda user, now:
                         spares.ship_spare(db, user, spare_id, _int(data.get("unit_id")) or 0,
                                           _text(data, "carrier", 16),
                                           _int(data.get("carrier_staff_id")),
                                           _text(data, "tracking_note", 200), eta, now))

    @post("/spares/{spare_id:int}/cancel")
    def cancel(self, request: Request, db: DB, spare_id: IdPath, data: Form) -> Template:
        return self._act(request, db, spare_id, N_("Spare request cancelled."), lambda user, now:
                         spares.cancel_spare(db, user, spare_id, _text(data, "reason"), now))

    @post("/units/{unit_id:int}/back")
    def back(self, request: Request, db: DB, unit_id: IdPath, data: Form) -> Template:
        return self._act(request, db, f"u{unit_id}", N_("Unit back in the reserve."),
                         lambda user, now: spares.back_to_reserve(
                             db, user, unit_id, _int(data.get("depot_id")) or 0, now))

    @post("/repairs/{ticket_id:int}/receive")
    def receive(self, request: Request, db: DB, ticket_id: IdPath) -> Template:
        return self._act(request, db, f"r{ticket_id}", N_("Unit received for repair."),
                         lambda user, now: repairs.receive(db, user, ticket_id, now))

    @post("/repairs/{ticket_id:int}/finish")
    def finish(self, request: Request, db: DB, ticket_id: IdPath, data: Form) -> Template:
        return self._act(request, db, f"r{ticket_id}", N_("Repair recorded."), lambda user, now:
                         repairs.finish_repair(db, user, ticket_id, _text(data, "outcome", 16),
                                               _int(data.get("depot_id")),
                                               _text(data, "note", 2000), now))

    @post("/swaps/{fact_id:str}/resolve")
    def resolve(self, request: Request, db: DB, fact_id: TokenPath, data: Form) -> Template:
        happened = {"yes": True, "no": False}.get(_text(data, "happened", 3))

        def act(user: int, now: datetime) -> Any:
            if happened is None:
                raise ActionError(N_("Say whether the swap physically happened."), "happened")
            return repairs.resolve_refused_swap(db, user, fact_id[:36], happened,
                                                _text(data, "note"), now)

        return self._act(request, db, f"f{fact_id[:36]}", N_("Swap resolved."), act)

    def _act(self, request: Request, db: Session, key: Any, ok: str, action) -> Template:
        try:
            action(request.scope["user"].id, utcnow())
        except ActionError as exc:
            db.rollback()
            return self._queue(request, db, errors={str(key): render(exc.message)},
                               status_code=422)
        return self._queue(request, db, flash=ok)

    def _queue(self, request: Request, db: Session, status_code: int = 200,
               **extra: Any) -> Template:
        now = utcnow()
        tz = ZoneInfo(request.app.state.settings.time_zone)
        eta = now.astimezone(tz) + timedelta(
            minutes=request.app.state.settings.equipment.spare_eta_minutes)
        spares, repair_rows = q.spare_queue(db), q.repair_queue(db)
        refused, strays = q.refused_swaps(db), q.in_transit_unclaimed(db)
        errors = extra.pop("errors", {})
        shown = ({str(row.spare.id) for row in spares} | {f"r{r.ticket.id}" for r in repair_rows}
                 | {f"f{r.fact.id}" for r in refused} | {f"u{u.unit.id}" for u in strays})
        return page(request, "pages/equipment_queue.html", fragment="partials/equipment_queue.html",
                    status_code=status_code, spares=spares, repairs=repair_rows,
                    refused=refused, strays=strays,
                    released=q.recently_released(db, now), depots=q.stock_depots(db),
                    default_eta=eta.strftime("%Y-%m-%dT%H:%M"), now=now, errors=errors,
                    # an error about an item no longer listed (someone else just resolved
                    # it) is shown at the top, not lost with its card
                    loose_errors=[m for k, m in errors.items() if k not in shown],
                    **LABELS, **extra)

    @get("/labels")
    def labels(self, request: Request, db: DB, depot: WordQuery = "",
               device_type: WordQuery = "", status: WordQuery = "",
               tag: WordQuery = "") -> Template:
        """Printable QR labels, 3 × 8 per A4 sheet, for the units the filters select."""
        data = q.stock(db, request.app.state.settings.equipment, depot_id=_int(depot),
                       device_type=device_type if device_type in DeviceType._value2member_map_
                       else "", state=status if status in rules.STATES else "", tag=tag[:32])
        units = [r.unit for r in data.rows]
        sheets = [units[i:i + 24] for i in range(0, len(units), 24)]
        return page(request, "pages/equipment_labels.html", sheets=sheets,
                    codes={u.id: qr.label_svg(u.asset_tag) for u in units})


class AskSpareController(Controller):
    """A dispatcher (request page) or the job's engineer (phone) asks for a spare unit."""

    path = "/spares"
    guards = [requires(Role.dispatcher, Role.manager, Role.onsite, Role.equipment)]
    include_in_schema = False

    @post("/ask/{request_id:int}")
    def ask(self, request: Request, db: DB, request_id: IdPath, data: Form) -> Template:
        user = request.scope["user"]
        source = "engineer" if user.has("onsite") and not user.has("dispatcher", "manager",
                                                                      "equipment") else "dispatcher"
        try:
            spares.ask_for_spare(db, user.id, request_id, source, utcnow(),
                                 job_id=_int(data.get("job_id")), note=_text(data, "note"))
        except ActionError as exc:
            db.rollback()
            return self._status(request, db, request_id, error=render(exc.message),
                                status_code=422)
        return self._status(request, db, request_id, flash=N_("Spare unit asked for."))

    def _status(self, request: Request, db: Session, request_id: int, status_code: int = 200,
                **extra: Any) -> Template:
        req = db.get(SupportRequest, request_id)
        if req is None:
            raise NotFoundException()
        return fragment(request, "partials/spare_status.html", status_code=status_code, req=req,
                        spare=q.spare_for_request(db, request_id), can_ask=True,
                        job_id=_int(request.query_params.get("job")), **extra)


ROUTES = [EquipmentController, AskSpareController]
