"""S3, S4, D4, D8a: the request form's rules and proposals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.intake import (
    MAX_LENGTHS,
    SYMPTOM_KINDS,
    Proposal,
    normalize_phone,
    parse_instant,
    propose_classification,
    propose_priority,
    validate_request,
)
from server.domain.text import Message

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 1, 20, 0, tzinfo=SH)


def valid_form(**overrides) -> dict:
    form = {
        "channel": "hotline",
        "received_at": "2026-05-01T19:58",
        "customer_name": "Starlight Media",
        "contact_name": "Ms Wang",
        "phone": "138 1234 5678",
        "address": "Hall 3, Expo Centre",
        "device_type": "encoder",
        "device_model": "LiveU Solo",
        "order_no": "RO-2026-0415",
        "scenario": "product launch",
        "symptom": "stream fails to push",
        "symptom_kind": "push_failed",
        "fault_started_at": "2026-05-01T19:50",
        "stream_state": "upcoming",
        "stream_starts_at": "2026-05-01T21:00",
    }
    form.update(overrides)
    return form


# -- D4 priority --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "starts_in", "priority"),
    [
        ("live", None, "P1"),
        ("live", timedelta(hours=-2), "P1"),
        ("upcoming", timedelta(minutes=30), "P2"),
        ("upcoming", timedelta(hours=24), "P2"),  # exactly 24 h is within
        ("upcoming", timedelta(hours=24, seconds=1), "P3"),
        ("upcoming", timedelta(days=3), "P3"),
        ("upcoming", timedelta(minutes=-5), "P1"),  # its start has passed: on air now
        ("upcoming", None, "P3"),
        ("none", None, "P3"),
        ("none", timedelta(hours=1), "P3"),
    ],
)
def test_propose_priority(state, starts_in, priority) -> None:
    starts_at = None if starts_in is None else NOW + starts_in
    assert propose_priority(state, starts_at, NOW) == priority


def test_priority_window_is_a_setting() -> None:
    starts_at = NOW + timedelta(hours=30)
    assert propose_priority("upcoming", starts_at, NOW) == "P3"
    assert propose_priority("upcoming", starts_at, NOW, p2_window=timedelta(hours=36)) == "P2"


def test_priority_with_utc_start() -> None:
    assert propose_priority("upcoming", (NOW + timedelta(hours=2)).astimezone(UTC), NOW) == "P2"


# -- S4 classification and D8a ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "classification"),
    [
        ("no_power", "onsite"),
        ("physical_damage", "onsite"),
        ("cabling", "onsite"),
        ("settings", "remote"),
        ("operation", "remote"),
        ("push_failed", "remote"),
        ("no_signal", "remote"),
        ("other", "remote"),
        (None, "remote"),
    ],
)
def test_classification_from_symptom(kind, classification) -> None:
    proposal = propose_classification("camera", kind)
    assert proposal.classification == classification
    assert proposal.priority == "P3"
    assert proposal.start_remote_now is (classification == "remote")
    assert proposal.hold_reserve_unit is False  # nothing is on air


def test_live_hardware_fault_dispatches_holds_a_unit_and_guides_at_once() -> None:
    proposal = propose_classification("camera", "no_power", "live", now=NOW)
    assert proposal == Proposal("onsite", "P1", start_remote_now=True, hold_reserve_unit=True)


def test_live_settings_fault_still_dispatches_at_once_without_a_unit() -> None:
    # D8a: a live stream starts remote guidance and onsite dispatch at once
    proposal = propose_classification("encoder", "settings", "live", now=NOW)
    assert proposal == Proposal("onsite", "P1", start_remote_now=True, hold_reserve_unit=False)


def test_live_without_now_is_p1() -> None:
    assert propose_classification("mixer", "physical_damage", "live").priority == "P1"


def test_upcoming_stream_sets_p2() -> None:
    proposal = propose_classification(
        "mixer", "cabling", "upcoming", NOW + timedelta(hours=3), now=NOW
    )
    assert proposal == Proposal("onsite", "P2", start_remote_now=False, hold_reserve_unit=False)


def test_upcoming_stream_already_started_is_treated_as_live() -> None:
    proposal = propose_classification(
        "audio", "physical_damage", "upcoming", NOW - timedelta(minutes=1), now=NOW
    )
    assert proposal == Proposal("onsite", "P1", start_remote_now=True, hold_reserve_unit=True)


@pytest.mark.parametrize(
    "args",
    [
        ("drone", "no_power", "none"),
        ("camera", "melted", "none"),
        ("camera", "no_power", "maybe"),
        ("camera", "no_power", "upcoming"),  # needs now
    ],
)
def test_propose_classification_refuses_unknown_values(args) -> None:
    with pytest.raises(ValueError):
        propose_classification(*args)


def test_every_symptom_kind_is_classified() -> None:
    for kind, (classification, _) in SYMPTOM_KINDS.items():
        assert propose_classification("other", kind).classification == classification


# -- phone numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("021-12345678", "021-12345678"),
        ("02112345678", "021-12345678"),
        ("(021) 1234 5678", "021-12345678"),
        ("010-87654321", "010-87654321"),
        ("0571-87654321", "0571-87654321"),
        ("0571-8765432", "0571-8765432"),
        ("+86 21 1234 5678", "021-12345678"),
        ("400-123-4567", "400-123-4567"),
        ("4001234567", "400-123-4567"),
        ("800 123 4567", "800-123-4567"),
    ],
)
def test_normalize_phone(raw, normal) -> None:
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "12812345678",  # second digit 2 is not a mobile prefix
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12345678",  # landline without area code
        "021-0123456",  # local number cannot start with 0
        "021-123456",  # too short
        "40012345",
        "call me",
        "0755-12345678x12",
    ],
)
def test_normalize_phone_refuses(raw) -> None:
    assert normalize_phone(raw) is None


# -- date-times from the form -------------------------------------------------------------------


def test_parse_instant() -> None:
    assert parse_instant("2026-05-01T20:00") == NOW  # datetime-local: Shanghai time
    assert parse_instant("2026-05-01 20:00") == NOW
    assert parse_instant("2026-05-01T12:00:00Z") == NOW
    assert parse_instant(datetime(2026, 5, 1, 20, 0)) == NOW
    assert parse_instant(NOW.astimezone(UTC)) == NOW
    assert parse_instant("tonight") is None
    assert parse_instant(42) is None


# -- S3 validation --------------------------------------------------------------------------------


def test_a_complete_form_has_no_errors() -> None:
    assert validate_request(valid_form(), NOW) == {}


def test_optional_fields_may_be_left_out() -> None:
    form = valid_form(stream_state="none", stream_starts_at="")
    for name in ("address", "device_model", "order_no", "scenario", "symptom_kind"):
        form.pop(name)
    form["fault_started_at"] = ""
    form["received_at"] = None
    assert validate_request(form, NOW) == {}


def test_missing_stream_state_means_not_affected() -> None:
    assert validate_request(valid_form(stream_state="", stream_starts_at=""), NOW) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_name", ""),
        ("customer_name", "   "),
        ("contact_name", None),
        ("phone", ""),
        ("phone", "12345"),
        ("phone", "555-0100"),
        ("device_type", ""),
        ("device_type", "drone"),
        ("symptom", ""),
        ("symptom_kind", "melted"),
        ("channel", ""),
        ("channel", "email"),
        ("stream_state", "sometimes"),
        ("received_at", "2026-05-01T20:02"),  # later than now
        ("received_at", "yesterday"),
        ("fault_started_at", "2026-05-01T21:00"),
        ("stream_starts_at", ""),  # required for an upcoming stream
        ("stream_starts_at", "2026-05-01T19:00"),  # in the past
        ("stream_starts_at", "soon"),
    ],
)
def test_each_bad_field_is_named(field, value) -> None:
    errors = validate_request(valid_form(**{field: value}), NOW)
    assert list(errors) == [field]
    assert isinstance(errors[field], Message)
    assert errors[field].render()  # placeholders all filled


def test_missing_keys_count_as_empty() -> None:
    errors = validate_request({}, NOW)
    assert set(errors) == {
        "customer_name",
        "contact_name",
        "phone",
        "device_type",
        "symptom",
        "channel",
    }


def test_clock_tolerance_of_60_seconds() -> None:
    assert validate_request(valid_form(received_at=NOW + timedelta(seconds=60)), NOW) == {}
    late = valid_form(received_at=NOW + timedelta(seconds=61))
    assert list(validate_request(late, NOW)) == ["received_at"]
    just_started = valid_form(stream_starts_at=NOW - timedelta(seconds=30))
    assert validate_request(just_started, NOW) == {}


def test_received_at_in_utc_is_compared_as_an_instant() -> None:
    assert validate_request(valid_form(received_at="2026-05-01T11:59:00Z"), NOW) == {}
    assert "received_at" in validate_request(valid_form(received_at="2026-05-01T12:05Z"), NOW)


def test_stream_start_not_needed_unless_upcoming() -> None:
    for state in ("live", "none"):
        form = valid_form(stream_state=state, stream_starts_at="2020-01-01T00:00")
        assert validate_request(form, NOW) == {}


@pytest.mark.parametrize("field", sorted(set(MAX_LENGTHS) - {"phone"}))
def test_overlong_text_is_refused(field) -> None:
    limit = MAX_LENGTHS[field]
    errors = validate_request(valid_form(**{field: "x" * (limit + 1)}), NOW)
    assert list(errors) == [field]
    assert errors[field].params == {"limit": limit}
    assert str(limit) in errors[field].render()
    assert validate_request(valid_form(**{field: "x" * limit}), NOW) == {}


def test_overlong_phone_is_refused_even_if_it_reads_as_a_number() -> None:
    spaced = "   ".join("13812345678")
    assert len(spaced) > MAX_LENGTHS["phone"] and normalize_phone(spaced) == "13812345678"
    assert list(validate_request(valid_form(phone=spaced), NOW)) == ["phone"]


def test_messages_are_english_msgids() -> None:
    errors = validate_request({}, NOW)
    for message in errors.values():
        assert message.msgid.isascii()
