"""Checking what people type (or a file or the rental system sends) about customers,
venues, depots, units and rental orders, before anything is written.

Every ``clean_*`` function takes raw text fields (a form, an import row, an API body)
and returns ``(values, errors)``: the values in the stored form, and field -> Message for
each field that is wrong. Nothing here reads the database: whether a customer exists or a
unit is already on another order is asked by ``server.actions.catalog`` and ``orders``.
Text is kept as text: a name starting with "=" stays that text and is never evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from server.domain.geo import DATUMS, in_mainland_china, to_wgs84, wgs84_to_gcj02
from server.domain.intake import normalize_phone
from server.domain.text import N_, Message

Errors = dict[str, Message]

DEVICE_TYPES = ("camera", "encoder", "mixer", "audio", "other")
# What a unit's own record may say; "rented" follows from being on an open order (D13).
SETTABLE_UNIT_STATUSES = ("reserve", "in_transit", "in_repair", "retired")
MAX_RADIUS_M = 5000

_DATUM_WORDS = {
    "WGS84": "WGS-84", "WGS": "WGS-84", "GPS": "WGS-84", "EPSG:4326": "WGS-84",
    "GCJ02": "GCJ-02", "GCJ": "GCJ-02", "火星坐标": "GCJ-02", "国测局坐标": "GCJ-02",
}


def text(raw: Any) -> str:
    """Cell or field text, trimmed; None and numbers become text as they are."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()


def _required(values: Mapping[str, Any], name: str, limit: int, errors: Errors,
              missing: str) -> str:
    value = text(values.get(name))
    if not value:
        errors[name] = Message(missing)
    elif len(value) > limit:
        errors[name] = Message(N_("At most {n} characters."), {"n": limit})
    return value


def _optional(values: Mapping[str, Any], name: str, limit: int, errors: Errors) -> str:
    value = text(values.get(name))
    if len(value) > limit:
        errors[name] = Message(N_("At most {n} characters."), {"n": limit})
    return value


def _phone(values: Mapping[str, Any], name: str, errors: Errors, required: bool) -> str:
    raw = text(values.get(name))
    if not raw:
        if required:
            errors[name] = Message(N_("Enter a phone number."))
        return ""
    number = normalize_phone(raw)
    if number is None:
        errors[name] = Message(N_("Not a phone number in mainland China: {value}"), {"value": raw})
        return raw
    return number


def pick(raw: Any, codes: Iterable[str], aliases: Mapping[str, str]) -> str | None:
    """A code from its code or a translated word (市区 -> urban); None if unknown."""
    value = text(raw)
    codes = tuple(codes)
    if value in codes:
        return value
    if value.lower() in codes:
        return value.lower()
    code = aliases.get(value)
    return code if code in codes else None


def parse_datum(raw: Any) -> str | None:
    """WGS-84 or GCJ-02 however written (wgs84, GCJ02, 火星坐标); None if neither."""
    value = text(raw)
    if value in DATUMS:
        return value
    key = value.upper().replace("-", "").replace(" ", "").replace("_", "")
    return _DATUM_WORDS.get(key) or _DATUM_WORDS.get(value)


def _number(values: Mapping[str, Any], name: str, errors: Errors, low: float, high: float,
            missing: str) -> float | None:
    raw = text(values.get(name))
    if not raw:
        errors[name] = Message(missing)
        return None
    try:
        number = float(raw)
    except ValueError:
        errors[name] = Message(N_("Not a number: {value}"), {"value": raw})
        return None
    if not (low <= number <= high) or number != number:
        errors[name] = Message(N_("Must be between {low} and {high}."), {"low": low, "high": high})
        return None
    return number


