"""CSRF tokens bound to the session (the synchronizer-token pattern).

Signed in, the token is the one kept in the server-side session: made new at sign-in, so
a token seen before sign-in or taken from another session never works. Signed out (the
sign-in and language forms), Litestar's double-submit cookie is used: an HMAC-signed
random value in a cookie that the form must repeat. Replaces Litestar's CSRFConfig,
which knows only the cookie and cannot bind a token to a session.

Every form carries ``_csrf_token``; htmx and fetch send the ``X-CSRFToken`` header. The
``csrftoken`` cookie always holds the current token (scripts and tests may read it).
A route opts out with ``opt={"exclude_from_csrf": True}`` (the push receipts, whose
payload carries its own signed token).
"""

from __future__ import annotations

from secrets import compare_digest

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash, generate_csrf_token
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

COOKIE = "csrftoken"
HEADER = "x-csrftoken"
FORM_FIELD = "_csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _signed_ok(token: str, secret: str) -> bool:
    if len(token) <= CSRF_SECRET_LENGTH:
        return False
    return compare_digest(token[CSRF_SECRET_LENGTH:], generate_csrf_hash(token[:CSRF_SECRET_LENGTH], secret))


class SessionCSRFMiddleware(ASGIMiddleware):
    """Refuses an unsafe request whose token is not this session's (403, "CSRF ...")."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "exclude_from_csrf"

    def __init__(self, secret: str, secure: bool) -> None:
        self.secret, self.secure = secret, secure

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request = scope["litestar_app"].request_class(scope=scope, receive=receive)
        cookie = request.cookies.get(COOKIE)
        bound = _session_token(scope)
        anonymous = cookie if cookie and _signed_ok(cookie, self.secret) else None
        expected = bound or anonymous

        if request.method not in SAFE_METHODS:
            sent = request.headers.get(HEADER)
            content_type, _ = request.content_type
            if not sent and content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
                sent = (await request.form()).get(FORM_FIELD)
            if not (expected and isinstance(sent, str) and compare_digest(sent, expected)):
                raise PermissionDeniedException("CSRF token verification failed")

        if not bound and not anonymous:
            anonymous = generate_csrf_token(self.secret)
        ScopeState.from_scope(scope).csrf_token = bound or anonymous

        async def send_with_cookie(message: Message) -> None:
            # After the handler: sign-in made a new session and token; sign-out ended it.
            if message["type"] == "http.response.start":
                value = _session_token(scope) or anonymous or generate_csrf_token(self.secret)
                if value != cookie:
                    MutableScopeHeaders.from_message(message).add("set-cookie", Cookie(
                        key=COOKIE, value=value, path="/", secure=self.secure, httponly=False,
                        samesite="strict").to_header(header=""))
            await send(message)

        await next_app(scope, receive, send_with_cookie)


def _session_token(scope: Scope) -> str | None:
    session = scope.get("session")
    token = session.get("csrf") if isinstance(session, dict) else None
    return token if isinstance(token, str) and token else None
