"""Checking typed or imported values of venues, units and orders (server.domain.catalog)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from server.domain import catalog

REGIONS = ("urban", "suburban", "pudong")
ALIASES = {"市区": "urban", "郊区": "suburban"}
VENUE = {"name": "上海大剧院", "address": "人民大道300号", "region": "urban", "lat": "31.2286",
         "lon": "121.476"}


@pytest.mark.parametrize(("raw", "datum"), [("GCJ-02", "GCJ-02"), ("gcj02", "GCJ-02"),
                                            ("火星坐标", "GCJ-02"), ("wgs 84", "WGS-84"),
                                            ("GPS", "WGS-84"), ("BD-09", None), ("", None)])
def test_datum_spellings(raw, datum):
    assert catalog.parse_datum(raw) == datum


def test_gcj02_is_the_default_and_kept_inside_the_mainland():
    values, errors = catalog.clean_venue(VENUE, REGIONS, ALIASES)
    assert errors == {} and values["datum"] == "GCJ-02"


def test_a_venue_abroad_is_stored_in_wgs84():
    values, errors = catalog.clean_venue(VENUE | {"lat": "37.5665", "lon": "126.978"}, REGIONS, ALIASES)
    assert errors == {} and values["datum"] == "WGS-84"


def test_company_regions_and_their_chinese_names():
    assert catalog.clean_venue(VENUE | {"region": "pudong"}, REGIONS, ALIASES)[0]["region"] == "pudong"
    assert catalog.clean_venue(VENUE | {"region": "郊区"}, REGIONS, ALIASES)[0]["region"] == "suburban"
    errors = catalog.clean_venue(VENUE | {"region": "north"}, REGIONS, ALIASES)[1]
    assert errors["region"].params["value"] == "north"


def test_swapped_coordinates_are_named():
    errors = catalog.clean_venue(VENUE | {"lat": "121.476", "lon": "31.2286"}, REGIONS, ALIASES)[1]
    assert "swapped" in errors["lat"].msgid


def test_formula_like_text_stays_text():
    values, errors = catalog.clean_customer({"name": "=1+1", "phone": "13800138000"})
    assert errors == {} and values["name"] == "=1+1"


def test_order_times_are_local_and_tags_split():
    values, errors = catalog.clean_order(
        {"order_no": " ro 1 ", "customer_name": "A", "customer_phone": "021-55550000",
         "starts_at": "2026/12/31 18:00", "ends_at": "2027-01-01T02:00",
         "units": "cam-1，CAM-2; cam-1、ENC-3"}, ZoneInfo("Asia/Shanghai"))
    assert errors == {}
    assert values["order_no"] == "RO1"
    assert values["starts_at"].utcoffset().total_seconds() == 8 * 3600
    assert values["units"] == ["CAM-1", "CAM-2", "ENC-3"]
