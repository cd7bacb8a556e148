"""The dispatch board rendered once per change and shared by every open board.

Every open board re-fetches itself when ``/events`` announces a change: with twenty
dispatchers that was twenty identical computations and renders of the same board. Here
the board's HTML (the requests section and the on-duty panel) is made once per
(change version, language, rows shown) and handed to every board asking within
``MAX_AGE`` seconds. The change version is the server's counter (``ChangeRecord``,
written in the same transaction as each change, whichever process made it), so a board
never gets HTML older than a change it was told about; ``MAX_AGE`` bounds what time
alone changes (clocks breaching, shifts ending, the "updated" time).

Nothing per person goes into the shared HTML: it is rendered with the board's data and
the words of its language only (no user, no request, no CSRF token); the page around it
(name, CSRF token, language switch) is rendered per request.

Rendered before the boards are told: each board shape (language, rows shown) asked for
within ``HOT_SECONDS`` is rendered for the newest change as soon as the change reaches this
process, and ``GET /events`` sends a dispatcher the change only once that render exists
(``prepared``, at most ``PREPARE_WAIT`` seconds), so the fetch every open board makes on
the event is answered from it. Changes arriving while one render is made are rendered
together next (one render in flight per process).

Rendering happens in a worker thread (``render``, ``prepare``), never on the event loop:
a ``Template`` returned by a handler is rendered by Litestar on the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.response import Response, Template
from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import Session, select

from server.db import open_session, utcnow
from server.i18n import current_locale, set_locale
from server.models import ChangeRecord
from server.queries import board as q
from server.queries import board_page as bp
from server.queries.board_duty import board_duty
from server.routes import board_rows

MAX_AGE = 2.0  # seconds a shared render is handed out for, when nothing changed
KEPT = 32  # renders kept (versions x languages x rows shown)
GZIP_LEVEL = 6  # as server.app's CompressionConfig
HOT_SECONDS = 60.0  # a board shape asked for within this long is rendered on each change
PREPARE_WAIT = 2.0  # seconds a change event waits at most for its render
MIN_INTERVAL = 0.25  # seconds at least between the starts of two renders ahead
STATE_KEY = "board_renders"  # app.state: this app's SharedRenders
log = logging.getLogger(__name__)
DUTY_TAG = '<section id="duty" class="panel duty"'  # partials/board_duty.html; the htmx refresh swaps it out of band


@dataclass(frozen=True, slots=True)
class SharedBoard:
    """The board's HTML as every dispatcher sees it: the requests section, the on-duty
    panel, and the panel again as an out-of-band swap (for the htmx refresh)."""

    board: Markup
    duty: Markup
    duty_oob: Markup
    fragment_gzip: bytes = b""  # ``fragment``, gzip-compressed once for every board

    @property
    def fragment(self) -> str:
        return self.board + self.duty_oob


class SharedRenders:
    """A small cache of made values, each handed out for ``max_age`` seconds; one maker
    per key at a time (the boards asking meanwhile wait for its value, not make their own).
    Thread-safe: handlers run in the worker threads."""

    def __init__(self, max_age: float = MAX_AGE, kept: int = KEPT) -> None:
        self.max_age = max_age
        self.kept = kept
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._making: dict[Hashable, threading.Lock] = {}
        self._wanted: dict[tuple[str, int | None], float] = {}  # (language, shown) -> asked at
        self.made = 0  # how many values were made (tests, bench)
        self.prepared_version = 0  # the newest change version rendered ahead (``prepare``)
        self.prepared_at = float("-inf")  # when the last render ahead began (event loop time)
        self.min_interval = MIN_INTERVAL
        self.preparing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())

    def newest(self, locale: str, shown: int | None, at_least: int) -> Any:
        """The freshest value for this language and size made for change ``at_least`` or a
        newer one, within ``max_age`` seconds; None when there is none."""
        with self._lock:
            since, best = time.monotonic() - self.max_age, None
            for (version, lang, rows), (made_at, value) in self._entries.items():
                if (lang, rows) == (locale, shown) and version >= at_least and made_at >= since \
                        and (best is None or version > best[0]):
                    best = (version, value)
            return None if best is None else best[1]

    def want(self, locale: str, shown: int | None) -> None:
        """A board of this language and size was asked for: render it ahead for a while."""
        with self._lock:
            self._wanted[(locale, shown)] = time.monotonic()

    def wanted(self) -> list[tuple[str, int | None]]:
        """The board shapes asked for within ``HOT_SECONDS``."""
        with self._lock:
            since = time.monotonic() - HOT_SECONDS
            for key in [k for k, at in self._wanted.items() if at < since]:
                del self._wanted[key]
            return list(self._wanted)

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < self.max_age:
            return True, entry[1]
        return False, None

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            found, value = self._fresh(key)
            if found:
                return value
            maker = self._making.setdefault(key, threading.Lock())
        with maker:
            with self._lock:
                found, value = self._fresh(key)
            if found:
                return value
            started = time.monotonic()
            value = make()
            with self._lock:
                self._entries[key] = (started, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.kept:
                    self._entries.popitem(last=False)
                self._making.pop(key, None)
                self.made += 1
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def renders_of(app: Any) -> SharedRenders:
    """The app's shared renders (one per app: tests run many apps in one process)."""
    state = app.state
    found = state.get(STATE_KEY)
    if found is None:
        found = state.setdefault(STATE_KEY, SharedRenders())
    return found


def change_version(db: Session) -> int:
    return db.exec(select(func.max(ChangeRecord.version))).one() or 0


