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


def outside_china(lat: float, lon: float) -> bool:
    """The rough box GCJ-02 is applied in; outside it both datums coincide."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


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
