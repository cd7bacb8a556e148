"""D19: the customer's private status link: stage, engineer's name and masked phone, an
arrival estimate (never the position), live, expiring at close + 24 h."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlmodel import select

from server.actions import field
from server.actions import jobs as J
from server.actions.status_link import ensure_token
from server.db import utcnow
from server.domain.inbound import customer_stage, eta_minutes, mask_phone
from server.models import Job, SupportRequest, Venue
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.conftest import add_staff, csrf_token, text_of

VENUE = (31.2304, 121.4737)  # People's Square, WGS-84


def setup_request(db, settings, now, **form):
    u1 = engineer(db, "u1", "onsite", "urban", display_name="张强", phone="13912345678")
    on_shift(db, now, u1)
    agent = add_staff(db, "agent1", "agent")
    lead = add_staff(db, "lead1", "dispatcher")
    venue = Venue(name="星光直播间", address="上海市黄浦区人民大道 1 号", lat=VENUE[0], lon=VENUE[1],
                  region="urban")
    db.add(venue)
    db.commit()
    req = handed_off(db, agent, now, settings, classification="onsite", priority="P1", **form)
    req.venue_id = venue.id
    token = ensure_token(db, req)
    job = J.assign_job(db, lead.id, req.id, u1.id, "onsite", now, settings)
    db.commit()
    return req, job, u1, token


def test_the_page_tells_the_stage_engineer_and_eta_and_nothing_else(client, db, settings):
    now = utcnow()
    req, job, u1, token = setup_request(db, settings, now)
    other, *_ = (handed_off(db, add_staff(db, "agent2", "agent"), now, settings,
                            customer_name="别家公司", phone="13700000000"),)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert req.number in text and "已为您指派工程师" in text
    assert "张强" in text and "139****5678" in text and "13912345678" not in text
    assert other.number not in text and "别家公司" not in text
    assert page.headers["cache-control"] == "no-store"

    # on the way, 5.6 km away: an estimate in minutes, never the position
    J.accept_job(db, u1.id, job.id, now, now, settings)
    field.on_my_way(db, u1.id, field.OnMyWayArgs(job_id=job.id, lat=31.2304, lon=121.4150),
                    now, now, settings)
    db.commit()
    text = text_of(client.get(f"/s/{token}/card").text)
    assert "工程师正在路上" in text and "约 20 分钟到达" in text
    assert "31.23" not in page.text + text and "121.41" not in text

    field.check_in(db, u1.id, field.CheckInArgs(job_id=job.id, lat=VENUE[0], lon=VENUE[1],
                                                accuracy_m=10), now, now, settings)
    db.commit()
    assert "工程师已到场" in text_of(client.get(f"/s/{token}/card").text)


def test_a_wrong_token_tells_nothing_and_a_closed_request_expires_after_a_day(
        client, db, settings):
    now = utcnow()
    req, _job, _u1, token = setup_request(db, settings, now)
    assert client.get("/s/" + "A" * 43).status_code == 404
    assert client.get("/s/" + token[:-1]).status_code == 404
    row = db.get(SupportRequest, req.id)
    row.status, row.closed_at = "closed", now - timedelta(hours=23)
    db.add(row)
    db.commit()
    assert client.get(f"/s/{token}").status_code == 200
    row.closed_at = now - timedelta(hours=24, minutes=1)
    db.add(row)
    db.commit()
    gone = client.get(f"/s/{token}")
    assert gone.status_code == 404 and req.number not in gone.text


def _resolve(db, req, now):
    row = db.get(SupportRequest, req.id)
    row.status, row.resolved_at = "resolved", now
    db.add(row)
    db.commit()


def _feedback_path(html: str) -> str | None:
    import re

    found = re.search(r'href="(/f/[A-Za-z0-9_-]{43})"', html)
    return found.group(1) if found else None


def test_a_resolved_requests_page_ends_with_the_feedback_link_that_works(client, db, settings):
    """D19 "the feedback link at the end", S6: the customer answers from their status page."""
    from server.actions.feedback_link import make_link
    from server.models import Feedback, FeedbackLink

    now = utcnow()
    req, _job, _u1, token = setup_request(db, settings, now)
    assert _feedback_path(client.get(f"/s/{token}").text) is None  # not before it is resolved
    db.rollback()
    assert db.exec(select(FeedbackLink)).all() == []

    _resolve(db, req, now)
    page = client.get(f"/s/{token}")
    path = _feedback_path(page.text)
    assert path is not None and "评价本次服务" in text_of(page.text)
    assert _feedback_path(client.get(f"/s/{token}/card").text) == path  # live: the same link
    assert _feedback_path(client.get(f"/s/{token}").text) == path  # made once, shown again
    db.rollback()
    assert len(db.exec(select(FeedbackLink)).all()) == 1
    form = client.get(path)
    assert form.status_code == 200 and req.number in form.text

    # the agent's link for the same customer replaces it: the page shows the agent's
    agent = db.exec(select(SupportRequest.recorded_by).where(SupportRequest.id == req.id)).one()
    _link, secret = make_link(db, agent, req.id, now, settings)
    db.commit()
    assert _feedback_path(client.get(f"/s/{token}").text) == f"/f/{secret}" != path
    assert client.get(path).status_code == 410

    # answered from the page: the request closes, the page says so and offers no link
    answered = client.post(f"/f/{secret}", data={"score": "5", "resolved": "yes", "comment": "",
                                                 "_csrf_token": csrf_token(client)})
    assert answered.status_code == 200, answered.text
    db.rollback()
    assert db.exec(select(Feedback.via)).one() == "link"
    closed = client.get(f"/s/{token}")
    assert closed.status_code == 200 and _feedback_path(closed.text) is None


def test_the_live_stream_speaks_only_of_this_request():
    from litestar.channels import ChannelsPlugin
    from litestar.channels.backends.memory import MemoryChannelsBackend

    from server import live
    from server.routes.customer_status import _stream

    async def run() -> list:
        plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), channels=[live.CHANNEL])
        async with plugin:  # noqa: SIM117
            events = []
            stream = _stream(plugin, 7)
            events.append(await stream.__anext__())  # ready
            plugin.publish(json.dumps({"requests": [8], "staff": [], "entities": []}), live.CHANNEL)
            plugin.publish(json.dumps({"requests": [7], "staff": [], "entities": []}), live.CHANNEL)
            events.append(await asyncio.wait_for(stream.__anext__(), 5))
            await stream.aclose()
            return events

    ready, change = asyncio.run(run())
    assert ready.comment == "ready"
    assert change.event == "change" and change.data == "{}"  # no ids, no data of anyone


def test_rules():
    assert mask_phone("13912345678") == "139****5678"
    assert mask_phone("021-5555") == "******55"
    assert eta_minutes(0) == 5 and eta_minutes(5600) == 20
    assert customer_stage("assigned", "onsite", "offered") == "assigned"
    assert customer_stage("in_progress", "onsite", "en_route") == "on_the_way"
    assert customer_stage("in_progress", "remote", "accepted") == "remote"
    assert customer_stage("resolved", "onsite", "done") == "done"


def test_on_my_way_keeps_a_position_when_the_phone_has_one_and_goes_without(db, settings):
    from server.models import FieldFact

    now = utcnow()
    req, job, u1, _token = setup_request(db, settings, now)
    J.accept_job(db, u1.id, job.id, now, now, settings)
    args = field.OnMyWayArgs.model_validate({"job_id": job.id, "lat": "", "lon": "",
                                             "accuracy_m": ""})  # as a phone without GPS posts
    field.on_my_way(db, u1.id, args, now, now, settings)
    db.commit()
    fact = db.exec(select(FieldFact).where(FieldFact.job_id == job.id,
                                           FieldFact.kind == "en_route")).one()
    assert fact.lat is None and db.get(Job, job.id).status == "en_route"
