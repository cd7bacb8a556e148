"""The unit state machine (issue 15, D8a, D13): moves, refusals, the swap rule, low stock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.equipment import (
    MOVES,
    STATES,
    Candidate,
    EquipmentRules,
    UnitFacts,
    low_stock,
    move_refusal,
    rank_candidates,
    stored,
    swap_refusal,
    unit_state,
)


def unit(state="reserve", held=None, lines=0, tag="CAM-0100"):
    return UnitFacts(tag, state, held, lines)


def test_held_is_a_reserve_unit_kept_for_a_request():
    assert unit_state("reserve", None) == "reserve"
    assert unit_state("reserve", 7) == "held"
    assert unit_state("in_transit", 7) == "in_transit"
    assert stored("held") == "reserve" and stored("rented") == "rented"


@pytest.mark.parametrize(("move", "state", "ok"), [
    ("hold", "reserve", True), ("hold", "held", False), ("hold", "rented", False),
    ("release", "held", True), ("release", "reserve", False),
    ("ship", "reserve", True), ("ship", "in_transit", False), ("ship", "in_repair", False),
    ("put_in", "in_transit", True), ("put_in", "in_repair", False), ("put_in", "retired", False),
    ("take_out", "rented", True), ("take_out", "reserve", False),
    ("repaired", "in_repair", True), ("repaired", "rented", False),
    ("retire", "in_repair", True), ("retire", "rented", False), ("retire", "in_transit", False),
    ("back_to_reserve", "in_transit", True), ("back_to_reserve", "held", False),
])
def test_each_move_starts_only_from_its_states(move, state, ok):
    held = 5 if state in ("held", "in_transit") else None
    refusal = move_refusal(move, unit(state, held, 1 if state == "rented" else 0), 5)
    assert (refusal is None) == ok
    if refusal is not None:
        assert "CAM-0100" in refusal.render()


def test_a_unit_tied_to_one_request_is_not_shipped_or_put_in_for_another():
    for move in ("ship", "put_in"):
        assert "another request" in move_refusal(move, unit("held", 9), 5).msgid
        assert move_refusal(move, unit("held", 5), 5) is None
    assert "another request" in move_refusal("put_in", unit("in_transit", 9), 5).msgid


def test_a_unit_on_an_open_order_line_never_goes_on_another():
    assert "already on a rental order" in move_refusal("put_in", unit(lines=1), 5).msgid


# -- D13: the engineer's swap -----------------------------------------------------------------

RESERVE = unit("reserve")
RENTED = unit("rented", lines=1, tag="CAM-0001")


def refusal(out=RENTED, into=RESERVE, out_tag="CAM-0001", in_tag="CAM-0100", on_order=True,
            request_id=5):
    return swap_refusal(out, into, out_tag, in_tag, on_order, request_id)


def test_a_good_swap_is_not_refused():
    assert refusal() is None
    assert refusal(into=unit("held", 5)) is None
    assert refusal(into=unit("in_transit", 5)) is None  # the spare shipped to this request


@pytest.mark.parametrize(("kwargs", "msgid_part"), [
    ({"out_tag": ""}, "both units"),
    ({"in_tag": "CAM-0001"}, "must be different"),
    ({"out": None}, "no unit"),
    ({"into": None}, "no unit"),
    ({"on_order": False}, "not on this request's rental order"),
    ({"into": unit("rented", lines=1)}, "not in the reserve"),
    ({"into": unit("in_repair")}, "not in the reserve"),
    ({"into": unit("retired")}, "not in the reserve"),
    ({"into": unit("in_transit", 9)}, "held for another"),
    ({"into": unit("reserve", lines=1)}, "already on a rental order"),
    ({"into": unit("held", 9)}, "held for another"),
])
def test_swaps_that_are_refused(kwargs, msgid_part):
    message = refusal(**kwargs)
    assert message is not None and msgid_part in message.msgid
    assert message.render()  # every placeholder is filled


@given(st.sampled_from(STATES), st.integers(0, 1), st.one_of(st.none(), st.integers(1, 9)))
def test_only_a_free_or_this_requests_unit_is_ever_put_in(state, lines, held):
    if state in ("held", "in_transit") and held is None:
        held = 1
    accepted = refusal(into=unit(state, held, lines)) is None
    free = state == "reserve" and lines == 0
    ours = state in ("held", "in_transit") and held == 5 and lines == 0
    assert accepted == (free or ours)


# -- the machine as a whole: random moves keep one state and at most one order line -----------


@given(st.lists(st.tuples(st.sampled_from(sorted(MOVES)), st.integers(1, 3)), max_size=60))
def test_random_moves_never_leave_the_machine(steps):
    """A model of one unit: only allowed moves apply; its state stays one of STATES, it has
    an order line exactly when rented, and it is tied to a request only when held or in
    transit."""
    state, held, lines = "reserve", None, 0
    for name, request_id in steps:
        rule = MOVES[name]
        if move_refusal(name, UnitFacts("U", state, held, lines), request_id) is not None:
            continue
        lines = lines + 1 if rule.opens_line else (0 if rule.closes_line else lines)
        state, held = rule.target, request_id if rule.for_request else None
        assert state in STATES and lines <= 1
        assert (lines == 1) == (state == "rented")
        assert (held is not None) == (state in ("held", "in_transit"))


# -- low stock and the nearest depot ----------------------------------------------------------


def test_low_stock_per_depot_and_type_uses_the_thresholds():
    rules = EquipmentRules(low_stock_camera=2, low_stock_encoder=1, low_stock_mixer=0,
                           low_stock_audio=0)
    free = {("徐汇", "camera"): 1, ("徐汇", "encoder"): 3, ("浦东", "camera"): 2}
    warnings = low_stock(free, ["徐汇", "浦东"], ["camera", "encoder", "mixer"], rules)
    assert {(w.depot, w.device_type, w.free, w.threshold) for w in warnings} == {
        ("徐汇", "camera", 1, 2), ("浦东", "encoder", 0, 1)}


def test_the_held_unit_then_the_same_model_then_the_nearest_depot_first():
    c = [Candidate(1, "CAM-1", "FX6", "far", 20_000, False),
         Candidate(2, "CAM-2", "FX3", "near", 1_000, False),
         Candidate(3, "CAM-3", "FX6", "near", 2_000, False),
         Candidate(4, "CAM-4", "FX3", "far", 30_000, True)]
    assert [x.unit_id for x in rank_candidates(c, "FX6")] == [4, 3, 1, 2]
