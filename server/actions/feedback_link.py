"""The customer's private feedback link (S6): made by the agent, answered once, expiring.

The secret in the address is 32 random bytes (``secrets.token_urlsafe``); only its
SHA-256 is stored, so a copy of the database does not hold working links. A link is
single-use, expires after ``settings.feedback_link_days`` (default 7), and a newer link
for the same request replaces it. Wrong links are counted per client address: after
``feedback_link_max_guesses`` within ``login_window_seconds`` every link is refused for
that address, so tokens cannot be guessed by trying (they could not anyway: 256 bits).
The answer goes through ``record_feedback``, exactly as the agent's form does (D9).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, func, select

from server.actions import ActionError, audit
from server.actions.feedback import record_feedback
from server.domain.text import N_
from server.models import Feedback, FeedbackLink, GuessFailure, RequestStatus, SupportRequest

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64


class LinkRefused(ActionError):
    """The link cannot be used; ``status`` is the HTTP answer (404, 410, 429)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_link(db: Session, actor_id: int, request_id: int, now: datetime, settings: Any
              ) -> tuple[FeedbackLink, str]:
    """A new link for a resolved request; returns the row and the secret (shown once)."""
    request = db.get(SupportRequest, request_id)
    if request is None:
        raise ActionError(N_("There is no request {request_id}."), request_id=request_id)
    if request.status != RequestStatus.resolved:
        raise ActionError(N_("Only a resolved request waits for the customer's feedback."))
    for old in db.exec(select(FeedbackLink).where(
            FeedbackLink.request_id == request_id, FeedbackLink.used_at.is_(None),
            FeedbackLink.revoked_at.is_(None))):  # fmt: skip
        old.revoked_at = now
        db.add(old)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = FeedbackLink(request_id=request_id, token_hash=_hash(token), created_by=actor_id,
                        created_at=now,
                        expires_at=now + timedelta(days=settings.feedback_link_days))
    db.add(link)
    db.flush()
    audit.record(db, "feedback.link_made", actor_id, request_id=request_id,
                 entity="feedback_link", entity_id=link.id, at=now,
                 expires_at=link.expires_at.isoformat())  # fmt: skip
    return link, token


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
