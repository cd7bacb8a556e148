"""``POST /sync/push`` and ``GET /sync/pull``: the phone's outbox meets the server.

A push is durably received first, then applied in the order sent, each mutation all or
nothing and exactly once (``server.sync.inbox``, ``server.sync.apply``); the answer has
one result per mutation: its result, or "received" when the server is busy (sent again
later, it is answered from the log). The body's schema lists every registered mutation
with its arguments; a mutation whose arguments do not fit is still answered (rejected,
with the reason) so one bad entry never blocks the outbox behind it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Union

from litestar import Controller, Request
from litestar.params import JSONBody
from litestar.response import Template
from pydantic import BaseModel, Field, create_model
from sqlmodel import select

from server.actions import audit
from server.db import utcnow
from server.domain.bounds import SINGLE_LINE_PATTERN
from server.models import ChangeRecord
from server.routes._http import DB, fragment, get, post
from server.routes.params import ClientIdQuery, VersionQuery
from server.sync import inbox
from server.sync import mutations as _registered  # noqa: F401 - registers the field actions
from server.sync.apply import MutationIn, Result, last_mutation_id, parse_device_time
from server.sync.registry import PAGE_LISTERS, REGISTRY

log = logging.getLogger(__name__)

UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
UUID_RE = re.compile(UUID_PATTERN)
MutationId = Annotated[str, Field(pattern=UUID_PATTERN, description="client-made UUID")]
MAX_MUTATIONS = 100
MAX_CHANGES = 500
SETTLE = timedelta(seconds=60)  # longer than any transaction between a change and its commit


class OtherMutation(BaseModel):
    """Any mutation whose name or arguments do not fit: answered 'rejected' with the reason
    (one bad entry never makes the whole push a 400 the phone would send again forever)."""

    id: str = Field(min_length=1, max_length=64, pattern=SINGLE_LINE_PATTERN)
    name: str = Field(default="", max_length=200, pattern=SINGLE_LINE_PATTERN)
    args: Any = Field(default_factory=dict)
    device_time: Any = None


def _typed(name: str) -> type[BaseModel]:
    camel = "".join(part.title() for part in name.split("_"))
    return create_model(
        f"{camel}Mutation",
        id=(MutationId, ...),
        name=(Literal[name], ...),  # type: ignore[valid-type]
        args=(REGISTRY[name].args, ...),
        device_time=(datetime | None, Field(default=None, description="the phone's clock")),
    )


AnyMutation = Annotated[
    Union[tuple(_typed(n) for n in sorted(REGISTRY)) + (OtherMutation,)],  # type: ignore[misc]  # noqa: UP007
    Field(union_mode="left_to_right"),
]


class PushBody(BaseModel):
    client_id: str = Field(min_length=1, max_length=64, pattern=SINGLE_LINE_PATTERN,
                           description="one per phone, made there")
    sent_at: str | None = Field(default=None, max_length=64,
                                description="the phone's clock when it sent this push (D8c)")
    mutations: list[AnyMutation] = Field(max_length=MAX_MUTATIONS,
                                         description="in the order they were taken")


class MutationResult(BaseModel):
    id: str
    status: Literal["applied", "flagged", "rejected", "retry", "received"]
    message: str = Field(description="for the engineer, in their language")
    fact_id: str | None = None
    job_id: int | None = None
    flags: list[str] = []
    replayed: bool = Field(description="already applied before: this is the stored result")


class PushReply(BaseModel):
    results: list[MutationResult]
    last_mutation_id: str | None


class Change(BaseModel):
    version: int
    entity: str
    entity_id: str


class PullReply(BaseModel):
    cursor: int = Field(description="send it back as ?cursor= next time")
    more: bool
    changes: list[Change]
    last_mutation_id: str | None = Field(description="newest mutation applied for this client")
    staff_id: int
    pages: list[str] = Field(description="pages this person's phone keeps for offline use")


class SyncController(Controller):
    path = "/sync"
    tags = ["sync"]

    @post("/push", summary="Receive the phone's queued mutations durably; apply each exactly "
                           "once, in order",
          request_max_body_size=16 * 1024 * 1024)
    def push(self, request: Request, data: JSONBody[PushBody]) -> PushReply:
        user, settings = request.scope["user"], request.app.state.settings
        engine = request.app.state.engine
        # The audit log says which phone replayed it (its client id) besides the browser.
        audit.current_device.set(f"{audit.current_device.get()} · {data.client_id[:12]}"[:64])
        mutations = [_incoming(m) for m in data.mutations]
        pushed = inbox.push(engine, user, data.client_id, mutations,
                            parse_device_time(data.sent_at), settings)
        return PushReply(results=_answers(mutations, pushed.results),
                         last_mutation_id=pushed.last_mutation_id)

    @get("/pull", summary="What changed for me since a version, and my last applied mutation")
    def pull(
        self,
        request: Request,
        db: DB,
        cursor: VersionQuery = 0,
        client_id: ClientIdQuery = "-",
    ) -> PullReply:
        user = request.scope["user"]
        rows = db.exec(
            select(ChangeRecord)
            .where(ChangeRecord.version > cursor, ChangeRecord.staff_id == user.id)
            .order_by(ChangeRecord.version)
            .limit(MAX_CHANGES + 1)
        ).all()
        more = len(rows) > MAX_CHANGES
        rows = rows[:MAX_CHANGES]
        # the settled version is one of the versions written, so never past the newest
        top = max(min(rows[-1].version, _settled_version(db)) if more else _settled_version(db),
                  cursor)
        pages = [url for lister in PAGE_LISTERS for url in lister(db, user)]
        return PullReply(
            cursor=top, more=more,
            changes=[Change(version=r.version, entity=r.entity, entity_id=r.entity_id)
                     for r in rows],
            last_mutation_id=last_mutation_id(db, client_id, user.id),
            staff_id=user.id, pages=pages,
        )

    @get("/saved", include_in_schema=False)
    def saved(self, request: Request) -> Template:
        """What the service worker answers for an action it kept while offline."""
        return fragment(request, "partials/saved_on_phone.html")


def _settled_version(db: Any) -> int:
    """The highest version below which no change can still appear: the newest one written
    more than ``SETTLE`` ago.

    Versions are handed out when a row is inserted but become visible when its transaction
    commits, and on PostgreSQL transactions commit out of order: version 4 can be visible
    while 3 is still to come. A cursor at max(version) would then skip 3 for good. So the
    cursor a pull answers never passes what has settled (a transaction commits within
    ``SETTLE`` of its change); the changes of the last ``SETTLE`` are listed again on the
    next pull. That is harmless: a pull's answer only names entities the phone should
    refresh, so listing one twice just refreshes it twice."""
    horizon = utcnow() - SETTLE
    return db.exec(select(ChangeRecord.version).where(ChangeRecord.at < horizon)
                   .order_by(ChangeRecord.version.desc()).limit(1)).first() or 0


def _incoming(m: Any) -> MutationIn:
    if isinstance(m.args, BaseModel):
        args = m.args.model_dump(mode="json", exclude_none=True)
    else:
        args = m.args if isinstance(m.args, dict) else {}
    name = m.name if UUID_RE.match(m.id) else "-"  # a malformed id: refused as unknown
    return MutationIn(m.id, name, args, parse_device_time(m.device_time))


def _answers(mutations: list[MutationIn], results: list[Result]) -> list[MutationResult]:
    """One answer per mutation sent; a second copy of an id in the same push is a replay
    of the first (its one inbox row was applied once)."""
    seen: set[str] = set()
    out = []
    for m, r in zip(mutations, results, strict=True):
        if m.id in seen and not r.replayed and r.status != "received":
            r = Result(**{**r.__dict__, "replayed": True})
        seen.add(m.id)
        out.append(_out(r))
    return out


def _out(r: Result) -> MutationResult:
    return MutationResult(id=r.id, status=r.status, message=r.message, fact_id=r.fact_id,
                          job_id=r.job_id, flags=r.flags, replayed=r.replayed)


ROUTES = [SyncController]
