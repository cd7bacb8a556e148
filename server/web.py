"""Where the web assets are, and the helpers every template can call."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment

from server import __version__, i18n
from server.settings import Settings

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
HTMX_FILE = "vendor/htmx-2.0.11.min.js"

# Files the service worker precaches as the app shell; their hashes make its version.
SHELL_FILES = (
    "css/app.css",
    "js/app.js",
    "js/field-offline.js",
    "js/push.js",
    "js/copy.js",
    "js/sw-push.js",
    HTMX_FILE,
    "icons/icon-192.png",
    "icons/icon.svg",
)


@cache
def asset_hash(rel: str) -> str:
    return hashlib.sha256((STATIC_DIR / rel).read_bytes()).hexdigest()[:10]


def static_url(rel: str) -> str:
    return f"/static/{rel}?v={asset_hash(rel)}"


@cache
def shell_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for rel in SHELL_FILES:
        digest.update(asset_hash(rel).encode())
    digest.update((TEMPLATE_DIR / "pages" / "offline.html").read_bytes())
    return digest.hexdigest()[:12]


def install_template_helpers(env: Environment, settings: Settings) -> None:
    tz = ZoneInfo(settings.time_zone)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)

    def local(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else ""

    env.globals.update(
        static=static_url,
        htmx_src=static_url(HTMX_FILE),
        render_message=i18n.render,
        version=__version__,
    )
    env.filters["local"] = local
