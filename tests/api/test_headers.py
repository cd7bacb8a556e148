"""Security headers on every kind of response, and templates the strict CSP can run."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from litestar.testing import TestClient

from server.web import TEMPLATE_DIR
from tests.conftest import login

EVERY_RESPONSE = ("content-security-policy", "referrer-policy", "x-content-type-options")


def check(r) -> None:
    for name in EVERY_RESPONSE:
        assert name in r.headers, (r.url, name)
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_every_kind_of_response_carries_the_security_headers(client, people):
    kinds = {
        "signed-out page": client.get("/login"),
        "redirect": client.get("/board", follow_redirects=False),
        "static file": client.get("/static/css/app.css"),
        "service worker": client.get("/sw.js"),
        "manifest": client.get("/manifest.webmanifest"),
        "health JSON": client.get("/healthz"),
        "no such path": client.get("/no/such/path"),
        "401 JSON": client.get("/board", headers={"accept": "application/json"}),
    }
    login(client, "dispatcher")
    kinds |= {
        "page": client.get("/board"),
        "htmx fragment": client.get("/board", headers={"hx-request": "true"}),
        "OpenAPI JSON": client.get("/schema/openapi.json", headers={"accept": "application/json"}),
        "403 page": client.get("/admin/people"),
        "405": client.delete("/board"),
        "CSRF refusal": client.post("/logout", data={}),
    }
    assert kinds["htmx fragment"].text.lstrip()[:9] != "<!doctype"
    assert kinds["no such path"].status_code == 404 and kinds["403 page"].status_code == 403
    for kind, r in kinds.items():
        assert r.status_code < 500, kind
        check(r)
        assert "strict-transport-security" not in r.headers, kind


def test_hsts_only_behind_https(settings):
    from server.app import create_app

    with TestClient(app=create_app(replace(settings, secure_cookies=True))) as c:
        for path in ("/login", "/static/css/app.css", "/no/such/path"):
            r = c.get(path)
            assert r.headers["strict-transport-security"].startswith("max-age=31536000"), path


INLINE = [
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"hx-on", re.I), "hx-on (evaluated by htmx)"),
    (re.compile(r"js:|javascript:", re.I), "js:/javascript: (evaluated)"),
    (re.compile(r'hx-trigger="[^"]*\['), "hx-trigger filter (evaluated)"),
]


@pytest.mark.parametrize("path", sorted(TEMPLATE_DIR.rglob("*.html")), ids=lambda p: p.name)
def test_templates_hold_nothing_the_csp_would_block(path):
    text = path.read_text()
    for pattern, what in INLINE:
        assert not pattern.search(text), f"{path.name}: {what}"


def test_htmx_is_configured_for_the_csp():
    base = (TEMPLATE_DIR / "base.html").read_text()
    # no <style> element of its own, no eval, and never copying a style attribute on swap
    for setting in ('"includeIndicatorStyles":false', '"allowEval":false',
                    '"attributesToSettle":["class","width","height"]'):
        assert setting in base
