"""Check-in distances and the WGS-84 / GCJ-02 datum shift (D15).

Phones report WGS-84; coordinates copied from Chinese map services (AMap, Tencent) are
GCJ-02, shifted by 100-700 m inside mainland China. A venue records the datum of its
coordinates and every comparison happens in WGS-84. The shift is the publicly known
GCJ-02 formula (as in the 'eviltransform' project); its inverse has no closed form, so
it is solved by iteration to well under a metre.
"""

from __future__ import annotations

import math
from typing import Literal

Datum = Literal["WGS-84", "GCJ-02"]
DATUMS: tuple[Datum, ...] = ("WGS-84", "GCJ-02")

EARTH_MEAN_RADIUS_M = 6_371_008.8  # IUGG mean radius, for great-circle distances
DEFAULT_VENUE_RADIUS_M = 300.0  # D15

# GCJ-02 is defined on the Krasovsky 1940 ellipsoid.
_KRASOVSKY_A = 6_378_245.0
_KRASOVSKY_EE = 0.00669342162296594323


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres; accurate to ~0.5 % anywhere, plenty for a check-in."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# Mainland China as (lon, lat) vertices, drawn by hand for this module along the borders
# and the coast (about 20 km accurate; the sea is generous). Hong Kong, Macau and Taiwan
# lie outside: GCJ-02 is applied in the mainland only. Checked against ~70 cities on
# both sides of every border in tests/unit/domain/test_geo.py.
_MAINLAND: tuple[tuple[float, float], ...] = (
    # north-east: the Amur and Ussuri (Russia)
    (122.4, 53.5), (125.6, 53.1), (127.3, 50.4), (127.6, 50.2), (128.0, 49.6), (130.6, 48.9), (131.0, 47.7),
    (134.7, 48.3), (133.1, 45.0), (131.2, 45.0), (131.0, 42.9), (130.6, 42.5),
    # the Tumen and Yalu (North Korea)
    (129.7, 42.4), (128.1, 41.9), (126.6, 41.6), (124.4, 40.1),
    # Yellow Sea and East China Sea, west of Korea, Jeju and the Ryukyus
    (124.0, 39.6), (123.0, 37.0), (123.0, 30.6), (121.9, 28.2),
    # Taiwan Strait, west of Taiwan and Penghu
    (120.7, 26.9), (119.9, 25.3), (118.9, 24.0), (117.5, 23.3), (116.5, 22.8),
    # Shenzhen / Hong Kong and Zhuhai / Macau
    (115.4, 22.6), (114.6, 22.56), (114.25, 22.56), (114.1, 22.525), (113.95, 22.51),
    (113.85, 22.42), (113.62, 22.25), (113.53, 22.22), (113.45, 22.05),
    # South China coast and Hainan
    (112.0, 21.4), (110.9, 20.3), (111.2, 19.6), (110.2, 18.0), (108.5, 18.4),
    (108.6, 19.6), (109.5, 20.9), (108.5, 21.6), (108.0, 21.5),
    # Vietnam, Laos, Myanmar
    (106.7, 22.0), (106.6, 22.5), (105.9, 22.9), (105.3, 23.3), (104.0, 22.7),
    (103.0, 22.55), (102.2, 22.4), (101.8, 21.2), (101.1, 21.6), (100.2, 21.5),
    (99.2, 22.1), (99.5, 22.9), (98.7, 23.9), (97.6, 23.95), (97.6, 24.8),
    (98.7, 26.0), (98.7, 27.5), (97.6, 28.3),
    # India, Bhutan, Nepal (the border as Chinese maps draw it)
    (96.0, 29.4), (94.6, 29.3), (92.0, 27.8), (91.6, 27.9), (89.5, 28.1),
    (88.8, 27.4), (88.0, 27.9), (86.9, 27.95), (85.0, 28.5), (84.0, 29.2),
    (82.0, 30.2), (81.2, 30.0), (79.0, 31.3), (78.7, 32.5), (79.3, 33.0),
    (78.0, 35.5), (76.0, 36.0), (74.5, 37.3),
    # Pakistan, Afghanistan, Tajikistan, Kyrgyzstan, Kazakhstan
    (74.9, 38.5), (73.6, 39.5), (73.8, 40.5), (75.6, 40.6), (76.9, 41.1),
    (78.4, 41.4), (80.2, 42.0), (80.2, 42.8), (80.4, 44.3), (80.5, 45.0),
    (82.5, 45.2), (82.3, 46.0), (83.0, 47.2), (85.5, 47.0), (85.7, 48.4),
    (87.0, 49.1),
    # Mongolia
    (88.8, 48.0), (90.5, 47.3), (90.9, 45.3), (93.5, 44.9), (95.4, 44.2),
    (96.4, 42.7), (100.0, 42.6), (104.6, 41.6), (107.0, 42.3), (110.4, 42.7),
    (111.95, 43.69), (114.5, 44.9), (116.6, 46.3), (118.3, 46.7), (119.9, 46.8),
    (119.7, 47.6), (118.5, 47.98), (117.4, 47.7), (115.6, 47.9), (116.6, 49.8),
    # the Argun (Russia)
    (117.9, 49.5), (119.2, 50.2), (120.8, 52.5),
)

