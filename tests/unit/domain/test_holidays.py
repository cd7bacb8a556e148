"""D16: the statutory holidays from the rule, checked against the official schedules.

国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号) and the 2026 notice
(国办发明电〔2025〕7号) list each break; the statutory days inside them are below.
"""

from datetime import date, timedelta

import pytest

from server.domain.calendar import SpecialCalendar
from server.domain.holidays import statutory_days, statutory_name
from server.domain.roster import Assignment, hours_report

OFFICIAL_STATUTORY = {
    2025: ["01-01", "01-28", "01-29", "01-30", "01-31", "04-04", "05-01", "05-02", "05-31",
           "10-01", "10-02", "10-03", "10-06"],
    2026: ["01-01", "02-16", "02-17", "02-18", "02-19", "04-05", "05-01", "05-02", "06-19",
           "09-25", "10-01", "10-02", "10-03"],
}
# The whole breaks of the official notices (every day off, statutory or not).
OFFICIAL_BREAKS = {
    2025: [("01-01", "01-01"), ("01-28", "02-04"), ("04-04", "04-06"), ("05-01", "05-05"),
           ("05-31", "06-02"), ("10-01", "10-08")],
    2026: [("01-01", "01-03"), ("02-15", "02-23"), ("04-04", "04-06"), ("05-01", "05-05"),
           ("06-19", "06-21"), ("09-25", "09-27"), ("10-01", "10-07")],
}


def _days(year, spans):
    out = set()
    for a, b in spans:
        d, last = date.fromisoformat(f"{year}-{a}"), date.fromisoformat(f"{year}-{b}")
        while d <= last:
            out.add(d)
            d += timedelta(days=1)
    return out


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_rule_names_the_official_13_statutory_days(year):
    expected = [date.fromisoformat(f"{year}-{md}") for md in OFFICIAL_STATUTORY[year]]
    assert list(statutory_days(year)) == expected
    assert len(statutory_days(year)) == 13


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_calendar_pays_statutory_days_as_holidays_and_the_rest_of_a_break_as_rest_days(year):
    cal = SpecialCalendar()
    statutory = {date.fromisoformat(f"{year}-{md}") for md in OFFICIAL_STATUTORY[year]}
    breaks = _days(year, OFFICIAL_BREAKS[year])
    d = date(year, 1, 1)
    counted = set()
    while d.year == year:
        kind = cal.pay_kind(d)
        if kind == "statutory":
            counted.add(d)
        if d in breaks and d not in statutory:
            assert kind == "rest", d
        d += timedelta(days=1)
    assert counted == statutory  # 13, not every day of every break (33 in 2026)


def test_2026_spring_festival_saturday_and_moved_rest_day_are_rest_days():
    cal = SpecialCalendar()
    assert cal.day_kind(date(2026, 2, 21)) == "holiday"  # still a whole special day (S1)
    assert cal.pay_kind(date(2026, 2, 21)) == "rest"  # Saturday inside the break
    assert cal.pay_kind(date(2026, 2, 23)) == "rest"  # moved rest day (Monday)
    assert cal.pay_kind(date(2026, 2, 16)) == "statutory"  # Spring Festival eve
    assert cal.pay_kind(date(2026, 4, 5)) == "statutory"  # Qingming on a Sunday
    assert cal.pay_kind(date(2026, 2, 14)) == "workday"  # make-up working Saturday


def test_hours_on_the_2026_spring_festival_break_split_statutory_and_rest():
    cal = SpecialCalendar()
    slots = cal.slots_between(date(2026, 2, 15), date(2026, 2, 23))
    report = hours_report(slots, [Assignment("r1", s.key) for s in slots if s.kind == "night"])
    # 9 nights of 14 h: 4 statutory (16-19 Feb), 5 rest days (15, 20-23 Feb)
    assert report["r1"].holidays == 4 * 14
    assert report["r1"].weekend_days == 5 * 14
    assert report["r1"].weekday_nights == 0


def test_before_2025_the_rule_had_11_days_and_mid_autumn_can_share_national_day():
    assert len(statutory_days(2024)) == 11
    assert date(2024, 2, 9) not in statutory_days(2024)  # eve not yet statutory
    assert statutory_name(date(2020, 10, 1)) == "中秋节、国庆节"


def test_a_year_the_package_lacks_still_gets_its_statutory_days_and_overrides_win():
    from server.domain.calendar import DayOverride

    assert len(statutory_days(2027)) == 13
    cal = SpecialCalendar([DayOverride(date(2027, 2, 6), "holiday", "春节"),
                           DayOverride(date(2027, 2, 10), "holiday", "春节"),
                           DayOverride(date(2027, 2, 20), "workday")])
    assert cal.pay_kind(date(2027, 2, 6)) == "statutory"  # lunar new year's day 2027
    assert cal.pay_kind(date(2027, 2, 10)) == "rest"  # a day off the rule does not name
    assert cal.pay_kind(date(2027, 2, 20)) == "workday"  # the manager's make-up Saturday
    assert cal.pay_kind(date(2027, 10, 2)) == "statutory"  # a Saturday, still statutory
    assert statutory_name(date(2150, 1, 1)) is None
