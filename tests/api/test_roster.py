"""The roster screens through the app: drafting, "Fill for me", publishing (S10), swaps
(S11), absences and backups (S12), my shifts and the calendar feed, hours (D16)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from sqlmodel import select

from server.actions import ActionError, absences
from server.actions import roster as actions
from server.demo import load_demo
from server.models import (
    Absence,
    AuditEntry,
    CalendarOverride,
    DayOffRequest,
    Notification,
    Roster,
    Shift,
    Staff,
    SwapRequest,
)
from server.queries import roster as rq
from server.queries import roster_hours
from server.queries.calendar import load_calendar
from server.queries.duty import on_duty
from server.settings import Settings
from tests.api.markup import buttons
from tests.api.roster_team import (
    RULES,
    backups_of,
    local,
    make_team,
    shifts_of,
    write_roster,
)
from tests.conftest import form_post, login, text_of

DEC = "2026-12"
FIRST_DEC = local(date(2026, 12, 1), 18)  # 1 Dec 2026 is a Tuesday: the first shift is its night


@pytest.fixture
def team(db, people):
    return make_team(db)


@pytest.fixture
def clock(clock):
    """The suite's clock (tests/conftest.py), starting on 20 November 2026 at 10:00."""
    clock.set(local(date(2026, 11, 20), 10))
    return clock


def fresh(db):
    """End the test session's read transaction, so it sees what the app committed."""
    db.rollback()
    db.expire_all()


def audit(db, action):
    fresh(db)
    return db.exec(select(AuditEntry).where(AuditEntry.action == action)).all()


def notes(db, kind, staff_id=None):
    fresh(db)
    q = select(Notification).where(Notification.channel == "webpush")
    rows = [n for n in db.exec(q) if n.payload["kind"] == kind]
    return [n for n in rows if staff_id is None or n.staff_id == staff_id]


# -- drafting and publishing (S9, S10, S13) ---------------------------------------------


def test_manager_starts_a_draft_and_toggles_a_shift_checked_at_once(client, db, team, clock):
    login(client, "manager")
    r = form_post(client, "/roster/", {"month": DEC})
    assert r.status_code == 303 and r.headers["location"] == f"/roster/{DEC}"
    page = client.get(f"/roster/{DEC}")
    assert page.status_code == 200
    text = text_of(page.text)
    # every uncovered special-period shift is an error in plain words (S9)
    assert "12月1日 周二 夜班：远程值班 0 人，至少须 2 人" in text
    r1 = team["r1"]
    r = form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": r1.id, "day": "2026-12-01", "kind": "night"}, htmx=True)  # fmt: skip
    assert r.status_code == 200
    # the rule check is swapped in place; the row and the coverage follow out of band,
    # wrapped in <template> so the HTML parser keeps the table parts
    assert r.text.lstrip().startswith('<aside id="rproblems"')
    assert f'<template><tr id="row-{r1.id}" class="prow" hx-swap-oob="true">' in r.text
    assert '<template><tfoot id="rcov" hx-swap-oob="true">' in r.text
    assert 'aria-pressed="true"' in r.text
    assert "12月1日 周二 夜班：远程值班 1 人，至少须 2 人" in text_of(r.text)
    shift = db.exec(select(Shift).where(Shift.staff_id == r1.id)).one()
    assert (shift.day, shift.kind, shift.group) == (date(2026, 12, 1), "night", "remote")
    assert shift.starts_at == FIRST_DEC
    # S13: the newcomer may be placed, but the grid says why that is wrong
    newbie = team["newbie"]
    r = form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": newbie.id, "day": "2026-12-02", "kind": "night"}, htmx=True)  # fmt: skip
    assert "新人 尚不具备排班资格" in text_of(r.text)
    # toggling again takes the person off
    r = form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": r1.id, "day": "2026-12-01", "kind": "night"}, htmx=True)  # fmt: skip
    fresh(db)
    assert db.exec(select(Shift).where(Shift.staff_id == r1.id)).first() is None
    assert len(audit(db, "roster.shift_added")) == 2 and len(audit(db, "roster.shift_removed")) == 1


def test_a_working_day_has_no_day_shift_and_overlaps_and_long_runs_are_reported(
    client, db, team, clock
):
    login(client, "manager")
    form_post(client, "/roster/", {"month": DEC})
    r1 = team["r1"]
    r = form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": r1.id, "day": "2026-12-01", "kind": "day"}, htmx=True)  # fmt: skip
    assert r.status_code == 422
    assert "工作日" in text_of(r.text)
    assert db.exec(select(Shift)).first() is None
    for d in (1, 2, 3, 4):
        form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": r1.id, "day": f"2026-12-0{d}", "kind": "night"}, htmx=True)  # fmt: skip
    r = form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": r1.id, "day": "2026-12-05", "kind": "day"}, htmx=True)  # fmt: skip
    text = text_of(r.text)
    assert "远程1 自 12月1日 周二 起连续值夜 4 晚，超过 3 晚需注意" in text  # D10 warning
    assert "远程1 连续上 12月4日 周五 夜班 和 12月5日 周六 白班" in text  # a 24 h stint


