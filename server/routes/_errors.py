"""Refusals the user can read, in their language: sign-in needed, not your screen, form expired."""

from __future__ import annotations

import logging
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from sqlalchemy.exc import DBAPIError

from server.i18n import gettext as _
from server.i18n import render
from server.routes._http import _base_context, is_htmx
from server.routes.params import BadInput, explain
from server.storage import cannot_write
from server.sync.apply import OUTAGE

log = logging.getLogger(__name__)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or is_htmx(request)


def not_authorized(request: Request, exc: NotAuthorizedException) -> Response:
    if not _wants_html(request):
        return Response({"error": _("Please sign in.")}, status_code=401)
    target = "/login?next=" + quote(request.url.path)
    if is_htmx(request):
        return Response("", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def permission_denied(request: Request, exc: PermissionDeniedException) -> Response:
    if "CSRF" in str(exc.detail):
        message = _("This form has expired or was sent from elsewhere. Reload the page and try again.")
    else:
        message = _("Your role does not give access to this screen.")
    return _refusal(request, 403, message)


def not_found(request: Request, exc: NotFoundException) -> Response:
    return _refusal(request, 404, _("There is nothing at this address."))


def outage(request: Request, exc: Exception) -> Response:
    """The database is unreachable or busy: 503 and "try again", never a 500 (the phone's
    outbox keeps what it sent and retries; D14)."""
    if cannot_write(exc):  # disk full or read-only: say so (issue 11)
        return storage_full(request, exc)
    log.error("database unavailable on %s: %r", request.url.path, exc)
    return _refusal(request, 503, _("The server could not save this just now. Send it again."),
                    headers={"Retry-After": "5"})


def bad_input(request: Request, exc: ValidationException) -> Response:
    """A value outside its bounds (``server.routes.params``): 400, saying which field and
    which bound, in the user's language. Nothing was changed: the handler never ran, or
    its transaction is rolled back."""
    if isinstance(exc, BadInput):
        field, message = exc.field, render(exc.message)
    else:
        extra = exc.extra if isinstance(exc.extra, list) and exc.extra else [{}]
        first = extra[0] if isinstance(extra[0], dict) else {}
        field = str(first.get("key") or "")
        message = render(explain(str(first.get("message") or "")))
    if field and field not in ("data", "body"):
        message = _("{field}: {problem}").format(field=field, problem=message)
    return _refusal(request, 400, message)


def storage_full(request: Request, exc: Exception) -> Response:
    """The database cannot write (disk full, read-only): 503 and a message the user can
    act on (issue 11); any other database error stays a server error."""
    if not cannot_write(exc):
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return _refusal(request, 500, _("Something went wrong on the server. Nothing was changed."))
    log.error("database cannot write: %s", getattr(exc, "orig", exc))
    return _refusal(request, 503, _(
        "The server cannot save anything right now: its storage is full or read-only. "
        "Nothing was changed. Try again in a few minutes, and tell the administrator if it "
        "goes on."), headers={"Retry-After": "60"})


def _refusal(request: Request, status: int, message: str,
             headers: dict[str, str] | None = None) -> Response:
    headers = headers or {}
    if not _wants_html(request):
        return Response({"error": message}, status_code=status, headers=headers)
    if is_htmx(request):
        return Template(
            "partials/flash.html",
            context=_base_context(request) | {"message": message, "kind": "error"},
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"} | headers,
        )
    return Template(
        "pages/refused.html",
        context=_base_context(request) | {"message": message, "status": status},
        status_code=status, headers=headers,
    )


EXCEPTION_HANDLERS = {
    NotAuthorizedException: not_authorized,
    PermissionDeniedException: permission_denied,
    NotFoundException: not_found,
    ValidationException: bad_input,
    DBAPIError: storage_full,
    **dict.fromkeys(OUTAGE, outage),
}
