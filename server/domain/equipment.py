"""The unit state machine (S15, D8a, D13): pure rules, no database.

A unit is in exactly one state a person reads:

    reserve     at a depot, free for anyone
    held        at a depot, kept back for one request (D8a) or picked for a shipment
    in_transit  on its way to a request's venue with a carrier
    rented      at a customer's, on (at most) one open order line
    in_repair   taken out by a swap, on its way through repair
    retired     out of service for good

The stored columns are ``Unit.status`` and ``Unit.held_for_request_id``; ``unit_state``
reads them as one state. Every movement is one of ``MOVES``; ``move_refusal`` says in
the user's words why a move does not fit the unit's state (the server refuses it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.text import N_, Message

STATES = ("reserve", "held", "in_transit", "rented", "in_repair", "retired")

STATE_LABELS = {
    "reserve": N_("in reserve"),
    "held": N_("held for a request"),
    "in_transit": N_("in transit"),
    "rented": N_("rented on an order"),
    "in_repair": N_("in repair"),
    "retired": N_("retired"),
}


@dataclass(frozen=True)
class Move:
    """From which states a move may start, the state it leads to, what it does to the
    unit's order line and depot, and whether it keeps the unit tied to a request."""

    name: str
    sources: frozenset[str]
    target: str
    for_request: bool = False  # the unit stays tied to the request (held / in transit)
    opens_line: bool = False  # the unit goes on the request's rental order
    closes_line: bool = False  # the unit leaves its rental order
    at_depot: bool = False  # the unit ends at a depot (its reserve)


MOVES: dict[str, Move] = {m.name: m for m in (
    Move("hold", frozenset({"reserve"}), "held", for_request=True, at_depot=True),
    Move("release", frozenset({"held"}), "reserve", at_depot=True),
    Move("ship", frozenset({"reserve", "held"}), "in_transit", for_request=True),
    Move("back_to_reserve", frozenset({"in_transit"}), "reserve", at_depot=True),
    Move("put_in", frozenset({"reserve", "held", "in_transit"}), "rented", opens_line=True),
    Move("take_out", frozenset({"rented"}), "in_repair", closes_line=True),
    Move("repaired", frozenset({"in_repair"}), "reserve", at_depot=True),
    Move("to_repair", frozenset({"reserve"}), "in_repair"),  # found faulty at the depot
    Move("retire", frozenset({"reserve", "in_repair"}), "retired"),
)}

MOVE_LABELS = {
    "hold": N_("Held for a request"),
    "release": N_("Back in reserve (hold ended)"),
    "ship": N_("Shipped"),
    "back_to_reserve": N_("Returned to the reserve"),
    "put_in": N_("Delivered and swapped in"),
    "take_out": N_("Swapped out, to repair"),
    "repaired": N_("Repaired, back in reserve"),
    "to_repair": N_("Sent to repair from the depot"),
    "retire": N_("Retired"),
    "received": N_("Received for repair"),
    "corrected": N_("Records corrected"),
}


def unit_state(status: str, held_for_request_id: int | None) -> str:
    """The one state a person reads from the stored status and hold."""
    if status == "reserve" and held_for_request_id is not None:
        return "held"
    return status


def stored(state: str) -> str:
    """The ``Unit.status`` value of a state."""
    return "reserve" if state == "held" else state


@dataclass(frozen=True)
class UnitFacts:
    """What a move needs to know about a unit, read in one place."""

    asset_tag: str
    state: str
    held_for_request_id: int | None
    open_lines: int  # open order lines (the invariant says at most one)


def move_refusal(move: str, unit: UnitFacts, request_id: int | None = None) -> Message | None:
    """Why ``move`` cannot happen to ``unit`` now, or None (issue 15 invariants, D13).

    A unit held or in transit for one request cannot be held, shipped or put in for
    another; a unit on an open order line cannot go on another.
    """
    rule = MOVES[move]
    tag = unit.asset_tag
    if unit.state not in rule.sources:
        return Message(N_("Unit {tag} is {state}: it cannot be {action}."),
                       {"tag": tag, "state": STATE_LABELS.get(unit.state, unit.state),
                        "action": _ACTION_WORDS[move]})
    tied = unit.state in ("held", "in_transit") and unit.held_for_request_id is not None
    if tied and move in ("hold", "ship", "put_in") and unit.held_for_request_id != request_id:
        return Message(N_("Unit {tag} is held for another request."), {"tag": tag})
    if rule.opens_line and unit.open_lines:
        return Message(N_("Unit {tag} is already on a rental order: it cannot be put in."),
                       {"tag": tag})
    return None


_ACTION_WORDS = {
    "hold": N_("held"),
    "release": N_("released"),
    "ship": N_("shipped"),
    "back_to_reserve": N_("returned to the reserve"),
    "put_in": N_("put in"),
    "take_out": N_("taken out"),
    "repaired": N_("marked repaired"),
    "to_repair": N_("sent to repair"),
    "retire": N_("retired"),
}


# -- a status set on the unit's own record (the units screen, the import, the rental API) ----

