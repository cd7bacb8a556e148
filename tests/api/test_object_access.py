"""Object-level access (issue 11): a role that may use a route still reaches only its own
objects: another engineer's job, another client's sync mutations, another person's
calendar feed and shifts, photos of jobs that are not yours."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from sqlmodel import func, select

from server.actions.roster import ical_token
from server.db import utcnow
from server.models import FieldFact, Photo, Roster, Shift
from server.queries.calendar import load_calendar
from tests.api.field_world import build_world, mutation, push, results
from tests.conftest import add_staff, form_post, login


@pytest.fixture
def world(db, settings):
    return build_world(db, settings)


def _facts(db) -> int:
    db.commit()
    return db.exec(select(func.count()).select_from(FieldFact)).one()


def _jpeg() -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 10)).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


def test_another_engineers_job_is_neither_shown_nor_changed(client, db, world):
    login(client, "yang.fan")  # onsite too, but not this job's engineer
    assert client.get(f"/field/jobs/{world.job.id}").status_code == 403
    r = form_post(client, f"/field/jobs/{world.job.id}", {"mutation": "fix_note", "text": "x"},
                  htmx=True)  # fmt: skip
    assert r.status_code in (403, 422)
    pushed = results(push(client, [mutation("fix_note", world.job.id, text="x")], "yang-phone"))
    assert pushed[0]["status"] == "rejected"
    assert _facts(db) == 0


def test_another_clients_mutations_are_not_replayed_or_revealed(client, db, world):
    mine = mutation("photo", world.job.id, image=_jpeg())
    login(client, "zhang.qiang")
    assert results(push(client, [mine], "phone-1"))[0]["status"] == "applied"
    pulled = client.get("/sync/pull", params={"client_id": "phone-1"},
                        headers={"accept": "application/json"}).json()  # fmt: skip
    assert pulled["last_mutation_id"] == mine["id"]
    client.cookies.clear()
    login(client, "yang.fan")  # the same client id and mutation id from someone else
    theirs = results(push(client, [mine], "phone-1"))[0]
    assert theirs["status"] == "rejected" and theirs["replayed"] is False
    assert theirs.get("fact_id") in (None, "") and theirs.get("job_id") in (None, world.job.id)
    pulled = client.get("/sync/pull", params={"client_id": "phone-1"},
                        headers={"accept": "application/json"}).json()  # fmt: skip
    assert pulled["last_mutation_id"] is None
    assert client.get(f"/field/photos/{mine['id']}").status_code == 403  # not their job
    assert db.get(Photo, mine["id"]) is not None


def test_a_photo_is_seen_by_its_job_and_the_roles_that_oversee_it(client, db, world):
    m = mutation("photo", world.job.id, image=_jpeg())
    login(client, "zhang.qiang")
    assert results(push(client, [m]))[0]["status"] == "applied"
    add_staff(db, "store", "equipment")
    add_staff(db, "agent1", "agent")
    for who, status in (("zhang.qiang", 200), ("wang.jg", 200), ("store", 200),
                        ("yang.fan", 403), ("agent1", 403)):  # fmt: skip
        client.cookies.clear()
        login(client, who)
        assert client.get(f"/field/photos/{m['id']}").status_code == status, who


def test_a_calendar_feed_and_shifts_belong_to_one_person(client, db):
    a = add_staff(db, "eng.a", "onsite", group="onsite", region="urban")
    b = add_staff(db, "eng.b", "onsite", group="onsite", region="urban")
    first = utcnow().date() + timedelta(days=5)  # the feed shows the shifts to come
    roster = Roster(month=first.strftime("%Y-%m"), status="published")
    db.add(roster)
    db.flush()
    cal = load_calendar(db)
    shifts = {}
    for n, person in enumerate((a, b)):
        day = first + timedelta(days=n)
        slot = cal.night_slot(day)
        shifts[person.username] = Shift(roster_id=roster.id, staff_id=person.id, day=day,
                                        kind="night", starts_at=slot.starts_at,
                                        ends_at=slot.ends_at, group="onsite", region="urban")
        db.add(shifts[person.username])
    token_a = ical_token(db, a.id)
    db.commit()
    feed = client.get(f"/ical/{token_a}.ics")
    assert feed.status_code == 200
    assert feed.text.count("BEGIN:VEVENT") == 1 and first.strftime("%Y%m%d") in feed.text
    assert f"UID:shift-{shifts['eng.a'].id}@" in feed.text
    assert f"UID:shift-{shifts['eng.b'].id}@" not in feed.text  # b's shift is not in a's feed
    other = "y" if token_a.endswith("x") else "x"  # one character off, never the same token
    assert client.get(f"/ical/{token_a[:-1]}{other}.ics").status_code == 404  # no guessing
    login(client, "eng.a")
    b_shift = shifts["eng.b"].id
    assert client.get(f"/my/shifts/{b_shift}/swap").status_code in (403, 404)
    r = form_post(client, f"/my/shifts/{b_shift}/swap", {"to_staff_id": str(a.id)})
    assert r.status_code in (403, 404)
    assert client.get(f"/roster/{roster.month}/hours").status_code == 403  # everyone's hours
