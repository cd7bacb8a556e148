"""D15: check-in distance, in one datum, with the venue radius plus accuracy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.geo import (
    check_in_flag,
    distance_to_venue_m,
    gcj02_to_wgs84,
    haversine_m,
    outside_china,
    to_wgs84,
    wgs84_to_gcj02,
)

PEOPLES_SQUARE = (31.2304, 121.4737)  # Shanghai, WGS-84
TIANANMEN = (39.9087, 116.3975)  # Beijing, WGS-84

# Published test vectors of the public eviltransform project: (WGS-84, GCJ-02)
KNOWN_PAIRS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


# -- distances ---------------------------------------------------------------------------


def test_haversine_sanity() -> None:
    assert haversine_m(*PEOPLES_SQUARE, *PEOPLES_SQUARE) == 0
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-3)  # one degree
    assert haversine_m(*PEOPLES_SQUARE, *TIANANMEN) == pytest.approx(1_068_000, rel=0.01)
    assert haversine_m(*PEOPLES_SQUARE, *TIANANMEN) == haversine_m(*TIANANMEN, *PEOPLES_SQUARE)
    assert haversine_m(0, 0, 0, 180) == pytest.approx(20_015_087, rel=1e-3)  # antipodes


def test_haversine_short_distance() -> None:
    # 0.001 degree of latitude is about 111 m
    lat, lon = PEOPLES_SQUARE
    assert haversine_m(lat, lon, lat + 0.001, lon) == pytest.approx(111.2, abs=0.5)


# -- the datum shift ------------------------------------------------------------------------


@pytest.mark.parametrize(("wgs", "gcj"), KNOWN_PAIRS)
def test_known_pairs(wgs, gcj) -> None:
    lat, lon = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=1e-7)
    assert lon == pytest.approx(gcj[1], abs=1e-7)
    back = gcj02_to_wgs84(*gcj)
    assert haversine_m(*back, *wgs) < 0.01


def test_shanghai_offset_is_hundreds_of_metres() -> None:
    shifted = wgs84_to_gcj02(*PEOPLES_SQUARE)
    offset = haversine_m(*PEOPLES_SQUARE, *shifted)
    assert 100 < offset < 700
    # GCJ-02 moves Shanghai east and slightly south
    assert shifted[1] > PEOPLES_SQUARE[1]
    assert shifted[0] < PEOPLES_SQUARE[0]


@pytest.mark.parametrize(
    "point",
    [(48.8584, 2.2945), (40.6892, -74.0445), (-33.8568, 151.2153), (35.6586, 139.7454)],
)
def test_no_shift_outside_china(point) -> None:
    assert outside_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


@settings(max_examples=300)
@given(st.floats(18.0, 53.0), st.floats(74.0, 134.0))
def test_round_trip_under_a_metre(lat: float, lon: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert haversine_m(lat, lon, *back) < 1.0
    again = wgs84_to_gcj02(*gcj02_to_wgs84(lat, lon))
    assert haversine_m(lat, lon, *again) < 1.0


@settings(max_examples=200)
@given(st.floats(20.0, 50.0), st.floats(80.0, 130.0))
def test_shift_is_within_the_known_range(lat: float, lon: float) -> None:
    assert haversine_m(lat, lon, *wgs84_to_gcj02(lat, lon)) < 1000


def test_to_wgs84() -> None:
    assert to_wgs84(*PEOPLES_SQUARE, "WGS-84") == PEOPLES_SQUARE
    gcj = wgs84_to_gcj02(*PEOPLES_SQUARE)
    assert haversine_m(*to_wgs84(*gcj, "GCJ-02"), *PEOPLES_SQUARE) < 0.01
    with pytest.raises(ValueError):
        to_wgs84(*PEOPLES_SQUARE, "BD-09")  # type: ignore[arg-type]


# -- D15: the check-in ---------------------------------------------------------------------


def test_venue_in_gcj02_is_compared_in_wgs84() -> None:
    venue_gcj = wgs84_to_gcj02(*PEOPLES_SQUARE)  # as copied from a Chinese map
    # the engineer stands at the venue; the phone says WGS-84
    assert distance_to_venue_m(*PEOPLES_SQUARE, *venue_gcj, "GCJ-02") < 1
    # comparing the raw numbers would put them ~480 m apart and flag a good check-in
    naive = distance_to_venue_m(*PEOPLES_SQUARE, *venue_gcj, "WGS-84")
    assert naive > 300
    assert check_in_flag(naive, 20)


def test_venue_in_wgs84() -> None:
    lat, lon = PEOPLES_SQUARE
    assert distance_to_venue_m(lat + 0.001, lon, lat, lon, "WGS-84") == pytest.approx(
        111.2, abs=0.5
    )


@pytest.mark.parametrize(
    ("distance", "accuracy", "radius", "flagged"),
    [
        (0, 10, 300, False),
        (300, 0, 300, False),  # exactly on the radius
        (300.5, 0, 300, True),
        (350, 50, 300, False),  # within radius + accuracy
        (351, 50, 300, True),
        (900, 1000, 300, False),  # a poor fix gets the benefit of its doubt
        (320, None, 300, True),  # no accuracy reported
        (320, -5, 300, True),  # a nonsense accuracy counts as none
        (450, 20, 500, False),  # a large venue's own radius
    ],
)
def test_check_in_flag(distance, accuracy, radius, flagged) -> None:
    assert check_in_flag(distance, accuracy, radius) is flagged


def test_check_in_flag_default_radius_is_300() -> None:
    assert not check_in_flag(300, 0)
    assert check_in_flag(301, 0)
