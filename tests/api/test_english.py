"""English shows no raw keys and no Chinese except what people typed (issue 13).

Every screen of every role is rendered in English over a small world whose user data
(names, customers, symptoms, notes) is all ASCII: any Chinese character left on a page
then comes from the software, as does any raw code (``first_response``, ``en_route``).
The language switcher's own "简体中文" is the language's name, the one exception.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from server.actions import jobs as J
from server.actions.field import CheckInArgs, FixNoteArgs, check_in, fix_note
from server.models import Role, Staff
from server.routes.nav import SCREENS
from tests.api.dispatch_data import handed_off, on_shift
from tests.conftest import add_staff, login

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
RAW = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
ASCII_FORM = {"customer_name": "Acme Live Ltd", "contact_name": "Li Ming",
              "address": "300 Peoples Avenue", "symptom": "Stream push failing"}


def visible(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<(option|button)[^>]*value="zh_CN"[^>]*>[^<]*</\1>', " ", html)  # its name
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


@pytest.fixture
def world(db, people, settings, clock):
    now = clock.now
    for staff in db.exec(select(Staff)).all():
        staff.locale = "en"
        db.add(staff)
    r1 = add_staff(db, "r1", "remote", display_name="Remote One", group="remote", locale="en")
    u1 = add_staff(db, "u1", "onsite", display_name="Onsite One", group="onsite", region="urban",
                   locale="en")
    on_shift(db, now, r1, u1)
    agent, lead = people["agent"], people["dispatcher"].id
    remote = handed_off(db, agent, now - timedelta(minutes=5), settings, priority="P1",
                        stream_state="live", **ASCII_FORM)
    onsite = handed_off(db, agent, now - timedelta(minutes=4), settings, classification="onsite",
                        priority="P2", **ASCII_FORM)
    waiting = handed_off(db, agent, now, settings, classification="onsite", priority="P3",
                         region="suburban", **ASCII_FORM)  # nobody on duty can take it
    rjob = J.assign_job(db, lead, remote.id, r1.id, "remote", now - timedelta(minutes=3), settings)
    ojob = J.assign_job(db, lead, onsite.id, u1.id, "onsite", now - timedelta(minutes=3), settings)
    check_in(db, u1.id, CheckInArgs(job_id=ojob.id, lat=31.3, lon=121.5), now, now, settings)
    fix_note(db, u1.id, FixNoteArgs(job_id=ojob.id, fault_kind="cabling", text="Swapped the SDI cable"),
             now, now, settings)
    db.commit()
    return {"remote": remote, "onsite": onsite, "waiting": waiting, "rjob": rjob, "ojob": ojob}


def pages_for(role: str, w) -> list[str]:
    urls = ["/"] + [s.url for s in SCREENS if not s.roles or role in s.roles]
    extra = {
        "dispatcher": [f"/board/requests/{w['remote'].id}", f"/board/requests/{w['onsite'].id}",
                       f"/board/requests/{w['waiting'].id}", f"/board/requests/{w['onsite'].id}/panel",
                       "/roster/duty"],
        "remote": [f"/remote/jobs/{w['rjob'].id}"],
        "onsite": [f"/field/jobs/{w['ojob'].id}"],
        "manager": [f"/board/requests/{w['onsite'].id}"],
    }
    return urls + extra.get(role, [])


USERS = {"agent": "agent", "dispatcher": "dispatcher", "remote": "r1", "onsite": "u1",
         "equipment": "equipment", "manager": "manager", "admin": "admin"}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_screen_in_english_has_no_raw_key_and_no_chinese(client, db, world, role):
    login(client, USERS[role])
    problems = []
    for url in pages_for(role, world):
        answer = client.get(url)
        if answer.status_code in (301, 302, 303, 307):
            continue
        assert answer.status_code == 200, (url, answer.status_code)
        text = visible(answer.text)
        for found in CJK.finditer(text):
            problems.append((url, "chinese", text[max(0, found.start() - 40):found.end() + 40]))
        if url.startswith("/audit"):
            continue  # the audit log lists the recorded action codes and details as stored
        for found in RAW.finditer(text):
            problems.append((url, "raw key", text[max(0, found.start() - 40):found.end() + 40]))
    assert problems == [], "\n".join(map(str, problems))
