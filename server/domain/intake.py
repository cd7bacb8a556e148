"""The request form's rules: what must be filled in, and what the agent is proposed.

S3 lists the form's fields; S4 has the agent classify a request as remote-handleable or
onsite-needed; D4 sets the priority from the affected stream; D8a starts remote
guidance and onsite dispatch at once for a stream that is live now. Field names match
``SupportRequest``. Proposals are only proposals: the agent can change them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from server.domain.bounds import year_ok
from server.domain.sla import Priority
from server.domain.text import N_, Message

StreamState = Literal["live", "upcoming", "none"]
Classification = Literal["remote", "onsite"]

STREAM_STATES: tuple[StreamState, ...] = ("live", "upcoming", "none")
DEVICE_TYPES = ("camera", "encoder", "mixer", "audio", "other")
CHANNELS = ("hotline", "wechat", "wecom", "other")

# S4: what each kind of symptom usually needs, and whether it looks like a broken unit
# (D8a: hold a reserve unit). The first three are the common faults of S8a.
SYMPTOM_KINDS: Mapping[str, tuple[Classification, bool]] = {
    "no_power": ("onsite", True),  # will not power on
    "no_signal": ("remote", False),  # signal lost: inputs and settings first
    "push_failed": ("remote", False),  # stream fails to push: network, keys, settings
    "physical_damage": ("onsite", True),  # dropped, broken port, burnt smell
    "cabling": ("onsite", False),  # cabling at the venue
    "settings": ("remote", False),  # simple settings
    "operation": ("remote", False),  # how to operate it
    "other": ("remote", False),  # triage by phone first
}

# Column sizes of ``SupportRequest``: longer input is refused, never cut.
MAX_LENGTHS = {
    "customer_name": 128,
    "contact_name": 64,
    "phone": 32,
    "address": 256,
    "device_model": 64,
    "order_no": 32,
    "scenario": 128,
}
CLOCK_TOLERANCE = timedelta(seconds=60)  # a browser clock a little ahead is not an error


# -- D4 priority and S4 classification ------------------------------------------------------


def propose_priority(
    stream_state: StreamState,
    stream_starts_at: datetime | None,
    now: datetime,
    p2_window: timedelta = timedelta(hours=24),
) -> Priority:
    """D4: P1 when a stream is affected now; P2 when one starts within 24 h; else P3.

    An 'upcoming' stream whose start has passed is on air by now, so it is P1.
    """
    if stream_state == "live":
        return "P1"
    if stream_state == "upcoming" and stream_starts_at is not None:
        if stream_starts_at <= now:
            return "P1"
        if stream_starts_at - now <= p2_window:
            return "P2"
    return "P3"


@dataclass(frozen=True)
class Proposal:
    """What the form proposes to the agent (S4, D4, D8a).

    ``start_remote_now``: a remote engineer engages at once (the remote handling itself,
    or guidance while the onsite engineer travels). ``hold_reserve_unit``: ask the
    equipment department to hold a spare before anyone reaches the venue.
    """

    classification: Classification
    priority: Priority
    start_remote_now: bool
    hold_reserve_unit: bool


def looks_like_hardware(symptom_kind: str | None) -> bool:
    return SYMPTOM_KINDS.get(symptom_kind or "other", SYMPTOM_KINDS["other"])[1]


def propose_classification(
    device_type: str,
    symptom_kind: str | None,
    stream_state: StreamState = "none",
    stream_starts_at: datetime | None = None,
    now: datetime | None = None,
) -> Proposal:
    """S4 from the symptom kind; D8a for a stream that is live now.

    A live stream cannot wait for remote triage to fail: both remote guidance and
    onsite dispatch start at once, and a reserve unit is held if the fault looks like
    hardware. Otherwise hardware damage and venue cabling go onsite, the rest remote.
    The device type does not change the proposal today; it is checked so a typo in a
    caller cannot slip through.
    """
    if device_type not in DEVICE_TYPES:
        raise ValueError(f"unknown device type {device_type!r}")
    if symptom_kind is not None and symptom_kind not in SYMPTOM_KINDS:
        raise ValueError(f"unknown symptom kind {symptom_kind!r}")
    if stream_state not in STREAM_STATES:
        raise ValueError(f"unknown stream state {stream_state!r}")
    if stream_state == "upcoming" and now is None:
        raise ValueError("an upcoming stream needs 'now' to set the priority")
    if now is not None:
        priority = propose_priority(stream_state, stream_starts_at, now)
    else:
        priority = "P1" if stream_state == "live" else "P3"
    classification, hardware = SYMPTOM_KINDS[symptom_kind or "other"]
    if priority == "P1":  # D8a: live now (or an upcoming stream already on air)
        return Proposal("onsite", "P1", start_remote_now=True, hold_reserve_unit=hardware)
    return Proposal(
        classification,
        priority,
        start_remote_now=classification == "remote",
        hold_reserve_unit=False,
    )


# -- phone numbers ---------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9]\d{9}")
_SERVICE = re.compile(r"(400|800)(\d{3})(\d{4})")
_LANDLINE = re.compile(r"0\d{9,11}")
_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_phone(raw: str | None) -> str | None:
    """A mainland number in one written form, or None if it is not one.

    Mobiles become 11 digits (13812345678); landlines keep their area code with a dash
    (021-12345678, 0571-8765432); 400/800 numbers become 400-123-4567. A +86 / 0086
    prefix is dropped (a landline written internationally gets its leading 0 back).
    """
    if raw is None:
        return None
    digits = _SEPARATORS.sub("", raw.strip())
    international = False
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits, international = digits[len(prefix) :], True
            break
    else:
        if len(digits) == 13 and digits.startswith("861"):
            digits, international = digits[2:], True
    if not digits.isdigit():
        return None
    if international and not digits.startswith(("1", "400", "800", "0")):
        digits = "0" + digits
    if _MOBILE.fullmatch(digits):
        return digits
    if m := _SERVICE.fullmatch(digits):
        return "-".join(m.groups())
    if _LANDLINE.fullmatch(digits):
        area_len = 3 if digits[1] in "12" else 4  # 010 and 020-029 are the short codes
        area, local = digits[:area_len], digits[area_len:]
        if 7 <= len(local) <= 8 and local[0] != "0":
            return f"{area}-{local}"
    return None


# -- date and time fields -----------------------------------------------------------------


def parse_instant(value: Any, tz_name: str = "Asia/Shanghai") -> datetime | None:
    """A form's date-time as an aware datetime; None when it cannot be read.

    ``<input type=datetime-local>`` sends local time without a zone: it is read in the
    service's time zone (D1). A year outside ``bounds.MIN_YEAR..MAX_YEAR`` is unreadable.
    Raises nothing, so validation can say which field is bad.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if not year_ok(parsed.year):  # year 0001 or 9999: no clock can run from there (issue 11)
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))
    return parsed


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- S3: the form ------------------------------------------------------------------------