def test_publish_is_refused_with_reasons_while_rules_are_broken(client, db, team, clock):
    login(client, "manager")
    form_post(client, "/roster/", {"month": DEC})
    r = form_post(client, f"/roster/{DEC}/publish")
    assert r.status_code == 422
    assert "排班表有 118 处错误，须修正后才能发布" in text_of(r.text)
    assert db.exec(select(Roster)).one().status == "draft"


def _valid_draft(db, team) -> Roster:
    return write_roster(db, DEC, team, status="draft")


def test_publish_is_refused_less_than_3_days_before_the_first_shift(client, db, team, clock):
    _valid_draft(db, team)
    clock.set(FIRST_DEC - timedelta(days=3) + timedelta(seconds=1))
    login(client, "manager")
    r = form_post(client, f"/roster/{DEC}/publish")
    assert r.status_code == 422
    assert "排班表须在首个班次开始前至少 3 天发布" in text_of(r.text)
    fresh(db)
    assert db.exec(select(Roster)).one().status == "draft"


def test_publish_asks_for_confirmation_and_the_page_alone_changes_nothing(client, db, team, clock):
    """Issue 13: Publish confirms first (app.js stops the post when the answer is no),
    naming the month and what publishing does; showing the page publishes nothing."""
    _valid_draft(db, team)
    login(client, "manager")
    html = client.get(f"/roster/{DEC}").text
    publish = [b for b in buttons(html) if b["action"] == f"/roster/{DEC}/publish"]
    assert [b["text"] for b in publish] == ["发布"]
    assert publish[0]["data-confirm"] == (
        "发布 2026-12 排班？排班上的每个人都会收到通知，此后只能通过已批准的换班和缺勤变更。")
    fresh(db)
    assert db.exec(select(Roster)).one().status == "draft"
    assert not audit(db, "roster.published")


def test_publish_is_allowed_exactly_3_days_before_the_first_shift(client, db, team, clock):
    roster = _valid_draft(db, team)
    at = FIRST_DEC - timedelta(days=3)
    clock.set(at)
    login(client, "manager")
    r = form_post(client, f"/roster/{DEC}/publish")
    assert r.status_code == 303
    fresh(db)
    roster = db.get(Roster, roster.id)
    assert roster.status == "published" and roster.published_at == at
    assert audit(db, "roster.published")
    # everyone on it is told; and now it changes only through swaps and absences
    assert notes(db, "roster.published", team["r1"].id)
    r = form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": team["r1"].id, "day": "2026-12-01", "kind": "night"}, htmx=True)  # fmt: skip
    assert r.status_code == 422
    assert "已发布" in text_of(r.text)


def test_backups_are_picked_and_counted(client, db, team, clock):
    login(client, "manager")
    form_post(client, "/roster/", {"month": DEC})
    r = client.get(f"/roster/{DEC}")
    assert "备岗人员 0 名；每月需要 3–5 名" in text_of(r.text)
    for k in ("r1", "u1"):
        r = form_post(client, f"/roster/{DEC}/backup", {"staff_id": team[k].id}, htmx=True)
    assert r.status_code == 200
    assert "备岗人员 2 名；每月需要 3–5 名" in text_of(r.text)
    roster = db.exec(select(Roster)).one()
    assert sorted(backups_of(db, roster)) == sorted([team["r1"].id, team["u1"].id])


# -- Fill for me ------------------------------------------------------------------------


def test_fill_for_me_fills_the_demo_staff_with_a_valid_roster(client, db, settings, clock):
    load_demo(db, clock.set(datetime(2026, 11, 26, 2, 0, tzinfo=UTC)), settings)
    db.commit()
    login(client, "manager", "fieldops-demo")
    month = "2027-01"  # the demo publishes this month and the next; January is free
    assert form_post(client, "/roster/", {"month": month}).status_code == 303
    r = form_post(client, f"/roster/{month}/fill", {"keep": "1"}, htmx=True)
    assert r.status_code == 200, text_of(r.text)[:500]
    assert "已生成" in text_of(r.text)
    fresh(db)
    view = rq.month_view(db, 2027, 1, load_calendar(db), RULES, date(2026, 11, 26))
    assert len(view.shifts) >= len(view.slots) * 4  # 2 remote + 1 per region on every shift
    assert [v for v in view.violations if v.severity == "error"] == []
    assert RULES.backups_min <= len(view.backups) <= RULES.backups_max
    assert audit(db, "roster.filled")


