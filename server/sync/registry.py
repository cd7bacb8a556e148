"""Mutation name -> handler, the pydantic model of its arguments and who may send it.

Screen families register their offline-capable actions here (``server.sync.mutations``
registers the onsite engineer's). The argument models also make the OpenAPI schema of
``POST /sync/push``, so every mutation's arguments are documented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from server.domain.field import Outcome

Handler = Callable[[Session, int, Any, datetime | None, datetime, Any], Outcome]


@dataclass(frozen=True)
class Mutation:
    name: str
    args: type[BaseModel]
    handler: Handler
    roles: tuple[str, ...]  # who may send it
    label: str  # msgid: what the phone shows while it waits to sync


REGISTRY: dict[str, Mutation] = {}


def register(name: str, args: type[BaseModel], handler: Handler, roles: tuple[str, ...],
             label: str) -> None:
    REGISTRY[name] = Mutation(name, args, handler, roles, label)


# Pages a person's phone keeps for offline use: (db, user) -> URLs (see /sync/pull).
PageLister = Callable[[Session, Any], list[str]]
PAGE_LISTERS: list[PageLister] = []


def list_pages(lister: PageLister) -> PageLister:
    if lister not in PAGE_LISTERS:
        PAGE_LISTERS.append(lister)
    return lister
