"""The dispatch board: order, clocks, who is on duty, role guards, fragments, and the
server-sent events that make it live (a real uvicorn, a real HTTP stream)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlmodel import Session, select

from server.actions import jobs as J
from server.db import utcnow
from server.domain import sla as sla_rules
from server.models import FieldFact, SlaClock, SlaEvent, SupportRequest
from server.queries import board as q
from server.queries import clocks
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.conftest import PASSWORD, login, text_of


@pytest.fixture
def crew(db, people):
    now = utcnow()
    crew = {
        "r1": engineer(db, "r1", "remote", display_name="张伟"),
        "u1": engineer(db, "u1", "onsite", "urban", display_name="张强"),
        "s1": engineer(db, "s1", "onsite", "suburban", display_name="梁志刚"),
    }
    on_shift(db, now, *crew.values())
    return crew


def numbers_in_order(html: str) -> list[str]:
    return re.findall(r"FO-\d{8}-\d{4}", html)


def test_board_lists_open_requests_soonest_deadline_first_with_their_clocks(client, db, people, crew, settings):
    now = utcnow()
    agent = people["agent"]
    p3 = handed_off(db, agent, now - timedelta(minutes=2), settings, priority="P3")
    p1 = handed_off(db, agent, now - timedelta(minutes=1), settings, priority="P1", stream_state="live")
    # D8a: a stream starting in 32 min (buffer 30) makes this P2 due first; D4: P1 still leads
    soon = handed_off(db, agent, now, settings, priority="P2", stream_state="upcoming",
                      stream_starts_at=(now + timedelta(minutes=32)).isoformat())
    closed = handed_off(db, agent, now, settings)
    J.cancel_request(db, people["dispatcher"].id, closed.id, "重复登记", now, settings)
    db.commit()
    login(client, "dispatcher")
    html = client.get("/board").text
    order = [n for n in numbers_in_order(html) if n in {p3.number, p1.number, soon.number, closed.number}]
    assert order == [p1.number, soon.number, p3.number]  # cancelled is not on the board
    row = html[html.index(f'data-r="{p1.id}"'):]
    row = row[:row.index("</tr>")]
    assert "首次响应" in row and "解决" in row and "data-s=" in row and "正在直播" in row
    first = db.exec(select(SlaClock).where(SlaClock.request_id == p1.id,
                                           SlaClock.kind == "first_response")).one()
    assert f'data-s="{int(first.deadline_at.timestamp())}"' in row
    warn = first.started_at + (first.deadline_at - first.started_at) * 0.8
    assert f'data-v="{int(warn.timestamp())}"' in row


def test_clock_states_warning_breached_and_paused(db, people, crew, settings):
    now = utcnow()
    agent = people["agent"]
    late = handed_off(db, agent, now - timedelta(minutes=20), settings, priority="P1")  # 5 min FR
    warn = handed_off(db, agent, now - timedelta(minutes=13), settings, priority="P2")  # 13/15
    held = handed_off(db, agent, now - timedelta(minutes=13), settings, priority="P2")
    J.pause_request_clock(db, people["dispatcher"].id, held.id, "first_response", "联系不上客户",
                          now - timedelta(minutes=1))
    db.commit()
    rows = {r.id: r for r in q.board(db, now, settings).rows}
    fr = {rid: next(c for c in rows[rid].clocks if c.kind == "first_response") for rid in rows}
    assert fr[late.id].state == "breached" and fr[late.id].remaining_seconds < 0
    assert fr[warn.id].state == "warning"
    assert fr[held.id].state == "paused" and fr[held.id].pause_reason == "联系不上客户"
    assert rows[late.id].worst == "breached"
    assert fr[late.id].remaining_text.startswith("-")


def test_who_is_on_duty_per_group_and_region_with_their_jobs(client, db, people, crew, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now, settings, classification="onsite")
    J.assign_job(db, people["dispatcher"].id, req.id, crew["u1"].id, "onsite", now, settings)
    db.commit()
    groups = q.board(db, now, settings).duty
    assert [(g.group, g.region, [p.duty.display_name for p in g.people]) for g in groups] == [
        ("remote", None, ["张伟"]), ("onsite", "urban", ["张强"]), ("onsite", "suburban", ["梁志刚"])]
    urban = groups[1].people[0]
    assert urban.jobs == ((req.id, req.number, "P2", "offered"),)
    login(client, "dispatcher")
    duty = client.get("/board").text
    duty = duty[duty.index('id="duty"'):]
    assert "张强" in duty and req.number[-4:] in duty and "待接单" in duty


def test_fragment_for_htmx_page_otherwise(client, db, people, crew, settings):
    handed_off(db, people["agent"], utcnow(), settings)
    login(client, "dispatcher")
    page = client.get("/board")
    frag = client.get("/board", headers={"hx-request": "true"})
    assert "HX-Request" in page.headers["vary"] and "HX-Request" in frag.headers["vary"]
    assert "<html" in page.text and 'data-live' in page.text and "<html" not in frag.text
    assert frag.text.lstrip().startswith('<div class="board-summary"')
    assert 'id="duty" class="panel duty" hx-swap-oob="true"' in frag.text  # on-duty list too


def test_board_needs_the_dispatcher_or_manager_role(client, people):
    assert client.get("/board", follow_redirects=False).status_code in (303, 401)
    for username, status in (("agent", 403), ("remote", 403), ("onsite", 403),
                             ("equipment", 403), ("dispatcher", 200), ("manager", 200)):
        client.cookies.clear()
        login(client, username)
        assert client.get("/board").status_code == status, username
        assert client.get("/board/requests/1").status_code in (status, 404), username


def test_board_loads_in_a_fixed_number_of_queries(db, people, crew, settings, engine):
    """No query per row: 3 requests and 30 requests cost the same number of statements."""
    now = utcnow()

    def statements() -> int:
        seen = []

        def count(*_args) -> None:
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            with Session(engine) as s:
                q.board(s, now, settings)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    def add(n: int) -> None:
        for i in range(n):
            req = handed_off(db, people["agent"], now, settings)
            if i % 2:
                J.assign_job(db, people["dispatcher"].id, req.id, crew["r1"].id, "remote", now,
                             settings)
        db.commit()

    add(3)
    few = statements()
    add(27)
    assert statements() == few


def test_request_page_timeline_has_every_step_who_when_where(client, db, people, crew, settings):
    now = utcnow()
    req = handed_off(db, people["agent"], now - timedelta(minutes=30), settings,
                     classification="onsite", priority="P1", stream_state="live")
    job = J.assign_job(db, people["dispatcher"].id, req.id, crew["u1"].id, "onsite",
                       now - timedelta(minutes=29), settings)
    J.pause_request_clock(db, people["dispatcher"].id, req.id, "resolution", "客户要求等待",
                          now - timedelta(minutes=20))
    arrival = db.exec(select(SlaClock).where(SlaClock.request_id == req.id,
                                             SlaClock.kind == "arrival")).one()
    db.add(SlaEvent(clock_id=arrival.id, level="warning", fired_at=now - timedelta(minutes=5)))
    db.add(FieldFact(id="8b0f7a8e-0000-4000-8000-000000000001", job_id=job.id, request_id=req.id,
                     author_id=crew["u1"].id, kind="check_in", device_time=now, effective_at=now,
                     received_at=now, lat=31.2304, lon=121.4737, accuracy_m=12, distance_m=420,
                     flagged=True, flag_reason="签到位置距场馆 420 米，超出 300 米签到范围"))
    db.commit()
    login(client, "dispatcher")
    page = text_of(client.get(f"/board/requests/{req.id}").text)
    expected = ["收到需求", "已转交技术服务部", "已分派工单", "计时已暂停", "时限预警", "已到场签到"]
    positions = [page.index(step) for step in expected]
    assert positions == sorted(positions)
    assert "客户要求等待" in page and "王建国" not in page  # names come from the staff table
    assert "Dispatcher" in page and "张强" in page  # who
    assert "31.23040, 121.47370" in page and "距场馆 420 米" in page  # where
    assert "超出 300 米签到范围" in page


# -- live updates: server-sent events ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(app):
    """The app on a real uvicorn in this process (so a test can commit and listen)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(),
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def signed_in(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=httpx.Timeout(10.0), headers={"accept": "text/html"})
    c.get("/login")
    r = c.post("/login", data={"username": username, "password": PASSWORD,
                               "_csrf_token": c.cookies["csrftoken"], "next": "/"})
    assert r.status_code in (200, 303)
    return c


