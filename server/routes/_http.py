"""Shared route plumbing: handler decorators, the database session, page rendering."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import litestar
from litestar import Request
from litestar.di import NamedDependency
from litestar.response import Template
from sqlmodel import Session

from server.db import open_session
from server.i18n import HTML_LANG, LANGUAGE_NAMES, current_locale

DB = NamedDependency[Session]  # the request's transaction, from provide_db

# Handlers are plain functions doing blocking database work: run them off the event loop.
# Route opt: the handler answers already compressed (in its worker thread, or once for a
# shared render), so the compression middleware, on the event loop, leaves it alone.
SELF_COMPRESSED = "self_compressed"

get = partial(litestar.get, sync_to_thread=True)
post = partial(litestar.post, sync_to_thread=True, status_code=200)


async def provide_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back.

    An async generator on purpose: Litestar finishes a sync generator dependency in a
    worker thread, and a writing transaction (which holds SQLite's write lock) could then
    wait for a thread while every thread waits for that lock: a deadlock until the busy
    timeout. Finishing on the event loop, the commit never waits for a thread.
    """
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    with open_session(request.app.state.engine, write=write) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page(request: Request, name: str, *, status_code: int = 200, **context: Any) -> Template:
    """Render a full page; htmx requests for the same URL get the page's fragment if given."""
    fragment = context.pop("fragment", None)
    template = fragment if fragment and is_htmx(request) else name
    return Template(
        template_name=template,
        context=_base_context(request) | context,
        status_code=status_code,
        headers={"Vary": "HX-Request"},
    )


def fragment(request: Request, name: str, *, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=name,
        context=_base_context(request) | context,
        status_code=status_code,
        headers={"Vary": "HX-Request"},
    )


def _base_context(request: Request) -> dict[str, Any]:
    locale = current_locale()
    return {
        "user": request.scope.get("user"),
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "languages": LANGUAGE_NAMES,
        "settings": request.app.state.settings,
    }
