"""My profile: language, and (later) job alerts on this device."""

from __future__ import annotations

from litestar import Request
from litestar.response import Template

from server.models import Staff
from server.routes._http import DB, get, page
from server.routes.push import devices as push_devices


@get("/me", include_in_schema=False)
def me(request: Request, db: DB) -> Template:
    user = request.scope["user"]
    return page(request, "pages/profile.html", staff=db.get(Staff, user.id),
                devices=push_devices(db, user.id))


ROUTES = [me]
