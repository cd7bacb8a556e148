"""Security headers on every response: pages, htmx fragments, static files, sw.js, JSON,
errors and 404s alike (a ``before_send`` hook, so not even a path without a route is missed).

The Content-Security-Policy allows scripts, styles, fonts and connections from this
origin only: no ``unsafe-inline``, no ``unsafe-eval`` (templates carry no inline
scripts, handlers or style attributes; htmx is configured with ``allowEval: false`` and
``includeIndicatorStyles: false``, and without ``style`` in ``attributesToSettle``, in
base.html). Images may also be ``data:``/``blob:``
(the phone's photo preview). Nobody may frame the app (clickjacking).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "permissions-policy": "geolocation=(self), camera=(self), microphone=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(hsts: bool):
    """The hook for ``Litestar(before_send=[...])``; HSTS only behind HTTPS
    (``FIELDOPS_SECURE_COOKIES=1``): sent over plain HTTP it would be ignored anyway."""
    headers = HEADERS | ({"strict-transport-security": HSTS} if hsts else {})

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        out = MutableScopeHeaders.from_message(message)
        for name, value in headers.items():
            out[name] = value

    return before_send
