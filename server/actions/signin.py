"""Signing in (throttled), changing one's password, and ending a person's sessions."""

from __future__ import annotations

import hashlib
import threading
from contextlib import nullcontext
from datetime import datetime, timedelta

from sqlalchemy import func, text
from sqlmodel import Session, delete, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.domain import login
from server.domain.text import N_, Message
from server.models import LoginAttempt, Staff, WebSession
from server.security import hash_password, verify_password


class TooManyAttempts(ActionError):
    """The throttle refused the attempt without checking the password (HTTP 429)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(N_("Too many sign-in attempts from this address. Try again in {minutes} "
                            "minutes, or from another device."), minutes=(retry_after_s + 59) // 60)
        self.retry_after_s = retry_after_s


MIN_PASSWORD = 8
MAX_PASSWORD = 256  # argon2 hashes anything, but a megabyte "password" is only a load


def sign_in(
    db: Session, username: str, password: str, address: str, now: datetime, limits: login.Limits
) -> Staff:
    """The person, or ActionError (``TooManyAttempts`` from the throttle). Commits.

    Throttle (domain/login.py): failed attempts are counted in two sliding windows, per
    client address and per address+username. Attempts on one address+username are
    evaluated one at a time (PostgreSQL: an advisory lock shared by every server process;
    SQLite, one process: a lock in the process), so of 30 parallel guesses against a
    limit of 5 only 5 are checked; a refused attempt checks no password. Success clears
    the pair's failures. The password check costs the same for an unknown name (timing).
    """
    username = username.strip().lower()
    (addr_key, addr_limit), (pair_key, pair_limit) = login.keys(address, username, limits)
    postgres = db.get_bind().dialect.name == "postgresql"
    with _local_lock(pair_key) if not postgres else nullcontext():
        if postgres:  # held until the commit below, in every server process
            db.exec(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 11))")
                    .bindparams(key=pair_key))
        since = now - timedelta(seconds=limits.window_s)
        counts, oldest = [], []
        for key, limit in ((addr_key, addr_limit), (pair_key, pair_limit)):
            count, first = db.exec(select(func.count(), func.min(LoginAttempt.at))
                                   .where(LoginAttempt.key == key, LoginAttempt.at > since)).one()
            counts.append(count)
            if count >= limit:
                oldest.append(first)
        if login.over_limit(counts, [addr_limit, pair_limit]):
            db.rollback()
            raise TooManyAttempts(login.retry_after(oldest, now, limits.window_s))
        valid_name = 0 < len(username) <= login.MAX_USERNAME and "\x00" not in username
        staff = db.exec(select(Staff).where(Staff.username == username)).first() if valid_name else None
        if not postgres:
            db.commit()  # SQLite: never hold the write lock during the slow check

        ok = verify_password(staff.password_hash if staff else None, password[:MAX_PASSWORD])
        if staff is None or not ok or not staff.active:
            db.add_all([LoginAttempt(key=addr_key, at=now), LoginAttempt(key=pair_key, at=now)])
            record(db, "auth.failed", staff.id if staff else None, entity="staff",
                   entity_id=username[: login.MAX_USERNAME].replace("\x00", ""), address=address, at=now)
            db.commit()
            raise ActionError(N_("Unknown username or wrong password."))
        db.exec(delete(LoginAttempt).where(LoginAttempt.key == pair_key))
        record(db, "auth.signed_in", staff.id, entity="staff", entity_id=staff.id, address=address, at=now)
        db.commit()
        return staff


_STRIPES = [threading.Lock() for _ in range(64)]


def _local_lock(key: str) -> threading.Lock:
    """One of a fixed set of locks, chosen by the key (attempts on one key queue)."""
    return _STRIPES[int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(_STRIPES)]


def change_password(
    db: Session, staff_id: int, current: str, new: str, repeat: str, now: datetime,
    keep_session: str | None = None,
) -> Staff:
    """Every user, from /me. Ends the person's other sessions (a thief's copy too)."""
    staff = db.get(Staff, staff_id)
    errors: dict[str, Message] = {}
    if staff is None or not verify_password(staff.password_hash, current[:MAX_PASSWORD]):
        errors["current"] = Message(N_("This is not your current password."))
    errors |= password_errors(new, repeat)
    if errors:
        raise FieldErrors(errors)
    staff.password_hash = hash_password(new)
    db.add(staff)
    ended = end_sessions(db, staff_id, except_id=keep_session)
    record(db, "staff.password_changed", staff_id, entity="staff", entity_id=staff_id,
           sessions_ended=ended, at=now)
    return staff


def password_errors(new: str, repeat: str) -> dict[str, Message]:
    if len(new) < MIN_PASSWORD:
        return {"new": Message(N_("At least {n} characters."), {"n": MIN_PASSWORD})}
    if len(new) > MAX_PASSWORD:
        return {"new": Message(N_("At most {n} characters."), {"n": MAX_PASSWORD})}
    if new != repeat:
        return {"repeat": Message(N_("The two passwords differ."))}
    return {}


def end_sessions(db: Session, staff_id: int, except_id: str | None = None) -> int:
    """Sign a person out everywhere (every browser and phone); answers how many ended.
    ``except_id``: the hashed id of a session to keep (the one changing the password)."""
    query = delete(WebSession).where(WebSession.staff_id == staff_id)
    if except_id:
        query = query.where(WebSession.id != except_id)
    return db.exec(query).rowcount or 0


def sign_out_everywhere(db: Session, actor_id: int, staff_id: int, now: datetime) -> int:
    """The person themselves (/me) or the admin (people screen); audited either way."""
    if db.get(Staff, staff_id) is None:
        raise ActionError(N_("No such person."))
    ended = end_sessions(db, staff_id)
    record(db, "staff.signed_out_everywhere", actor_id, entity="staff", entity_id=staff_id,
           sessions_ended=ended, at=now)
    return ended
