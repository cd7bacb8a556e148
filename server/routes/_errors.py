"""Refusals the user can read, in their language: sign-in needed, not your screen, form expired."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template

from server.i18n import gettext as _
from server.i18n import render
from server.routes._http import _base_context, is_htmx
from server.routes.params import BadInput, explain


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


def _refusal(request: Request, status: int, message: str) -> Response:
    if not _wants_html(request):
        return Response({"error": message}, status_code=status)
    if is_htmx(request):
        return Template(
            "partials/flash.html",
            context=_base_context(request) | {"message": message, "kind": "error"},
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return Template(
        "pages/refused.html",
        context=_base_context(request) | {"message": message, "status": status},
        status_code=status,
    )


EXCEPTION_HANDLERS = {
    NotAuthorizedException: not_authorized,
    PermissionDeniedException: permission_denied,
    NotFoundException: not_found,
    ValidationException: bad_input,
}
