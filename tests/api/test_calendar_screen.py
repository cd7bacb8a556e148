"""The support manager's calendar screen: day kinds, shifts, the D2 warning and overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from server.models import AuditEntry, CalendarOverride
from server.queries.calendar import load_calendar
from tests.conftest import form_post, login, text_of

TODAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def today_is_26_november_2026(clock):
    clock.set(TODAY)


def cell(html: str, day: int) -> str:
    """The text of one in-month day cell of the rendered grid."""
    for td in html.split("<td ")[1:]:
        td = td.split("</td>")[0]
        if "other-month" not in td.split(">")[0] and f'<span class="cal-num">{day}</span>' in td:
            return text_of(td)
    raise AssertionError(f"no cell for day {day}")


def test_manager_sees_this_month_with_day_kinds_and_shifts(client, people):
    login(client, "manager")
    r = client.get("/calendar")
    assert r.status_code == 200
    html = r.text
    assert "2026-11" in text_of(html)
    assert "工作日" in cell(html, 26)  # a Thursday
    assert "夜班 18:00–08:00" in cell(html, 26) and "白班" not in cell(html, 26)
    saturday = cell(html, 28)
    assert "休息日" in saturday and "白班 08:00–18:00" in saturday and "夜班" in saturday


def test_2027_is_missing_from_the_package_and_the_warning_shows(client, people):
    login(client, "manager")
    text = text_of(client.get("/calendar").text)
    assert "2027 年的法定节假日安排尚未知晓" in text
    assert "2026 年的法定节假日安排" not in text
    assert "已手动录入 2027 年 0 天" in text


def test_official_2026_holidays_and_make_up_days_come_from_the_package(client, people):
    login(client, "manager")
    feb = client.get("/calendar", params={"month": "2026-02"}).text
    assert "调休上班" in cell(feb, 14) and "白班" not in cell(feb, 14)  # a working Saturday
    assert "调休上班" in cell(feb, 28)
    assert "法定节假日" in cell(feb, 17) and "春节" in cell(feb, 17)
    oct_ = client.get("/calendar", params={"month": "2026-10"}).text
    assert "国庆节" in cell(oct_, 1) and "白班" in cell(oct_, 1)


def test_a_year_without_data_falls_back_to_weekends(client, people):
    login(client, "manager")
    feb = client.get("/calendar", params={"month": "2027-02"}).text
    assert "工作日" in cell(feb, 8)  # the 2027 Spring Festival is unknown: a Monday works
    assert "休息日" in cell(feb, 6)


def test_entering_days_by_hand_wins_over_the_package(client, people, db):
    login(client, "manager")
    r = form_post(client, "/calendar/overrides",
                  {"day": "2027-02-06", "until": "2027-02-12", "kind": "holiday", "name": "春节",
                   "month": "2027-02"}, htmx=True)  # fmt: skip
    assert r.status_code == 200
    assert r.text.lstrip().startswith("<div") and 'id="calendar-body"' in r.text
    assert "春节" in cell(r.text, 8) and "法定节假日" in cell(r.text, 8)
    assert "已手动录入 2027 年 7 天" in text_of(r.text)
    r = form_post(client, "/calendar/overrides",
                  {"day": "2027-02-14", "kind": "workday", "name": ""})  # a make-up Sunday
    assert r.status_code == 303
    db.rollback()
    cal = load_calendar(db)
    assert cal.day_kind(date(2027, 2, 8)) == "holiday"
    assert cal.holiday_name(date(2027, 2, 8)) == "春节"
    assert cal.is_makeup_workday(date(2027, 2, 14))
    # an override also beats a year the package knows
    form_post(client, "/calendar/overrides", {"day": "2026-11-27", "kind": "holiday", "name": "演练假"})
    db.rollback()
    assert load_calendar(db).day_kind(date(2026, 11, 27)) == "holiday"
    actions = db.exec(select(AuditEntry.action)).all()
    assert actions.count("calendar.override_set") == 9


def test_removing_a_day_gives_it_back_to_the_package(client, people, db):
    login(client, "manager")
    form_post(client, "/calendar/overrides", {"day": "2026-10-01", "kind": "workday"})
    db.rollback()
    assert load_calendar(db).day_kind(date(2026, 10, 1)) == "workday"
    r = form_post(client, "/calendar/overrides/2026-10-01/remove", {"month": "2026-10"}, htmx=True)
    assert r.status_code == 200
    assert "国庆节" in cell(r.text, 1)
    db.rollback()
    assert db.get(CalendarOverride, date(2026, 10, 1)) is None
    assert "calendar.override_removed" in db.exec(select(AuditEntry.action)).all()
    r = form_post(client, "/calendar/overrides/2026-10-01/remove", {"month": "2026-10"}, htmx=True)
    assert r.status_code == 422 and "没有手动录入" in text_of(r.text)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"day": "", "kind": "holiday", "name": "春节"}, "day", "请输入日期"),
        ({"day": "2027-13-01", "kind": "holiday", "name": "春节"}, "day", "请输入日期"),
        ({"day": "2027-02-10", "until": "2027-02-01", "kind": "holiday", "name": "春节"}, "until", "不能早于"),
        ({"day": "2027-01-01", "until": "2027-03-01", "kind": "holiday", "name": "春节"}, "until", "31"),
        ({"day": "2027-02-10", "kind": "festival"}, "kind", "请选择"),
        ({"day": "2027-02-10", "kind": "holiday", "name": ""}, "name", "节日名称"),
        ({"day": "2027-02-10", "kind": "holiday", "name": "节" * 65}, "name", "64"),
    ],
)
def test_bad_days_are_refused_next_to_the_field(client, people, db, form, field, message):
    login(client, "manager")
    r = form_post(client, "/calendar/overrides", form, htmx=True)
    assert r.status_code == 422
    error = r.text.split(f'id="oe-{field}"')[1].split("</p>")[0]
    assert message in error
    assert f'aria-describedby="oe-{field}"' in r.text
    db.rollback()
    assert db.exec(select(CalendarOverride)).all() == []


@pytest.mark.parametrize("role", ["agent", "dispatcher", "remote", "onsite", "equipment", "admin"])
def test_only_the_support_manager_reaches_the_calendar(client, people, role):
    login(client, role)
    assert client.get("/calendar").status_code == 403
    r = form_post(client, "/calendar/overrides", {"day": "2027-02-10", "kind": "workday"})
    assert r.status_code == 403


def test_month_navigation_swaps_the_body(client, people):
    login(client, "manager")
    r = client.get("/calendar", params={"month": "2026-12"}, headers={"hx-request": "true"})
    assert r.text.lstrip().startswith("<div") and "2026-12" in r.text
    assert 'href="/calendar?month=2027-01"' in r.text
    bad = client.get("/calendar", params={"month": "garbage"})
    assert bad.status_code == 400 and "2100-12" in bad.text  # the bounds, said (issue 11)


def test_back_button_restoring_a_month_gets_the_whole_page(client, people):
    login(client, "manager")
    r = client.get("/calendar", params={"month": "2026-12"},
                   headers={"hx-request": "true", "hx-history-restore-request": "true"})
    assert "<html" in r.text and 'id="calendar-body"' in r.text
