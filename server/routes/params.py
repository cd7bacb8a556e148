"""Bounded parameter types for every route: a value out of bounds is a 400 with a message in
the user's language, before the handler runs, never a 5xx (issue 11).

Path and query parameters (Litestar checks them, the OpenAPI document shows the bounds):

    IdPath        a row id in the path, 1..2^31-1 (fits PostgreSQL INTEGER and SQLite)
    IdQuery       an optional row id in the query string
    CountQuery    an offset or count in the query string, 0..2^31-1
    VersionQuery  a change version (sync cursor) in the query string, 0..2^31-1 (INTEGER)
    ClientIdQuery a phone's client id in the query string: 1..64 characters, one line
    MonthPath     "YYYY-MM", years 1900..2100
    DayPath       "YYYY-MM-DD", years 1900..2100 (``to_day`` gives the date)
    TokenPath     a feed token, photo id or uuid: [A-Za-z0-9_-]{1,128}
    TextQuery     an optional single-line text up to 200 characters, no control characters
    choice_path(*values)  one of a fixed set (an enum), e.g. a clock kind

Posted forms: ``Form`` refuses any field longer than 20,000 characters or holding a NUL
or another control character outside tab and line breaks; the ``form_*`` helpers then read
one field with the same bounds as the types above and raise ``BadInput`` (a 400 whose
message names the field). The bounds themselves live in ``server.domain.bounds`` so
actions and the sync replay refuse the same values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, PathParameter, QueryParameter

from server.domain import bounds as b
from server.domain.text import N_, Message

IdPath = Annotated[int, PathParameter(ge=b.MIN_ID, le=b.MAX_ID, description="A row id")]
IdQuery = Annotated[int | None, QueryParameter(ge=b.MIN_ID, le=b.MAX_ID, description="A row id")]
CountQuery = Annotated[int, QueryParameter(ge=0, le=b.MAX_COUNT, description="An offset")]
VersionQuery = Annotated[int, QueryParameter(ge=0, le=b.MAX_ID,
                                             description="A change version; 0 the first time")]
ClientIdQuery = Annotated[str, QueryParameter(min_length=1, max_length=64, pattern=b.SINGLE_LINE_PATTERN,
                                              description="One per phone, made there")]
MonthPath = Annotated[str, PathParameter(pattern=b.MONTH_PATTERN, description="YYYY-MM")]
MonthQuery = Annotated[str | None, QueryParameter(pattern=b.MONTH_PATTERN, description="YYYY-MM")]
DayPath = Annotated[str, PathParameter(pattern=b.DAY_PATTERN, description="YYYY-MM-DD")]
TokenPath = Annotated[str, PathParameter(pattern=b.TOKEN_PATTERN, max_length=128)]
TextQuery = Annotated[
    str | None,
    QueryParameter(max_length=b.SHORT_TEXT, pattern=b.SINGLE_LINE_PATTERN),
]
WordQuery = Annotated[str, QueryParameter(max_length=b.SHORT_TEXT, pattern=b.SINGLE_LINE_PATTERN)]


def choice_path(*values: str) -> Any:
    """A path segment that must be one of ``values`` (an enum; anything else is a 400)."""
    return Annotated[Literal[values], PathParameter()]  # type: ignore[valid-type]


# Every posted form field: a bounded text. A field sent twice (a list where the handler
# reads one text) is a 400 too; only MultiForm, for forms with checkbox lists, takes lists.
_FormText = Annotated[str, msgspec.Meta(max_length=b.FORM_VALUE, pattern=b.MULTI_LINE_PATTERN)]
Form = Annotated[dict[str, _FormText], Body(media_type=RequestEncodingType.URL_ENCODED)]
MultiForm = Annotated[
    dict[str, _FormText | list[_FormText]],
    Body(media_type=RequestEncodingType.URL_ENCODED),
]


# Fields of a JSON body (a dataclass or Struct field's type): the same bounds.
JsonId = Annotated[int, msgspec.Meta(ge=b.MIN_ID, le=b.MAX_ID)]
JsonText = Annotated[str, msgspec.Meta(max_length=b.SHORT_TEXT, pattern=b.SINGLE_LINE_PATTERN)]
JsonUrl = Annotated[str, msgspec.Meta(max_length=2048, pattern=b.SINGLE_LINE_PATTERN)]


class BadInput(ValidationException):
    """A value from outside that does not fit its bounds: answered 400 with ``message``.

    ``field`` is the form or query field; ``message`` a domain Message rendered in the
    user's language by the exception handler.
    """

    def __init__(self, field: str, message: Message) -> None:
        self.field = field
        self.message = message
        super().__init__(detail=f"{field}: {message.render()}")


# -- posted form fields -----------------------------------------------------------------


def check_form(data: Mapping[str, Any]) -> None:
    """What ``Form`` checks, for fields that come another way (a query string read whole):
    at most FORM_VALUE characters, no NUL or control character except tab and line breaks.
    Raises BadInput on the first that does not fit."""
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            problem = b.text_problem(str(item), b.FORM_VALUE, multiline=True)
            if problem is not None:
                raise BadInput(str(key)[:40], problem)


def form_text(data: Mapping[str, Any], name: str, max_length: int = b.SHORT_TEXT,
              multiline: bool = False, default: str = "", strip: bool = True) -> str:  # fmt: skip
    """One text field, stripped (a password: ``strip=False``); a repeated field gives its
    last value; too long or with control characters -> BadInput."""
    value = data.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    text = default if value is None else (str(value).strip() if strip else str(value))
    problem = b.text_problem(text, max_length, multiline)
    if problem is not None:
        raise BadInput(name, problem)
    return text


def form_id(data: Mapping[str, Any], name: str, required: bool = True) -> int | None:
    """One id field: 1..2^31-1. Empty and not required -> None; else BadInput."""
    raw = form_text(data, name, 40)
    if not raw and not required:
        return None
    value = b.parse_id(raw)
    if value is None:
        raise BadInput(name, b.id_message())
    return value


def form_day(data: Mapping[str, Any], name: str, required: bool = True) -> date | None:
    """One date field 'YYYY-MM-DD', years 1900..2100. Empty and not required -> None."""
    raw = form_text(data, name, 40)
    if not raw and not required:
        return None
    value = b.parse_day(raw)
    if value is None:
        raise BadInput(name, b.day_message())
    return value


def form_month(data: Mapping[str, Any], name: str) -> tuple[int, int]:
    """One month field 'YYYY-MM', years 1900..2100 -> (year, month); else BadInput."""
    value = b.parse_month(form_text(data, name, 40))
    if value is None:
        raise BadInput(name, b.month_message())
    return value


def form_choice(data: Mapping[str, Any], name: str, choices: Any, default: str | None = None) -> str:
    """One field that must be one of ``choices`` (an enum); empty -> ``default`` if given."""
    raw = form_text(data, name, 80)
    if not raw and default is not None:
        return default
    if raw not in choices:
        raise BadInput(name, Message(NOT_A_CHOICE))
    return raw


def to_day(value: str, name: str = "day") -> date:
    """A DayPath value as a date; an impossible day such as 2026-02-30 -> BadInput."""
    day = b.parse_day(value)
    if day is None:
        raise BadInput(name, b.day_message())
    return day


def to_month(value: str, name: str = "month") -> tuple[int, int]:
    ym = b.parse_month(value)
    if ym is None:
        raise BadInput(name, b.month_message())
    return ym


# -- how a refused value is explained ---------------------------------------------------

NOT_A_CHOICE = N_("Choose one of the offered values.")
MISSING = N_("This value is missing.")
NOT_VALID = N_("This value is not valid.")
_PATTERN_MESSAGES = {
    b.MONTH_PATTERN: b.month_message,
    b.DAY_PATTERN: b.day_message,
    b.LOCAL_DATETIME_PATTERN: b.instant_message,
    b.SINGLE_LINE_PATTERN: lambda: Message(b.CONTROL_MESSAGE),
    b.MULTI_LINE_PATTERN: lambda: Message(b.CONTROL_MESSAGE),
}
_INT = re.compile(r"Expected `int[^`]*`")
_LENGTH = re.compile(r"length <= (\d+)")


def explain(raw: str) -> Message:
    """A validator's English message (msgspec's, as Litestar passes it) as a Message the
    user can read: which bound the value broke."""
    if _INT.search(raw):
        return b.id_message() if "<=" in raw or ">=" in raw or "got" in raw else Message(NOT_VALID)
    length = _LENGTH.search(raw)
    if length:
        return Message(b.TOO_LONG_MESSAGE, {"max": int(length.group(1))})
    if "matching regex" in raw:
        for pattern, message in _PATTERN_MESSAGES.items():
            if repr(pattern) in raw or pattern in raw:
                return message()
        return Message(NOT_VALID)
    if "enum value" in raw:
        return Message(NOT_A_CHOICE)
    if "missing required" in raw:
        return Message(MISSING)
    return Message(NOT_VALID)


__all__ = [
    "BadInput", "ClientIdQuery", "CountQuery", "DayPath", "Form", "JsonId", "JsonText", "JsonUrl", "MultiForm", "IdPath", "IdQuery", "MonthPath",
    "MonthQuery", "TextQuery", "TokenPath", "VersionQuery", "WordQuery", "check_form", "choice_path", "explain",
    "form_choice", "form_day", "form_id", "form_month", "form_text", "to_day", "to_month",
]  # fmt: skip
