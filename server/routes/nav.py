"""The screens each role reaches from its home screen (domain.md, 'People and their devices')."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.text import N_
from server.security import CurrentUser


@dataclass(frozen=True)
class Screen:
    url: str
    title: str  # msgid
    hint: str  # msgid
    roles: tuple[str, ...]


SCREENS: list[Screen] = [
    Screen("/admin/people", N_("People and roles"), N_("Add staff, set roles"), ("admin",)),
    Screen("/me", N_("My profile"), N_("Language, alerts, account"), ()),
]


def register(screen: Screen) -> None:
    """Each screen family adds its entry when its routes are imported."""
    if screen not in SCREENS:
        SCREENS.insert(len(SCREENS) - 1, screen)


def screens_for(user: CurrentUser) -> list[Screen]:
    return [s for s in SCREENS if not s.roles or user.has(*s.roles)]
