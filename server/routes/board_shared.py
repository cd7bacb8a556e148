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

Rendering happens in the handler's worker thread (``render``), never on the event loop:
a ``Template`` returned by a handler is rendered by Litestar on the loop.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.response import Response, Template
from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import Session, select

from server.i18n import current_locale
from server.models import ChangeRecord
from server.queries import board as q
from server.queries import board_page as bp
from server.queries.board_duty import board_duty
from server.routes import board_rows

MAX_AGE = 2.0  # seconds a shared render is handed out for, when nothing changed
KEPT = 32  # renders kept (versions x languages x rows shown)
STATE_KEY = "board_renders"  # app.state: this app's SharedRenders
DUTY_TAG = '<section id="duty" class="panel duty"'  # partials/board_duty.html; the htmx refresh swaps it out of band


@dataclass(frozen=True, slots=True)
class SharedBoard:
    """The board's HTML as every dispatcher sees it: the requests section, the on-duty
    panel, and the panel again as an out-of-band swap (for the htmx refresh)."""

    board: Markup
    duty: Markup
    duty_oob: Markup

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
        self.made = 0  # how many values were made (tests, bench)

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


def shared_board(request: Request, db: Session, now, shown: int | None) -> SharedBoard:
    """The board with its first ``shown`` rows (None: every row), as shared HTML."""
    settings = request.app.state.settings
    key = (change_version(db), current_locale(), shown)
    return renders_of(request.app).get(key, lambda: _make(request, db, now, settings, shown))


def _make(request: Request, db: Session, now, settings: Any, shown: int | None) -> SharedBoard:
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
    engine = request.app.template_engine
    # the board's data and its language only: no user, request or CSRF token in here
    context = {"board": data, "attention_labels": q.ATTENTION_LABELS, "rows_html": rows + more}
    duty = engine.get_template("partials/board_duty.html").render(**context)
    return SharedBoard(
        Markup(engine.get_template("partials/board_requests.html").render(**context)),
        Markup(duty),
        Markup(duty.replace(DUTY_TAG, DUTY_TAG + ' hx-swap-oob="true"', 1)),
    )


def render(request: Request, template: Template) -> Response:
    """``template`` rendered now, in this (worker) thread, as Litestar would on the loop."""
    engine = request.app.template_engine
    body = engine.get_template(template.template_name).render(
        **template.create_template_context(request))
    return html(body, template.status_code, template.headers)


def html(body: str, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status_code, media_type="text/html; charset=utf-8",
                    headers={"Vary": "HX-Request", **(headers or {})})
