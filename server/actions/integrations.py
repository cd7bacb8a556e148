"""The admin's integration tokens for machine clients (the rental business system).

A token is shown once when created; only its SHA-256 is stored, so a leaked database does
not leak a usable token. Revoking is immediate and kept (the row stays for the audit).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session, select

from server.actions import ActionError
from server.actions.audit import record
from server.domain.text import N_
from server.models import IntegrationToken

TOKEN_PREFIX = "fo_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Session, actor_id: int, name: str, now: datetime) -> tuple[IntegrationToken, str]:
    """(the stored row, the token itself: shown to the admin once, never again)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ActionError(N_("Name the integration (at most 64 characters)."), "name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = IntegrationToken(name=name, token_hash=token_hash(token), prefix=token[:10],
                           created_by=actor_id, created_at=now)
    db.add(row)
    db.flush()
    record(db, "integration.token_created", actor_id, entity="integration_token",
           entity_id=row.id, at=now, name=name, prefix=row.prefix)
    return row, token


def revoke_token(db: Session, actor_id: int, token_id: int, now: datetime) -> IntegrationToken:
    row = db.get(IntegrationToken, token_id)
    if row is None:
        raise ActionError(N_("No such token."))
    if row.revoked_at is None:
        row.revoked_at = now
        record(db, "integration.token_revoked", actor_id, entity="integration_token",
               entity_id=row.id, at=now, name=row.name)
    return row


def token_for(db: Session, token: str) -> IntegrationToken | None:
    """The live token row for a presented bearer token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = db.exec(select(IntegrationToken).where(
        IntegrationToken.token_hash == token_hash(token))).first()
    return row if row is not None and row.revoked_at is None else None
