"""The customer's private feedback link (S6, D9): unguessable, single-use, expiring, and
answered through the same action as the agent's form (a low score reopens)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from server.actions.feedback_link import LinkRefused, make_link, open_link
from server.db import utcnow
from server.models import AuditEntry, Feedback, FeedbackLink, GuessFailure, SupportRequest
from tests.api.test_feedback import resolved  # noqa: F401  (fixture)
from tests.conftest import csrf_token, form_post, login, text_of


def _link(client, request_id) -> str:
    login(client, "agent")
    r = form_post(client, f"/requests/{request_id}/feedback-link", htmx=True)
    assert r.status_code == 200, r.text
    url = re.search(r'value="(http[^"]+/f/[^"]+)"', r.text).group(1)
    client.post("/logout", headers={"x-csrftoken": csrf_token(client)})
    client.cookies.pop("fieldops_session", None)
    return "/f/" + url.rsplit("/f/", 1)[1]


def _answer(client, path, **data):
    data = {"score": "5", "resolved": "yes", "comment": "", **data}
    return client.post(path, data=data | {"_csrf_token": csrf_token(client)},
                       follow_redirects=False)


def test_the_customer_answers_once_without_signing_in(client, db, resolved):  # noqa: F811
    path = _link(client, resolved.id)
    assert len(path.rsplit("/", 1)[1]) >= 40  # 32 random bytes
    page = client.get(path)
    assert page.status_code == 200 and resolved.number in page.text
    assert "满意" in page.text and resolved.phone not in page.text  # Chinese first, no data leak
    assert page.headers["cache-control"] == "no-store"
    r = _answer(client, path, score="5", resolved="yes", comment="工程师很专业")
    assert r.status_code == 200 and "谢谢" in r.text
    db.expire_all()
    req = db.get(SupportRequest, resolved.id)
    assert req.status == "closed"
    fb = db.exec(select(Feedback).where(Feedback.request_id == req.id)).one()
    assert (fb.via, fb.recorded_by, fb.score, fb.comment) == ("link", None, 5, "工程师很专业")
    # single use: opening or answering again is refused, nothing changes
    again = client.get(path)
    assert again.status_code == 410 and "已使用" in again.text
    assert _answer(client, path, score="1", resolved="no").status_code == 410
    db.expire_all()
    assert len(db.exec(select(Feedback).where(Feedback.request_id == req.id)).all()) == 1
    assert db.get(SupportRequest, req.id).status == "closed"


def test_a_low_score_reopens_like_the_agents_form(client, db, resolved):  # noqa: F811
    path = _link(client, resolved.id)
    r = _answer(client, path, score="2", resolved="yes")
    assert r.status_code == 200 and "再次联系" in r.text
    db.expire_all()
    assert db.get(SupportRequest, resolved.id).status == "handed_off"
    actions = [e.action for e in db.exec(select(AuditEntry).where(
        AuditEntry.request_id == resolved.id)).all()]
    assert actions[-3:] == ["feedback.link_made", "feedback.recorded", "request.reopened"]


def test_bad_answers_are_refused_with_a_message_and_the_link_still_works(client, db, resolved):  # noqa: F811
    path = _link(client, resolved.id)
    r = _answer(client, path, score="9", resolved="maybe")
    assert r.status_code == 422 and "请选择 1 到 5 分" in text_of(r.text)
    assert client.get(path).status_code == 200
    db.expire_all()
    assert db.exec(select(Feedback)).all() == []


def test_an_expired_or_replaced_link_is_refused(client, db, resolved, settings):  # noqa: F811
    path = _link(client, resolved.id)
    link = db.exec(select(FeedbackLink)).one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.add(link)
    db.commit()
    r = client.get(path)
    assert r.status_code == 410 and "已过期" in r.text
    assert _answer(client, path).status_code == 410
    newer = _link(client, resolved.id)
    assert client.get(newer).status_code == 200
    older_row = db.exec(select(FeedbackLink).order_by(FeedbackLink.id)).first()
    db.refresh(older_row)
    assert older_row.revoked_at is not None
    # the setting decides the lifetime: 7 days by default
    row = db.exec(select(FeedbackLink).order_by(FeedbackLink.id.desc())).first()
    assert row.expires_at - row.created_at == timedelta(days=7)


def test_expiry_follows_the_setting(db, people, resolved, settings):  # noqa: F811
    now = utcnow()
    short = replace(settings, feedback_link_days=1)
    link, token = make_link(db, people["agent"].id, resolved.id, now, short)
    assert open_link(db, token, "1.2.3.4", now + timedelta(hours=23), short)[1].id == resolved.id
    with pytest.raises(LinkRefused) as refused:
        open_link(db, token, "1.2.3.4", now + timedelta(days=1), short)
    assert refused.value.status == 410


def test_guessing_is_refused_after_a_few_tries_even_with_a_real_link(client, db, resolved, settings):  # noqa: F811
    path = _link(client, resolved.id)
    for i in range(settings.feedback_link_max_guesses):
        r = client.get(f"/f/guess{i}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
        assert r.status_code == 404 and "链接无效" in r.text
    assert len(db.exec(select(GuessFailure)).all()) == settings.feedback_link_max_guesses
    blocked = client.get(path)
    assert blocked.status_code == 429 and "过多" in blocked.text
    assert _answer(client, path).status_code == 429
    assert client.get("/f/" + "x" * 500).status_code == 400  # out of bounds: refused before
    db.expire_all()
    assert db.get(SupportRequest, resolved.id).status == "resolved"


def test_only_agents_and_managers_make_links_and_only_for_resolved_requests(
        client, db, people, resolved):  # noqa: F811
    login(client, "onsite")
    assert form_post(client, f"/requests/{resolved.id}/feedback-link", htmx=True).status_code == 403
    login(client, "agent")
    assert form_post(client, "/requests/999999/feedback-link", htmx=True).status_code == 422
    page = client.get("/requests/followup")
    assert f'hx-post="/requests/{resolved.id}/feedback-link"' in page.text
