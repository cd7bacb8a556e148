"""The board rendered ahead: a dispatcher's change event goes out once the board for that
change is rendered, so the fetch every open board makes on the event renders nothing
(``board_shared.prepare``/``prepared``; a real uvicorn and a real event stream)."""

from __future__ import annotations

import threading
import time

from server.actions import jobs as J
from server.db import utcnow
from server.routes import board_shared
from tests.api.dispatch_data import engineer, handed_off, on_shift
from tests.api.test_board import crew, read_events, served, signed_in  # noqa: F401 - fixtures


def _heard_change(client, db, people, req, assignee, settings) -> dict:
    """Open ``client``'s /events stream, assign ``req`` to ``assignee`` (another thread,
    committed), and answer the stream's first change event."""
    def change() -> None:
        time.sleep(0.2)
        J.assign_job(db, people["dispatcher"].id, req.id, assignee.id, "remote", utcnow(), settings)
        db.commit()

    with client.stream("GET", "/events") as r:
        lines = r.iter_lines()
        assert next(lines) == ": ready"
        thread = threading.Thread(target=change)
        thread.start()
        events = read_events(lines, lambda ev: any(e.get("event") == "change" for e in ev))
        thread.join()
    return next(e for e in events if e.get("event") == "change")


def test_the_fetch_on_a_change_event_finds_the_board_rendered(served, app, db, people, crew, settings):  # noqa: F811
    req = handed_off(db, people["agent"], utcnow(), settings)
    watcher, other = signed_in(served, "dispatcher"), signed_in(served, "manager")
    assert other.get("/board", headers={"hx-request": "true"}).status_code == 200  # a board is open
    renders = board_shared.renders_of(app)
    event = _heard_change(watcher, db, people, req, crew["r1"], settings)
    made = renders.made
    assert any(key[0] == int(event["id"]) for key in renders._entries)  # rendered first
    board = other.get("/board", headers={"hx-request": "true"}).text
    page = watcher.get("/board").text
    assert renders.made == made  # both answered from the render made before the event
    for html in (board, page):
        row = html[html.index(f'<tr data-r="{req.id}"'):]
        assert "张伟" in row[:row.index("</tr>")]  # the assignment is on it


def test_an_engineers_stream_renders_no_board(served, app, db, people, crew, settings):  # noqa: F811
    req = handed_off(db, people["agent"], utcnow(), settings)
    dispatcher = signed_in(served, "dispatcher")
    assert dispatcher.get("/board").status_code == 200  # a board shape is wanted
    renders = board_shared.renders_of(app)
    made = renders.made
    engineer_phone = signed_in(served, "r1")
    _heard_change(engineer_phone, db, people, req, crew["r1"], settings)
    assert renders.made == made


def test_a_failed_render_ahead_still_sends_the_event(served, app, db, people, crew, settings, monkeypatch):  # noqa: F811
    req = handed_off(db, people["agent"], utcnow(), settings)
    watcher = signed_in(served, "dispatcher")
    assert watcher.get("/board").status_code == 200

    def broken(_app):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(board_shared, "prepare", broken)
    event = _heard_change(watcher, db, people, req, crew["r1"], settings)
    assert str(req.id) in event["data"]
    row = watcher.get("/board", headers={"hx-request": "true"}).text
    assert "张伟" in row[row.index(f'<tr data-r="{req.id}"'):]


def test_only_board_shapes_asked_for_lately_are_rendered_ahead(app, db, people, settings, monkeypatch):
    renders = board_shared.SharedRenders()
    renders.want("zh", 200)
    renders.want("en", 400)
    assert sorted(renders.wanted()) == [("en", 400), ("zh", 200)]
    later = time.monotonic() + board_shared.HOT_SECONDS + 1
    monkeypatch.setattr(board_shared.time, "monotonic", lambda: later)
    renders.want("zh", 200)
    assert renders.wanted() == [("zh", 200)]


def test_a_board_rendered_ahead_speaks_each_language_asked_for(app, db, people, settings):
    remote = engineer(db, "r9", "remote", display_name="王五")
    on_shift(db, utcnow(), remote)
    handed_off(db, people["agent"], utcnow(), settings)
    renders = board_shared.renders_of(app)
    renders.want("zh", 200)
    renders.want("en", 200)
    version = board_shared.prepare(app)
    assert version > 0
    zh, en = renders._entries[(version, "zh", 200)][1], renders._entries[(version, "en", 200)][1]
    assert "当前在岗" in zh.duty and "On duty now" in en.duty and "当前在岗" not in en.duty