def read_events(lines, until, limit: float = 10.0) -> list[dict]:
    """Parse SSE messages from ``lines`` until ``until(events)`` holds or ``limit`` s pass."""
    events, current = [], {}
    deadline = time.monotonic() + limit
    for line in lines:
        if line == "":
            if current:
                events.append(current)
                if until(events):
                    return events
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            current[key] = value.strip()
        if time.monotonic() > deadline:
            break
    return events


def test_events_stream_a_change_committed_after_connecting(served, db, people, crew, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    client = signed_in(served, "dispatcher")
    with client.stream("GET", "/events") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        first = [next(lines) for _ in range(3)]
        assert first[0] == ": ready" and first[1].startswith("id: ")
        ready_id = int(first[1][4:])

        def change() -> None:
            time.sleep(0.2)
            J.assign_job(db, people["dispatcher"].id, req.id, crew["r1"].id, "remote", utcnow(),
                         settings)
            db.commit()

        threading.Thread(target=change).start()
        events = read_events(lines, lambda ev: any(e.get("event") == "change" for e in ev))
    change_event = next(e for e in events if e.get("event") == "change")
    assert f"{req.id}" in change_event["data"] and '"job"' in change_event["data"]
    assert int(change_event["id"]) > ready_id


def test_a_reconnecting_browser_hears_at_once_what_it_missed(served, db, people, crew, settings):
    client = signed_in(served, "dispatcher")
    handed_off(db, people["agent"], utcnow(), settings)  # a change while "disconnected"
    with client.stream("GET", "/events", headers={"last-event-id": "0"}) as r:
        events = read_events(r.iter_lines(), lambda ev: bool(ev), limit=5)
    assert events[0]["event"] == "change" and events[0]["data"] == '{"requests": null}'


def test_events_need_a_signed_in_person(served):
    with httpx.Client(base_url=served) as c:
        assert c.get("/events").status_code == 401


def test_nothing_is_announced_for_a_rolled_back_change(served, db, people, crew, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    client = signed_in(served, "dispatcher")
    with client.stream("GET", "/events") as r:
        lines = r.iter_lines()
        assert next(lines) == ": ready"

        def refused_then_real() -> None:
            time.sleep(0.2)
            try:
                J.assign_job(db, people["dispatcher"].id, req.id, crew["u1"].id, "remote",
                             utcnow(), settings)
            except Exception:  # noqa: BLE001 - refused: u1 is onsite
                db.rollback()
            J.cancel_request(db, people["dispatcher"].id, req.id, "测试", utcnow(), settings)
            db.commit()

        threading.Thread(target=refused_then_real).start()
        events = read_events(lines, lambda ev: any(e.get("event") == "change" for e in ev))
    changes = [e for e in events if e.get("event") == "change"]
    assert len(changes) == 1 and '"request"' in changes[0]["data"]


@pytest.mark.postgres
def test_a_change_in_one_server_process_reaches_a_browser_on_another(fresh_pg, tmp_path):
    """Two `serve` processes on one PostgreSQL: LISTEN/NOTIFY carries the change across."""
    import os

    from server.db import make_engine
    from server.migrate import upgrade
    from server.models import Role
    from server.settings import Settings
    from tests.conftest import add_staff

    upgrade(fresh_pg)
    engine = make_engine(fresh_pg)
    settings = Settings(database_url=fresh_pg, data_dir=tmp_path)
    with Session(engine, expire_on_commit=False) as db:
        people = {r.value: add_staff(db, r.value, r.value) for r in Role}
        r1 = engineer(db, "r1", "remote", display_name="张伟")
        on_shift(db, utcnow(), r1)
        req = handed_off(db, people["agent"], utcnow(), settings)
    engine.dispose()
    root = Path(__file__).resolve().parents[2]
    procs, urls = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            env = dict(os.environ, FIELDOPS_DATABASE_URL=fresh_pg, FIELDOPS_PORT=str(port),
                       FIELDOPS_HOST="127.0.0.1", FIELDOPS_DATA_DIR=str(tmp_path / name),
                       FIELDOPS_DEMO_DATA="0", FIELDOPS_BACKGROUND_LOOP="0",
                       FIELDOPS_PUSH_ENABLED="0", FIELDOPS_SECRET_KEY="ab" * 32)
            procs.append(subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], cwd=root,
                                          env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            for _ in range(300):
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
        watcher = signed_in(urls[1], "dispatcher")
        actor = signed_in(urls[0], "dispatcher")
        with watcher.stream("GET", "/events") as r:
            lines = r.iter_lines()
            assert next(lines) == ": ready"
            csrf = actor.cookies["csrftoken"]
            done = actor.post(f"/board/requests/{req.id}/assign",
                              data={"kind": "remote", "engineer_id": r1.id, "origin": "board"},
                              headers={"x-csrftoken": csrf, "hx-request": "true"})
            assert done.status_code == 200, done.text
            events = read_events(lines, lambda ev: any(e.get("event") == "change" for e in ev))
        assert any(e.get("event") == "change" and str(req.id) in e["data"] for e in events)
        board = watcher.get("/board").text  # the board's epoch-second clock math on PostgreSQL
        row = board[board.index(f'data-r="{req.id}"'):]
        row = row[:row.index("</tr>")]
        first = clocks.EPOCH + timedelta(seconds=int(re.search(r'data-s="(\d+)"', row).group(1)))
        assert abs((first - (utcnow() + timedelta(minutes=15))).total_seconds()) < 120
        assert "张伟" in row
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def test_request_status_after_board_assignment(client, db, people, crew, settings):
    req = handed_off(db, people["agent"], utcnow(), settings)
    login(client, "dispatcher")
    from tests.conftest import form_post

    form_post(client, f"/board/requests/{req.id}/assign",
              {"kind": "remote", "engineer_id": crew["r1"].id, "origin": "board"}, htmx=True)
    db.expire_all()
    assert db.get(SupportRequest, req.id).status == "assigned"
    html = client.get("/board").text
    row = html[html.index(f'data-r="{req.id}"'):]
    assert "等待工程师接单" in row[:row.index("</tr>")]


# -- the board's fast path for clocks equals the domain rule ---------------------------------


@given(started=st.integers(0, 10**6), budget=st.integers(0, 10**5), at=st.integers(-10**5, 2 * 10**6),
       warn=st.sampled_from([0.5, 0.75, 0.8, 0.95]))
def test_running_clock_arithmetic_is_clock_status_without_pauses(started, budget, at, warn):
    base = clocks.EPOCH + timedelta(days=20_000)
    b = (base - clocks.EPOCH).total_seconds()
    targets = sla_rules.SlaTargets(warn_fraction=warn)
    s0, d0, now = base + timedelta(seconds=started), base + timedelta(seconds=started + budget), \
        base + timedelta(seconds=at)
    expected = sla_rules.clock_status(s0, d0, [], None, now, targets)
    state, remaining, fraction = clocks.running_clock(b + started, b + started + budget, b + at, warn)
    assert (state, remaining, fraction) == (expected.state, expected.remaining_seconds,
                                            expected.fraction_used)
    view = clocks.clock_view("resolution", b + started, b + started + budget, [], now, b + at, targets)
    assert view.state == expected.state and view.deadline == expected.effective_deadline


@given(paused_for=st.integers(1, 3600), ago=st.integers(0, 3600), open_pause=st.booleans())
def test_a_paused_clock_on_the_board_moves_its_deadline_like_the_domain_says(paused_for, ago, open_pause):
    now = clocks.EPOCH + timedelta(days=20_000, hours=5)
    start = now - timedelta(hours=1)
    deadline = start + timedelta(hours=4)
    p_start = now - timedelta(seconds=ago + paused_for)
    pause = sla_rules.Pause(p_start, None if open_pause else p_start + timedelta(seconds=paused_for),
                            "联系不上客户")
    targets = sla_rules.SlaTargets()
    expected = sla_rules.clock_status(start, deadline, [pause], None, now, targets)
    secs = lambda t: (t - clocks.EPOCH).total_seconds()  # noqa: E731
    view = clocks.clock_view("resolution", secs(start), secs(deadline), [pause], now, secs(now), targets)
    assert view.state == expected.state
    assert view.deadline == expected.effective_deadline
    assert view.pause_reason == ("联系不上客户" if open_pause else None)


def test_the_page_shows_the_most_urgent_rows_and_loads_more_on_scroll(client, db, people, crew, settings, monkeypatch):
    from server.routes import board as board_routes

    monkeypatch.setattr(board_routes, "PAGE_ROWS", 3)
    now = utcnow()
    made = [handed_off(db, people["agent"], now - timedelta(minutes=i), settings) for i in range(7)]
    login(client, "dispatcher")
    html = client.get("/board").text
    shown = re.findall(r'<tr data-r="(\d+)"', html)
    assert len(shown) == 3  # the oldest handoffs are due first
    assert shown == [str(r.id) for r in made[-1:-4:-1]]
    assert 'hx-get="/board/more?offset=3"' in html and "(4)" in html
    more = client.get("/board/more?offset=3", headers={"hx-request": "true"}).text
    assert re.findall(r'<tr data-r="(\d+)"', more) == [str(r.id) for r in made[-4:-7:-1]]
    assert 'hx-get="/board/more?offset=6"' in more and "(1)" in more
    last = client.get("/board/more?offset=6", headers={"hx-request": "true"}).text
    assert len(re.findall(r'<tr data-r=', last)) == 1 and "/board/more" not in last
    # a live refresh asks for as many rows as the page holds; "all" shows every one
    frag = client.get("/board?rows=6", headers={"hx-request": "true"}).text
    assert len(re.findall(r'<tr data-r=', frag)) == 6
    assert len(re.findall(r'<tr data-r=', client.get("/board?rows=all").text)) == 7
