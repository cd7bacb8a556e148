"""Every state change, one function each: used by routes, sync replay, the loop and tests.

An action loads what it needs, asks ``server.domain`` for the rule, writes, audits, and
leaves committing to its caller, so one request or one replayed mutation is one
transaction. A refused action raises ``ActionError`` with a message for the user and
changes nothing.
"""

from __future__ import annotations

from server.domain.text import Message


class ActionError(Exception):
    """A refusal the user must read: field -> message, or a general message."""

    def __init__(self, message: Message | str, field: str | None = None, **params) -> None:
        self.message = message if isinstance(message, Message) else Message(message, params)
        self.field = field
        super().__init__(self.message.render())


class FieldErrors(ActionError):
    """Several fields of a form are wrong at once."""

    def __init__(self, errors: dict[str, Message]) -> None:
        self.errors = errors
        first = next(iter(errors.values()))
        super().__init__(first, next(iter(errors)))