def test_a_board_told_of_a_change_may_get_the_render_made_for_it(client, app, db, people, crew, settings):  # noqa: F811
    """``FO-Seen``: the change version the board heard of. A render made for it (or a newer
    change) answers the fetch even after more changes committed; those come in their own
    events. Without the header, or with one that is not a version, the newest change."""
    first = handed_off(db, people["agent"], utcnow(), settings)
    second = handed_off(db, people["agent"], utcnow(), settings)
    from tests.conftest import login

    login(client, "dispatcher")
    hx = {"hx-request": "true"}
    assert client.get("/board", headers=hx).status_code == 200  # this shape is wanted
    J.assign_job(db, people["dispatcher"].id, first.id, crew["r1"].id, "remote", utcnow(), settings)
    db.commit()
    told = board_shared.prepare(app)  # rendered ahead of the event for this change
    J.assign_job(db, people["dispatcher"].id, second.id, crew["r1"].id, "remote", utcnow(), settings)
    db.commit()
    renders = board_shared.renders_of(app)
    made = renders.made

    def assigned(html: str, req) -> bool:
        row = html[html.index(f'<tr data-r="{req.id}"'):]
        return "张伟" in row[:row.index("</tr>")]

    ahead = client.get("/board", headers={**hx, "FO-Seen": str(told)}).text
    assert renders.made == made and assigned(ahead, first) and not assigned(ahead, second)
    for header in ({}, {"FO-Seen": "x" * 40}, {"FO-Seen": str(told + 100)}):
        newest = client.get("/board", headers={**hx, **header})
        assert newest.status_code == 200 and assigned(newest.text, second), header


def test_the_board_is_compressed_once_per_render_not_per_fetch(client, app, db, people, crew, settings, monkeypatch):  # noqa: F811
    """The refresh fragment is gzip-compressed when rendered and sent as is to every board
    (the compression middleware, on the event loop, leaves the route alone); the page is
    compressed in its worker thread; a client without gzip gets plain HTML."""
    from tests.conftest import login

    handed_off(db, people["agent"], utcnow(), settings)
    login(client, "dispatcher")
    hx = {"hx-request": "true"}
    plain = client.get("/board", headers={**hx, "accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and '<tr data-r="' in plain.text
    packs = []
    real = board_shared.gzip_bytes
    monkeypatch.setattr(board_shared, "gzip_bytes", lambda body: packs.append(1) or real(body))
    for _ in range(3):
        r = client.get("/board", headers={**hx, "accept-encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
        assert r.text == plain.text  # one layer of gzip, the same HTML
    assert packs == []  # made with the render above: not compressed again per fetch
    page = client.get("/board", headers={"accept-encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip" and "<html" in page.text
    assert 'name="csrf-token"' in page.text or "csrftoken" in page.text.lower()


def test_a_burst_of_changes_is_rendered_together_a_moment_after_the_last_render(app, db, people, crew, settings, monkeypatch):  # noqa: F811
    """Renders ahead begin at least ``min_interval`` apart: the changes committed meanwhile
    are rendered together, once, and every stream told of any of them waits for that one."""
    import asyncio

    renders = board_shared.renders_of(app)
    renders.want("zh", 200)
    renders.min_interval = 0.5
    began: list[float] = []
    real = board_shared.prepare
    monkeypatch.setattr(board_shared, "prepare",  # when each render was let begin
                        lambda app_: began.append(renders.prepared_at) or real(app_))
    def change() -> int:
        req = handed_off(db, people["agent"], utcnow(), settings)
        J.assign_job(db, people["dispatcher"].id, req.id, crew["r1"].id, "remote", utcnow(), settings)
        db.commit()
        return board_shared.change_version(db)

    async def burst() -> list[int]:
        first = change()
        await board_shared.prepared(app, first)  # nothing rendered lately: at once
        later = [change() for _ in range(3)]
        await asyncio.gather(*(board_shared.prepared(app, v) for v in later))
        return later

    versions = asyncio.run(burst())
    assert len(began) == 2  # the first change, then the other three together
    assert began[1] - began[0] >= 0.5
    assert renders.prepared_version >= versions[-1]
    assert any(key[0] >= versions[-1] for key in renders._entries)