def test_fill_for_me_explains_an_impossible_month_and_changes_nothing(client, db, team, clock):
    db.exec(select(Staff))  # the team exists; now make suburban too small
    for k in ("s2", "s3"):
        staff = team[k]
        staff.region = "urban"
        db.add(staff)
    db.commit()
    login(client, "manager")
    form_post(client, "/roster/", {"month": DEC})
    form_post(client, f"/roster/{DEC}/toggle",
              {"staff_id": team["r1"].id, "day": "2026-12-01", "kind": "night"}, htmx=True)  # fmt: skip
    r = form_post(client, f"/roster/{DEC}/fill", {}, htmx=True)
    assert r.status_code == 422
    text = text_of(r.text)
    assert "“自动排班”找不到满足全部规则的排班，没有改动任何内容" in text
    assert "郊区合格现场人员仅 1 名" in text
    assert len(db.exec(select(Shift)).all()) == 1  # the one placed by hand is still there


def test_days_off_asked_by_an_engineer_are_kept_by_fill_for_me(client, db, team, clock):
    login(client, "r1", "correct-horse-1")
    r = form_post(client, "/my/shifts/days-off", {"day": "2026-12-24", "on": "1"}, htmx=True)
    assert r.status_code == 200
    fresh(db)
    assert db.exec(select(DayOffRequest)).one().day == date(2026, 12, 24)
    client.cookies.clear()
    login(client, "manager")
    form_post(client, "/roster/", {"month": DEC})
    r = form_post(client, f"/roster/{DEC}/fill", {}, htmx=True)
    assert r.status_code == 200
    fresh(db)
    mine = db.exec(select(Shift).where(Shift.staff_id == team["r1"].id)).all()
    assert mine and all(s.day != date(2026, 12, 24) for s in mine)


# -- a year the holiday package does not know (D2) --------------------------------------


def test_a_2027_month_is_rosterable_after_the_manager_enters_its_days(client, db, team, clock):
    for d, kind in [(date(2027, 1, 1), "holiday"), (date(2027, 1, 2), "holiday"),
                    (date(2027, 1, 3), "holiday"), (date(2027, 1, 9), "workday")]:  # fmt: skip
        db.add(CalendarOverride(day=d, kind=kind, name="元旦" if kind == "holiday" else ""))
    db.commit()
    login(client, "manager")
    assert form_post(client, "/roster/", {"month": "2027-01"}).status_code == 303
    page = client.get("/roster/2027-01")
    text = text_of(page.text)
    assert "2027" in text and "手工录入的 4 天" in text  # the visible warning (D2)
    # Friday 1 January is a holiday: it has a day shift; Saturday 9th is a working day
    assert '"day": "2027-01-01", "kind": "day"' in page.text
    assert '"day": "2027-01-09", "kind": "day"' not in page.text
    assert form_post(client, "/roster/2027-01/fill", {}, htmx=True).status_code == 200
    r = form_post(client, "/roster/2027-01/publish")
    assert r.status_code == 303, text_of(r.text)[:400]
    fresh(db)
    assert db.exec(select(Roster).where(Roster.month == "2027-01")).one().status == "published"
    day1 = db.exec(select(Shift).where(Shift.day == date(2027, 1, 1), Shift.kind == "day")).all()
    assert len(day1) == 4


# -- swaps (S11) ------------------------------------------------------------------------


@pytest.fixture
def published(db, team):
    return write_roster(db, DEC, team)


def _a_shift(db, staff, roster, after=date(2026, 12, 10)) -> Shift:
    return next(s for s in shifts_of(db, staff, roster) if s.day >= after)


def _colleague(db, shift, team) -> Staff:
    """Someone of the same pool who is not on that shift and is not next to it."""
    for k, s in team.items():
        if k == "newbie" or s.id == shift.staff_id or (s.group, s.region) != (shift.group, shift.region):
            continue
        near = db.exec(
            select(Shift).where(
                Shift.staff_id == s.id,
                Shift.starts_at <= shift.ends_at,
                Shift.ends_at >= shift.starts_at,
            )
        ).first()
        if near is None:
            return s
    raise AssertionError("no free colleague")


def test_swap_is_refused_at_4_days_23_hours_before_the_shift(client, db, team, published, clock):
    u1 = team["u1"]
    shift = _a_shift(db, u1, published)
    other = _colleague(db, shift, team)
    clock.set(shift.starts_at - timedelta(days=5) + timedelta(hours=1))
    login(client, "u1")
    r = form_post(client, f"/my/shifts/{shift.id}/swap", {"to_staff_id": other.id}, htmx=True)
    assert r.status_code == 422
    assert "调班须在班次开始前至少 5 天申请" in text_of(r.text)
    assert db.exec(select(SwapRequest)).first() is None


