"""Pages without a FieldOps session: the customer's status link (D19) and the one-time
accept link of a WeCom card (issue 17). Each proves itself with its own token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import litestar
from litestar import Controller, Request
from litestar.channels import ChannelsPlugin
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from server import live
from server.actions import ActionError, feedback_link
from server.actions.jobs import accept_job
from server.actions.push import record_receipt
from server.db import utcnow
from server.domain.inbound import STAGE_LABELS, STEP_LABELS
from server.i18n import gettext as _
from server.i18n import render, set_locale
from server.models import Job, SupportRequest, UsedLink
from server.push import links
from server.queries import customer_status as q
from server.routes._http import DB, get, page, post
from server.routes.params import Form, TokenPath

PUBLIC = {"public": True}
TOKEN = {"public": True, "exclude_from_csrf": True}  # the link's own token stands in for CSRF
STREAM_SECONDS = 25.0
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex"}


def _customer_page(request: Request, db: DB, token: str, name: str) -> Template:
    set_locale("zh_CN")  # the customer's page is in Chinese (a customer has no profile)
    settings = request.app.state.settings
    now = utcnow()
    found = q.find(db, token, now, settings)
    if found is None:
        return Template("pages/status_gone.html", context={"html_lang": "zh-CN"},
                        status_code=404, headers=PRIVATE)
    try:  # S6: the feedback link at the end (made once, on the first view after resolving)
        with db.begin_nested():
            feedback_link.for_status_page(db, found, now, settings)
    except OperationalError:  # SQLite busy under a read snapshot: shown on the next refresh
        pass
    return Template(name, context={"v": q.view(db, found, settings), "token": token,
                                   "labels": STAGE_LABELS, "steps": STEP_LABELS,
                                   "html_lang": "zh-CN"},
                    headers=PRIVATE)


@get("/s/{token:str}", opt=PUBLIC, include_in_schema=False)
def status_page(request: Request, db: DB, token: TokenPath) -> Template:
    return _customer_page(request, db, token, "pages/status.html")


@get("/s/{token:str}/card", opt=PUBLIC, include_in_schema=False)
def status_card(request: Request, db: DB, token: TokenPath) -> Template:
    return _customer_page(request, db, token, "partials/status_card.html")


def _request_id(engine, token: str, settings) -> int | None:
    with Session(engine) as db:
        found = q.find(db, token, utcnow(), settings)
        return found.id if found else None


@litestar.get("/s/{token:str}/events", opt=PUBLIC, include_in_schema=False)
async def status_events(request: Request, token: TokenPath) -> ServerSentEvent:
    """Says "changed" (and nothing else) whenever this one request changes."""
    from litestar.concurrency import sync_to_thread

    settings = request.app.state.settings
    request_id = await sync_to_thread(_request_id, request.app.state.engine, token, settings)
    plugin = live.hub(request.app)
    return ServerSentEvent(_stream(plugin, request_id), headers={"Cache-Control": "no-cache"})


async def _stream(plugin: ChannelsPlugin, request_id: int | None) -> AsyncIterator[ServerSentEventMessage]:
    if request_id is None:
        yield ServerSentEventMessage(event="gone", data="{}", retry=60_000)
        return
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    async with plugin.start_subscription([live.CHANNEL]) as subscriber, \
            subscriber.run_in_background(queue.put):
        yield ServerSentEventMessage(data=None, comment="ready", retry=2000)
        ends = loop.time() + STREAM_SECONDS
        while (left := ends - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(queue.get(), timeout=min(10.0, left))
            except TimeoutError:
                yield ServerSentEventMessage(data=None, comment="ping")
                continue
            ids = json.loads(raw).get("requests")
            if ids is None or request_id in ids:
                yield ServerSentEventMessage(event="change", data="{}")


# -- the accept link of a WeCom card --------------------------------------------------------


def _accept_context(db: DB, token: str, request: Request) -> dict[str, Any]:
    link = links.read(request.app.state.settings.secret_key, token, utcnow())
    job = db.get(Job, link.job_id) if link else None
    req = db.get(SupportRequest, job.request_id) if job else None
    used = db.get(UsedLink, link.nonce) if link else None
    return {"link": link, "job": job, "req": req, "used": used is not None, "token": token}


class AcceptLinkController(Controller):
    """GET and POST on one path live in a controller (two plain handlers on one path got
    their sync wrapper applied twice)."""

    path = "/a"
    include_in_schema = False

    @get("/{token:str}", opt=PUBLIC)
    def show(self, request: Request, db: DB, token: TokenPath) -> Template:
        """Opening the link shows what will be accepted and one button; it changes nothing."""
        ctx = _accept_context(db, token, request)
        return page(request, "pages/accept_link.html", status_code=200 if ctx["link"] else 404,
                    **ctx)

    @post("/{token:str}", opt=TOKEN)
    def accept(self, request: Request, db: DB, token: TokenPath, data: Form) -> Template:
        return _accept(request, db, token, data)


def _accept(request: Request, db: DB, token: str, data: dict[str, Any]) -> Template:
    """The button: the job is accepted for the person the link was made for, once."""
    ctx = _accept_context(db, token, request)
    link, error = ctx["link"], None
    if link is None or data.get("token") != token:
        error = _("This link is not valid or has expired.")
    else:
        try:
            with db.begin_nested():
                db.add(UsedLink(nonce=link.nonce, used_at=utcnow()))
        except IntegrityError:
            error = _("This link has been used already.")
    if error is None:
        try:
            now = utcnow()
            accept_job(db, link.staff_id, link.job_id, now, now, request.app.state.settings)
            record_receipt(db, link.note_id, "acknowledged", now)  # the dispatcher sees it
        except ActionError as exc:
            db.rollback()
            error = render(exc.message)
    return page(request, "pages/accept_link.html", status_code=422 if error else 200,
                **ctx, done=error is None, error=error)


ROUTES = [status_page, status_card, status_events, AcceptLinkController]
