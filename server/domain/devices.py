"""A short name for the device a change came from, for the audit log ("from which device")."""

from __future__ import annotations

import re

_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Windows", "Windows"), ("Mac OS X", "Mac"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))
_BROWSERS = (("MicroMessenger", "WeChat"), ("Edg/", "Edge"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))


def device_label(user_agent: str | None, address: str | None = None) -> str:
    """'Android · Chrome · 10.0.0.7' from a User-Agent header (at most 64 characters).

    Unknown agents keep their first word ('python-httpx'); nothing at all is ''.
    """
    ua = (user_agent or "").strip()
    system = next((name for key, name in _SYSTEMS if key in ua), "")
    browser = next((name for key, name in _BROWSERS if key in ua), "")
    if not system and not browser and ua:
        browser = re.split(r"[\s/;(]", ua, maxsplit=1)[0][:24]
    parts = [p for p in (system, browser, (address or "").strip()) if p]
    return " · ".join(parts)[:64]
