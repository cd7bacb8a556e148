"""S4, D5-D8c: SLA targets, deadlines, pauses, warnings and breaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.sla import (
    Pause,
    SlaTargets,
    ack_deadline,
    clock_status,
    deadline,
    due_levels,
    escalation_offered,
    paused_seconds,
    plausible_fact_time,
    swap_offered,
    target_minutes,
)

SH = ZoneInfo("Asia/Shanghai")
T = SlaTargets()
T0 = datetime(2026, 5, 1, 20, 0, tzinfo=SH)


def mins(n: float) -> timedelta:
    return timedelta(minutes=n)


def status_at(now: datetime, *, budget: float = 10, pauses=(), stopped_at=None, targets=T):
    return clock_status(T0, T0 + mins(budget), list(pauses), stopped_at, now, targets)


# -- D5 targets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "priority", "region", "minutes"),
    [
        ("handoff", "P1", None, 10),
        ("handoff", "P2", None, 10),
        ("handoff", "P3", None, 10),
        ("first_response", "P1", None, 5),
        ("first_response", "P2", None, 15),
        ("first_response", "P3", None, 15),
        ("arrival", "P1", "urban", 45),
        ("arrival", "P1", "suburban", 90),
        ("arrival", "P2", "urban", 60),
        ("arrival", "P2", "suburban", 120),
        ("arrival", "P3", "urban", 60),
        ("arrival", "P3", "suburban", 120),
        ("resolution", "P1", None, 60),
        ("resolution", "P2", None, 240),
        ("resolution", "P3", "suburban", 240),  # region is ignored off the arrival clock
        ("follow_up", "P1", None, 1440),
        ("follow_up", "P2", None, 1440),
        ("follow_up", "P3", "urban", 1440),
    ],
)
def test_default_targets_match_table_d5(kind, priority, region, minutes) -> None:
    assert target_minutes(kind, priority, region, T) == minutes
    assert deadline(kind, T0, priority, region, T) == T0 + mins(minutes)


def test_targets_are_settings() -> None:
    custom = SlaTargets(arrival_p1_suburban_minutes=75, first_response_p2_minutes=20)
    assert target_minutes("arrival", "P1", "suburban", custom) == 75
    assert target_minutes("first_response", "P2", None, custom) == 20
    assert target_minutes("first_response", "P3", None, custom) == 15


def test_other_defaults() -> None:
    assert T.warn_fraction == 0.8
    assert T.stream_buffer_minutes == 30
    assert T.remote_escalate_after_minutes == 30
    assert T.swap_offer_after_checkin_minutes == 20
    assert (T.ack_timeout_p1_minutes, T.ack_timeout_p2_minutes, T.ack_timeout_p3_minutes) == (
        3,
        10,
        10,
    )
    assert T.max_future_skew_seconds == 120


@pytest.mark.parametrize(
    "bad",
    [
        {"warn_fraction": 1.0},
        {"warn_fraction": 0},
        {"handoff_p1_minutes": 0},
        {"ack_timeout_p1_minutes": 0},
        {"stream_buffer_minutes": -1},
    ],
)
def test_nonsense_targets_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        SlaTargets(**bad)


def test_zero_buffer_is_allowed() -> None:
    assert SlaTargets(stream_buffer_minutes=0).stream_buffer_minutes == 0


@pytest.mark.parametrize(
    ("kind", "priority", "region"),
    [
        ("arrival", "P1", None),
        ("arrival", "P1", "rural"),
        ("repair", "P1", None),
        ("handoff", "P0", None),
    ],
)
def test_unknown_inputs_are_refused(kind, priority, region) -> None:
    with pytest.raises(ValueError):
        target_minutes(kind, priority, region, T)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        deadline("handoff", datetime(2026, 5, 1, 20, 0), "P1", None, T)
    with pytest.raises(ValueError):
        clock_status(T0, T0 + mins(10), [], None, datetime(2026, 5, 1, 20, 5), T)


# -- D8a: the broadcast sets the real deadline ------------------------------------------


def test_stream_start_earlier_than_the_target_wins() -> None:
    stream = T0 + mins(90)  # resolution P2 target is 4 h, stream needs it by +60
    assert deadline("resolution", T0, "P2", None, T, stream) == T0 + mins(60)


def test_target_earlier_than_the_stream_wins() -> None:
    stream = T0 + timedelta(hours=20)
    assert deadline("resolution", T0, "P2", None, T, stream) == T0 + mins(240)


def test_arrival_capped_by_the_stream_per_region() -> None:
    stream = T0 + mins(100)
    assert deadline("arrival", T0, "P2", "urban", T, stream) == T0 + mins(60)
    assert deadline("arrival", T0, "P2", "suburban", T, stream) == T0 + mins(70)


def test_deadline_never_before_the_clock_starts() -> None:
    stream = T0 + mins(20)  # inside the 30 min buffer already
    assert deadline("first_response", T0, "P2", None, T, stream) == T0


def test_stream_already_started_does_not_set_a_deadline() -> None:
    stream = T0 - mins(5)
    assert deadline("resolution", T0, "P1", None, T, stream) == T0 + mins(60)


def test_follow_up_is_not_bounded_by_the_stream() -> None:
    stream = T0 + mins(90)
    assert deadline("follow_up", T0, "P2", None, T, stream) == T0 + timedelta(hours=24)


def test_buffer_is_a_setting() -> None:
    stream = T0 + mins(90)
    custom = SlaTargets(stream_buffer_minutes=45)
    assert deadline("resolution", T0, "P2", None, custom, stream) == T0 + mins(45)


def test_stream_start_in_utc() -> None:
    stream = (T0 + mins(90)).astimezone(UTC)
    assert deadline("resolution", T0, "P2", None, T, stream) == T0 + mins(60)


# -- D6 pauses ---------------------------------------------------------------------------


def test_pause_needs_a_reason() -> None:
    with pytest.raises(ValueError):
        Pause(T0, T0 + mins(1), "  ")
    with pytest.raises(ValueError):
        Pause(T0 + mins(2), T0 + mins(1), "customer unreachable")


def test_paused_seconds_one_several_open() -> None:
    one = [Pause(T0 + mins(1), T0 + mins(3), "customer unreachable")]
    assert paused_seconds(one, T0 + mins(10)) == 120
    several = one + [Pause(T0 + mins(5), T0 + mins(6), "customer asked to wait")]
    assert paused_seconds(several, T0 + mins(10)) == 180
    still_open = several + [Pause(T0 + mins(8), None, "customer unreachable")]
    assert paused_seconds(still_open, T0 + mins(10)) == 300
    # only the time up to now counts
    assert paused_seconds(still_open, T0 + mins(2)) == 60


def test_overlapping_pauses_count_once() -> None:
    pauses = [
        Pause(T0, T0 + mins(5), "customer unreachable"),
        Pause(T0 + mins(3), T0 + mins(8), "customer asked to wait"),
        Pause(T0 + mins(4), T0 + mins(6), "customer asked to wait"),
    ]
    assert paused_seconds(pauses, T0 + mins(30)) == 480


def test_pause_before_the_clock_started_does_not_count() -> None:
    pauses = [Pause(T0 - mins(5), T0 + mins(2), "customer unreachable")]
    assert paused_seconds(pauses, T0 + mins(5), since=T0) == 120
    assert status_at(T0 + mins(5), pauses=pauses).paused_seconds == 120


def test_pause_shifts_the_effective_deadline() -> None:
    pauses = [Pause(T0 + mins(2), T0 + mins(5), "customer unreachable")]
    s = status_at(T0 + mins(9), pauses=pauses)
    assert s.effective_deadline == T0 + mins(13)
    assert s.remaining_seconds == 240
    assert s.elapsed_seconds == 360
    assert s.fraction_used == pytest.approx(0.6)
    assert s.state == "running"


def test_open_pause_freezes_the_clock() -> None:
    pauses = [Pause(T0 + mins(4), None, "customer asked to wait")]
    early = status_at(T0 + mins(5), pauses=pauses)
    late = status_at(T0 + mins(50), pauses=pauses)
    assert early.state == late.state == "paused"
    assert early.remaining_seconds == late.remaining_seconds == 360
    assert late.fraction_used == pytest.approx(0.4)


def test_pause_does_not_hide_a_breach() -> None:
    pauses = [Pause(T0 + mins(12), None, "customer unreachable")]
    assert status_at(T0 + mins(20), pauses=pauses).state == "breached"


# -- states and D7 notices --------------------------------------------------------------


@pytest.mark.parametrize(
    ("minute", "state"),
    [
        (0, "running"),
        (7.99, "running"),
        (8, "warning"),
        (9.99, "warning"),
        (10, "breached"),
        (30, "breached"),
    ],
)
def test_states_over_time(minute, state) -> None:
    assert status_at(T0 + mins(minute)).state == state


def test_met_and_missed() -> None:
    late = T0 + mins(10) + timedelta(seconds=1)
    assert status_at(T0 + mins(60), stopped_at=T0 + mins(10)).state == "met"
    assert status_at(T0 + mins(60), stopped_at=late).state == "missed"
    paused = [Pause(T0 + mins(1), T0 + mins(4), "customer unreachable")]
    assert status_at(T0 + mins(60), pauses=paused, stopped_at=T0 + mins(12)).state == "met"


def test_stopped_clock_is_measured_at_its_stop() -> None:
    s = status_at(T0 + mins(60), stopped_at=T0 + mins(4))
    assert s.at == T0 + mins(4)
    assert s.remaining_seconds == 360
    assert s.fraction_used == pytest.approx(0.4)


def test_warning_and_breach_fire_once() -> None:
    fired: set[str] = set()
    timeline = []
    for second in range(0, 15 * 60, 5):
        levels = due_levels(status_at(T0 + timedelta(seconds=second)), fired)
        fired.update(levels)
        timeline += [(second, level) for level in levels]
    assert timeline == [(480, "warning"), (600, "breach")]


def test_both_levels_due_after_a_gap() -> None:
    assert due_levels(status_at(T0 + mins(11)), set()) == ["warning", "breach"]
    assert due_levels(status_at(T0 + mins(11)), {"warning"}) == ["breach"]
    assert due_levels(status_at(T0 + mins(11)), {"warning", "breach"}) == []


def test_stopped_clocks_fire_nothing() -> None:
    assert due_levels(status_at(T0 + mins(60), stopped_at=T0 + mins(9)), set()) == []
    assert due_levels(status_at(T0 + mins(60), stopped_at=T0 + mins(30)), set()) == []


def test_warn_fraction_is_a_setting() -> None:
    s = status_at(T0 + mins(7), targets=SlaTargets(warn_fraction=0.7))
    assert s.state == "warning"
    assert due_levels(s, set()) == ["warning"]


def test_zero_budget_clock_is_due_at_once() -> None:
    s = clock_status(T0, T0, [], None, T0, T)
    assert s.state == "breached"
    assert due_levels(s, set()) == ["warning", "breach"]


def test_d8a_deadline_feeds_the_clock() -> None:
    stream = T0 + mins(50)
    due = deadline("resolution", T0, "P2", None, T, stream)
    assert clock_status(T0, due, [], None, T0 + mins(16), T).state == "warning"
    assert clock_status(T0, due, [], None, T0 + mins(20), T).state == "breached"


# -- property: a clock never runs backwards ---------------------------------------------

pause_spans = st.lists(
    st.tuples(st.integers(0, 3600), st.one_of(st.none(), st.integers(1, 3600)), st.booleans()),
    max_size=4,
)


@settings(max_examples=300)
@given(
    budget=st.integers(1, 24 * 3600),
    spans=pause_spans,
    a=st.integers(0, 48 * 3600),
    b=st.integers(0, 48 * 3600),
)
def test_remaining_never_increases(budget, spans, a, b) -> None:
    pauses = [
        Pause(
            T0 + timedelta(seconds=start),
            None if length is None else T0 + timedelta(seconds=start + length),
            "customer unreachable" if flag else "customer asked to wait",
        )
        for start, length, flag in spans
    ]
    earlier, later = sorted((a, b))
    s1 = clock_status(
        T0, T0 + timedelta(seconds=budget), pauses, None, T0 + timedelta(seconds=earlier), T
    )
    s2 = clock_status(
        T0, T0 + timedelta(seconds=budget), pauses, None, T0 + timedelta(seconds=later), T
    )
    assert s2.remaining_seconds <= s1.remaining_seconds
    assert s2.fraction_used >= s1.fraction_used
    assert s2.effective_deadline >= s1.effective_deadline
    if not pauses:  # not paused: remaining drops by exactly the time that passed
        assert s1.remaining_seconds - s2.remaining_seconds == later - earlier


# -- D8b acknowledgement, D8 offers ------------------------------------------------------


def test_ack_deadline() -> None:
    assert ack_deadline(T0, "P1", T) == T0 + mins(3)
    assert ack_deadline(T0, "P2", T) == T0 + mins(10)
    assert ack_deadline(T0, "P3", T) == T0 + mins(10)
    assert ack_deadline(T0, "P1", SlaTargets(ack_timeout_p1_minutes=2)) == T0 + mins(2)


def test_escalation_offered_after_30_minutes_remote() -> None:
    assert not escalation_offered(T0, T0 + mins(29), T)
    assert escalation_offered(T0, T0 + mins(30), T)


def test_swap_offered_to_onsite_p1_after_20_minutes() -> None:
    assert not swap_offered("P1", T0, T0 + mins(19), T)
    assert swap_offered("P1", T0, T0 + mins(20), T)
    assert not swap_offered("P2", T0, T0 + mins(60), T)
    assert not swap_offered("P1", None, T0 + mins(60), T)


# -- D8c: plausible field-fact times ----------------------------------------------------

DISPATCHED = T0
SYNCED = T0 + timedelta(hours=3)  # the phone was offline for hours (D14)


@pytest.mark.parametrize(
    ("device_time", "expected", "flagged"),
    [
        (T0 + mins(40), T0 + mins(40), False),  # offline check-in, believed
        (SYNCED, SYNCED, False),
        (SYNCED + timedelta(seconds=90), SYNCED, False),  # small skew ahead: clamped
        (SYNCED + timedelta(seconds=121), SYNCED, True),  # too far in the future
        (SYNCED + timedelta(hours=8), SYNCED, True),  # phone clock hours wrong
        (DISPATCHED - timedelta(seconds=60), DISPATCHED, False),  # small skew behind
        (DISPATCHED - mins(30), SYNCED, True),  # before the dispatch
        (None, SYNCED, True),
        (datetime(2026, 5, 1, 20, 40), SYNCED, True),  # naive: the zone is unknown
    ],
)
def test_plausible_fact_time(device_time, expected, flagged) -> None:
    assert plausible_fact_time(device_time, DISPATCHED, SYNCED, T) == (expected, flagged)


def test_plausible_fact_time_without_dispatch_and_in_utc() -> None:
    device = (T0 - timedelta(days=2)).astimezone(UTC)
    fact, flagged = plausible_fact_time(device, None, SYNCED, T)
    assert (fact, flagged) == (device, False)
