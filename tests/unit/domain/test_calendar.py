"""S1, D1, D2: special periods on the official Chinese schedule, in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.calendar import DayOverride, SpecialCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = SpecialCalendar()


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


# -- the 2026 official schedule (D2) ---------------------------------------------------


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2026, 1, 1), "holiday"),  # New Year's Day, a Thursday
        (date(2026, 1, 2), "holiday"),  # Friday, moved day off
        (date(2026, 1, 3), "holiday"),  # Saturday inside the block
        (date(2026, 1, 4), "workday"),  # Sunday, make-up working day
        (date(2026, 2, 7), "weekend"),  # ordinary Saturday
        (date(2026, 2, 8), "weekend"),  # ordinary Sunday
        (date(2026, 2, 13), "workday"),  # ordinary Friday
        (date(2026, 2, 14), "workday"),  # Saturday, make-up working day
        (date(2026, 2, 15), "holiday"),  # Spring Festival block starts (a Sunday)
        (date(2026, 2, 17), "holiday"),  # Chinese New Year's Day, a Tuesday
        (date(2026, 2, 20), "holiday"),  # Friday
        (date(2026, 2, 23), "holiday"),  # Monday, last day off
        (date(2026, 2, 24), "workday"),
        (date(2026, 2, 28), "workday"),  # Saturday, make-up working day
        (date(2026, 5, 1), "holiday"),  # Labour Day, a Friday
        (date(2026, 5, 5), "holiday"),  # Tuesday
        (date(2026, 5, 6), "workday"),
        (date(2026, 5, 9), "workday"),  # Saturday, make-up working day
        (date(2026, 9, 20), "workday"),  # Sunday, make-up for National Day
        (date(2026, 10, 1), "holiday"),  # National Day, a Thursday
        (date(2026, 10, 7), "holiday"),  # Wednesday
        (date(2026, 10, 8), "workday"),
        (date(2026, 10, 10), "workday"),  # Saturday, make-up working day
        (date(2026, 10, 11), "weekend"),  # ordinary Sunday
        (date(2026, 12, 25), "workday"),  # Christmas is not a statutory holiday
    ],
)
def test_day_kind_2026(day: date, kind: str) -> None:
    assert CAL.day_kind(day) == kind


def test_spring_festival_2026_block() -> None:
    block = [d for d in (date(2026, 2, 1) + timedelta(n) for n in range(28)) if CAL.holiday_name(d)]
    assert block[0] == date(2026, 2, 15)
    assert block[-1] == date(2026, 2, 23)
    assert len(block) == 9
    assert {CAL.holiday_name(d) for d in block} == {"Spring Festival"}


def test_national_day_2026_is_seven_days() -> None:
    days = [date(2026, 10, n) for n in range(1, 8)]
    assert all(CAL.day_kind(d) == "holiday" for d in days)
    assert CAL.holiday_name(date(2026, 10, 1)) == "National Day"


def test_holiday_name_is_none_on_workdays_weekends_and_makeup_days() -> None:
    assert CAL.holiday_name(date(2026, 2, 14)) is None  # make-up day for Spring Festival
    assert CAL.holiday_name(date(2026, 2, 7)) is None
    assert CAL.holiday_name(date(2026, 3, 3)) is None


def test_makeup_workday() -> None:
    assert CAL.is_makeup_workday(date(2026, 2, 14))
    assert CAL.is_makeup_workday(date(2026, 2, 28))
    assert not CAL.is_makeup_workday(date(2026, 2, 7))  # ordinary Saturday
    assert not CAL.is_makeup_workday(date(2026, 2, 13))  # ordinary Friday


# -- is_special: S1 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "special"),
    [
        # an ordinary workday (Tuesday 2026-03-03): only the night is special
        (at(2026, 3, 3, 7, 59, 59), True),
        (at(2026, 3, 3, 8, 0, 0), False),
        (at(2026, 3, 3, 12, 0, 0), False),
        (at(2026, 3, 3, 17, 59, 59), False),
        (at(2026, 3, 3, 18, 0, 0), True),
        (at(2026, 3, 3, 23, 59, 59), True),
        (at(2026, 3, 4, 0, 0, 0), True),
        # an ordinary Saturday: all day
        (at(2026, 3, 7, 8, 0, 0), True),
        (at(2026, 3, 7, 12, 0, 0), True),
        (at(2026, 3, 7, 17, 59, 59), True),
        # a make-up working Saturday: only the night (D2)
        (at(2026, 2, 14, 7, 59, 59), True),
        (at(2026, 2, 14, 8, 0, 0), False),
        (at(2026, 2, 14, 12, 0, 0), False),
        (at(2026, 2, 14, 17, 59, 59), False),
        (at(2026, 2, 14, 18, 0, 0), True),
        (at(2026, 2, 28, 10, 0, 0), False),
        # a holiday weekday: all day (D2)
        (at(2026, 10, 1, 10, 0, 0), True),  # Thursday
        (at(2026, 2, 17, 8, 0, 0), True),  # Tuesday, Spring Festival
        (at(2026, 5, 5, 17, 59, 59), True),
        # the morning after a holiday belongs to its night, then office hours
        (at(2026, 10, 8, 7, 59, 59), True),
        (at(2026, 10, 8, 8, 0, 0), False),
    ],
)
def test_is_special(instant: datetime, special: bool) -> None:
    assert CAL.is_special(instant) is special


def test_utc_input_is_read_in_shanghai_time() -> None:
    # 2026-03-03 09:59:59Z is 17:59:59 in Shanghai, 10:00Z is 18:00
    assert not CAL.is_special(datetime(2026, 3, 3, 9, 59, 59, tzinfo=UTC))
    assert CAL.is_special(datetime(2026, 3, 3, 10, 0, 0, tzinfo=UTC))
    # 2026-03-03 23:59:59Z is 07:59:59 on the 4th in Shanghai; 00:00Z is 08:00
    assert CAL.is_special(datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC))
    assert not CAL.is_special(datetime(2026, 3, 4, 0, 0, 0, tzinfo=UTC))
    # Thursday 30 Sep 2026 20:00Z is 1 Oct 04:00 local: the night of 30 Sep
    slot = CAL.slot_at(datetime(2026, 9, 30, 20, 0, tzinfo=UTC))
    assert slot is not None and (slot.day, slot.kind) == (date(2026, 9, 30), "night")


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.is_special(datetime(2026, 3, 3, 12, 0))
    with pytest.raises(ValueError):
        CAL.slot_at(datetime(2026, 3, 3, 12, 0))


# -- slot_at ---------------------------------------------------------------------------


def test_early_morning_belongs_to_the_previous_night() -> None:
    slot = CAL.slot_at(at(2026, 5, 2, 2, 0))
    assert slot is not None
    assert (slot.day, slot.kind, slot.day_kind) == (date(2026, 5, 1), "night", "holiday")
    assert slot.starts_at == at(2026, 5, 1, 18, 0)
    assert slot.ends_at == at(2026, 5, 2, 8, 0)
    assert slot.hours == 14


def test_holiday_daytime_belongs_to_the_day_slot() -> None:
    slot = CAL.slot_at(at(2026, 10, 1, 10, 0))
    assert slot is not None
    assert (slot.day, slot.kind, slot.day_kind) == (date(2026, 10, 1), "day", "holiday")
    assert (slot.starts_at, slot.ends_at) == (at(2026, 10, 1, 8, 0), at(2026, 10, 1, 18, 0))
    assert slot.hours == 10


def test_workday_office_hours_have_no_slot() -> None:
    assert CAL.slot_at(at(2026, 3, 3, 10, 0)) is None
    assert CAL.slot_at(at(2026, 2, 14, 10, 0)) is None  # make-up working Saturday


def test_makeup_saturday_night_is_a_workday_night() -> None:
    slot = CAL.slot_at(at(2026, 2, 14, 22, 0))
    assert slot is not None and (slot.kind, slot.day_kind) == ("night", "workday")


def test_slot_boundaries_are_half_open() -> None:
    assert CAL.slot_at(at(2026, 3, 7, 18, 0)).kind == "night"
    assert CAL.slot_at(at(2026, 3, 7, 17, 59, 59)).kind == "day"
    assert CAL.slot_at(at(2026, 3, 8, 8, 0)).kind == "day"
    assert CAL.slot_at(at(2026, 3, 8, 7, 59, 59)).day == date(2026, 3, 7)


def test_day_slot_refuses_a_workday() -> None:
    with pytest.raises(ValueError):
        CAL.day_slot(date(2026, 3, 3))


# -- slots_between / month_slots ----------------------------------------------------


def test_slots_between_orders_day_then_night() -> None:
    slots = CAL.slots_between(date(2026, 2, 13), date(2026, 2, 15))
    assert [(s.day, s.kind, s.day_kind) for s in slots] == [
        (date(2026, 2, 13), "night", "workday"),
        (date(2026, 2, 14), "night", "workday"),  # make-up Saturday: no day shift
        (date(2026, 2, 15), "day", "holiday"),
        (date(2026, 2, 15), "night", "holiday"),
    ]
    assert slots == sorted(slots, key=lambda s: s.starts_at)


def test_slots_between_empty_when_reversed() -> None:
    assert CAL.slots_between(date(2026, 3, 2), date(2026, 3, 1)) == []


def test_month_slots_february_2026() -> None:
    slots = CAL.month_slots(2026, 2)
    nights = [s for s in slots if s.kind == "night"]
    days = [s for s in slots if s.kind == "day"]
    assert len(nights) == 28
    # weekends 1, 7, 8, 21, 22 are counted in the holiday block where they fall;
    # rest days: 1, 7, 8, 15-23 -> 12 day shifts (14 and 28 are make-up working days)
    assert [s.day.day for s in days] == [1, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22, 23]
    assert slots[0].starts_at == at(2026, 2, 1, 8, 0)
    assert slots[-1].ends_at == at(2026, 3, 1, 8, 0)


def test_month_slots_december_wraps_the_year() -> None:
    slots = CAL.month_slots(2026, 12)
    assert slots[-1].day == date(2026, 12, 31)
    assert slots[-1].ends_at == at(2027, 1, 1, 8, 0)


def test_slots_are_contiguous_over_a_holiday() -> None:
    slots = CAL.slots_between(date(2026, 10, 1), date(2026, 10, 7))
    for a, b in zip(slots, slots[1:], strict=False):
        assert a.ends_at == b.starts_at  # a holiday week is special around the clock


# -- a year the package does not cover (D2) ---------------------------------------------


def test_uncovered_year_falls_back_to_weekends() -> None:
    assert not CAL.is_covered(2031)
    assert CAL.is_covered(2026)
    assert CAL.day_kind(date(2031, 1, 1)) == "workday"  # a Wednesday; no data, no holiday
    assert CAL.day_kind(date(2031, 1, 4)) == "weekend"  # Saturday
    assert CAL.holiday_name(date(2031, 1, 1)) is None
    assert CAL.is_special(at(2031, 1, 4, 12, 0))
    assert not CAL.is_special(at(2031, 1, 1, 12, 0))
    assert len(CAL.month_slots(2031, 1)) == 31 + 8  # 8 weekend days in January 2031


def test_missing_years_for_the_manager_warning() -> None:
    assert CAL.missing_years([2026, 2031, 2027, 2031]) == [2027, 2031]
    assert CAL.missing_years(range(2024, 2027)) == []


def test_override_makes_a_day_a_holiday_in_an_uncovered_year() -> None:
    cal = SpecialCalendar(
        {
            date(2031, 1, 1): DayOverride(date(2031, 1, 1), "holiday", "New Year"),
            date(2031, 1, 4): DayOverride(date(2031, 1, 4), "workday"),
        }
    )
    assert cal.day_kind(date(2031, 1, 1)) == "holiday"
    assert cal.holiday_name(date(2031, 1, 1)) == "New Year"
    assert cal.is_special(at(2031, 1, 1, 12, 0))
    assert cal.day_kind(date(2031, 1, 4)) == "workday"
    assert cal.is_makeup_workday(date(2031, 1, 4))
    assert not cal.is_special(at(2031, 1, 4, 12, 0))
    # entering days by hand does not silence the warning: the year may be incomplete
    assert cal.missing_years([2031]) == [2031]
    assert cal.override_count(2031) == 2


def test_override_wins_over_the_package() -> None:
    cal = SpecialCalendar([DayOverride(date(2026, 2, 14), "holiday", "Company day")])
    assert cal.day_kind(date(2026, 2, 14)) == "holiday"
    assert cal.holiday_name(date(2026, 2, 14)) == "Company day"
    assert cal.is_special(at(2026, 2, 14, 12, 0))
    assert CAL.day_kind(date(2026, 2, 14)) == "workday"  # other calendars untouched


def test_override_without_name_has_no_holiday_name() -> None:
    cal = SpecialCalendar([DayOverride(date(2031, 5, 1), "holiday")])
    assert cal.holiday_name(date(2031, 5, 1)) is None


def test_override_key_must_match_its_day() -> None:
    with pytest.raises(ValueError):
        SpecialCalendar({date(2031, 1, 1): DayOverride(date(2031, 1, 2), "holiday")})


def test_override_kind_is_checked() -> None:
    with pytest.raises(ValueError):
        DayOverride(date(2031, 1, 1), "festival")  # type: ignore[arg-type]


def test_night_hours_are_settings() -> None:
    cal = SpecialCalendar(night_start=time(20), night_end=time(7))
    assert not cal.is_special(at(2026, 3, 3, 19, 0))
    assert cal.is_special(at(2026, 3, 3, 20, 0))
    assert not cal.is_special(at(2026, 3, 3, 7, 0))
    slot = cal.slot_at(at(2026, 3, 7, 7, 30))
    assert slot is not None and slot.kind == "day" and slot.hours == 13
    with pytest.raises(ValueError):
        SpecialCalendar(night_start=time(8), night_end=time(18))


# -- properties ------------------------------------------------------------------------

PROPERTY_CAL = SpecialCalendar([DayOverride(date(2031, 3, 5), "holiday", "Test day")])

instants = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2031, 12, 31),
    timezones=st.sampled_from([UTC, SH, ZoneInfo("America/New_York")]),
)


@settings(max_examples=300)
@given(instants)
def test_slot_at_contains_the_instant(instant: datetime) -> None:
    slot = PROPERTY_CAL.slot_at(instant)
    assert PROPERTY_CAL.is_special(instant) == (slot is not None)
    if slot is not None:
        assert slot.starts_at <= instant < slot.ends_at
        assert slot in PROPERTY_CAL.slots_between(slot.day, slot.day)


@settings(max_examples=50)
@given(st.dates(min_value=date(2025, 12, 1), max_value=date(2031, 12, 1)), st.integers(0, 40))
def test_slots_never_overlap(first: date, length: int) -> None:
    slots = PROPERTY_CAL.slots_between(first, first + timedelta(days=length))
    assert len({s.key for s in slots}) == len(slots)
    for a, b in zip(slots, slots[1:], strict=False):
        assert a.ends_at <= b.starts_at


@settings(max_examples=100)
@given(st.dates(min_value=date(2025, 12, 1), max_value=date(2031, 12, 1)))
def test_every_slot_owns_its_own_instants(day: date) -> None:
    for slot in PROPERTY_CAL.slots_between(day, day):
        for instant in (slot.starts_at, slot.ends_at - timedelta(seconds=1)):
            assert PROPERTY_CAL.slot_at(instant) == slot


def test_office_hours_on_working_days_makeup_saturdays_not_holidays():
    """D17: office hours are the daytime of an official working day."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from server.domain.calendar import OfficeHours, SpecialCalendar

    sh = ZoneInfo("Asia/Shanghai")
    cal, hours = SpecialCalendar(), OfficeHours.parse("08:00-18:00")
    at = lambda d, h, m=0: datetime(d.year, d.month, d.day, h, m, tzinfo=sh)  # noqa: E731
    monday, makeup, holiday, sunday = (date(2026, 12, 7), date(2026, 10, 10), date(2026, 10, 1),
                                       date(2026, 12, 6))
    assert cal.office_hours_at(at(monday, 13, 26), hours) == at(monday, 18)
    assert cal.office_hours_at(at(makeup, 9), hours) == at(makeup, 18)
    assert cal.office_hours_at(at(holiday, 13), hours) is None
    assert cal.office_hours_at(at(sunday, 13), hours) is None
    assert cal.office_hours_at(at(monday, 7, 59), hours) is None
    assert cal.office_hours_at(at(monday, 18), hours) is None  # the night shift starts
    assert str(OfficeHours.parse(" 09:00 - 17:30 ")) == "09:00-17:30"
    import pytest

    for bad in ("", "9-5", "18:00-08:00", "08:00"):
        with pytest.raises(ValueError):
            OfficeHours.parse(bad)
