"""Column types shared by every table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlmodel import Column, Field


class UTCDateTime(TypeDecorator):
    """Stores instants in UTC (D1) and gives them back timezone-aware on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware instants only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # SQLite keeps an instant as the text "YYYY-MM-DD HH:MM:SS.ffffff" (UTC). SQLAlchemy's own
    # conversion formats and parses it in Python, field by field; a sync push binds a few
    # hundred instants, so on SQLite the same text is made and read with the C methods
    # ``isoformat`` and ``fromisoformat`` (the stored text is identical, byte for byte).
    def bind_processor(self, dialect):  # noqa: ANN001, ANN201 - SQLAlchemy's hook
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is UTC:  # nearly always (the server's clock): no conversion
                return value.isoformat(" ", "microseconds")[:26]  # without "+00:00"
            if value.tzinfo is None:
                raise ValueError("naive datetime: store aware instants only")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect, coltype):  # noqa: ANN001, ANN201 - SQLAlchemy's hook
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        fallback = super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                parsed = datetime.fromisoformat(value)
            except (TypeError, ValueError):  # not the usual text: SQLAlchemy's own parser
                return fallback(value) if fallback else value
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

        return process


def instant(nullable: bool = True, index: bool = False, **kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index), **kw)


def required_instant(index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=False, index=index))


def json_field(default_factory=dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))