@pytest.mark.parametrize("form", [{"to_staff_id": "-1", "reason": "9999-12-31"},
                                  {"to_staff_id": "9223372036854775808"}, {}])  # fmt: skip
def test_a_swap_of_a_shift_that_has_ended_is_not_found_whatever_the_form(
    client, db, team, published, clock, form
):
    """A shift already over is not on 'my shifts': its swap form is 404 for any input,
    never a 500 from re-rendering a form for a shift the page does not list."""
    u1 = team["u1"]
    shift = _a_shift(db, u1, published)
    clock.set(shift.ends_at + timedelta(minutes=1))
    login(client, "u1")
    assert client.get(f"/my/shifts/{shift.id}/swap").status_code == 404
    r = form_post(client, f"/my/shifts/{shift.id}/swap", form, htmx=True)
    assert r.status_code == 404
    assert db.exec(select(SwapRequest)).first() is None


def test_swap_is_asked_exactly_5_days_before_and_waits_for_the_manager(
    client, db, team, published, clock
):
    u1 = team["u1"]
    shift = _a_shift(db, u1, published)
    other = _colleague(db, shift, team)
    clock.set(shift.starts_at - timedelta(days=5))
    login(client, "u1")
    page = client.get("/my/shifts/")
    assert f'hx-get="/my/shifts/{shift.id}/swap"' in page.text
    form = client.get(f"/my/shifts/{shift.id}/swap", headers={"hx-request": "true"})
    assert f'<option value="{other.id}"' in form.text
    assert f'<option value="{team["newbie"].id}"' not in form.text  # not qualified
    r = form_post(client, f"/my/shifts/{shift.id}/swap",
                  {"to_staff_id": other.id, "reason": "家里有事"}, htmx=True)  # fmt: skip
    assert r.status_code == 200
    assert "等待支持经理批准" in text_of(r.text)
    fresh(db)
    swap = db.exec(select(SwapRequest)).one()
    assert (swap.status, swap.from_staff_id, swap.to_staff_id) == ("pending", u1.id, other.id)
    fresh(db)
    shift = db.get(Shift, shift.id)
    assert shift.staff_id == u1.id  # S11: nothing changes before approval
    assert notes(db, "roster.swap_requested", other.id)
    manager = db.exec(select(Staff).where(Staff.username == "manager")).one()
    assert notes(db, "roster.swap_requested", manager.id)
    # asking twice for the same shift is refused
    r = form_post(client, f"/my/shifts/{shift.id}/swap", {"to_staff_id": other.id}, htmx=True)
    assert r.status_code == 422


def test_a_swap_that_breaks_a_rule_is_refused_with_the_reason(client, db, team, published, clock):
    u1 = team["u1"]
    shift = _a_shift(db, u1, published)
    clock.set(shift.starts_at - timedelta(days=10))
    login(client, "u1")
    r = form_post(client, f"/my/shifts/{shift.id}/swap",
                  {"to_staff_id": team["newbie"].id}, htmx=True)  # fmt: skip
    assert r.status_code == 422
    assert "新人 尚不具备排班资格" in text_of(r.text)
    on_it = {s.staff_id for s in db.exec(select(Shift).where(Shift.day == shift.day,
                                                                Shift.kind == shift.kind))}  # fmt: skip
    suburban = next(team[k] for k in ("s1", "s2", "s3") if team[k].id not in on_it)
    r = form_post(client, f"/my/shifts/{shift.id}/swap", {"to_staff_id": suburban.id}, htmx=True)
    assert r.status_code == 422
    assert "市区现场备勤 0 人，至少须 1 人" in text_of(r.text)  # urban would be left uncovered (S9)
    r = form_post(client, f"/my/shifts/{shift.id}/swap", {"to_staff_id": ""}, htmx=True)
    assert r.status_code == 422 and "请选择" in text_of(r.text)
    assert db.exec(select(SwapRequest)).first() is None


def test_someone_elses_shift_cannot_be_swapped(client, db, team, published, clock):
    shift = _a_shift(db, team["u1"], published)
    login(client, "u2")
    r = form_post(client, f"/my/shifts/{shift.id}/swap", {"to_staff_id": team["u2"].id}, htmx=True)
    assert r.status_code == 404


