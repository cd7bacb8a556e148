"""Machine endpoints of the outside services (S2, D18): WeChat official account, WeCom
customer service, the call center. No session and no CSRF token: each request proves
itself with the service's own signature, checked in ``server.channels``; a bad one gets
403 and changes nothing. Every message goes through ``actions.inbound`` exactly once.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import litestar
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.concurrency import sync_to_thread

from server.actions import inbound
from server.channels import BadCallback, ChannelError, callcenter, wechat, wecom
from server.db import session_scope, utcnow
from server.domain.inbound import auto_reply
from server.jobs.wecom_kf import pull_kf

MACHINE = {"public": True, "exclude_from_csrf": True}
log = logging.getLogger(__name__)


def _refused(reason: str) -> Response:
    return Response(reason, status_code=403, media_type="text/plain")


def _q(request: Request, name: str) -> str:
    return str(request.query_params.get(name) or "")[:512]


def _off(settings: Any, *needed: str) -> bool:
    return not all(getattr(settings, n) for n in needed)


# -- WeChat official account -----------------------------------------------------------------


@litestar.get("/channels/wechat", opt=MACHINE, include_in_schema=False)
async def wechat_verify(request: Request) -> Response:
    """The platform checks the callback URL: answer ``echostr`` when the signature holds."""
    settings = request.app.state.settings
    if _off(settings, "wechat_token"):
        return _refused("WeChat is not set up")
    try:
        echo = wechat.verify_url(settings, _q(request, "signature"), _q(request, "timestamp"),
                                 _q(request, "nonce"), _q(request, "echostr"))
    except BadCallback as exc:
        return _refused(str(exc))
    return Response(echo, media_type="text/plain")


@litestar.post("/channels/wechat", opt=MACHINE, include_in_schema=False, status_code=200)
async def wechat_message(request: Request) -> Response:
    """A customer's message: recorded once, answered at once with the Chinese auto-reply
    naming their request number once there is one (an encrypted passive reply)."""
    settings = request.app.state.settings
    if _off(settings, "wechat_token", "wechat_encoding_aes_key", "wechat_app_id"):
        return _refused("WeChat is not set up")
    body = (await request.body())[:200_000]
    timestamp, nonce = _q(request, "timestamp"), _q(request, "nonce")
    now = utcnow()
    try:
        incoming, msg = wechat.read_callback(settings, body, _q(request, "msg_signature"),
                                             timestamp, nonce, now)
    except BadCallback as exc:
        return _refused(str(exc))
    if incoming is None:  # an event (subscribe, menu): nothing to record
        return Response("success", media_type="text/plain")
    recorded = await sync_to_thread(_record, request.app.state.engine, incoming, now)
    reply = wechat.encrypted_reply(settings, msg, auto_reply(recorded.request_number),
                                   secrets.token_hex(8), str(int(time.time())))
    return Response(reply, media_type="application/xml")


def _record(engine, incoming, now) -> inbound.Recorded:
    with session_scope(engine) as db:
        return inbound.record_incoming(db, incoming, now)


# -- WeCom customer service (微信客服) -----------------------------------------------------------


@litestar.get("/channels/wecom", opt=MACHINE, include_in_schema=False)
async def wecom_verify(request: Request) -> Response:
    settings = request.app.state.settings
    if _off(settings, "wecom_callback_token", "wecom_callback_aes_key", "wecom_corp_id"):
        return _refused("WeCom is not set up")
    try:
        echo = wecom.verify_url(settings, _q(request, "msg_signature"), _q(request, "timestamp"),
                                _q(request, "nonce"), _q(request, "echostr"))
    except BadCallback as exc:
        return _refused(str(exc))
    return Response(echo, media_type="text/plain")


@litestar.post("/channels/wecom", opt=MACHINE, include_in_schema=False, status_code=200)
async def wecom_event(request: Request) -> Response:
    """``kf_msg_or_event`` says there is news; the messages are pulled with kf/sync_msg
    from the stored cursor and recorded exactly once (``server.jobs.wecom_kf.pull_kf``,
    which the background loop also runs as a safety net for lost callbacks)."""
    settings = request.app.state.settings
    if _off(settings, "wecom_callback_token", "wecom_callback_aes_key", "wecom_corp_id"):
        return _refused("WeCom is not set up")
    body = (await request.body())[:200_000]
    try:
        news = wecom.read_callback(settings, body, _q(request, "msg_signature"),
                                   _q(request, "timestamp"), _q(request, "nonce"))
    except BadCallback as exc:
        return _refused(str(exc))
    if news is None or not news.open_kfid:
        return Response("success", media_type="text/plain")
    engine = request.app.state.engine
    try:  # WeCom wants an answer within 5 s: one small page now, the rest after answering
        _new, more = await sync_to_thread(pull_kf, engine, settings, news.open_kfid, news.token,
                                          1, FIRST_PAGE)
    except ChannelError as exc:  # WeCom calls back again; the cursor has not moved
        log.warning("kf/sync_msg failed: %s", exc)
        return Response("retry later", status_code=503, media_type="text/plain")
    rest = BackgroundTask(_pull_rest, engine, settings, news.open_kfid, news.token) if more else None
    return Response("success", media_type="text/plain", background=rest)


FIRST_PAGE = 100  # messages pulled before answering the callback; the platform's page max is 1000


async def _pull_rest(engine, settings: Any, open_kfid: str, token: str) -> None:
    try:
        await sync_to_thread(pull_kf, engine, settings, open_kfid, token)
    except ChannelError as exc:  # the loop's safety pull or the next callback goes on
        log.warning("kf/sync_msg failed after the first page: %s", exc)


# -- the call center -------------------------------------------------------------------------


@litestar.post("/channels/callcenter", opt=MACHINE, include_in_schema=False, status_code=200)
async def callcenter_event(request: Request) -> Response:
    """Incoming / answered / missed / hangup: every call is a contact from its first ring;
    the answering agent's screen opens the request form (live); a missed call waits in
    the inbox to be called back."""
    settings = request.app.state.settings
    body = (await request.body())[:100_000]
    now = utcnow()
    try:
        event = callcenter.read_webhook(settings, body, request.headers.get("x-timestamp", ""),
                                        request.headers.get("x-signature", ""), now)
    except BadCallback as exc:
        return _refused(str(exc))
    recorded = await sync_to_thread(_record_call, request.app.state.engine, event, now)
    return Response({"ok": True, "contact_id": recorded.contact.id,
                     "duplicate": recorded.duplicate})


def _record_call(engine, event, now) -> inbound.Recorded:
    with session_scope(engine) as db:
        return inbound.record_call(db, event, now)


ROUTES = [wechat_verify, wechat_message, wecom_verify, wecom_event, callcenter_event]
