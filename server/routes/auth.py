"""Sign in, sign out, and the language choice before signing in."""

from __future__ import annotations

from litestar import Controller, Request
from litestar.response import Redirect, Response

from server.actions import ActionError
from server.actions.signin import TooManyAttempts, sign_in
from server.db import utcnow
from server.domain.bounds import USERNAME
from server.domain.login import Limits
from server.i18n import SUPPORTED, render, set_locale
from server.routes._http import DB, get, page, post
from server.routes.params import Form, TextQuery, form_text
from server.sessions import end_session, start_session


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never an open redirect to another host.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def client_address(request: Request) -> str:
    """The peer's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


def login_limits(settings) -> Limits:
    return Limits(per_pair=settings.login_max_failures,
                  per_address=settings.login_max_failures_per_address,
                  window_s=settings.login_window_seconds)


class AuthController(Controller):
    """Sign-in pages. A controller, not loose handlers: Litestar 2.25 wraps a sync
    handler twice when a GET and a POST on one path are registered as loose handlers."""

    include_in_schema = False

    @get("/login", opt={"public": True})
    def login_page(self, request: Request, next: TextQuery = None) -> Response:
        if request.scope.get("user"):
            return Redirect(_safe_next(next), status_code=303)
        return page(request, "pages/login.html", next=_safe_next(next), error=None, username="")


    @post("/login", opt={"public": True})
    def login_submit(self, request: Request, db: DB, data: Form) -> Response:
        settings = request.app.state.settings
        username = form_text(data, "username", USERNAME)  # NUL or 100 chars: 400, not 500
        try:
            staff = sign_in(db, username, str(data.get("password", "")), client_address(request),
                            utcnow(), login_limits(settings))
        except ActionError as exc:
            db.commit()  # keep the recorded failure although we answer with an error
            throttled = isinstance(exc, TooManyAttempts)
            answer = page(request, "pages/login.html", status_code=429 if throttled else 401,
                          next=_safe_next(data.get("next")), error=render(exc.message),
                          username=username[:64])
            if throttled:
                answer.headers["Retry-After"] = str(exc.retry_after_s)
            return answer
        start_session(request, staff.id)
        set_locale(staff.locale)
        return Redirect(_safe_next(data.get("next")), status_code=303)


    @post("/logout")
    def logout(self, request: Request) -> Redirect:
        end_session(request)
        # A shared phone: the browser drops its cached copies of this person's pages.
        return Redirect("/login", status_code=303, headers={"Clear-Site-Data": '"cache"'})


    @post("/language", opt={"public": True})
    def choose_language(self, request: Request, db: DB, data: Form) -> Response:
        """Signed in: saved on the profile. Signed out: kept in a cookie."""
        from server.actions.accounts import set_locale as save_locale

        locale = str(data.get("locale", ""))
        if locale not in SUPPORTED:
            locale = "zh_CN"
        user = request.scope.get("user")
        if user:
            save_locale(db, user.id, locale)
        response = Redirect(_safe_next(data.get("next")), status_code=303)
        response.set_cookie("lang", locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return response


ROUTES = [AuthController]