def clean_customer(values: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Name and switchboard phone: the customer's natural key (name + phone)."""
    errors: Errors = {}
    name = _required(values, "name", 128, errors, N_("Enter the customer's name."))
    phone = _phone(values, "phone", errors, required=True)
    return {"name": name, "phone": phone}, errors


def clean_contacts(rows: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, str]], Errors]:
    """Contact people (name, phone); empty rows are skipped; errors keyed contacts.N.field."""
    contacts: list[dict[str, str]] = []
    errors: Errors = {}
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not text(row.get("name")) and not text(row.get("phone")):
            continue
        row_errors: Errors = {}
        name = _required(row, "name", 64, row_errors, N_("Enter the contact's name."))
        phone = _phone(row, "phone", row_errors, required=True)
        if not row_errors and phone in seen:
            row_errors["phone"] = Message(N_("This number is listed twice."))
        seen.add(phone)
        errors.update({f"contacts.{i}.{k}": v for k, v in row_errors.items()})
        contacts.append({"name": name, "phone": phone})
    return contacts, errors


def clean_venue(values: Mapping[str, Any], regions: Iterable[str],
                region_aliases: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """A venue's name, address, region (S9), position and its datum, check-in radius (D15).

    Inside mainland China the position is kept as entered with its datum (GCJ-02 from a
    Chinese map, WGS-84 from a phone). Outside, GCJ-02 does not apply: the position is
    stored as WGS-84 whatever datum was chosen. A latitude beyond ±90 (lat and lon swapped)
    is refused.
    """
    errors: Errors = {}
    regions = tuple(regions)
    out: dict[str, Any] = {
        "name": _required(values, "name", 128, errors, N_("Enter the venue's name.")),
        "address": _required(values, "address", 256, errors, N_("Enter the address.")),
    }
    region = pick(values.get("region"), regions, region_aliases)
    if region is None:
        errors["region"] = Message(N_("Unknown region: {value}. Choose one of: {choices}."),
                                   {"value": text(values.get("region")) or "—",
                                    "choices": ", ".join(regions)})
    out["region"] = region
    datum = parse_datum(values.get("datum") or "GCJ-02")
    if datum is None:
        errors["datum"] = Message(N_("Unknown datum: {value}. Use GCJ-02 (Chinese maps) or WGS-84 (GPS)."),
                                  {"value": text(values.get("datum"))})
    lat = _number(values, "lat", errors, -90, 90, N_("Enter the latitude."))
    lon = _number(values, "lon", errors, -180, 180, N_("Enter the longitude."))
    if "lat" in errors and "lon" not in errors and lon is not None and abs(lon) <= 90:
        errors["lat"] = Message(N_("Latitude must be between -90 and 90: are latitude and longitude swapped?"))
    if lat is not None and lon is not None and datum and not in_mainland_china(lat, lon):
        datum = "WGS-84"  # D15: GCJ-02 applies only in the mainland
    out.update(lat=lat, lon=lon, datum=datum)
    radius = text(values.get("radius_m"))
    out["radius_m"] = None
    if radius:
        number = _number(values, "radius_m", errors, 20, MAX_RADIUS_M, "")
        out["radius_m"] = int(number) if number is not None else None
    return out, errors


def venue_positions(lat: float, lon: float, datum: str) -> dict[str, tuple[float, float]]:
    """Both datums of a stored position, for showing them side by side (D15)."""
    wgs = to_wgs84(lat, lon, datum)  # type: ignore[arg-type]
    return {"WGS-84": wgs, "GCJ-02": wgs84_to_gcj02(*wgs)}


def clean_depot(values: Mapping[str, Any], regions: Iterable[str],
                region_aliases: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    regions = tuple(regions)
    out: dict[str, Any] = {
        "name": _required(values, "name", 64, errors, N_("Enter the depot's name.")),
        "address": _required(values, "address", 256, errors, N_("Enter the address.")),
    }
    region = pick(values.get("region"), regions, region_aliases)
    if region is None:
        errors["region"] = Message(N_("Unknown region: {value}. Choose one of: {choices}."),
                                   {"value": text(values.get("region")) or "—",
                                    "choices": ", ".join(regions)})
    out["region"] = region
    out["lat"] = _number(values, "lat", errors, -90, 90, N_("Enter the latitude."))
    out["lon"] = _number(values, "lon", errors, -180, 180, N_("Enter the longitude."))
    return out, errors


def clean_unit(values: Mapping[str, Any], aliases: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """Asset tag (upper case, no spaces), device type, model, depot name, status (D13)."""
    errors: Errors = {}
    tag = "".join(text(values.get("asset_tag")).split()).upper()
    if not tag:
        errors["asset_tag"] = Message(N_("Enter the asset tag."))
    elif len(tag) > 32:
        errors["asset_tag"] = Message(N_("At most {n} characters."), {"n": 32})
    device_type = pick(values.get("device_type"), DEVICE_TYPES, aliases)
    if device_type is None:
        errors["device_type"] = Message(N_("Unknown device type: {value}. Choose one of: {choices}."),
                                        {"value": text(values.get("device_type")) or "—",
                                         "choices": ", ".join(DEVICE_TYPES)})
    model = _required(values, "model", 64, errors, N_("Enter the model."))
    status = None
    if text(values.get("status")):
        status = pick(values.get("status"), SETTABLE_UNIT_STATUSES, aliases)
        if status is None:
            errors["status"] = Message(N_("Unknown status: {value}. Choose one of: {choices}."),
                                       {"value": text(values.get("status")),
                                        "choices": ", ".join(SETTABLE_UNIT_STATUSES)})
    depot = _optional(values, "depot", 64, errors)
    return {"asset_tag": tag, "device_type": device_type, "model": model, "status": status,
            "depot": depot}, errors


def parse_local_datetime(raw: Any, zone: tzinfo) -> datetime | None:
    """'2026-12-24 19:30' (or with T, seconds, slashes; or a spreadsheet datetime) in the
    company's zone (D1), as an aware instant. Raises ValueError."""
    if isinstance(raw, datetime):
        value = raw
    else:
        raw_text = text(raw).replace("/", "-").replace("T", " ")
        if not raw_text:
            return None
        for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                value = datetime.strptime(raw_text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(raw_text)
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def split_tags(raw: Any) -> list[str]:
    """Asset tags in one cell: separated by commas, semicolons, 、 or spaces; upper case."""
    value = text(raw)
    for sep in (",", ";", "，", "；", "、", "\n"):
        value = value.replace(sep, " ")
    tags: list[str] = []
    for tag in value.split():
        tag = tag.upper()
        if tag not in tags:
            tags.append(tag)
    return tags


def clean_order(values: Mapping[str, Any], zone: tzinfo) -> tuple[dict[str, Any], Errors]:
    """A rental order: number (its natural key), customer (name + phone), contact, venue
    name, usage scenario (S3), start/end in local time, and its units' asset tags."""
    errors: Errors = {}
    order_no = "".join(text(values.get("order_no")).split()).upper()
    if not order_no:
        errors["order_no"] = Message(N_("Enter the order number."))
    elif len(order_no) > 32:
        errors["order_no"] = Message(N_("At most {n} characters."), {"n": 32})
    out: dict[str, Any] = {
        "order_no": order_no,
        "customer_name": _required(values, "customer_name", 128, errors,
                                   N_("Enter the customer's name.")),
        "customer_phone": _phone(values, "customer_phone", errors, required=True),
        "contact_name": _optional(values, "contact_name", 64, errors),
        "contact_phone": _phone(values, "contact_phone", errors, required=False),
        "venue": _optional(values, "venue", 128, errors),
        "scenario": _optional(values, "scenario", 128, errors),
        "units": split_tags(values.get("units")),
    }
    for name in ("starts_at", "ends_at"):
        try:
            out[name] = parse_local_datetime(values.get(name), zone)
        except ValueError:
            errors[name] = Message(N_("Not a date and time: {value} (write 2026-12-24 19:30)."),
                                   {"value": text(values.get(name))})
            out[name] = None
    if out.get("starts_at") and out.get("ends_at") and out["ends_at"] <= out["starts_at"]:
        errors["ends_at"] = Message(N_("The end must come after the start."))
    return out, errors