def _ask(client, db, team, published, clock):
    u1 = team["u1"]
    shift = _a_shift(db, u1, published)
    other = _colleague(db, shift, team)
    clock.set(shift.starts_at - timedelta(days=6))
    login(client, "u1")
    assert form_post(client, f"/my/shifts/{shift.id}/swap", {"to_staff_id": other.id},
                     htmx=True).status_code == 200  # fmt: skip
    client.cookies.clear()
    fresh(db)
    return shift, other, db.exec(select(SwapRequest)).one()


def test_approving_a_swap_changes_the_shift_audits_and_tells_both(
    client, db, team, published, clock, settings
):
    shift, other, swap = _ask(client, db, team, published, clock)
    login(client, "manager")
    page = client.get("/roster/swaps/")
    assert f'id="swap-{swap.id}"' in page.text
    # no error; a warning (e.g. a 4th night in a row for the colleague) is shown if any
    assert '<li class="error">' not in page.text
    assert "换班后排班仍满足全部规则" in text_of(page.text) or "需注意" in text_of(page.text)
    r = form_post(client, f"/roster/swaps/{swap.id}/approve", htmx=True)
    assert r.status_code == 200
    assert "已批准" in text_of(r.text)
    # the card leaves "waiting for your approval" at once: the answer replaces it with
    # nothing and brings the decided list back out of band (issue 13)
    assert f'id="swap-{swap.id}"' not in r.text and 'id="swaps-decided" ' in r.text
    assert 'hx-swap-oob="true"' in r.text and 'id="swaps-none"' in r.text
    fresh(db)
    assert db.get(Shift, shift.id).staff_id == other.id
    assert db.get(SwapRequest, swap.id).status == "approved"
    entry = audit(db, "roster.swap_approved")[0]
    assert entry.details["from_staff_id"] == team["u1"].id
    assert entry.details["to_staff_id"] == other.id
    assert notes(db, "roster.swap_decided", team["u1"].id)
    assert notes(db, "roster.swap_decided", other.id)
    # dispatch sees the colleague on duty during the shift (D11)
    duty = on_duty(db, shift.starts_at + timedelta(hours=1), settings, group="onsite",
                   region="urban")
    assert [d.staff_id for d in duty] == [other.id]
    # the engineer sees the outcome
    client.cookies.clear()
    login(client, "u1")
    assert "已批准" in text_of(client.get("/my/shifts/").text)
    # a decided request cannot be decided again
    client.cookies.clear()
    login(client, "manager")
    assert form_post(client, f"/roster/swaps/{swap.id}/refuse", htmx=True).status_code == 422


def test_refusing_a_swap_keeps_the_shift_and_tells_both(client, db, team, published, clock):
    shift, other, swap = _ask(client, db, team, published, clock)
    login(client, "manager")
    r = form_post(client, f"/roster/swaps/{swap.id}/refuse", htmx=True)
    assert r.status_code == 200
    fresh(db)
    assert db.get(Shift, shift.id).staff_id == team["u1"].id
    assert db.get(SwapRequest, swap.id).status == "refused"
    assert audit(db, "roster.swap_refused")
    assert notes(db, "roster.swap_decided", team["u1"].id)
    assert notes(db, "roster.swap_decided", other.id)


# -- absences and backups (S12) ---------------------------------------------------------


