"""The request page and the board's side panel offer "New job" only while a kind of job is
missing: with a remote and an onsite job both active, a new one would only be refused
("... already has this request's onsite job"), so the page says to reassign instead."""

from __future__ import annotations

from datetime import date

import pytest

from server.actions import jobs as J
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.api.roster_team import local
from tests.conftest import login, text_of

NIGHT = local(date(2026, 12, 7), 20, 0)  # a special period: the shifts below hold


@pytest.fixture
def both(db, people, clock, settings):
    clock.set(NIGHT)
    remote = engineer(db, "r1", "remote", display_name="张伟")
    onsite = engineer(db, "u1", "onsite", "urban", display_name="张强")
    on_shift(db, NIGHT, remote, onsite)
    req = handed_off(db, people["agent"], NIGHT, settings, classification="onsite")
    J.assign_job(db, people["dispatcher"].id, req.id, remote.id, "remote", NIGHT, settings)
    db.commit()
    return req, onsite


def _new_job_form(html: str) -> bool:
    return 'name="kind" value="onsite"' in html


@pytest.mark.parametrize("url", ["/board/requests/{id}", "/board/requests/{id}/panel"])
def test_new_job_only_while_a_kind_is_missing(client, db, people, both, settings, url):
    req, onsite = both
    login(client, "dispatcher")
    html = client.get(url.format(id=req.id), headers={"hx-request": "true"}).text
    assert _new_job_form(html) and "新建工单" in text_of(html)
    J.assign_job(db, people["dispatcher"].id, req.id, onsite.id, "onsite", NIGHT, settings)
    db.commit()
    html = client.get(url.format(id=req.id), headers={"hx-request": "true"}).text
    assert not _new_job_form(html) and "新建工单" not in text_of(html)
    assert "远程和现场工单都在进行中" in text_of(html)
    assert "改派" in text_of(html)  # each job still has its reassign form
