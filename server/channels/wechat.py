"""The WeChat official account (微信公众号): message callback and customer-service messages.

Protocol (the platform's "消息加解密" in safe mode) through ``wechatpy`` 1.8.18: the URL
signature (sha1 of the sorted token, timestamp, nonce), AES-256-CBC message encryption
with the EncodingAESKey and the AppID check, and a passive reply encrypted the same way.
Outbound messages (the customer's status link) use the customer-service message API
with an access token fetched once and cached until shortly before it expires.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import requests
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from server.channels import BadCallback, ChannelError, Incoming

TIMEOUT = 10.0
KINDS = {"text": "text", "image": "image", "voice": "voice"}


def _crypto(settings: Any) -> WeChatCrypto:
    return WeChatCrypto(settings.wechat_token, settings.wechat_encoding_aes_key,
                        settings.wechat_app_id)


def verify_url(settings: Any, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """The platform's GET when the callback URL is saved: answer ``echostr`` if signed."""
    try:
        check_signature(settings.wechat_token, signature, timestamp, nonce)
    except InvalidSignatureException as exc:
        raise BadCallback("bad signature") from exc
    return echostr


def read_callback(settings: Any, body: bytes, msg_signature: str, timestamp: str,
                  nonce: str, now: datetime) -> tuple[Incoming | None, Any]:
    """Decrypt and parse one pushed message. Answers the message in plain terms (None for
    events such as subscribe) and wechatpy's parsed message, to reply to."""
    try:
        xml = _crypto(settings).decrypt_message(body.decode("utf-8", "replace"), msg_signature,
                                                timestamp, nonce)
        msg = parse_message(xml)
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise BadCallback("bad signature or app id") from exc
    except Exception as exc:  # noqa: BLE001 - malformed XML or ciphertext from outside
        raise BadCallback(f"unreadable message: {type(exc).__name__}") from exc
    if msg.type == "event":
        return None, msg
    kind = KINDS.get(msg.type, "other")
    text = getattr(msg, "content", "") or getattr(msg, "recognition", "") or ""
    incoming = Incoming(
        channel="wechat", external_id=str(msg.id), sender=str(msg.source), kind=kind,
        text=str(text)[:2000], received_at=now,  # D18: the moment it reached us
        media_id=str(getattr(msg, "media_id", "") or ""),
    )
    return incoming, msg


def encrypted_reply(settings: Any, msg: Any, text: str, nonce: str, timestamp: str) -> str:
    """A passive text reply (被动回复), encrypted and signed as the platform expects."""
    reply = TextReply(content=text, message=msg).render()
    return _crypto(settings).encrypt_message(reply, nonce, timestamp)


# -- outbound: customer-service message (客服消息) -------------------------------------------

_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def access_token(settings: Any, *, refresh: bool = False) -> str:
    """POST /cgi-bin/stable_token, cached per AppID until 5 minutes before ``expires_in``.

    The stable token (稳定版接口), not /cgi-bin/token: several server processes each asking
    for a token then get the same one, instead of each new one cutting off the others'."""
    key = (settings.wechat_api_base, settings.wechat_app_id)
    with _lock:
        cached = _tokens.get(key)
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0]
        r = requests.post(f"{settings.wechat_api_base}/cgi-bin/stable_token", timeout=TIMEOUT,
                          json={"grant_type": "client_credential", "appid": settings.wechat_app_id,
                                "secret": settings.wechat_app_secret, "force_refresh": False})
        answer = _json(r)
        if not answer.get("access_token"):
            raise ChannelError(f"WeChat token {answer.get('errcode')}: {answer.get('errmsg')}")
        ttl = int(answer.get("expires_in", 7200))
        _tokens[key] = (answer["access_token"], time.monotonic() + max(ttl - 300, 60))
        return answer["access_token"]


def send_text(settings: Any, openid: str, text: str) -> None:
    """POST /cgi-bin/message/custom/send; a stale token is fetched again once."""
    for attempt in (0, 1):
        token = access_token(settings, refresh=attempt == 1)
        r = requests.post(f"{settings.wechat_api_base}/cgi-bin/message/custom/send",
                          params={"access_token": token}, timeout=TIMEOUT,
                          json={"touser": openid, "msgtype": "text", "text": {"content": text}})
        answer = _json(r)
        if answer.get("errcode", 0) == 0:
            return
        if answer.get("errcode") not in (40001, 40014, 42001) or attempt:
            raise ChannelError(f"WeChat {answer.get('errcode')}: {answer.get('errmsg')}")


def _json(r: requests.Response) -> dict:
    if r.status_code != 200:
        raise ChannelError(f"HTTP {r.status_code}")
    try:
        return r.json()
    except ValueError as exc:
        raise ChannelError("not a WeChat answer") from exc
