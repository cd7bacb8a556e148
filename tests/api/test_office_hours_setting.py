"""D17 with a non-default FIELDOPS_OFFICE_HOURS (09:00-17:30): every place that asks who is
on duty reads the configured hours, never the 08:00-18:00 default. At 17:45 on a working
Monday nobody counts as on duty in office hours (no shift either: the night starts at
18:00); at 17:00 everyone qualified does, until 17:30.

The screens (the duty screen, the board's duty panel, the home panel, the remote queue's
"take it") and the acknowledgement chain's backup step (S12, D8b) are checked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlmodel import select

from server.actions import ack_chain
from server.actions import jobs as J
from server.models import AuditEntry, Roster, RosterBackup
from server.queries.duty import on_duty
from server.queries.remote import remote_queue
from tests.api.dispatch_data import handed_off
from tests.api.roster_team import engineer, local
from tests.conftest import login, text_of

MONDAY = date(2026, 12, 7)  # an ordinary working day
IN_HOURS = local(MONDAY, 17, 0)
AFTER_HOURS = local(MONDAY, 17, 45)  # inside the default 08:00-18:00, outside 09:00-17:30


@pytest.fixture
def settings(settings):
    """The app and every direct call get the configured hours."""
    return replace(settings, office_hours="09:00-17:30")


@pytest.fixture
def crew(db):
    return {
        "remote": engineer(db, "r.li", "李远", "remote", None),
        "backup": engineer(db, "r.bei", "贝后备", "remote", None),
        "urban": engineer(db, "u.zhao", "赵城", "onsite", "urban"),
    }


def test_the_setting_is_what_on_duty_counts(db, crew, settings):
    assert {d.staff_id for d in on_duty(db, IN_HOURS, settings)} == {c.id for c in crew.values()}
    assert on_duty(db, IN_HOURS, settings)[0].ends_at == local(MONDAY, 17, 30)
    assert on_duty(db, AFTER_HOURS, settings) == []


@pytest.mark.parametrize("at, listed", [(IN_HOURS, True), (AFTER_HOURS, False)])
def test_duty_screen_reads_the_configured_office_hours(client, clock, db, people, crew, at, listed):
    clock.set(at)
    login(client, "manager")
    page = text_of(client.get("/roster/duty").text)
    assert ("李远" in page) is listed
    if listed:
        assert "→ 17:30" in page  # the configured end, not 18:00
    else:
        assert "当前无人在岗" in page


@pytest.mark.parametrize("at, listed", [(IN_HOURS, True), (AFTER_HOURS, False)])
def test_board_duty_panel_reads_the_configured_office_hours(client, clock, db, people, crew, at, listed):
    clock.set(at)
    login(client, "dispatcher")
    html = client.get("/board").text
    duty = html[html.index('id="duty"'):]
    assert ("李远" in duty) is listed


def test_home_panel_reads_the_configured_office_hours(client, clock, db, people, crew):
    clock.set(IN_HOURS)
    login(client, "dispatcher")
    page = text_of(client.get("/").text)
    assert "办公时间 09:00-17:30" in page and "远程 2" in page
    clock.set(AFTER_HOURS)
    page = text_of(client.get("/").text)
    assert "办公时间（09:00-17:30）之外" in page
    assert "远程 2" not in page


def test_remote_queue_on_duty_flag_reads_the_configured_office_hours(client, clock, db, people, crew,
                                                                      settings):
    req = handed_off(db, people["agent"], local(MONDAY, 16, 0), settings, classification="remote")
    assert remote_queue(db, crew["remote"].id, IN_HOURS, settings).on_duty
    assert not remote_queue(db, crew["remote"].id, AFTER_HOURS, settings).on_duty
    clock.set(AFTER_HOURS)
    login(client, "r.li")
    html = client.get("/remote").text
    assert req.number in html
    assert f"/remote/requests/{req.id}/take" not in html  # seen, but not to be taken
    assert "您当前不在岗" in text_of(html)


def _backups(db, *people):
    roster = Roster(month="2026-12", status="published")
    db.add(roster)
    db.flush()
    for person in people:
        db.add(RosterBackup(roster_id=roster.id, staff_id=person.id))
    db.commit()


def test_ack_chain_calls_a_backup_who_is_off_duty_by_the_configured_hours(db, people, crew, settings):
    """D8b/S12: at 17:45 the backup is not on duty under 09:00-17:30, so the unaccepted
    job goes to them, not straight to the lead (under the default hours they would count
    as on duty in office hours, hence busy, and the backup step would be skipped)."""
    _backups(db, crew["backup"])
    assigned = local(MONDAY, 17, 20)
    req = handed_off(db, people["agent"], assigned, settings, classification="remote")
    job = J.assign_job(db, people["dispatcher"].id, req.id, crew["remote"].id, "remote", assigned,
                       settings)
    db.commit()
    offered = ack_chain.advance(db, job.id, AFTER_HOURS, settings)
    db.commit()
    assert offered is not None and offered.assignee_id == crew["backup"].id
    steps = db.exec(select(AuditEntry.details).where(
        AuditEntry.request_id == req.id,
        AuditEntry.action.in_(ack_chain.STEP_ACTIONS.values()))).all()
    assert [s["step"] for s in steps] == ["backup"]

