"""Statutory holidays (法定节假日) computed from the national rule, for pay (D16).

《全国年节及纪念日放假办法》 (as revised in 2024, in force from 2025) names 13 days:
New Year's Day; Spring Festival eve and days 1-3 (lunar); Qingming (a solar term);
Labour Day x2; Dragon Boat (lunar 5/5); Mid-Autumn (lunar 8/15); National Day x3.
From 2014 to 2024 the rule named 11 (no Spring Festival eve, one Labour Day). A
statutory day stays statutory on a weekend. Every other day off of a holiday block
(its weekends and the moved rest days, 调休) is a rest day, not a statutory holiday.

Lunar dates come from ``lunardate`` (a small, pure-Python lunar calendar, 1900-2099);
Qingming from ``chinese_calendar.get_solar_terms`` (the 寿星 formula, 1900-2100).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

import chinese_calendar
from lunardate import LunarDate

SPRING_EVE_FROM = 2025  # the 2024 revision added Spring Festival eve and 2 May

# Names are Chinese data for display (the rule's own words), never msgids.
NEW_YEAR, SPRING, QINGMING, LABOUR = "元旦", "春节", "清明节", "劳动节"
DRAGON_BOAT, MID_AUTUMN, NATIONAL = "端午节", "中秋节", "国庆节"


def _lunar(year: int, month: int, day: int) -> date:
    return LunarDate(year, month, day).to_solar_date()


def _qingming(year: int) -> date:
    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
    return next(d for d, term in terms if term == "清明")


@lru_cache(maxsize=256)
def _statutory(year: int) -> Mapping[date, str]:
    if not 1901 <= year <= 2099:
        raise ValueError(f"no lunar calendar for {year}")
    days: dict[date, str] = {}

    def add(d: date, name: str) -> None:
        # Mid-Autumn can fall on 1 October: one date, both names, still one day.
        days[d] = f"{days[d]}、{name}" if d in days else name

    spring = _lunar(year, 1, 1)
    add(date(year, 1, 1), NEW_YEAR)
    if year >= SPRING_EVE_FROM:
        add(spring - timedelta(days=1), SPRING)
    for i in range(3):
        add(spring + timedelta(days=i), SPRING)
    add(_qingming(year), QINGMING)
    add(date(year, 5, 1), LABOUR)
    if year >= SPRING_EVE_FROM:
        add(date(year, 5, 2), LABOUR)
    add(_lunar(year, 5, 5), DRAGON_BOAT)
    add(_lunar(year, 8, 15), MID_AUTUMN)
    for d in (1, 2, 3):
        add(date(year, 10, d), NATIONAL)
    return MappingProxyType(dict(sorted(days.items())))


def statutory_days(year: int) -> Mapping[date, str]:
    """The statutory holidays of ``year`` with their names (13 from 2025, 11 before).

    Raises ValueError outside 1901-2099 (no lunar data).
    """
    return _statutory(year)


def statutory_name(d: date) -> str | None:
    """The holiday ``d`` is a statutory day of, or None (also for years without data)."""
    try:
        return _statutory(d.year).get(d)
    except ValueError:
        return None
