"""The board as a page shows it: the first rows only, counts from the database, a bounded
on-duty panel, one render shared by every open board (server/queries/board_page.py,
server/queries/board_duty.py, server/routes/board_shared.py)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlmodel import Session, select

from server.actions import jobs as J
from server.actions.requests import record_request
from server.db import make_engine, utcnow
from server.migrate import upgrade
from server.models import FieldFact, Role, Staff
from server.queries import board as q
from server.queries import board_page as bp
from server.routes import board_shared
from tests.api.dispatch_data import FORM, engineer, handed_off, on_shift
from tests.conftest import add_staff, csrf_token, form_post, login


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-r="(\d+)"', html)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, settings):
    """(session, settings) on SQLite and, when FIELDOPS_TEST_DATABASE_URL is set, on
    PostgreSQL (the board's SQL is written for both), with one person per role."""
    if request.param == "sqlite":
        url = settings.db_url
    else:
        url = request.getfixturevalue("fresh_pg")
        upgrade(url)
    on = replace(settings, database_url=url)
    engine = make_engine(on.db_url)
    with Session(engine, expire_on_commit=False) as db:
        if request.param != "sqlite":
            for role in Role:
                add_staff(db, role.value, role.value)
        yield db, on
    engine.dispose()


@pytest.fixture
def mix(any_db, people, clock):
    """Open requests at every stage: new, handed off, offered, accepted; P1-P3; remote
    and onsite; clocks breached, in warning, running, paused now, paused and resumed;
    offers not accepted in time; flagged facts, one an arrival beyond the radius;
    onsite suburban requests nobody on duty can take (no suburban engineer on shift)."""
    db, settings = any_db
    agent = db.exec(select(Staff).where(Staff.username == "agent")).one()
    boss = db.exec(select(Staff.id).where(Staff.username == "dispatcher")).one()
    remote = engineer(db, "r1", "remote", display_name="张伟")
    urban = engineer(db, "u1", "onsite", "urban", display_name="张强")
    on_shift(db, clock.now, remote, urban, hours=12)
    made, jobs = [], {}
    # two P1s accepted at once, so that the resolution clock is their only one running: both
    # get paused below; by their stored deadlines both are breached by the end, by the
    # moving ones (D6) neither is
    for _ in range(2):
        req = handed_off(db, agent, clock.now, settings, priority="P1")
        job = J.assign_job(db, boss, req.id, remote.id, "remote", clock.now, settings)
        J.accept_job(db, remote.id, job.id, clock.now, clock.now, settings)
        db.commit()
        made.append(req)
    for i in range(2, 40):
        at = clock.advance(minutes=1)
        priority = ("P1", "P2", "P3")[i % 3]
        onsite = i % 4 == 0
        region = "suburban" if i % 8 == 0 else "urban"
        form = {"region": region, "received_at": (at - timedelta(minutes=(i * 7) % 25)).isoformat()}
        if i % 10 == 9:  # still with the agent: only the handoff clock runs
            made.append(record_request(db, agent.id, FORM | form, at, settings))
            db.commit()
            continue
        req = handed_off(db, agent, at, settings, priority=priority,
                         classification="onsite" if onsite else "remote", **form)
        made.append(req)
        if i % 5 in (1, 2) and not (onsite and region == "suburban"):
            job = J.assign_job(db, boss, req.id, (urban if onsite else remote).id,
                               "onsite" if onsite else "remote", at, settings)
            jobs[req.id] = job
            if i % 5 == 2:
                J.accept_job(db, job.assignee_id, job.id, at, at, settings)
            db.commit()
    for i, req in enumerate(made):
        if req.status == "new":
            continue
        if i % 6 == 0:  # paused now, early in the queue by its stored deadline
            J.pause_request_clock(db, boss, req.id, "resolution", "客户要求等待", clock.now)
        elif i % 7 == 1:  # paused for a while and resumed: its deadline moved for good
            J.pause_request_clock(db, boss, req.id, "resolution", "联系不上客户", clock.now)
        db.commit()
    clock.advance(minutes=35)
    for i, req in enumerate(made):
        if i % 7 == 1 and i % 6 and req.status != "new":
            J.resume_request_clock(db, boss, req.id, "resolution", clock.now)
    flagged = list(jobs.values())[:2]
    for job, data in zip(flagged, ({"flags": ["outside"]}, {}), strict=True):
        db.add(FieldFact(id=str(uuid4()), job_id=job.id, request_id=job.request_id,
                         author_id=job.assignee_id,
                         kind="check_in", device_time=clock.now, effective_at=clock.now,
                         received_at=clock.now, data=data, flagged=True, flag_reason="far"))
    db.commit()
    clock.advance(minutes=5)
    return made


def test_the_first_rows_counts_and_attention_are_the_full_boards(any_db, mix, monkeypatch):
    """Whatever the limit, the bounded board shows exactly the first rows of the full one, in
    its order, with the same counts and attention; also with no margin at all (the paused
    requests are placed by their moving deadline, not their stored one)."""
    db, settings = any_db
    now = utcnow()
    full = q.board(db, now, settings)
    kinds = {a.kind for a in full.attention}
    states = {r.worst for r in full.rows}
    assert {"breached", "warning", "running", "paused"} <= states  # a realistic mix
    assert {r.id: r.worst for r in full.rows if r.id in (mix[0].id, mix[1].id)} == {
        mix[0].id: "paused", mix[1].id: "running"}
    assert {"nobody", "breached", "unacknowledged", "arrival", "flagged"} <= kinds
    assert {r.status for r in full.rows} == {"new", "handed_off", "assigned", "in_progress"}
    for margin in (bp.MARGIN, 0):
        monkeypatch.setattr(bp, "MARGIN", margin)
        for limit in (1, 3, 5, 8, 13, 21, 40, 60):
            page = bp.board_page(db, now, settings, limit)
            assert [r.id for r in page.rows] == [r.id for r in full.rows[:limit]], (margin, limit)
            assert [(r.worst, r.due, r.clocks, r.jobs) for r in page.rows] == \
                [(r.worst, r.due, r.clocks, r.jobs) for r in full.rows[:limit]]
            assert page.counts == full.counts
            assert page.open == len(full.rows) == 40
            assert page.attention == full.attention[:bp.ATTENTION_SHOWN]
            assert page.attention_total == len(full.attention)


def test_each_attention_kind_in_the_boards_order(any_db, mix, monkeypatch):
    """The first lines of the strip, kind by kind, when only a few lines are shown."""
    db, settings = any_db
    now = utcnow()
    full = q.board(db, now, settings).attention
    for shown in (1, 2, 4, 7, 30, 200):
        monkeypatch.setattr(bp, "ATTENTION_SHOWN", shown)
        page = bp.board_page(db, now, settings, 5)
        assert page.attention == full[:shown]
        assert page.attention_total == len(full)


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_counts_on_the_page(client, db, mix, settings):
    login(client, "dispatcher")
    html = client.get("/board").text
    full = q.board(db, utcnow(), settings)
    summary = html[html.index('class="board-summary"'):html.index("</div>", html.index('class="board-summary"'))]
    numbers = [int(n) for n in re.findall(r"<strong>(\d+)</strong>", summary)]
    assert numbers == [40, full.counts.get("breached", 0), full.counts.get("warning", 0),
                       full.counts.get("P1", 0), full.counts.get("handed_off", 0)]
    assert full.counts.get("breached", 0) > 0 and full.counts.get("warning", 0) > 0


def test_the_duty_panel_shows_the_first_jobs_and_how_many_more(client, db, people, settings, clock):
    """Each person's count and first few jobs; "+N more" loads the rest in place."""
    remote = engineer(db, "r1", "remote", display_name="张伟")
    free = engineer(db, "r2", "remote", display_name="李娜")
    on_shift(db, clock.now, remote, free)
    made = [handed_off(db, people["agent"], clock.now, settings) for _ in range(7)]
    for req in made:
        J.assign_job(db, people["dispatcher"].id, req.id, remote.id, "remote", clock.now, settings)
    db.commit()
    login(client, "dispatcher")
    page = client.get("/board").text
    duty = page[page.index('<section id="duty"'):]
    person = duty[duty.index("张伟"):duty.index("</li>", duty.index("张伟"))]
    pills = re.findall(r'href="/board/requests/(\d+)" class="job-pill', person)
    assert pills == [str(r.id) for r in made[:4]]  # the oldest first
    assert f'href="/board/duty/{remote.id}"' in person and "还有 3 个" in person
    assert "/board/duty/" not in duty[duty.index("李娜"):]  # nothing more for a free person
    every = client.get(f"/board/duty/{remote.id}", headers={"hx-request": "true"}).text
    assert re.findall(r'href="/board/requests/(\d+)" class="job-pill', every) == [str(r.id) for r in made]
    assert "/board/duty/" not in every and "<html" not in every
    whole = client.get(f"/board/duty/{remote.id}").text  # without script: a page of its own
    assert "张伟 的全部任务" in whole and whole.count('class="job-pill') == 7
    assert client.get("/board/duty/999999").status_code == 404


def test_one_render_shared_by_every_board_without_anyones_own_bits(app, db, people, settings, clock):
    """Two dispatchers in Chinese and one in English: the same change version is rendered
    once per language; each page keeps its own name and CSRF token."""
    from litestar.testing import TestClient

    add_staff(db, "dispatcher2", "dispatcher", display_name="第二调度")
    add_staff(db, "english", "dispatcher", display_name="Eve English", locale="en")
    handed_off(db, people["agent"], clock.now, settings)
    pages, tokens = {}, {}
    with TestClient(app=app) as a, TestClient(app=app) as b, TestClient(app=app) as e:
        for name, c in (("dispatcher", a), ("dispatcher2", b), ("english", e)):
            c.headers["accept"] = "text/html"
            login(c, name)
            tokens[name] = csrf_token(c)
        renders = board_shared.renders_of(app)
        made = renders.made
        for name, c in (("dispatcher", a), ("dispatcher2", b), ("english", e)):
            pages[name] = c.get("/board").text
        assert renders.made - made == 2  # zh once, en once
        for c in (a, b, e):
            assert c.get("/board", headers={"hx-request": "true"}).status_code == 200
        assert renders.made - made == 2  # the refreshes were shared too
    assert "Dispatch board" in pages["english"] and "On duty now" in pages["english"]
    assert "调度台" not in pages["english"] and "值班" not in pages["english"]
    assert "On duty now" not in pages["dispatcher"]
    for name, page in pages.items():
        others = [n for n in pages if n != name]
        assert tokens[name] in page
        assert not any(tokens[o] in page for o in others)
    assert "第二调度" in pages["dispatcher2"] and "第二调度" not in pages["dispatcher"]
    assert "Eve English" in pages["english"] and "Eve English" not in pages["dispatcher2"]
    shared = board_shared.renders_of(app)
    for _made_at, value in shared._entries.values():
        for part in (value.board, value.duty, value.duty_oob):
            assert not any(t in part for t in tokens.values())
            assert "第二调度" not in part and "Eve English" not in part


def test_a_change_is_on_the_next_refresh_at_once(client, db, people, settings, clock):
    """The shared render is keyed by the change version: the refresh that follows a change
    shows it, however recent the last render."""
    remote = engineer(db, "r1", "remote")
    on_shift(db, clock.now, remote)
    req = handed_off(db, people["agent"], clock.now, settings)
    login(client, "dispatcher")
    before = client.get("/board", headers={"hx-request": "true"}).text
    assert '<section id="duty" class="panel duty" hx-swap-oob="true"' in before and "<html" not in before
    row = before[before.index(f'<tr data-r="{req.id}"'):]
    assert "clk paused" not in row[:row.index("</tr>")]
    r = form_post(client, f"/board/requests/{req.id}/clocks/resolution/pause",
                  {"reason": "客户要求等待", "origin": "board"}, htmx=True)
    assert r.status_code == 200
    after = client.get("/board", headers={"hx-request": "true"}).text
    row = after[after.index(f'<tr data-r="{req.id}"'):]
    assert "clk paused" in row[:row.index("</tr>")]
    page = client.get("/board").text  # the page holds the same, without the out-of-band tag
    assert '<section id="duty" class="panel duty"' in page and "hx-swap-oob" not in page


def test_the_board_renders_in_a_worker_thread_not_on_the_event_loop(client, app, db, people, settings, clock):
    """Every board route renders its templates in the handler's thread; the event loop
    only sends the bytes."""
    remote = engineer(db, "r1", "remote")
    on_shift(db, clock.now, remote)
    req = handed_off(db, people["agent"], clock.now, settings)
    J.assign_job(db, people["dispatcher"].id, req.id, remote.id, "remote", clock.now, settings)
    db.commit()
    login(client, "dispatcher")
    engine = app.template_engine
    original = engine.get_template
    seen: list[tuple[str, bool]] = []

    def watched(name):
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:  # a worker thread runs no event loop
            on_loop = False
        seen.append((name, on_loop))
        return original(name)

    engine.get_template = watched
    try:
        for url in ("/board", "/board?rows=all", f"/board/requests/{req.id}",
                    f"/board/requests/{req.id}/panel", f"/board/duty/{remote.id}",
                    f"/board/requests/{req.id}/assign?kind=onsite"):
            for headers in ({}, {"hx-request": "true"}):
                board_shared.renders_of(app).clear()
                assert client.get(url, headers=headers).status_code == 200, url
        form_post(client, f"/board/requests/{req.id}/clocks/resolution/pause",
                  {"reason": "客户要求等待"}, htmx=True)
    finally:
        engine.get_template = original
    assert {name for name, _on_loop in seen} >= {
        "pages/board.html", "partials/board_requests.html", "partials/board_duty.html",
        "pages/request.html", "partials/request_detail.html", "partials/board_panel.html",
        "pages/board_duty_jobs.html", "partials/board_duty_jobs.html",
        "partials/assign_form.html"}
    assert [name for name, on_loop in seen if on_loop] == []


def test_the_bounded_board_answers_in_a_fixed_number_of_queries(db, people, settings, engine, clock):
    """No query per row or per person: 3 and 30 requests cost the same statements."""
    from sqlalchemy import event

    remote = engineer(db, "r1", "remote")
    on_shift(db, clock.now, remote)

    def statements() -> int:
        seen = []
        listener = lambda *_a: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            with Session(engine) as s:
                bp.board_page(s, utcnow(), settings, 10)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    def add(n: int) -> None:
        for i in range(n):
            req = handed_off(db, people["agent"], clock.now, settings)
            if i % 2:
                J.assign_job(db, people["dispatcher"].id, req.id, remote.id, "remote",
                             clock.now, settings)
            if i % 3 == 0:
                J.pause_request_clock(db, people["dispatcher"].id, req.id, "resolution",
                                      "客户要求等待", clock.now)
        db.commit()

    add(3)
    few = statements()
    add(27)
    assert statements() == few

