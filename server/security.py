"""Who is signed in, and what their roles let them reach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
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


_USER_COLUMNS = (Staff.id, Staff.username, Staff.display_name, Staff.locale, Staff.group,
                 Staff.region, StaffRole.role)


def load_user(session: Session, staff_id: int) -> CurrentUser | None:
    """The active person with their roles, in one query (every request asks it)."""
    rows = session.exec(
        select(*_USER_COLUMNS).outerjoin(StaffRole, StaffRole.staff_id == Staff.id)
        .where(Staff.id == staff_id, Staff.active == True)  # noqa: E712
    ).all()
    if not rows:
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


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Attach the signed-in person (or None) to every request; guards decide access."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        uid = connection.scope.get("session", {}) or {}
        uid = uid.get("uid") if isinstance(uid, dict) else None
        user = None
        if isinstance(uid, int):
            engine = connection.app.state.engine
            with Session(engine) as session:
                user = load_user(session, uid)
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
