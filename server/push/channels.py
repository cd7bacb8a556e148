"""Delivery channels behind one interface: Web Push, the WeCom group robot, the live board.

Web Push travels through the browser maker's push service, which many phones in
mainland China cannot reach, so it is one channel among several (architecture.md,
"Push"); each is switched on by settings. A channel gets a claimed outbox row as plain
data (``Outgoing``), sends it with no database session open, and answers with an
``Outcome`` the outbox records. A channel never raises: whatever goes wrong becomes an
``Outcome``, so one failing channel cannot stop another.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import requests
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from server.push.guard import RefusedAddress, guarded_session
from server.push.vapid import subject_problem

GONE = (404, 410)  # the push service forgot this subscription: delete it
# The push service refuses this request as it is: retrying the same thing cannot help
# (403: the VAPID claims or key are refused, e.g. Apple's BadJwtToken; 413: too large).
PERMANENT = (400, 401, 403, 413)


@dataclass(frozen=True)
class Device:
    """One push subscription of the recipient (a phone, a laptop browser)."""

    id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Outgoing:
    """A claimed outbox row, detached from the session: safe to send from any thread."""

    id: int
    channel: str
    staff_id: int | None
    urgency: str  # high (P1) | normal
    attempt: int  # which attempt this is; the outbox records the result only for it
    payload: dict[str, Any]  # small: ids, title, body, priority, url, receipt token
    devices: tuple[Device, ...] = ()
    phone: str = ""
    name: str = ""
    wecom_userid: str = ""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    reached: tuple[int, ...] = ()  # subscriptions the push service accepted
    gone: tuple[int, ...] = ()  # subscriptions the push service no longer knows
    final: str = ""  # a status that ends the row without retrying (off, no_device)


class Notifier(Protocol):
    channel: str

    def send(self, item: Outgoing) -> Outcome: ...


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 10.0
    ttl_high_seconds: int = 300  # P1: of no use once the ack chain has moved on (D8b)
    ttl_normal_seconds: int = 3600


_local = threading.local()


def _http(allow_loopback: bool = False) -> requests.Session:
    """One keep-alive session per sending thread (requests.Session is not thread-safe);
    every connection it opens must reach a public address (server/push/guard.py)."""
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    if allow_loopback not in sessions:
        sessions[allow_loopback] = guarded_session(allow_loopback)
    return sessions[allow_loopback]


def _plain_http() -> requests.Session:
    """For the WeCom robot: a URL the operator configured, not one a browser gave us."""
    session = getattr(_local, "plain", None)
    if session is None:
        session = _local.plain = requests.Session()
    return session


def _reason(response: requests.Response | None) -> str:
    """The push service's own words: Apple and Mozilla answer JSON with a reason/message,
    FCM plain text. Kept in the delivery record, so "HTTP 403" says why."""
    if response is None:
        return ""
    try:
        body = response.json()
        text = body.get("reason") or body.get("message") or body.get("error") or ""
        text = text if isinstance(text, str) else json.dumps(text)
    except (ValueError, AttributeError):
        text = response.text or ""
    return " ".join(text.split())[:200]


def _refusal(exc: BaseException) -> str | None:
    """The guard's refusal, however deep requests wrapped it."""
    seen = exc
    for _ in range(6):
        if isinstance(seen, RefusedAddress):
            return str(seen)
        if seen.args and isinstance(seen.args[-1], BaseException):
            seen = seen.args[-1]
        elif seen.__cause__ or seen.__context__:
            seen = seen.__cause__ or seen.__context__
        else:
            break
    text = str(exc)
    return text[text.index("refused: "):].split("'")[0] if "refused: " in text else None


@cache
def _vapid(pem_path: str) -> Vapid:
    return Vapid.from_file(pem_path)