def test_absence_alerts_backups_and_the_first_to_accept_takes_the_shift(
    client, db, team, published, clock, settings
):
    backups = backups_of(db, published)
    # D11: a backup covers only a shift of their own group; make two of them remote so
    # that a remote shift has two candidates.
    for sid in backups[:2]:
        person = db.get(Staff, sid)
        person.group, person.region = "remote", None
        db.add(person)
    db.commit()
    # someone on a shift who is not a backup, at a time two backups are free
    shift = next(
        s
        for s in db.exec(select(Shift).where(Shift.roster_id == published.id).order_by(Shift.starts_at))
        if s.staff_id not in backups and s.day >= date(2026, 12, 10)
        and sum(absences._fits(db.get(Staff, b), s) and not absences._busy(db, b, s)
                for b in backups) >= 2
    )
    during = shift.starts_at + timedelta(hours=2)
    clock.set(shift.starts_at - timedelta(hours=1))
    login(client, "manager")
    page = client.get("/roster/duty/")
    assert f"/roster/duty/{shift.id}/absent" in page.text
    r = form_post(client, f"/roster/duty/{shift.id}/absent", {"reason": "突发急病"}, htmx=True)
    assert r.status_code == 200
    fresh(db)
    absence = db.exec(select(Absence)).one()
    assert absence.staff_id == shift.staff_id and absence.covered_by is None
    assert audit(db, "roster.absence_reported")
    called = {n.staff_id for n in notes(db, "roster.backup_call")}
    assert called and called <= set(backups)
    assert all(n.urgency == "high" for n in notes(db, "roster.backup_call"))
    # nobody holds the shift until a backup accepts
    assert shift.staff_id not in {d.staff_id for d in on_duty(db, during, settings)}
    # the duty screen names who was called (issue 13)
    duty_page = text_of(r.text)
    assert all(db.get(Staff, sid).display_name in duty_page.split("已呼叫后备")[1] for sid in called)

    call = notes(db, "roster.backup_call")[0]
    kind = {"night": "夜班", "day": "白班"}[shift.kind]
    assert call.payload["title"] == f"紧急需要备岗：{rq.fmt_day(shift.day)} {kind}"
    absent = db.get(Staff, shift.staff_id)
    assert absent.display_name in call.payload["body"]

    first, second = [db.get(Staff, sid) for sid in sorted(called)[:2]]
    client.cookies.clear()
    login(client, first.username)
    home = text_of(client.get("/").text)
    assert "需要备岗顶班" in home and f"{absent.display_name} 无法到岗" in home
    page = client.get("/my/shifts/")
    assert f"/my/shifts/calls/{absence.id}/accept" in page.text
    r = form_post(client, f"/my/shifts/calls/{absence.id}/accept", htmx=True)
    assert r.status_code == 200
    fresh(db)
    assert db.get(Absence, absence.id).covered_by == first.id
    assert audit(db, "roster.absence_covered")
    duty = {d.staff_id: d for d in on_duty(db, during, settings)}
    assert first.id in duty and duty[first.id].called_in  # dispatch sees the backup now

    client.cookies.clear()
    login(client, second.username)
    r = form_post(client, f"/my/shifts/calls/{absence.id}/accept", htmx=True)
    assert r.status_code == 422
    assert f"谢谢，不过 {first.display_name} 已接下此班次。" in text_of(r.text)
    fresh(db)
    assert db.get(Absence, absence.id).covered_by == first.id


def test_only_the_months_backups_may_accept(client, db, team, published, clock):
    backups = set(backups_of(db, published))
    shift = next(s for s in db.exec(select(Shift).where(Shift.roster_id == published.id))
                 if s.staff_id not in backups and s.day >= date(2026, 12, 10))  # fmt: skip
    clock.set(shift.starts_at - timedelta(hours=1))
    with pytest.raises(ActionError):
        absences.accept_absence(db, team["newbie"].id,
                               absences.report_absence(db, 1, shift.id, "", shift.starts_at).id,
                               shift.starts_at)  # fmt: skip


# -- my shifts, the calendar feed -------------------------------------------------------