# The polygon's bounding box: most points far from China are answered without the loop.
_LON_MIN = min(v[0] for v in _MAINLAND)
_LON_MAX = max(v[0] for v in _MAINLAND)
_LAT_MIN = min(v[1] for v in _MAINLAND)
_LAT_MAX = max(v[1] for v in _MAINLAND)


def in_mainland_china(lat: float, lon: float) -> bool:
    """Whether GCJ-02 applies here (D15): inside the mainland polygon (even-odd rule)."""
    if not (_LON_MIN <= lon <= _LON_MAX and _LAT_MIN <= lat <= _LAT_MAX):
        return False
    inside = False
    x_prev, y_prev = _MAINLAND[-1]
    for x, y in _MAINLAND:
        if (y > lat) != (y_prev > lat) and lon < (x_prev - x) * (lat - y) / (y_prev - y) + x:
            inside = not inside
        x_prev, y_prev = x, y
    return inside


def outside_china(lat: float, lon: float) -> bool:
    """Outside mainland China both datums coincide: Seoul, Hong Kong, Taipei are not shifted."""
    return not in_mainland_china(lat, lon)


def _shift_terms(x: float, y: float) -> tuple[float, float]:
    """The GCJ-02 polynomial-plus-sine terms, in metres-ish units, for lat and lon."""
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * math.sqrt(abs(x))
        + common
        + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
        + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    )
    lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * math.sqrt(abs(x))
        + common
        + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
        + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    )
    return lat, lon


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84, in degrees, at a WGS-84 point."""
    d_lat, d_lon = _shift_terms(lon - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / (
        (_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi
    )
    d_lon = (d_lon * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if outside_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _offset(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """The inverse shift, by fixed-point iteration: the offset changes slowly, so each
    round gains about three digits and a few rounds reach millimetres."""
    if outside_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(20):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        e_lat, e_lon = g_lat - lat, g_lon - lon
        w_lat, w_lon = w_lat - e_lat, w_lon - e_lon
        if abs(e_lat) < 1e-10 and abs(e_lon) < 1e-10:
            break
    return w_lat, w_lon


def to_wgs84(lat: float, lon: float, datum: Datum) -> tuple[float, float]:
    if datum == "WGS-84":
        return lat, lon
    if datum == "GCJ-02":
        return gcj02_to_wgs84(lat, lon)
    raise ValueError(f"unknown datum {datum!r}")


def distance_to_venue_m(
    fix_lat: float,
    fix_lon: float,
    venue_lat: float,
    venue_lon: float,
    venue_datum: Datum,
) -> float:
    """D15: the phone's WGS-84 fix against the venue, both in WGS-84."""
    v_lat, v_lon = to_wgs84(venue_lat, venue_lon, venue_datum)
    return haversine_m(fix_lat, fix_lon, v_lat, v_lon)


def check_in_flag(
    distance_m: float, accuracy_m: float | None, radius_m: float = DEFAULT_VENUE_RADIUS_M
) -> bool:
    """D15: farther than the venue radius plus the reported accuracy is flagged (but kept).

    A fix without an accuracy gets no benefit of the doubt.
    """
    margin = max(0.0, accuracy_m or 0.0)
    return distance_m > radius_m + margin
