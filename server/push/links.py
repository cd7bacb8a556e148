"""Signed one-time links for WeCom cards: "accept this job" from WeCom's in-app browser.

WeCom's browser has no FieldOps session, so the link itself says who may do what:
``/a/<token>``, the token being ``<notice>.<job>.<person>.<expiry>`` and an HMAC-SHA256
of it under the server's secret. Opening the link (GET) only shows a confirm button, so
link previews and prefetching change nothing; the POST carries the same token, which
also stands in for the CSRF token (it cannot be guessed or read by another site) and is
spent once (``UsedLink``). It grants nothing else: no session, no other page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class AcceptLink:
    note_id: int
    job_id: int
    staff_id: int
    expires: int  # Unix seconds

    @property
    def nonce(self) -> str:
        return f"accept:{self.note_id}"


def _mac(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"accept-link:{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def make(secret: str, note_id: int, job_id: int, staff_id: int, now: datetime) -> str:
    body = f"{note_id}.{job_id}.{staff_id}.{int((now + LIFETIME).timestamp())}"
    return f"{body}.{_mac(secret, body)}"


def read(secret: str, token: str, now: datetime) -> AcceptLink | None:
    """The link's contents if it is genuine and not expired; None otherwise."""
    parts = (token or "").split(".")
    if len(parts) != 5 or not all(p.isdigit() for p in parts[:4]) or len(token) > 200:
        return None
    body = ".".join(parts[:4])
    if not hmac.compare_digest(_mac(secret, body).encode(), parts[4].encode()):
        return None
    link = AcceptLink(*(int(p) for p in parts[:4]))
    return link if link.expires >= now.timestamp() else None
