"""A push service and a WeCom robot on 127.0.0.1, and subscribers that decrypt like a browser.

testing.md, "Web Push without the internet": a subscription is an ECDH P-256 key pair
and a 16-byte auth secret; the push service is any HTTP endpoint. The receiver checks
the VAPID ``Authorization`` header (RFC 8292) itself: the JWT's ``aud``, ``exp`` and
``sub`` and its ES256 signature against the key in ``k``, and decrypts the body
(aes128gcm, RFC 8291) with the subscriber's private key. Each path can be told to
answer 201, 410, 500 or to hang past the sender's timeout. Used by tests and bench/.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Subscriber:
    """What a browser makes in pushManager.subscribe(): a key pair and an auth secret."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.p256dh = b64u(raw)
        self.auth_b64 = b64u(self.auth)

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth,
                                version="aes128gcm")


def verify_vapid(header: str, expect_key: str, expect_aud: str, expect_sub: str) -> dict[str, Any]:
    """RFC 8292: ``vapid t=<JWT>, k=<public key>``; the JWT is ES256 over header.claims."""
    scheme, _, rest = header.partition(" ")
    assert scheme.lower() == "vapid", header
    parts = dict(p.strip().split("=", 1) for p in rest.split(","))
    assert parts["k"] == expect_key, "k is not the server's VAPID public key"
    head_b64, claims_b64, sig_b64 = parts["t"].split(".")
    head = json.loads(unb64u(head_b64))
    assert head["alg"] == "ES256" and head.get("typ", "JWT") == "JWT", head
    sig = unb64u(sig_b64)
    assert len(sig) == 64, "ES256 signatures are r||s, 64 bytes"
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(parts["k"]))
    public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises
    claims = json.loads(unb64u(claims_b64))
    assert claims["aud"] == expect_aud, claims
    assert claims["sub"] == expect_sub, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims  # RFC 8292: ≤ 24 h
    return claims


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.perf_counter() on arrival
    status: int
    vapid_claims: dict[str, Any] | None = None
    vapid_error: str = ""
    data: Any = None  # decrypted JSON (push) or the posted JSON (WeCom)


@dataclass
class Receiver:
    """``/push/<name>`` is a push endpoint of subscriber <name>; ``/wecom`` a group robot."""

    vapid_public_key: str = ""
    vapid_subject: str = ""
    received: list[Received] = field(default_factory=list)
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    # path -> answers to give in turn (the last one repeats): 201, 410, 500, "hang",
    # and for /wecom "errcode" (HTTP 200 with a WeCom error in the body)
    answers: dict[str, list[Any]] = field(default_factory=dict)
    hang_seconds: float = 3.0
    check_on_arrival: bool = True  # False: check and decrypt later (check_all), as a bench does
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real push service

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver._handle(self, body)

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # many senders at once must not wait for a SYN retry

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def subscriber(self, name: str) -> Subscriber:
        self.subscribers[name] = sub = Subscriber(name)
        return sub

    def subscription(self, name: str) -> dict[str, Any]:
        """The JSON a browser's PushSubscription.toJSON() gives."""
        sub = self.subscribers.get(name) or self.subscriber(name)
        return {"endpoint": f"{self.url}/push/{name}",
                "keys": {"p256dh": sub.p256dh, "auth": sub.auth_b64}}

    def answer(self, path: str, *answers: Any) -> None:
        self.answers[path] = list(answers)

    def _next_answer(self, path: str) -> Any:
        queue = self.answers.get(path)
        if not queue:
            return 201 if path.startswith("/push/") else 200
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = handler.path
        answer = self._next_answer(path)
        body_text = None
        if isinstance(answer, tuple):  # (status, body): a refusal with the service's reason
            answer, body_text = answer
        status = {"hang": 0, "errcode": 200}.get(answer, answer)
        item = Received(path, {k.lower(): v for k, v in handler.headers.items()}, body,
                        time.perf_counter(), status)
        if self.check_on_arrival:
            self._check(item)
        with self.arrived:
            self.received.append(item)
            self.arrived.notify_all()
        if answer == "hang":
            time.sleep(self.hang_seconds)
            return
        reply = body_text.encode() if body_text is not None else b""
        if path == "/wecom":  # the robot answers 200 and says in the body whether it worked
            reply = json.dumps({"errcode": 45009, "errmsg": "api freq out of limit"}
                               if answer == "errcode" else {"errcode": 0, "errmsg": "ok"}).encode()
        handler.send_response(status)
        handler.send_header("content-length", str(len(reply)))
        handler.end_headers()
        handler.wfile.write(reply)

    def _check(self, item: Received) -> None:
        if item.path.startswith("/push/"):
            sub = self.subscribers.get(item.path.split("/")[2])
            try:
                item.vapid_claims = verify_vapid(item.headers.get("authorization", ""),
                                                 self.vapid_public_key, self.url, self.vapid_subject)
            except Exception as exc:  # noqa: BLE001 - the test asserts on it
                item.vapid_error = f"{type(exc).__name__}: {exc}"
            if sub is not None and item.body:
                item.data = json.loads(sub.decrypt(item.body))
        elif item.body:
            item.data = json.loads(item.body)

    def check_all(self) -> list[Received]:
        for item in self.received:
            if item.data is None:
                self._check(item)
        return self.received

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.arrived.wait(left)
            return list(self.received)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]
