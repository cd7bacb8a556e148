"""Local fakes of the outside services in mainland China, each a small HTTP server on
127.0.0.1 started by the tests (testing.md, "Outside services"):

- ``FakeWeixin``: the WeChat official-account API and the WeCom API (gettoken / token
  with per-secret access tokens that expire on demand, message/custom/send,
  message/send, kf/account/list, kf/sync_msg with a real cursor, kf/send_msg). Every call's token is
  checked against the secret it was issued for.
- ``FakeAliyunSms``: dysmsapi ``SendSms``; recomputes the HMAC-SHA1 signature from the
  query, refuses a wrong one, a stale timestamp or a reused nonce.

Each can fail on demand: ``fail_next[path] = [500, 500]`` answers those statuses first
(``[0, 500]``: the next call goes through, the one after fails).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit


class _Server:
    def __init__(self) -> None:
        self.fail_next: dict[str, list[int]] = {}
        self.calls: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._handle("GET", b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._handle("POST", self.rfile.read(length))

            def _handle(self, method: str, body: bytes) -> None:
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                with owner.lock:
                    queued = owner.fail_next.get(url.path)
                    if queued and (status := queued.pop(0)):  # 0: this call goes through
                        self._answer(status, {"errcode": -1, "errmsg": "failing on demand"})
                        return
                    status, answer = owner.handle(method, url.path, query, body, self.path)
                self._answer(status, answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, method, path, query, body, raw_path) -> tuple[int, Any]:
        raise NotImplementedError


@dataclass
class KfMessage:
    msgid: str
    external_userid: str
    text: str = ""
    msgtype: str = "text"
    origin: int = 3
    media_id: str = ""


class FakeWeixin(_Server):
    """WeChat official account + WeCom, enough of both for FieldOps."""

    CORP_ID, APP_SECRET, KF_SECRET = "wwcorp0001", "app-secret", "kf-secret"
    APP_ID, APP_SECRET_MP = "wxapp0001", "mp-secret"
    OPEN_KFID = "wkFieldOps01"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.tokens: dict[str, str] = {}  # access token -> which secret it was issued for
        self.token_fetches: dict[str, int] = {}
        self.kf_messages: list[KfMessage] = []
        self.page_size = page_size
        self.sync_calls: list[dict] = []
        self.cards: list[dict] = []
        self.kf_sent: list[dict] = []
        self.custom_sent: list[dict] = []

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def add_kf(self, *messages: KfMessage) -> None:
        with self.lock:
            self.kf_messages.extend(messages)

    def _issue(self, secret: str) -> dict:
        token = secrets.token_hex(16)
        self.tokens[token] = secret
        self.token_fetches[secret] = self.token_fetches.get(secret, 0) + 1
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _check(self, query: dict, secret: str) -> dict | None:
        token = query.get("access_token", "")
        if token not in self.tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if self.tokens[token] != secret:
            return {"errcode": 40014, "errmsg": "invalid access_token for this api"}
        return None

    def handle(self, method, path, query, body, raw_path):
        data = json.loads(body or b"{}") if method == "POST" else {}
        self.calls.append((path, data))
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != self.CORP_ID or query.get("corpsecret") not in (
                    self.APP_SECRET, self.KF_SECRET):
                return 200, {"errcode": 40013, "errmsg": "invalid corpid or secret"}
            return 200, self._issue(query["corpsecret"])
        if path == "/cgi-bin/stable_token":  # the same token while it is valid
            if data.get("appid") != self.APP_ID or data.get("secret") != self.APP_SECRET_MP:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            live = [t for t, secret in self.tokens.items() if secret == self.APP_SECRET_MP]
            if live and not data.get("force_refresh"):
                return 200, {"access_token": live[0], "expires_in": 7000}
            return 200, self._issue(self.APP_SECRET_MP)
        if path == "/cgi-bin/message/custom/send":
            if (bad := self._check(query, self.APP_SECRET_MP)) is not None:
                return 200, bad
            self.custom_sent.append(data)
            return 200, {"errcode": 0, "errmsg": "ok"}
        if path == "/cgi-bin/message/send":
            if (bad := self._check(query, self.APP_SECRET)) is not None:
                return 200, bad
            assert data["msgtype"] == "template_card" and data["touser"], data
            self.cards.append(data)
            return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": secrets.token_hex(4)}
        if path == "/cgi-bin/kf/sync_msg":
            if (bad := self._check(query, self.KF_SECRET)) is not None:
                return 200, bad
            self.sync_calls.append(data)
            if data.get("open_kfid") != self.OPEN_KFID:
                return 200, {"errcode": 95000, "errmsg": "invalid open_kfid"}
            start = int(data.get("cursor") or "0")  # a real cursor is opaque; ours counts
            page = self.kf_messages[start:start + min(self.page_size, int(data.get("limit", 1000)))]
            end = start + len(page)
            return 200, {"errcode": 0, "errmsg": "ok", "next_cursor": str(end),
                         "has_more": int(end < len(self.kf_messages)),
                         "msg_list": [_kf_json(m, self.OPEN_KFID) for m in page]}
        if path == "/cgi-bin/kf/account/list":
            if (bad := self._check(query, self.KF_SECRET)) is not None:
                return 200, bad
            return 200, {"errcode": 0, "errmsg": "ok", "account_list": [
                {"open_kfid": self.OPEN_KFID, "name": "FieldOps 技术支持", "avatar": ""}]}
        if path == "/cgi-bin/kf/send_msg":
            if (bad := self._check(query, self.KF_SECRET)) is not None:
                return 200, bad
            self.kf_sent.append(data)
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(4)}
        return 404, {"errcode": 404, "errmsg": "no such api"}


def _kf_json(m: KfMessage, open_kfid: str) -> dict:
    out: dict[str, Any] = {"msgid": m.msgid, "open_kfid": open_kfid,
                           "external_userid": m.external_userid, "send_time": 1764480000,
                           "origin": m.origin, "msgtype": m.msgtype}
    if m.msgtype == "text":
        out["text"] = {"content": m.text}
    elif m.msgtype in ("image", "voice"):
        out[m.msgtype] = {"media_id": m.media_id or "media-" + m.msgid}
    return out


def aliyun_percent(value: str) -> str:
    return quote(str(value), safe="~")


class FakeAliyunSms(_Server):
    """Aliyun dysmsapi SendSms with the RPC signature (SignatureVersion 1.0) checked."""

    KEY_ID, KEY_SECRET = "LTAIfieldopsdemo", "sms-secret-0001"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict] = []
        self.nonces: set[str] = set()
        self.refused: list[str] = []

    def handle(self, method, path, query, body, raw_path):
        params = dict(query)
        given = params.pop("Signature", "")
        canonical = "&".join(f"{aliyun_percent(k)}={aliyun_percent(v)}"
                             for k, v in sorted(params.items()))
        to_sign = f"{method}&%2F&{aliyun_percent(canonical)}"
        expected = base64.b64encode(hmac.new((self.KEY_SECRET + "&").encode(), to_sign.encode(),
                                             hashlib.sha1).digest()).decode()
        problem = None
        if params.get("AccessKeyId") != self.KEY_ID:
            problem = "InvalidAccessKeyId.NotFound"
        elif not hmac.compare_digest(given, expected):
            problem = "SignatureDoesNotMatch"
        elif params.get("SignatureNonce") in self.nonces:
            problem = "SignatureNonceUsed"
        elif abs((datetime.now(UTC) - datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
                  .replace(tzinfo=UTC)).total_seconds()) > 900:
            problem = "InvalidTimeStamp.Expired"
        elif params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            problem = "InvalidAction"
        if problem:
            self.refused.append(problem)
            return 400, {"Code": problem, "Message": problem, "RequestId": "x"}
        self.nonces.add(params["SignatureNonce"])
        self.sent.append({"phone": params["PhoneNumbers"], "template": params["TemplateCode"],
                          "sign": params["SignName"], "params": json.loads(params["TemplateParam"])})
        return 200, {"Code": "OK", "Message": "OK", "BizId": secrets.token_hex(6), "RequestId": "y"}


@dataclass
class Callcenter:
    """The call center's side of the webhook: signs each event like the real ones do."""

    secret: str = "callcenter-secret"
    sent: list[dict] = field(default_factory=list)

    def post(self, client, event: str, call_id: str, caller: str, agent: str = "",
             timestamp: int | None = None, signature: str | None = None):
        import time

        body = json.dumps({"call_id": call_id, "event": event, "caller": caller,
                           "callee": "400-820-8820", "agent": agent,
                           "timestamp": timestamp or int(time.time())}).encode()
        ts = str(timestamp or int(time.time()))
        sig = signature or hmac.new(self.secret.encode(), ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        self.sent.append({"event": event, "call_id": call_id})
        return client.post("/channels/callcenter", content=body,
                           headers={"X-Timestamp": ts, "X-Signature": sig,
                                    "Content-Type": "application/json"})
