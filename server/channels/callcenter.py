"""The hotline's cloud call center (云呼叫中心): its event webhook.

Chinese cloud call centers (Aliyun CCC, Tencent Cloud CCC, Tianrun, Ronglian) push call
events as JSON with much the same fields; FieldOps reads these:

| field | meaning |
|---|---|
| ``call_id`` | the call's id (also ``CallId`` / ``session_id``) |
| ``event`` | ``incoming`` (ringing) · ``answered`` · ``missed`` (abandoned / not answered) · ``hangup`` |
| ``caller`` | the customer's number (主叫) |
| ``callee`` | the hotline number dialled (被叫) |
| ``agent`` | the agent who answered (坐席工号): the FieldOps username |
| ``timestamp`` | Unix seconds of the event |

Signed like most of them: header ``X-Signature`` = hex HMAC-SHA256 of
``<X-Timestamp>.<raw body>`` under the shared secret; a timestamp further than
``callcenter_max_skew_seconds`` from now is refused (a replayed old call).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.channels import BadCallback
from server.domain.intake import normalize_phone

EVENTS = {"incoming": "incoming", "ringing": "incoming", "answered": "answered",
          "missed": "missed", "abandoned": "missed", "noanswer": "missed", "hangup": "hangup"}


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    event: str  # incoming | answered | missed | hangup
    caller: str
    callee: str
    agent: str
    at: datetime


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def read_webhook(settings: Any, body: bytes, timestamp: str, given: str, now: datetime,
                 wall: float | None = None) -> CallEvent:
    """``now`` dates the event (the app's clock); ``wall`` (the machine's clock, as the call
    center's) checks the signed timestamp's freshness."""
    if not settings.callcenter_secret:
        raise BadCallback("the call center is not set up")
    expected = signature(settings.callcenter_secret, timestamp or "", body)
    if not hmac.compare_digest(expected.encode(), (given or "").strip().lower().encode()):
        raise BadCallback("bad signature")
    try:
        sent = int(timestamp)
    except (TypeError, ValueError) as exc:
        raise BadCallback("bad timestamp") from exc
    if abs((time.time() if wall is None else wall) - sent) > settings.callcenter_max_skew_seconds:
        raise BadCallback("timestamp too far from now")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadCallback("not JSON") from exc
    if not isinstance(data, dict):
        raise BadCallback("not a JSON object")
    call_id = str(data.get("call_id") or data.get("CallId") or data.get("session_id") or "")[:100]
    event = EVENTS.get(str(data.get("event") or "").lower())
    if not call_id or event is None:
        raise BadCallback("call_id and a known event are required")
    return CallEvent(call_id=call_id, event=event,
                     caller=_phone(str(data.get("caller") or "")),
                     callee=str(data.get("callee") or "")[:32],
                     agent=str(data.get("agent") or "")[:64], at=now)


def _phone(raw: str) -> str:
    """D3 looks callers up by the one written form; a withheld number stays as sent."""
    return (normalize_phone(raw) or raw.strip())[:32]