# (state now, status asked for) -> the move that does it; any other pair is refused.
STATUS_MOVES: dict[tuple[str, str], str] = {
    ("reserve", "in_transit"): "ship",
    ("reserve", "in_repair"): "to_repair",
    ("reserve", "retired"): "retire",
    ("in_transit", "reserve"): "back_to_reserve",
    ("in_repair", "reserve"): "repaired",
    ("in_repair", "retired"): "retire",
}


def status_refusal(unit: UnitFacts, status: str, order_no: str | None = None,
                   request: str | None = None) -> Message | None:
    """Why the unit's status cannot be set to ``status`` by hand, or None: then
    ``STATUS_MOVES[(unit.state, status)]`` is the move that sets it (D13, S15).

    ``order_no``: the open order the unit is on; ``request``: the number of the request it
    is held or in transit for (named in the reason). A unit on an order, tied to a request
    or retired keeps its status: the order, the spare-unit queue or nothing changes it.
    """
    tag = unit.asset_tag
    if unit.open_lines or order_no:
        return Message(N_("{tag} is on order {order_no}: take it off the order first."),
                       {"tag": tag, "order_no": order_no or "—"})
    if unit.held_for_request_id is not None:
        return Message(N_("{tag} is held for request {request}."),
                       {"tag": tag, "request": request or unit.held_for_request_id})
    if unit.state == "retired":
        return Message(N_("{tag} is retired."), {"tag": tag})
    name = STATUS_MOVES.get((unit.state, status))
    if name is None:
        return Message(N_("Unit {tag} is {state}: its status cannot be set to {status} here."),
                       {"tag": tag, "state": STATE_LABELS.get(unit.state, unit.state),
                        "status": STATE_LABELS.get(status, status)})
    return move_refusal(name, unit)


def swap_refusal(unit_out: UnitFacts | None, unit_in: UnitFacts | None, out_tag: str,
                 in_tag: str, out_on_this_order: bool, request_id: int) -> Message | None:
    """D13: a unit is never in two places. The reason a swap is refused, or None.

    The unit put in may come from the reserve, be the one held for this request, or the
    one shipped to it; the unit taken out must be on this request's order.
    """
    if not out_tag or not in_tag:
        return Message(N_("Give the asset tags of both units."))
    if out_tag == in_tag:
        return Message(N_("The unit taken out and the unit put in must be different."))
    if unit_out is None:
        return Message(N_("There is no unit with asset tag {tag}."), {"tag": out_tag})
    if unit_in is None:
        return Message(N_("There is no unit with asset tag {tag}."), {"tag": in_tag})
    if not out_on_this_order:
        return Message(N_("Unit {tag} is not on this request's rental order."), {"tag": out_tag})
    if unit_in.state not in MOVES["put_in"].sources:
        return Message(
            N_("Unit {tag} is not in the reserve (it is {status}): it cannot be put in."),
            {"tag": in_tag, "status": STATE_LABELS.get(unit_in.state, unit_in.state)},
        )
    return move_refusal("put_in", unit_in, request_id) or move_refusal("take_out", unit_out)


# -- low stock (thresholds are settings: FIELDOPS_EQUIPMENT_LOW_STOCK_<TYPE>) ---------------


@dataclass(frozen=True)
class EquipmentRules:
    """Per device type: warn when a depot has fewer free reserve units than this."""

    low_stock_camera: int = 2
    low_stock_encoder: int = 2
    low_stock_mixer: int = 1
    low_stock_audio: int = 1
    low_stock_other: int = 0
    spare_eta_minutes: int = 60  # the ETA proposed when shipping

    def threshold(self, device_type: str) -> int:
        return int(getattr(self, f"low_stock_{device_type}", 0))


@dataclass(frozen=True)
class LowStock:
    depot: str
    device_type: str
    free: int
    threshold: int


def low_stock(free: dict[tuple[str, str], int], depots: list[str], types: list[str],
              rules: EquipmentRules) -> list[LowStock]:
    """Each depot × type whose free reserve (not held) is under its threshold."""
    warnings = []
    for depot in depots:
        for device_type in types:
            n, limit = free.get((depot, device_type), 0), rules.threshold(device_type)
            if n < limit:
                warnings.append(LowStock(depot, device_type, n, limit))
    return warnings


# -- the spare-unit queue -------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    unit_id: int
    asset_tag: str
    model: str
    depot: str
    distance_m: float | None
    held_here: bool  # already held for this request


def rank_candidates(candidates: list[Candidate], wanted_model: str) -> list[Candidate]:
    """Nearest depot with a matching unit first: the unit held for this request, then the
    same model before another model of the type, then by distance to the venue."""
    def key(c: Candidate) -> tuple:
        far = c.distance_m if c.distance_m is not None else float("inf")
        return (not c.held_here, c.model != wanted_model, far, c.asset_tag)

    return sorted(candidates, key=key)


def eta_in_past(eta: datetime | None, now: datetime) -> bool:
    return eta is not None and eta < now