def test_my_shifts_and_a_private_calendar_feed_that_parses(client, db, team, published, clock):
    u1 = team["u1"]
    clock.set(local(date(2026, 11, 28), 9))
    login(client, "u1")
    page = client.get("/my/shifts/")
    assert page.status_code == 200
    mine = shifts_of(db, u1, published)
    assert rq.fmt_day(mine[0].day) in text_of(page.text)
    r = form_post(client, "/my/shifts/calendar-link", htmx=True)
    fresh(db)
    token = db.get(Staff, u1.id).ical_token
    assert token and f"/ical/{token}.ics" in r.text
    # one absence: the event is cancelled in the feed
    absences.report_absence(db, 1, mine[-1].id, "", local(date(2026, 11, 28), 9))
    db.commit()
    client.cookies.clear()  # a phone's calendar app has no session
    feed = client.get(f"/ical/{token}.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(feed.content)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == len(mine)
    first = min(events, key=lambda e: e.decoded("dtstart"))
    assert first.decoded("dtstart") == mine[0].starts_at
    assert first.decoded("dtend") - first.decoded("dtstart") in (timedelta(hours=14), timedelta(hours=10))
    assert "市区" in str(first["summary"])
    assert sum(1 for e in events if str(e.get("status")) == "CANCELLED") == 1
    assert client.get("/ical/not-a-token.ics").status_code == 404
    # a new address makes the old one useless
    login(client, "u1")
    form_post(client, "/my/shifts/calendar-link", {"reset": "1"}, htmx=True)
    client.cookies.clear()
    assert client.get(f"/ical/{token}.ics").status_code == 404


# -- hours (D16) ------------------------------------------------------------------------


def test_hours_export_splits_nights_weekends_and_holidays_with_a_makeup_saturday(
    client, db, team, clock
):
    """May 2026: 1-5 May is the Labour Day holiday, Saturday 9 May a make-up working day."""
    u1 = team["u1"]
    roster = Roster(month="2026-05", status="published", published_at=local(date(2026, 4, 20), 9))
    db.add(roster)
    db.flush()
    cal = load_calendar(db)
    assert cal.is_makeup_workday(date(2026, 5, 9))
    plan = [
        (date(2026, 5, 1), "night"),  # holiday night: 14 h holiday
        (date(2026, 5, 2), "day"),  # holiday day: 10 h holiday
        (date(2026, 5, 9), "night"),  # make-up Saturday night: 14 h weekday night
        (date(2026, 5, 12), "night"),  # Tuesday night: 14 h weekday night
        (date(2026, 5, 16), "day"),  # Saturday day: 10 h weekend
        (date(2026, 5, 17), "night"),  # Sunday night: 14 h weekend
    ]
    for d, kind in plan:
        slot = cal.night_slot(d) if kind == "night" else cal.day_slot(d)
        db.add(Shift(roster_id=roster.id, staff_id=u1.id, day=d, kind=kind, starts_at=slot.starts_at,
                     ends_at=slot.ends_at, group="onsite", region="urban"))  # fmt: skip
    db.commit()
    login(client, "manager")
    page = client.get("/roster/2026-05/hours")
    assert page.status_code == 200 and "市区1" in page.text

    r = client.get("/roster/2026-05/hours/csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][4:] == ["工作日夜班（小时）", "休息日（小时）", "法定节假日（小时）", "合计（小时）"]
    row = next(x for x in rows if x[1] == "u1")
    assert row[4:] == ["28", "24", "24", "76"]

    r = client.get("/roster/2026-05/hours/xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    values = {row[1]: row for row in ws.iter_rows(min_row=2, values_only=True) if row and row[1]}
    assert values["u1"][4:8] == (28, 24, 24, 76)


def test_hours_count_the_backup_not_the_absent_person(db, team, published, clock):
    backups = set(backups_of(db, published))
    shift = next(s for s in db.exec(select(Shift).where(Shift.roster_id == published.id)
                                    .order_by(Shift.starts_at, Shift.id))
                 if s.staff_id not in backups and s.day >= date(2026, 12, 10)
                 and any(absences._fits(db.get(Staff, b), s) and not absences._busy(db, b, s)
                         for b in backups))  # fmt: skip  # D11: a backup of its group is free
    absence = absences.report_absence(db, 1, shift.id, "", shift.starts_at - timedelta(hours=1))
    db.commit()
    backup = min(n.staff_id for n in notes(db, "roster.backup_call"))  # a free backup
    absences.accept_absence(db, backup, absence.id, shift.starts_at - timedelta(minutes=30))
    db.commit()
    assignments = roster_hours.worked_assignments(db, published)
    key = (shift.day, shift.kind)
    on_it = {a.staff_id for a in assignments if a.slot_key == key}
    assert backup in on_it and shift.staff_id not in on_it


# -- reminders (S10) --------------------------------------------------------------------


def test_draft_reminder_from_the_20th_once_a_day_until_a_draft_exists(
    client, db, people, clock, settings
):
    app_settings = settings
    manager = people["manager"]
    at = local(date(2026, 12, 19), 9)
    assert actions.remind_draft(db, at, RULES) == []
    at = local(date(2026, 12, 20), 9)
    assert actions.remind_draft(db, at, RULES)
    assert actions.remind_draft(db, at + timedelta(hours=3), RULES) == []  # once that day
    db.commit()
    assert len(notes(db, "roster.draft_reminder", manager.id)) == 1
    assert "2027-01" in notes(db, "roster.draft_reminder", manager.id)[0].payload["title"]
    # the manager sees it on the roster screen and on the home screen
    clock.set(local(date(2026, 12, 26), 9))
    login(client, "manager")
    text = text_of(client.get("/roster/").text)
    assert "2027-01" in text and "已逾期" in text
    # the background loop sends it (server.jobs.roster), not before 09:00
    from server.jobs import loop
    from server.jobs.roster import roster_draft_reminder

    loop.discover()
    assert roster_draft_reminder in loop.registered()
    fresh(db)
    roster_draft_reminder(db, local(date(2026, 12, 21), 8, 59), app_settings)
    assert notes(db, "roster.draft_reminder", manager.id)[1:] == []
    roster_draft_reminder(db, local(date(2026, 12, 21), 9), app_settings)
    db.commit()
    assert len(notes(db, "roster.draft_reminder", manager.id)) == 2
    # once a draft exists, no more reminders
    form_post(client, "/roster/", {"month": "2027-01"})
    fresh(db)
    assert actions.remind_draft(db, local(date(2026, 12, 27), 9), RULES) == []


# -- roles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "url", "status"),
    [
        ("agent", "/roster/", 403),
        ("dispatcher", "/roster/", 403),
        ("dispatcher", "/roster/duty/", 200),
        ("onsite", "/roster/swaps/", 403),
        ("manager", "/my/shifts/", 403),
        ("onsite", "/my/shifts/", 200),
        ("remote", "/roster/2026-12", 403),
        ("equipment", "/roster/duty/", 403),
    ],
)
def test_role_guards(client, people, username, url, status):
    login(client, username)
    assert client.get(url).status_code == status


def test_signed_out_people_are_sent_to_sign_in_except_for_the_feed(client, people):
    r = client.get("/roster/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/ical/whatever.ics").status_code == 404


def test_engineers_cannot_change_a_roster(client, db, team, clock):
    login(client, "manager")
    form_post(client, "/roster/", {"month": DEC})
    client.cookies.clear()
    login(client, "r1")
    r = form_post(client, f"/roster/{DEC}/toggle",
                  {"staff_id": team["r1"].id, "day": "2026-12-01", "kind": "night"}, htmx=True)  # fmt: skip
    assert r.status_code == 403
    assert db.exec(select(Shift)).first() is None


def test_bad_month_is_400_and_unknown_roster_is_404(client, people):
    login(client, "manager")
    assert client.get("/roster/2026-13").status_code == 400  # a bounded MonthPath (issue 11)
    assert client.get("/roster/2031-01/hours").status_code == 404



# -- PostgreSQL: two backups accept at the same moment ----------------------------------


@pytest.mark.postgres
def test_two_backups_accepting_at_once_on_postgresql_one_wins(fresh_pg):
    """S12 under real concurrency: both read "uncovered", both try; the conditional
    update lets exactly one take the shift and the other is refused politely."""
    import threading

    from sqlmodel import Session

    from server.db import make_engine
    from server.migrate import upgrade
    from tests.conftest import add_staff

    upgrade(fresh_pg)
    engine = make_engine(fresh_pg)
    with Session(engine, expire_on_commit=False) as db:
        manager = add_staff(db, "manager", "manager")
        team = make_team(db)
        roster = write_roster(db, DEC, team)
        backups = backups_of(db, roster)
        for sid in backups[:2]:  # D11: two backups of the group whose shift needs one
            person = db.get(Staff, sid)
            person.group, person.region = "remote", None
            db.add(person)
        db.commit()
        shift = next(
            s
            for s in db.exec(select(Shift).where(Shift.roster_id == roster.id).order_by(Shift.starts_at))
            if s.staff_id not in backups and s.day >= date(2026, 12, 10)
            and sum(absences._fits(db.get(Staff, b), s) and not absences._busy(db, b, s)
                    for b in backups) >= 2
        )
        free = [b for b in backups
                if absences._fits(db.get(Staff, b), shift) and not absences._busy(db, b, shift)][:2]
        absence = absences.report_absence(db, manager.id, shift.id, "突发急病",
                                         shift.starts_at - timedelta(hours=1))  # fmt: skip
        db.commit()
        absence_id = absence.id

    barrier = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def accept(staff_id: int) -> None:
        with Session(engine) as db:
            db.get(Absence, absence_id)  # both have read it uncovered
            barrier.wait()
            try:
                absences.accept_absence(db, staff_id, absence_id, shift.starts_at - timedelta(minutes=50))
                db.commit()
                outcome[staff_id] = "took"
            except ActionError as exc:
                db.rollback()
                outcome[staff_id] = exc.message.msgid

    threads = [threading.Thread(target=accept, args=(sid,)) for sid in free]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcome.values()) == sorted(
        ["took", "Thank you, but {name} has already taken this shift."]
    )
    winner = next(sid for sid, o in outcome.items() if o == "took")
    with Session(engine) as db:
        assert db.get(Absence, absence_id).covered_by == winner
        duty = on_duty(db, shift.starts_at + timedelta(hours=1), Settings())
        assert winner in {d.staff_id for d in duty}
    engine.dispose()


def test_a_backup_covers_only_a_shift_of_their_own_group_and_region():
    """D11: dispatch treats a called-in backup as the shift's group and region."""
    onsite_urban = Shift(roster_id=1, staff_id=1, day=date(2026, 12, 5), kind="night",
                         group="onsite", region="urban")
    remote = Shift(roster_id=1, staff_id=1, day=date(2026, 12, 5), kind="night", group="remote")
    urban = Staff(username="a", password_hash="x", display_name="A", group="onsite", region="urban")
    suburban = Staff(username="b", password_hash="x", display_name="B", group="onsite",
                     region="suburban")
    desk = Staff(username="c", password_hash="x", display_name="C", group="remote")
    assert absences._fits(urban, onsite_urban) and absences._fits(desk, remote)
    assert not absences._fits(suburban, onsite_urban)
    assert not absences._fits(desk, onsite_urban) and not absences._fits(urban, remote)
