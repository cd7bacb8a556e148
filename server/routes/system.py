"""Health, the PWA manifest, the service worker and the offline page."""

from __future__ import annotations

import json

from litestar import Request, Response
from litestar.response import Template
from sqlalchemy import text

from server import __version__
from server.db import open_session, utcnow
from server.i18n import gettext as _
from server.routes._http import DB, get, page
from server.storage import cannot_write, probe_write
from server.web import SHELL_FILES, STATIC_DIR, shell_version, static_url

PUBLIC = {"public": True}


@get("/healthz", opt=PUBLIC, tags=["system"], summary="Liveness and database check")
def healthz(request: Request, db: DB) -> Response:
    """``{"status", "database", "database_writable", "backend", "version"}``; 503 when the
    database cannot be read, or cannot be written (disk full, read-only; issue 11): the
    write probe commits one row, so a full disk shows here, not only on the next save."""
    try:
        db.exec(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - report, never crash the probe
        database = f"error: {type(exc).__name__}"
    writable: bool | str = False
    if database == "ok":
        try:
            with open_session(request.app.state.engine, write=True) as probe:
                probe_write(probe, utcnow())
            writable = True
        except Exception as exc:  # noqa: BLE001 - report, never crash the probe
            writable = False if cannot_write(exc) else f"error: {type(exc).__name__}"
    status = "ok" if database == "ok" and writable is True else "degraded"
    backend = "sqlite" if request.app.state.settings.is_sqlite else "postgresql"
    return Response(
        {"status": status, "database": database, "database_writable": writable,
         "backend": backend, "version": __version__},
        status_code=200 if status == "ok" else 503,
    )  # fmt: skip


@get("/manifest.webmanifest", opt=PUBLIC, include_in_schema=False)
def manifest(request: Request) -> Response:
    body = {
        "name": _("FieldOps night support"),
        "short_name": "FieldOps",
        "description": _("Night and holiday support for live-stream equipment"),
        "lang": "zh-CN",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#0f1720",
        "theme_color": "#0f1720",
        "icons": [
            {"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static_url("icons/maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


@get("/sw.js", opt=PUBLIC, include_in_schema=False)
def service_worker() -> Response:
    """Served from / so its scope is the whole app; the shell list carries the version."""
    source = (STATIC_DIR / "js" / "sw.js").read_text()
    preamble = (
        f"const SHELL_VERSION = {json.dumps(shell_version())};\n"
        f"const SHELL_URLS = {json.dumps(['/offline', *[static_url(f) for f in SHELL_FILES]])};\n"
    )
    return Response(
        preamble + source,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@get("/offline", opt=PUBLIC, include_in_schema=False)
def offline(request: Request) -> Template:
    return page(request, "pages/offline.html")


ROUTES = [healthz, manifest, service_worker, offline]
