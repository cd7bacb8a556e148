"""Marks user-facing texts for translation without translating them here.

Domain rules return messages as English msgids with ``{named}`` placeholders; the web
layer translates them in the user's language. ``N_`` is the keyword Babel extracts.
"""

from dataclasses import dataclass, field
from typing import Any


def N_(msgid: str) -> str:  # noqa: N802 - gettext convention
    return msgid


@dataclass(frozen=True)
class Message:
    """A user-facing sentence: msgid plus the values for its placeholders."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, gettext=lambda s: s) -> str:
        params = {k: v.render(gettext) if isinstance(v, Message) else v
                  for k, v in self.params.items()}
        return gettext(self.msgid).format(**params)