def validate_request(
    form: Mapping[str, Any], now: datetime, tz_name: str = "Asia/Shanghai"
) -> dict[str, Message]:
    """S3: field errors of a request form, by field name; empty when it can be saved.

    Values may be raw strings from a form or already-typed values.
    """
    errors: dict[str, Message] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    if _blank(form.get("customer_name")):
        errors["customer_name"] = Message(N_("Enter the customer's name."))
    if _blank(form.get("contact_name")):
        errors["contact_name"] = Message(N_("Enter the contact person."))
    if _blank(form.get("phone")):
        errors["phone"] = Message(N_("Enter a phone number."))
    elif normalize_phone(text("phone")) is None:
        errors["phone"] = Message(
            N_(
                "Enter a mainland mobile number (11 digits), a landline with its area "
                "code such as 021-12345678, or a 400 number."
            )
        )
    for name, limit in MAX_LENGTHS.items():
        if name not in errors and len(text(name)) > limit:
            errors[name] = Message(N_("Keep this under {limit} characters."), {"limit": limit})

    if _blank(form.get("device_type")) or text("device_type") not in DEVICE_TYPES:
        errors["device_type"] = Message(N_("Choose the device type."))
    if _blank(form.get("symptom")):
        errors["symptom"] = Message(N_("Describe the fault."))
    if not _blank(form.get("symptom_kind")) and text("symptom_kind") not in SYMPTOM_KINDS:
        errors["symptom_kind"] = Message(N_("Choose one of the listed kinds of fault."))
    if _blank(form.get("channel")) or text("channel") not in CHANNELS:
        errors["channel"] = Message(N_("Choose the channel the request came in by."))

    _check_times(form, now, tz_name, errors)
    return errors


def _check_times(
    form: Mapping[str, Any], now: datetime, tz_name: str, errors: dict[str, Message]
) -> None:
    unreadable = Message(N_("Enter a date and time such as 2026-05-01 20:30."))
    latest = now + CLOCK_TOLERANCE

    received = form.get("received_at")
    if not _blank(received):
        at = parse_instant(received, tz_name)
        if at is None:
            errors["received_at"] = unreadable
        elif at > latest:
            errors["received_at"] = Message(N_("The time received cannot be later than now."))

    started = form.get("fault_started_at")
    if not _blank(started):
        at = parse_instant(started, tz_name)
        if at is None:
            errors["fault_started_at"] = unreadable
        elif at > latest:
            errors["fault_started_at"] = Message(N_("The fault cannot start in the future."))

    state = form.get("stream_state")
    state = "none" if _blank(state) else str(state).strip()
    if state not in STREAM_STATES:
        errors["stream_state"] = Message(N_("Choose whether a live stream is affected."))
    elif state == "upcoming":
        value = form.get("stream_starts_at")
        at = None if _blank(value) else parse_instant(value, tz_name)
        if _blank(value):
            errors["stream_starts_at"] = Message(N_("Enter when the stream starts."))
        elif at is None:
            errors["stream_starts_at"] = unreadable
        elif at < now - CLOCK_TOLERANCE:
            errors["stream_starts_at"] = Message(
                N_("This start time has passed: if the stream is on air, choose live now.")
            )