def shared_board(request: Request, db: Session, now, shown: int | None,
                 seen: int | None = None) -> SharedBoard:
    """The board with its first ``shown`` rows (None: every row), as shared HTML.

    ``seen``: the change version the board was told about (its ``FO-Seen`` header, from
    the change event): a render made for it or a newer change will do, so a board
    fetching while more changes commit takes the one rendered ahead (and hears of the
    newer changes in their own events)."""
    app = request.app
    renders = renders_of(app)
    locale = current_locale()
    renders.want(locale, shown)
    if seen is not None:
        found = renders.newest(locale, shown, seen)
        if found is not None:
            return found
    key = (change_version(db), locale, shown)
    return renders.get(key, lambda: _make(app, db, now, app.state.settings, shown))


def prepare(app: Any) -> int:
    """Render the board for the newest change in every shape asked for lately (in this
    worker thread); answers the change version rendered (0: no board open here)."""
    renders = renders_of(app)
    wanted = renders.wanted()
    if not wanted:
        return 0
    settings = app.state.settings
    with open_session(app.state.engine) as db:
        version, now = change_version(db), utcnow()
        for locale, shown in wanted:
            def make_one(locale: str = locale, shown: int | None = shown) -> None:
                set_locale(locale)  # in a copy of this thread's context: gone afterwards
                renders.get((version, locale, shown),
                            lambda: _make(app, db, now, settings, shown))
            contextvars.copy_context().run(make_one)
    return version


async def prepared(app: Any, version: int) -> None:
    """Until the board for change ``version`` (or newer) is rendered ahead, at most
    ``PREPARE_WAIT`` seconds: one render in flight per process, the changes that arrive
    meanwhile rendered together after it, and renders begun at least
    ``renders.min_interval`` seconds apart (a burst of changes: a few renders a second,
    each with all of them, and as few refetches by every open board). Never raises (a
    failed render is logged; the boards then render on their fetch, as before)."""
    renders = renders_of(app)
    if renders.prepared_version >= version or not renders.wanted():
        return
    loop = asyncio.get_running_loop()
    lock = renders.preparing.setdefault(loop, asyncio.Lock())

    async def run() -> None:
        async with lock:
            if renders.prepared_version < version:
                # the changes arriving meanwhile join this render (a loop: a timer may
                # fire up to the clock's resolution early, under faketime by milliseconds)
                while (wait := renders.prepared_at + renders.min_interval - loop.time()) > 0:
                    await asyncio.sleep(wait)
                renders.prepared_at = loop.time()
                done = await sync_to_thread(prepare, app)
                renders.prepared_version = max(renders.prepared_version, done, version)

    try:
        await asyncio.wait_for(asyncio.shield(run()), PREPARE_WAIT)
    except TimeoutError:
        log.warning("board render for change %s took over %s s", version, PREPARE_WAIT)
    except Exception:  # noqa: BLE001 - the event goes out anyway; the fetch renders
        log.exception("board render ahead of change %s failed", version)


def _make(app: Any, db: Session, now, settings: Any, shown: int | None) -> SharedBoard:
    if shown is None:  # every row: the full computation
        full = q.board(db, now, settings)
        data = bp.BoardPage(now, full.rows, len(full.rows), board_duty(db, now, settings),
                            full.counts, full.attention[:bp.ATTENTION_SHOWN],
                            len(full.attention))
        shown = len(full.rows)
    else:
        data = bp.board_page(db, now, settings, shown)
    words = board_rows.words()
    rows = board_rows.rows_html(data.rows, words, ZoneInfo(settings.time_zone))
    more = board_rows.more_row(shown, data.open - shown, words)
    engine = app.template_engine
    # the board's data and its language only: no user, request or CSRF token in here
    context = {"board": data, "attention_labels": q.ATTENTION_LABELS, "rows_html": rows + more}
    duty = engine.get_template("partials/board_duty.html").render(**context)
    board = Markup(engine.get_template("partials/board_requests.html").render(**context))
    duty_oob = Markup(duty.replace(DUTY_TAG, DUTY_TAG + ' hx-swap-oob="true"', 1))
    return SharedBoard(board, Markup(duty), duty_oob, gzip_bytes(board + duty_oob))


def render(request: Request, template: Template, compress: bool = False) -> Response:
    """``template`` rendered now, in this (worker) thread, as Litestar would on the loop;
    ``compress``: gzip-compressed here too, for a route marked ``SELF_COMPRESSED``."""
    engine = request.app.template_engine
    body = engine.get_template(template.template_name).render(
        **template.create_template_context(request))
    if compress:
        return compressed(request, body, status_code=template.status_code,
                          headers=template.headers)
    return html(body, template.status_code, template.headers)


def gzip_bytes(body: str) -> bytes:
    """``body`` as UTF-8, gzip-compressed at the level the compression middleware uses."""
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: the gzip container
    return packer.compress(body.encode()) + packer.flush()


def compressed(request: Request, body: str, packed: bytes | None = None,
               status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """HTML for a route marked ``SELF_COMPRESSED``: gzip-compressed in this worker thread
    (or ``packed``, compressed once for everyone) when the browser accepts gzip."""
    if "gzip" not in request.headers.get("accept-encoding", "").lower():
        return html(body, status_code, headers)
    return Response(packed or gzip_bytes(body), status_code=status_code,
                    media_type="text/html; charset=utf-8",
                    headers={"Vary": "HX-Request, Accept-Encoding", "Content-Encoding": "gzip",
                             **(headers or {})})


def html(body: str, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status_code, media_type="text/html; charset=utf-8",
                    headers={"Vary": "HX-Request", **(headers or {})})