class WebPushChannel:
    """RFC 8030 push with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291)."""

    channel = "webpush"

    def __init__(self, vapid_private_key: str, subject: str, limits: Limits = Limits(),
                 allow_loopback: bool = False) -> None:
        self.vapid = _vapid(vapid_private_key)
        self.subject = subject
        self.limits = limits
        self.allow_loopback = allow_loopback

    def send(self, item: Outgoing) -> Outcome:
        if not item.devices:
            return Outcome(False, "no device has job alerts turned on", final="no_device")
        problem = subject_problem(self.subject)
        if problem:  # every push service would refuse it (Apple: 403 BadJwtToken)
            return Outcome(False, "not sent: " + problem, final="off")
        data = json.dumps(item.payload, ensure_ascii=False, separators=(",", ":"))
        high = item.urgency == "high"
        reached, gone, errors, permanent = [], [], [], 0
        for device in item.devices:
            try:
                webpush(
                    {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh, "auth": device.auth}},
                    data,
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.subject},  # pywebpush writes aud/exp into it
                    ttl=self.limits.ttl_high_seconds if high else self.limits.ttl_normal_seconds,
                    headers={"Urgency": "high" if high else "normal"},
                    timeout=self.limits.timeout_seconds,
                    requests_session=_http(self.allow_loopback),
                )
                reached.append(device.id)
            except WebPushException as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status in GONE:
                    gone.append(device.id)
                    continue
                reason = _reason(exc.response)
                errors.append(f"HTTP {status}: {reason}" if status and reason
                              else f"HTTP {status}" if status else str(exc)[:200])
                permanent += status in PERMANENT
            except requests.Timeout:
                errors.append("timed out")
            except Exception as exc:  # noqa: BLE001 - a broken device must not stop the rest
                refused = _refusal(exc)
                errors.append(refused or f"{type(exc).__name__}: {str(exc)[:200]}")
                permanent += refused is not None
        if reached:
            return Outcome(True, "; ".join(errors), tuple(reached), tuple(gone))
        if not errors:
            return Outcome(False, "the push service no longer knows this device", gone=tuple(gone),
                           final="no_device")
        if permanent == len(errors):  # retrying the same request cannot help: give up now
            return Outcome(False, "; ".join(errors), gone=tuple(gone), final="gave_up")
        return Outcome(False, "; ".join(errors), gone=tuple(gone))


class WeComChannel:
    """A WeCom (企业微信) group robot: a text message that @-mentions the person by phone."""

    channel = "wecom"

    def __init__(self, webhook_url: str, limits: Limits = Limits()) -> None:
        self.url = webhook_url
        self.limits = limits

    def send(self, item: Outgoing) -> Outcome:
        p = item.payload
        lines = [f"【{p.get('priority') or ''}】{p.get('title', '')}".replace("【】", ""),
                 p.get("body", ""), f"→ {item.name}" if item.name else ""]
        message: dict[str, Any] = {"content": "\n".join(x for x in lines if x)}
        if item.phone:
            message["mentioned_mobile_list"] = [item.phone]
        try:
            r = _plain_http().post(self.url, json={"msgtype": "text", "text": message},
                             timeout=self.limits.timeout_seconds)
        except requests.Timeout:
            return Outcome(False, "timed out")
        except requests.RequestException as exc:
            return Outcome(False, f"{type(exc).__name__}: {str(exc)[:100]}")
        if r.status_code != 200:
            return Outcome(False, f"HTTP {r.status_code}")
        try:  # the robot answers 200 with {"errcode": 0} on success, another code otherwise
            answer = r.json()
        except ValueError:
            return Outcome(False, "not a WeCom answer")
        if answer.get("errcode") != 0:
            return Outcome(False, f"WeCom {answer.get('errcode')}: {str(answer.get('errmsg'))[:80]}")
        return Outcome(True)


class BoardChannel:
    """The live board hears every outbox change (``changes.changed`` when the result is
    recorded), so a board row is delivered the moment it is recorded."""

    channel = "board"

    def send(self, item: Outgoing) -> Outcome:
        return Outcome(True)


@dataclass
class Channels:
    """The channels switched on by settings; a row for any other channel is marked 'off'."""

    by_name: dict[str, Notifier] = field(default_factory=dict)

    def send(self, item: Outgoing) -> Outcome:
        notifier = self.by_name.get(item.channel)
        if notifier is None:
            return Outcome(False, "this channel is switched off", final="off")
        try:
            return notifier.send(item)
        except Exception as exc:  # noqa: BLE001 - a channel's bug is that row's failure only
            return Outcome(False, f"{type(exc).__name__}: {str(exc)[:100]}")


def channels_from_settings(settings: Any, limits: Limits = Limits()) -> Channels:
    from server.push.china import CustomerChannel, SmsChannel, WeComAppChannel

    by_name: dict[str, Notifier] = {"board": BoardChannel()}
    if settings.push_enabled and settings.vapid_private_key:
        by_name["webpush"] = WebPushChannel(settings.vapid_private_key, settings.vapid_subject, limits,
                                            allow_loopback=settings.push_allow_insecure_endpoints)
    if settings.wecom_webhook_url:
        by_name["wecom"] = WeComChannel(settings.wecom_webhook_url, limits)
    if settings.wecom_corp_id and settings.wecom_app_secret:
        by_name["wecom_app"] = WeComAppChannel(settings)
    if settings.sms_enabled and settings.sms_access_key_id:
        by_name["sms"] = SmsChannel(settings)
    by_name["customer"] = CustomerChannel(settings)
    return Channels(by_name)
