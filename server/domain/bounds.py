"""The bounds every value from outside must fit: ids, days, months, instants, text.

One place for them, so routes (through ``server.routes.params``), actions and the sync
replay refuse the same things: an id no database column can hold, a year no calendar
rule knows, text with a NUL byte (PostgreSQL refuses it) or longer than any column.
Plain functions, no Litestar, no database (issue 11).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from server.domain.text import N_, Message

# An id fits a PostgreSQL INTEGER (the primary keys' type), hence also SQLite's 64 bits.
MIN_ID = 1
MAX_ID = 2**31 - 1
# A count or offset in a list (pagination): never negative, never past an INTEGER.
MAX_COUNT = 2**31 - 1
# Dates and months: wide enough for a birth date and the next decades' rosters, narrow
# enough that adding a month or a year never leaves Python's date range.
MIN_YEAR = 1900
MAX_YEAR = 2100
_YEAR = r"(?:19\d\d|20\d\d|2100)"
MONTH_PATTERN = rf"^{_YEAR}-(?:0[1-9]|1[0-2])$"
DAY_PATTERN = rf"^{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"
# <input type=datetime-local> ("2026-11-30T21:05", seconds optional), or an ISO instant
# with its offset ("...T21:05:00.123+08:00", "...Z"), as the forms' hidden fields send.
LOCAL_DATETIME_PATTERN = (
    rf"^{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[T ]"
    r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$"
)
# Text: single-line fields refuse every control character; multi-line ones keep tab and
# line breaks. NUL is refused everywhere (PostgreSQL cannot store it).
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
SHORT_TEXT = 200  # a name, a number, a model: every such column is shorter
LONG_TEXT = 4000  # notes, symptoms, reasons
FORM_VALUE = 20000  # no form field of the app is longer; refused before any parsing
USERNAME = 64
TOKEN_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"  # feed tokens ("x.ics"), photo ids, uuids

_DAY_RE = re.compile(DAY_PATTERN)
_MONTH_RE = re.compile(MONTH_PATTERN)
_SINGLE = re.compile(SINGLE_LINE_PATTERN)
_MULTI = re.compile(MULTI_LINE_PATTERN)

DAY_MESSAGE = N_("Enter a date between {min} and {max}, like 2026-11-30.")
MONTH_MESSAGE = N_("Enter a month between {min} and {max}, like 2026-11.")
INSTANT_MESSAGE = N_("Enter a date and time between {min} and {max}, like 2026-11-30 21:05.")
ID_MESSAGE = N_("Enter a whole number from {min} to {max}.")
TOO_LONG_MESSAGE = N_("At most {max} characters.")
CONTROL_MESSAGE = N_("Contains characters that are not allowed (control characters).")


def day_message() -> Message:
    return Message(DAY_MESSAGE, {"min": f"{MIN_YEAR}-01-01", "max": f"{MAX_YEAR}-12-31"})


def month_message() -> Message:
    return Message(MONTH_MESSAGE, {"min": f"{MIN_YEAR}-01", "max": f"{MAX_YEAR}-12"})


def instant_message() -> Message:
    return Message(INSTANT_MESSAGE, {"min": f"{MIN_YEAR}-01-01", "max": f"{MAX_YEAR}-12-31"})


def id_message() -> Message:
    return Message(ID_MESSAGE, {"min": MIN_ID, "max": MAX_ID})


def year_ok(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def id_ok(value: object) -> bool:
    """An int (not a bool) that fits the id columns."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_ID <= value <= MAX_ID


def parse_id(text: object) -> int | None:
    """'42' -> 42; anything else, or out of [MIN_ID, MAX_ID], -> None."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if id_ok(text) else None
    raw = str(text or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if id_ok(value) else None


def parse_day(text: object) -> date | None:
    """'2026-11-30' -> date; a malformed, impossible or out-of-range day -> None."""
    raw = str(text or "").strip()
    if not _DAY_RE.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse_month(text: object) -> tuple[int, int] | None:
    """'2026-11' -> (2026, 11); anything else or out of range -> None."""
    raw = str(text or "").strip()
    if not _MONTH_RE.match(raw):
        return None
    return int(raw[:4]), int(raw[5:7])


def instant_ok(value: datetime) -> bool:
    return year_ok(value.year)


def text_problem(text: str, max_length: int, multiline: bool = False) -> Message | None:
    """Why this text cannot be stored, or None: too long, or a control character."""
    if len(text) > max_length:
        return Message(TOO_LONG_MESSAGE, {"max": max_length})
    if not (_MULTI if multiline else _SINGLE).match(text):
        return Message(CONTROL_MESSAGE)
    return None
