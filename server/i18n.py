"""gettext in the user's language: Simplified Chinese first, English second.

Catalogs are the .po files under web/locale, compiled in memory at start-up, so there is
no build step and no stale .mo file. The current locale lives in a context variable set
once per request; templates and messages read it through ``gettext``.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from server.domain.text import Message

LOCALE_DIR = Path(__file__).resolve().parent.parent / "web" / "locale"
SUPPORTED = ("zh_CN", "en")
DEFAULT = "zh_CN"
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT)


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def set_locale(locale: str | None) -> str:
    chosen = locale if locale in SUPPORTED else DEFAULT
    _current.set(chosen)
    return chosen


def current_locale() -> str:
    return _current.get()


def gettext(msgid: str) -> str:
    return translations(_current.get()).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def render(message: Message | str) -> str:
    """A domain Message (or a plain msgid) in the current language."""
    if isinstance(message, Message):
        return message.render(gettext)
    return gettext(message)


def pick_locale(user_locale: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The user's saved choice, else the cookie (signed-out pages), else Chinese.

    Chinese is the default even for an English browser: the staff are in China and the
    policy is Chinese; English is an explicit choice.
    """
    for candidate in (user_locale, cookie):
        if candidate in SUPPORTED:
            return candidate
    return DEFAULT
