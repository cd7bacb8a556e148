"""The customer's private feedback link (S6): answered once, expiring.

A link is made by the agent (follow-up, "Link for the customer") or, once the request is
resolved, for the end of the customer's status page (D19, ``for_status_page``). The secret
in the address is 32 bytes: the HMAC-SHA256 of the link's row id under the server's
``secret_key``, so the status page can show the same link again later; only its SHA-256
is stored, so a copy of the database does not hold working links. A link is
single-use, expires after ``settings.feedback_link_days`` (default 7), and a newer link
for the same request replaces it (the status page then shows the newer one). Wrong links are counted per client address: after
``feedback_link_max_guesses`` within ``login_window_seconds`` every link is refused for
that address, so tokens cannot be guessed by trying (they could not anyway: 256 bits).
The answer goes through ``record_feedback``, exactly as the agent's form does (D9).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, func, select

from server.actions import ActionError, audit
from server.actions.feedback import record_feedback
from server.db import utcnow
from server.domain.text import N_
from server.models import Feedback, FeedbackLink, GuessFailure, RequestStatus, SupportRequest
from server.queries.customer_status import register_feedback_link

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64


class LinkRefused(ActionError):
    """The link cannot be used; ``status`` is the HTTP answer (404, 410, 429)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token(secret_key: str, link_id: int) -> str:
    """The link's secret: 32 bytes of HMAC-SHA256(secret_key, "feedback-link:<id>"),
    URL-safe base64 without padding (43 characters, like ``secrets.token_urlsafe(32)``)."""
    mac = hmac.new(secret_key.encode(), f"feedback-link:{link_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def _active(db: Session, request_id: int, now: datetime) -> list[FeedbackLink]:
    return list(db.exec(select(FeedbackLink).where(
        FeedbackLink.request_id == request_id, FeedbackLink.used_at.is_(None),
        FeedbackLink.revoked_at.is_(None), FeedbackLink.expires_at > now)
        .order_by(FeedbackLink.id.desc())).all())  # fmt: skip


def make_link(db: Session, actor_id: int | None, request_id: int, now: datetime, settings: Any,
              *, replace: bool = True) -> tuple[FeedbackLink, str]:
    """A new link for a resolved request; returns the row and the secret. ``actor_id``
    None: made for the customer's status page. ``replace``: earlier links stop working."""
    request = db.get(SupportRequest, request_id)
    if request is None:
        raise ActionError(N_("There is no request {request_id}."), request_id=request_id)
    if request.status != RequestStatus.resolved:
        raise ActionError(N_("Only a resolved request waits for the customer's feedback."))
    if replace:
        for old in db.exec(select(FeedbackLink).where(
                FeedbackLink.request_id == request_id, FeedbackLink.used_at.is_(None),
                FeedbackLink.revoked_at.is_(None))):  # fmt: skip
            old.revoked_at = now
            db.add(old)
    link = FeedbackLink(request_id=request_id, token_hash=secrets.token_hex(32),
                        created_by=actor_id, created_at=now,
                        expires_at=now + timedelta(days=settings.feedback_link_days))
    db.add(link)
    db.flush()  # the id the secret is made from; the placeholder hash above opens nothing
    token = _token(settings.secret_key, link.id)
    link.token_hash = _hash(token)
    db.add(link)
    db.flush()
    audit.record(db, "feedback.link_made", actor_id, request_id=request_id,
                 entity="feedback_link", entity_id=link.id, at=now,
                 expires_at=link.expires_at.isoformat(),
                 via="agent" if actor_id is not None else "status_page")  # fmt: skip
    return link, token


def for_status_page(db: Session, request: SupportRequest, now: datetime, settings: Any) -> None:
    """D19 + S6: a resolved request's status page ends with a working feedback link. Makes
    one when none is usable (none yet, expired, or made before links could be shown
    again, which keeps working: it is not replaced). Nothing for any other status."""
    if request.status != RequestStatus.resolved:
        return
    if any(_shown(link, settings) for link in _active(db, request.id, now)):
        return
    make_link(db, None, request.id, now, settings, replace=False)


def _shown(link: FeedbackLink, settings: Any) -> str | None:
    token = _token(settings.secret_key, link.id)
    return token if hmac.compare_digest(_hash(token), link.token_hash) else None


@register_feedback_link
def status_page_link(db: Session, request: SupportRequest, settings: Any) -> str | None:
    """The newest usable link of a resolved request, as a path (the status page's hook)."""
    if request.status != RequestStatus.resolved:
        return None
    for link in _active(db, request.id, utcnow()):
        if token := _shown(link, settings):
            return f"/f/{token}"
    return None


def _guesses(db: Session, client: str, now: datetime, settings: Any) -> int:
    since = now - timedelta(seconds=settings.login_window_seconds)
    return db.exec(select(func.count()).select_from(GuessFailure).where(
        GuessFailure.client == client, GuessFailure.at > since)).one()  # fmt: skip


def open_link(db: Session, token: str, client: str, now: datetime, settings: Any
              ) -> tuple[FeedbackLink, SupportRequest]:
    """The link and its request, or LinkRefused. A wrong token is written down at once
    (the caller commits even when refusing) so guessing slows down across processes."""
    if _guesses(db, client[:64], now, settings) >= settings.feedback_link_max_guesses:
        raise LinkRefused(N_("Too many wrong links from this address. Try again later."), 429)
    link = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        link = db.exec(select(FeedbackLink).where(FeedbackLink.token_hash == _hash(token))).first()
    if link is None:
        db.add(GuessFailure(client=client[:64], at=now))
        raise LinkRefused(N_("This link is not valid. Please ask us for a new one."), 404)
    request = db.get(SupportRequest, link.request_id)
    if link.used_at is not None:
        raise LinkRefused(N_("Thank you: this link has already been used."), 410)
    if link.revoked_at is not None or now >= link.expires_at:
        raise LinkRefused(N_("This link has expired. Please ask us for a new one."), 410)
    if request is None or request.status != RequestStatus.resolved:
        raise LinkRefused(N_("Thank you: your feedback has already been recorded."), 410)
    return link, request


def answer_link(db: Session, token: str, client: str, *, score: int | None,
                resolved: bool | None, comment: str, now: datetime, settings: Any) -> Feedback:
    """The customer's answer: recorded once, closing or reopening the request (D9)."""
    link, request = open_link(db, token, client, now, settings)
    feedback = record_feedback(db, None, request.id, reached=True, score=score,
                               resolved=resolved, comment=comment, no_feedback_reason="",
                               now=now, settings=settings, via="link")  # fmt: skip
    link.used_at = now
    db.add(link)
    return feedback
