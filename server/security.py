"""Who is signed in, and what their roles let them reach."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from server.models import Staff, StaffRole

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, InvalidHashError):
        return False


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    locale: str
    group: str | None
    region: str | None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


USER_COLUMNS = (Staff.id, Staff.username, Staff.display_name, Staff.locale, Staff.group,
                Staff.region, StaffRole.role)
# scope key: the person the session store read with the session row (server.sessions), in
# the same query; None when the session's person is disabled or gone
SESSION_USER = "fieldops.session_user"
_UNSET = object()


def user_from_rows(rows: Sequence[Any]) -> CurrentUser | None:
    """A ``CurrentUser`` from rows of ``USER_COLUMNS`` (one row per role; ``id`` None or no
    rows: nobody active)."""
    if not rows or rows[0].id is None:
        return None
    first = rows[0]
    return CurrentUser(
        id=first.id,
        username=first.username,
        display_name=first.display_name,
        roles=frozenset(r.role for r in rows if r.role is not None),
        locale=first.locale,
        group=first.group,
        region=first.region,
    )


def load_user(session: Session, staff_id: int) -> CurrentUser | None:
    """The active person with their roles, in one query."""
    rows = session.exec(
        select(*USER_COLUMNS).outerjoin(StaffRole, StaffRole.staff_id == Staff.id)
        .where(Staff.id == staff_id, Staff.active == True)  # noqa: E712
    ).all()
    return user_from_rows(rows)


# built once (the sync applier asks every round)
_USERS = (select(*USER_COLUMNS).outerjoin(StaffRole, StaffRole.staff_id == Staff.id)
          .where(Staff.id.in_(bindparam("staff_ids", expanding=True)),
                 Staff.active == True))  # noqa: E712


def load_users(session: Session, staff_ids: set[int]) -> dict[int, CurrentUser | None]:
    """The active people among ``staff_ids`` with their roles, in one query: by staff id,
    None for one disabled or gone."""
    if not staff_ids:
        return {}
    rows = session.connection().execute(_USERS, {"staff_ids": sorted(staff_ids)}).all()
    by_person: dict[int, list[Any]] = {}
    for row in rows:
        by_person.setdefault(row.id, []).append(row)
    return {s: user_from_rows(by_person.get(s, [])) for s in staff_ids}


def _load_user(engine: Engine, staff_id: int) -> CurrentUser | None:
    with Session(engine) as session:
        return load_user(session, staff_id)


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Attach the signed-in person (or None) to every request; guards decide access.

    The session store reads the person with the session row, in one query
    (``SESSION_USER``); only a session loaded some other way costs a query of its own,
    in a worker thread (never on the event loop)."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        uid = connection.scope.get("session", {}) or {}
        uid = uid.get("uid") if isinstance(uid, dict) else None
        user = None
        if isinstance(uid, int):
            read = connection.scope.get(SESSION_USER, _UNSET)  # type: ignore[call-overload]
            if read is None or (isinstance(read, CurrentUser) and read.id == uid):
                user = read
            else:
                user = await anyio.to_thread.run_sync(_load_user, connection.app.state.engine, uid)
        return AuthenticationResult(user=user, auth=None)


def signed_in(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: every route needs a signed-in person unless it is marked public
    (the OpenAPI document at /schema too: it maps every route and parameter)."""
    if handler.opt.get("public"):
        return
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own answer: the allowed methods, no data (was a 500, issue 11)
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("sign in required")


def requires(*roles: str) -> Any:
    """Guard: the signed-in person must hold one of these roles."""

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # see signed_in
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException("sign in required")
        if not user.has(*roles):
            raise PermissionDeniedException("role", extra={"roles": list(roles)})

    guard.__name__ = f"requires_{'_'.join(roles)}"
    return guard
