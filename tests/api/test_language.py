"""Simplified Chinese first, English by choice, remembered per user."""

from __future__ import annotations

from tests.conftest import form_post, login


def test_english_by_choice_is_remembered_on_the_profile(client, people, app):
    login(client, "dispatcher")
    assert "您好" in client.get("/").text
    r = form_post(client, "/language", {"locale": "en", "next": "/"})
    assert r.status_code == 303
    page = client.get("/").text
    assert '<html lang="en">' in page and "Hello" in page
    # another browser, same person: still English
    from litestar.testing import TestClient

    with TestClient(app=app) as other:
        other.headers["accept"] = "text/html"
        login(other, "dispatcher")
        assert '<html lang="en">' in other.get("/").text


def test_signed_out_language_choice_uses_a_cookie(client):
    client.get("/login")
    form_post(client, "/language", {"locale": "en", "next": "/login"})
    assert "Sign in" in client.get("/login").text


def test_unknown_language_falls_back_to_chinese(client):
    client.get("/login")
    form_post(client, "/language", {"locale": "xx", "next": "/login"})
    assert '<html lang="zh-CN">' in client.get("/login").text


def test_every_message_has_a_chinese_translation():
    from scripts.i18n import untranslated

    assert untranslated("zh_CN") == []
