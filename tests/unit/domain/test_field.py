"""Field facts (D13, D14, D15): how a fact is taken, which swaps are refused, map links."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from server.domain.field import (
    FAULT_KINDS,
    FAULT_LABELS,
    FLAG_REASONS,
    Outcome,
    assess_check_in,
    job_change,
    navigation_links,
)
from server.domain.geo import haversine_m, wgs84_to_gcj02

PEOPLES_SQUARE = (31.2304, 121.4737)  # WGS-84


# -- D14: a fact for a job that changed meanwhile is kept and flagged ---------------------


@pytest.mark.parametrize(
    ("job_status", "request_status", "assignee", "expected"),
    [
        ("accepted", "in_progress", 7, None),
        ("offered", "assigned", 7, None),
        ("on_site", "in_progress", 7, None),
        ("done", "resolved", 7, None),  # a late note on my own finished job is fine
        ("reassigned", "in_progress", 7, "reassigned"),
        ("cancelled", "cancelled", 7, "cancelled"),
        ("accepted", "cancelled", 7, "cancelled"),  # the request went first
        ("escalated", "in_progress", 7, "escalated"),
        ("accepted", "in_progress", 8, "not_assignee"),
        ("accepted", "in_progress", None, "not_assignee"),
    ],
)
def test_job_change(job_status, request_status, assignee, expected):
    assert job_change(job_status, request_status, assignee, staff_id=7) == expected


def test_every_flag_has_a_reason_to_show():
    for key in ("cancelled", "reassigned", "not_assignee", "escalated", "clock", "outside",
                "swap_refused"):
        assert FLAG_REASONS[key].endswith(".")
    assert set(FAULT_LABELS) == set(FAULT_KINDS)
    assert FAULT_KINDS[:3] == ("no_power", "signal_lost", "push_failed")  # S8a first


def test_outcome_status_only_gets_worse():
    out = Outcome()
    assert out.status == "applied"
    out.flag("clock")
    assert out.status == "flagged"
    out.flag("clock")
    assert out.flags == ["clock"]
    out.reject("nope")
    out.flag("outside")
    assert out.status == "rejected"
    assert [m.msgid for m in out.messages] == ["nope"]


# -- D15: the check-in distance, in one datum -----------------------------------------------


def test_check_in_at_a_wgs84_venue():
    seen = assess_check_in(31.2310, 121.4737, 10, (*PEOPLES_SQUARE, "WGS-84"), 300)
    assert 60 < seen.distance_m < 75 and not seen.outside


def test_check_in_at_a_gcj02_venue_compares_in_one_datum():
    g_lat, g_lon = wgs84_to_gcj02(*PEOPLES_SQUARE)
    seen = assess_check_in(*PEOPLES_SQUARE, 10, (g_lat, g_lon, "GCJ-02"), 300)
    assert seen.distance_m < 1 and not seen.outside
    naive = haversine_m(*PEOPLES_SQUARE, g_lat, g_lon)
    assert naive > 300  # comparing across datums would have flagged a phone at the door


def test_far_check_in_is_flagged_but_the_accuracy_counts():
    far = (31.2304 + 400 / 111_320, 121.4737)  # ~400 m north
    assert assess_check_in(*far, 20, (*PEOPLES_SQUARE, "WGS-84"), 300).outside
    assert not assess_check_in(*far, 150, (*PEOPLES_SQUARE, "WGS-84"), 300).outside


def test_a_request_without_venue_coordinates_is_not_flagged():
    seen = assess_check_in(31.2, 121.4, 10, None, 300)
    assert seen.distance_m is None and not seen.outside


# -- navigation ---------------------------------------------------------------------------


def test_navigation_links_use_each_map_apps_datum():
    links = dict(navigation_links(*PEOPLES_SQUARE, "WGS-84", "上海大剧院"))
    assert set(links) == {"amap", "baidu", "apple"}
    g_lat, g_lon = wgs84_to_gcj02(*PEOPLES_SQUARE)
    assert f"to={g_lon:.6f},{g_lat:.6f}," in links["amap"] and "coordinate=gaode" in links["amap"]
    assert f"latlng:{g_lat:.6f},{g_lon:.6f}" in links["baidu"] and "coord_type=gcj02" in links["baidu"]
    assert f"daddr={PEOPLES_SQUARE[0]:.6f},{PEOPLES_SQUARE[1]:.6f}" in links["apple"]
    assert "上海大剧院" in unquote(links["amap"])


def test_navigation_links_for_a_gcj02_venue_do_not_shift_twice():
    g_lat, g_lon = wgs84_to_gcj02(*PEOPLES_SQUARE)
    links = dict(navigation_links(g_lat, g_lon, "GCJ-02", "x"))
    assert f"to={g_lon:.6f},{g_lat:.6f}," in links["amap"]
    assert f"daddr={PEOPLES_SQUARE[0]:.6f},{PEOPLES_SQUARE[1]:.6f}" in links["apple"]
