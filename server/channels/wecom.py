"""WeCom (企业微信): application messages to a person, and customer service (微信客服).

- Access tokens: ``GET /cgi-bin/gettoken?corpid&corpsecret``, one per secret (the
  application's and customer service's differ), cached in the process until 5 minutes
  before ``expires_in`` as the platform requires (it rate-limits gettoken); an answer
  40001/40014/42001 (invalid or expired token) fetches a new one and retries once.
- Application message: ``POST /cgi-bin/message/send`` with a ``template_card`` of type
  ``text_notice``: the card opens the job, its jump link accepts it (a signed one-time
  link that works in WeCom's in-app browser without a FieldOps session).
- Customer service: the callback (``kf_msg_or_event``, encrypted like every WeCom
  callback: wechatpy's enterprise crypto with the CorpID) only says "there is news"; the
  messages are pulled with ``POST /cgi-bin/kf/sync_msg`` and its cursor (also by the
  background loop, for the accounts ``POST /cgi-bin/kf/account/list`` names). Answers go
  out with ``POST /cgi-bin/kf/send_msg``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from server.channels import BadCallback, ChannelError, Incoming

TIMEOUT = 10.0
TOKEN_ERRORS = (40001, 40014, 42001)
CUSTOMER_SENT = 3  # kf/sync_msg "origin": 3 = sent by the WeChat user, 4 = event, 5 = servicer

_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_lock = threading.Lock()
fetches = 0  # how many tokens this process fetched (tests check the cache)


def _crypto(settings: Any) -> WeChatCrypto:
    return WeChatCrypto(settings.wecom_callback_token, settings.wecom_callback_aes_key,
                        settings.wecom_corp_id)


def access_token(settings: Any, secret: str, *, refresh: bool = False) -> str:
    global fetches
    key = (settings.wecom_api_base, settings.wecom_corp_id, secret)
    with _lock:
        cached = _tokens.get(key)
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0]
        answer = _call("GET", settings, "/cgi-bin/gettoken",
                       params={"corpid": settings.wecom_corp_id, "corpsecret": secret})
        if answer.get("errcode", 0) != 0 or not answer.get("access_token"):
            raise ChannelError(f"WeCom token {answer.get('errcode')}: {answer.get('errmsg')}")
        fetches += 1
        ttl = int(answer.get("expires_in", 7200))
        _tokens[key] = (answer["access_token"], time.monotonic() + max(ttl - 300, 60))
        return answer["access_token"]


def forget_tokens() -> None:
    with _lock:
        _tokens.clear()


def _call(method: str, settings: Any, path: str, **kw: Any) -> dict:
    try:
        r = requests.request(method, settings.wecom_api_base + path, timeout=TIMEOUT, **kw)
    except requests.Timeout as exc:
        raise ChannelError("timed out") from exc
    except requests.RequestException as exc:
        raise ChannelError(f"{type(exc).__name__}") from exc
    if r.status_code != 200:
        raise ChannelError(f"HTTP {r.status_code}")
    try:
        return r.json()
    except ValueError as exc:
        raise ChannelError("not a WeCom answer") from exc


def _post(settings: Any, secret: str, path: str, body: dict) -> dict:
    """POST with the access token; a rejected token is fetched again once."""
    for attempt in (0, 1):
        token = access_token(settings, secret, refresh=attempt == 1)
        answer = _call("POST", settings, path, params={"access_token": token}, json=body)
        code = answer.get("errcode", 0)
        if code == 0:
            return answer
        if code not in TOKEN_ERRORS or attempt:
            raise ChannelError(f"WeCom {code}: {str(answer.get('errmsg'))[:80]}")
    raise AssertionError("unreachable")


# -- application messages (企业微信应用消息) --------------------------------------------------


def send_card(settings: Any, userid: str, title: str, body: str, open_url: str,
              accept_url: str = "", accept_label: str = "") -> None:
    """A ``text_notice`` template card to one person: tapping it opens ``open_url``; the
    jump link (if any) is the accept link."""
    card: dict[str, Any] = {
        "card_type": "text_notice",
        "main_title": {"title": title[:36], "desc": "FieldOps"},
        "sub_title_text": body[:120],
        "card_action": {"type": 1, "url": open_url},
    }
    if accept_url:
        card["jump_list"] = [{"type": 1, "title": accept_label[:13], "url": accept_url}]
    answer = _post(settings, settings.wecom_app_secret, "/cgi-bin/message/send", {
        "touser": userid, "msgtype": "template_card", "agentid": _agent(settings),
        "template_card": card, "enable_duplicate_check": 1, "duplicate_check_interval": 600,
    })
    if answer.get("invaliduser"):
        raise ChannelError(f"WeCom does not know user {answer['invaliduser']}")


def _agent(settings: Any) -> int | str:
    agent = settings.wecom_agent_id
    return int(agent) if str(agent).isdigit() else agent


# -- customer service (微信客服) ---------------------------------------------------------------


@dataclass(frozen=True)
class KfNews:
    """The callback's news: which customer-service account has messages, and the
    short-lived token that lets sync_msg pull them at the higher rate."""

    open_kfid: str
    token: str


def verify_url(settings: Any, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    try:
        return _crypto(settings).check_signature(msg_signature, timestamp, nonce, echostr)
    except (InvalidSignatureException, InvalidCorpIdException) as exc:
        raise BadCallback("bad signature") from exc
    except Exception as exc:  # noqa: BLE001 - bad base64 or padding from outside
        raise BadCallback(f"unreadable echostr: {type(exc).__name__}") from exc


def read_callback(settings: Any, body: bytes, msg_signature: str, timestamp: str,
                  nonce: str) -> KfNews | None:
    try:
        xml = _crypto(settings).decrypt_message(body.decode("utf-8", "replace"), msg_signature,
                                                timestamp, nonce)
        data = xmltodict.parse(xml)["xml"]
    except (InvalidSignatureException, InvalidCorpIdException) as exc:
        raise BadCallback("bad signature or corp id") from exc
    except Exception as exc:  # noqa: BLE001 - malformed XML or ciphertext from outside
        raise BadCallback(f"unreadable callback: {type(exc).__name__}") from exc
    if data.get("Event") != "kf_msg_or_event":
        return None
    return KfNews(open_kfid=str(data.get("OpenKfId") or ""), token=str(data.get("Token") or ""))


def sync_messages(settings: Any, open_kfid: str, cursor: str, token: str = "",
                  limit: int = 1000) -> tuple[list[dict], str, bool]:
    """One page of kf/sync_msg after ``cursor``: (messages, next_cursor, has_more)."""
    body: dict[str, Any] = {"cursor": cursor, "limit": limit, "open_kfid": open_kfid,
                            "voice_format": 0}
    if token:
        body["token"] = token
    answer = _post(settings, settings.wecom_kf_secret, "/cgi-bin/kf/sync_msg", body)
    return (list(answer.get("msg_list") or []), str(answer.get("next_cursor") or cursor),
            bool(answer.get("has_more")))


def kf_accounts(settings: Any) -> list[str]:
    """Every customer-service account's open_kfid (``POST /cgi-bin/kf/account/list``,
    100 a page)."""
    found: list[str] = []
    for offset in range(0, 10_000, 100):
        answer = _post(settings, settings.wecom_kf_secret, "/cgi-bin/kf/account/list",
                       {"offset": offset, "limit": 100})
        page = [str(a.get("open_kfid")) for a in answer.get("account_list") or []
                if a.get("open_kfid")]
        found += page
        if len(page) < 100:
            break
    return found


def as_incoming(message: dict, now: datetime) -> Incoming | None:
    """A customer's message from sync_msg in plain terms; None for events and our own."""
    if message.get("origin") != CUSTOMER_SENT or not message.get("msgid"):
        return None
    kind = message.get("msgtype", "other")
    text, media = "", ""
    if kind == "text":
        text = str((message.get("text") or {}).get("content", ""))
    elif kind in ("image", "voice"):
        media = str((message.get(kind) or {}).get("media_id", ""))
    else:
        kind = "other"
    return Incoming(channel="wecom", external_id=str(message["msgid"]),
                    sender=str(message.get("external_userid", "")), kind=kind, text=text[:2000],
                    received_at=now, media_id=media,
                    reply_to=str(message.get("open_kfid", "")))


def send_kf_text(settings: Any, open_kfid: str, external_userid: str, text: str) -> None:
    _post(settings, settings.wecom_kf_secret, "/cgi-bin/kf/send_msg", {
        "touser": external_userid, "open_kfid": open_kfid, "msgtype": "text",
        "text": {"content": text}})
