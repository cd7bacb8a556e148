"""The onsite engineer's phone: my jobs, a job page, and the field actions posted from it.

Every action on the job page is a plain form post carrying a client-made
``mutation_id`` and the device time. It goes through ``server.sync.apply`` exactly like
a replay from the phone's outbox (architecture promise 4); offline, the service worker
keeps the post and answers for the server.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

import msgspec
from litestar import Controller, Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlmodel import Session

from server.db import open_session, utcnow
from server.domain.field import (
    CANNOT_FIX_NEEDS,
    DECLINE_REASONS,
    FAULT_KINDS,
    FAULT_LABELS,
    FLAG_REASONS,
)
from server.domain.text import N_, Message
from server.models import FieldFact, Job, Photo, Role
from server.queries import field as q
from server.routes._http import DB, fragment, get, page, post
from server.routes.nav import Screen, register
from server.routes.params import IdPath, TokenPath
from server.security import requires
from server.sync.applier import catch_up
from server.sync.apply import MutationIn, apply, parse_device_time
from server.sync.registry import REGISTRY, list_pages

# Not params.Form: a photo travels as a data: URL far longer than its text bound (and a NUL
# in a note must be refused as that one action, readably, like a replay of it: issue 12);
# each value is judged by the mutation's own argument model (server.sync.apply).
_FieldValue = Annotated[str, msgspec.Meta(max_length=3_100_000)]
Form = Annotated[dict[str, _FieldValue | list[_FieldValue]],
                 Body(media_type=RequestEncodingType.URL_ENCODED)]
# Form fields that travel with a mutation but are not its arguments (sw.js strips the same).
ENVELOPE = ("mutation", "mutation_id", "device_time", "client_id", "sent_at")
OVERSEERS = (Role.dispatcher, Role.manager)

register(Screen("/field", N_("My jobs"), N_("Check in, fix notes, swaps: works offline"),
                (Role.onsite,)))


class FieldController(Controller):
    path = "/field"
    include_in_schema = False

    @get("/", guards=[requires(Role.onsite)])
    def my_jobs(self, request: Request, db: DB) -> Template:
        now = utcnow()
        cards = q.my_open_jobs(db, request.scope["user"].id, now, request.app.state.settings.sla)
        return page(request, "pages/field_jobs.html", fragment="partials/field_job_list.html",
                    cards=cards, **_words())

    @get("/jobs/{job_id:int}", guards=[requires(Role.onsite, *OVERSEERS)])
    def job(self, request: Request, db: DB, job_id: IdPath) -> Template:
        p = _job_page(db, request, job_id)
        return page(request, "pages/field_job.html", fragment="partials/field_job.html", p=p,
                    result=None, **_words())

    @post("/jobs/{job_id:int}", guards=[requires(Role.onsite, Role.remote)])
    def act(self, request: Request, job_id: IdPath, data: Form) -> Response:
        """One field action, online: the same ``apply`` the outbox replay goes through."""
        user, settings = request.scope["user"], request.app.state.settings
        mutation = MutationIn(
            id=_uuid(data.get("mutation_id")) or str(uuid4()),  # no script: a fresh id
            name=str(data.get("mutation", ""))[:32],
            args={k: v for k, v in data.items() if k not in ENVELOPE and not k.startswith("_")}
            | {"job_id": job_id},
            # No script sent no device time: the post arrived as it happened.
            device_time=parse_device_time(data.get("device_time")) or utcnow(),
        )
        client_id = str(data.get("client_id") or f"form-{user.id}")[:64]
        # what this phone sent before and the server still holds goes first (its order)
        catch_up(request.app.state.engine, settings, client_id)
        result = apply(request.app.state.engine, user, client_id, mutation, settings,
                       sent_at=parse_device_time(data.get("sent_at")))
        # "retry": nothing was stored (an unexpected failure). Answer 503, so the service
        # worker keeps the action in the outbox and sends it again (D14: never dropped),
        # and a page without it says so instead of looking saved.
        # "rejected": nothing was saved and the page says why (a 4xx; bad photo data too)
        status = {"retry": 503, "rejected": 422}.get(result.status, 200)
        if status == 200 and request.headers.get("hx-request") != "true":
            return Redirect(f"/field/jobs/{job_id}", status_code=303)
        if status == 503:
            result.messages = [Message(N_("The server could not save this just now. Send it again."))]
        with open_session(request.app.state.engine) as db:
            p = _job_page(db, request, job_id)
            if request.headers.get("hx-request") != "true":
                return page(request, "pages/field_job.html", status_code=status, p=p,
                            result=result, **_words())
            return fragment(request, "partials/field_job.html", p=p, result=result,
                            status_code=status, **_words())

    @get("/photos/{photo_id:str}",
         guards=[requires(Role.onsite, Role.equipment, *OVERSEERS)])
    def photo(self, request: Request, db: DB, photo_id: TokenPath) -> Response:
        user = request.scope["user"]
        photo = db.get(Photo, photo_id[:36])
        fact = db.get(FieldFact, photo.fact_id) if photo else None
        if fact is None:
            raise NotFoundException()
        job = db.get(Job, fact.job_id)
        if user.id not in (fact.author_id, job.assignee_id) and not user.has(
                Role.equipment, *OVERSEERS):
            raise PermissionDeniedException("role")
        # re-encoded on arrival (server/photos.py); nosniff: never read as anything else
        return Response(photo.content, media_type=photo.content_type,
                        headers={"Cache-Control": "private, max-age=86400",
                                 "X-Content-Type-Options": "nosniff",
                                 "Content-Disposition": "inline"})  # fmt: skip


def _job_page(db: Session, request: Request, job_id: int) -> q.JobPage:
    user = request.scope["user"]
    p = q.job_page(db, job_id, utcnow(), request.app.state.settings.sla)
    if p is None:
        raise NotFoundException()
    if p.job.assignee_id != user.id and not user.has(*OVERSEERS):
        raise PermissionDeniedException("role")
    return p


def _uuid(value: Any) -> str | None:
    try:
        return str(UUID(str(value)))
    except ValueError:
        return None


def _words() -> dict[str, Any]:
    return {"fault_kinds": FAULT_KINDS, "fault_labels": FAULT_LABELS,
            "decline_reasons": DECLINE_REASONS, "cannot_fix_needs": CANNOT_FIX_NEEDS,
            "flag_reasons": FLAG_REASONS, "mutation_labels": {n: m.label
                                                              for n, m in REGISTRY.items()}}


@list_pages
def _my_pages(db: Session, user: Any) -> list[str]:
    """The phone keeps my job list and each open job's page (see sw.js)."""
    if not user.has(Role.onsite):
        return []
    return ["/field", *(f"/field/jobs/{job_id}" for job_id in q.my_open_job_ids(db, user.id))]


ROUTES = [FieldController]
