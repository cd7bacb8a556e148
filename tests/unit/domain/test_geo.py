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
    in_mainland_china,
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


# Cities on both sides of every stretch of the mainland's border and coast.
MAINLAND_CITIES = [
        ("shanghai", 31.23, 121.47),
        ("beijing", 39.9, 116.4),
        ("harbin", 45.75, 126.65),
        ("urumqi", 43.8, 87.6),
        ("kashgar", 39.47, 75.99),
        ("lhasa", 29.65, 91.1),
        ("sanya", 18.25, 109.5),
        ("haikou", 20.04, 110.34),
        ("shenzhen", 22.54, 114.06),
        ("futian", 22.535, 114.06),
        ("zhuhai", 22.27, 113.57),
        ("guangzhou", 23.13, 113.26),
        ("xiamen", 24.48, 118.09),
        ("kunming", 25.04, 102.7),
        ("ruili", 24.01, 97.85),
        ("dalian", 38.91, 121.6),
        ("qingdao", 36.07, 120.38),
        ("zhoushan", 30.0, 122.2),
        ("manzhouli", 49.6, 117.43),
        ("heihe", 50.245, 127.49),
        ("hunchun", 42.87, 130.36),
        ("dandong", 40.13, 124.38),
        ("erenhot", 43.65, 111.97),
        ("mohe", 52.97, 122.54),
        ("yantai", 37.46, 121.45),
        ("fuzhou", 26.07, 119.3),
        ("pingtan", 25.5, 119.79),
        ("dongxing", 21.55, 107.97),
        ("mengzi", 23.37, 103.4),
        ("khorgos", 44.2, 80.4),
        ("tacheng", 46.75, 82.98),
        ("altay", 47.85, 88.13),
        ("jinghong", 22.0, 100.8),
        ("shigatse", 29.27, 88.88),
        ("ngari", 32.5, 80.1),
        ("hotan", 37.1, 79.92),
]
NEIGHBOURS = [
        ("seoul", 37.5665, 126.978),
        ("pyongyang", 39.03, 125.75),
        ("vladivostok", 43.12, 131.89),
        ("khabarovsk", 48.48, 135.07),
        ("blagoveshchensk", 50.28, 127.53),
        ("halong", 20.95, 107.08),
        ("ulaanbaatar", 47.9, 106.9),
        ("zamyn_uud", 43.73, 111.9),
        ("almaty", 43.25, 76.9),
        ("bishkek", 42.87, 74.6),
        ("kathmandu", 27.7, 85.3),
        ("thimphu", 27.47, 89.64),
        ("delhi", 28.6, 77.2),
        ("hanoi", 21.03, 105.85),
        ("laocai", 22.49, 103.97),
        ("myitkyina", 25.38, 97.4),
        ("taipei", 25.03, 121.56),
        ("penghu", 23.57, 119.58),
        ("hongkong", 22.3, 114.17),
        ("hk_lowu", 22.51, 114.12),
        ("hk_tuenmun", 22.39, 113.97),
        ("lantau", 22.25, 113.95),
        ("macau", 22.19, 113.54),
        ("tokyo", 35.68, 139.7),
        ("jeju", 33.5, 126.53),
        ("busan", 35.1, 129.0),
        ("naha", 26.2, 127.68),
        ("manila", 14.6, 121.0),
        ("bangkok", 13.75, 100.5),
        ("vientiane", 17.97, 102.6),
        ("yangon", 16.8, 96.15),
        ("islamabad", 33.7, 73.1),
        ("dushanbe", 38.56, 68.77),
        ("novosibirsk", 55.0, 82.9),
        ("irkutsk", 52.3, 104.3),
        ("chita", 52.03, 113.5),
        ("kaohsiung", 22.63, 120.3),
]


@pytest.mark.parametrize(("name", "lat", "lon"), MAINLAND_CITIES)
def test_gcj02_applies_in_the_mainland(name, lat, lon) -> None:
    assert in_mainland_china(lat, lon), name
    assert haversine_m(lat, lon, *wgs84_to_gcj02(lat, lon)) > 50


@pytest.mark.parametrize(("name", "lat", "lon"), NEIGHBOURS)
def test_no_shift_beyond_the_mainland(name, lat, lon) -> None:
    assert outside_china(lat, lon), name
    assert wgs84_to_gcj02(lat, lon) == (lat, lon)
    assert gcj02_to_wgs84(lat, lon) == (lat, lon)


def test_seoul_is_not_shifted() -> None:
    """The old rectangle test moved Seoul by ~457 m."""
    seoul = (37.5665, 126.9780)
    assert wgs84_to_gcj02(*seoul) == seoul


# Well inside the mainland: near its border a shifted point may cross it (by design).
@settings(max_examples=300)
@given(st.floats(24.0, 40.0), st.floats(100.0, 117.0))
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
