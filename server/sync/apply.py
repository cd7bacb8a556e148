"""Apply one mutation exactly once: its change and its ClientMutation row in one transaction.

A mutation already seen (same client id and mutation id) returns the stored result and
changes nothing, however many times the phone replays it. Two identical pushes racing
each other meet on the primary key: the loser rolls back and returns the winner's
stored result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.actions import ActionError
from server.db import open_session, session_scope, utcnow
from server.domain.field import Outcome
from server.domain.text import N_, Message
from server.i18n import gettext, render
from server.models import ClientMutation, Job
from server.sync import mutations as _field_mutations  # noqa: F401 - fills the registry
from server.sync.registry import REGISTRY

BIG_ARG = 512  # longer argument values (photos) are not copied into the mutation log

ARG_LABELS = {
    "job_id": N_("job"), "lat": N_("position"), "lon": N_("position"),
    "accuracy_m": N_("position"), "fault_kind": N_("fault kind"), "text": N_("what was done"),
    "image": N_("photo"), "caption": N_("caption"), "unit_out": N_("unit taken out"),
    "unit_in": N_("unit put in"), "reason": N_("reason"), "customer_name": N_("customer's name"),
    "stream_back": N_("stream back"), "note": N_("note"),
}


@dataclass(frozen=True)
class MutationIn:
    id: str
    name: str
    args: dict[str, Any]
    device_time: datetime | None = None


@dataclass
class Result:
    id: str
    status: str  # applied | flagged | rejected | retry (not stored: send it again later)
    messages: list[Message] = field(default_factory=list)
    fact_id: str | None = None
    job_id: int | None = None
    flags: list[str] = field(default_factory=list)
    replayed: bool = False

    @property
    def message(self) -> str:
        """In the language of the request being answered, not the one that applied it."""
        return " ".join(render(m) for m in self.messages)


def apply(engine: Engine, user: Any, client_id: str, m: MutationIn, settings: Any,
          now: datetime | None = None) -> Result:
    stored = stored_result(engine, client_id, m.id)
    if stored is not None:
        return _owned(stored, user, m)
    try:
        with session_scope(engine, write=True) as db:
            return _apply(db, user, client_id, m, settings, now or utcnow())
    except IntegrityError:
        # Another push of this very mutation committed first: answer what it stored.
        stored = stored_result(engine, client_id, m.id)
        if stored is None:
            raise
        return _owned(stored, user, m)


def stored_result(engine: Engine, client_id: str, mutation_id: str) -> tuple[int, Result] | None:
    with open_session(engine) as db:
        row = db.get(ClientMutation, (client_id, mutation_id))
        return (row.staff_id, _result_of(row, replayed=True)) if row else None


def last_mutation_id(db: Session, client_id: str, staff_id: int) -> str | None:
    """Replicache's lastMutationID: the newest mutation this client had applied."""
    return db.exec(
        select(ClientMutation.mutation_id)
        .where(ClientMutation.client_id == client_id, ClientMutation.staff_id == staff_id)
        .order_by(ClientMutation.seq.desc())
        .limit(1)
    ).first()


def _apply(db: Session, user: Any, client_id: str, m: MutationIn, settings: Any,
           now: datetime) -> Result:
    existing = db.get(ClientMutation, (client_id, m.id))  # under the write lock this time
    if existing is not None:
        return _owned((existing.staff_id, _result_of(existing, replayed=True)), user, m)
    seq = db.exec(select(func.max(ClientMutation.seq))
                  .where(ClientMutation.client_id == client_id)).one() or 0
    row = ClientMutation(client_id=client_id, mutation_id=m.id, staff_id=user.id, name=m.name[:32],
                         args=_loggable(m.args), device_time=_aware(m.device_time),
                         received_at=now, seq=seq + 1, result="pending")
    db.add(row)
    db.flush()  # a racing twin blocks or fails here, before any work is done
    outcome = _run(db, user, m, settings, now)
    row.result = outcome.status
    row.message = " ".join(msg.render() for msg in outcome.messages)[:2000]
    job_id = outcome.job_id or _job_id(m.args)
    row.job_id = job_id if job_id and db.get(Job, job_id) else None  # the job page lists it
    row.fact_id = outcome.fact_id if outcome.status != "rejected" or outcome.flags else None
    row.detail = {"messages": [[msg.msgid, msg.params] for msg in outcome.messages],
                  "flags": outcome.flags}
    db.add(row)
    db.flush()
    return _result_of(row)


def _run(db: Session, user: Any, m: MutationIn, settings: Any, now: datetime) -> Outcome:
    spec = REGISTRY.get(m.name)
    if spec is None:
        return Outcome(job_id=_job_id(m.args)).reject(
            N_("This phone sent an action the server does not know ({name}): update the app."),
            name=m.name[:32])
    if not user.has(*spec.roles):
        return Outcome(job_id=_job_id(m.args)).reject(N_("Your role cannot do this."))
    try:
        args = spec.args.model_validate({**m.args, "fact_id": m.args.get("fact_id") or m.id})
    except ValidationError as exc:
        names = sorted({gettext(ARG_LABELS.get(str(e["loc"][0]), str(e["loc"][0])))
                        for e in exc.errors() if e["loc"]})
        return Outcome(job_id=_job_id(m.args)).reject(
            N_("Not recorded: check {fields} and record it again."), fields=", ".join(names))
    try:
        with db.begin_nested():
            return spec.handler(db, user.id, args, _aware(m.device_time), now, settings)
    except ActionError as exc:
        return Outcome(job_id=_job_id(m.args)).reject(exc.message.msgid, **exc.message.params)
    except IntegrityError:
        return Outcome(job_id=_job_id(m.args)).reject(
            N_("This record was already received from another device."))


def _result_of(row: ClientMutation, replayed: bool = False) -> Result:
    detail = row.detail or {}
    messages = [Message(msgid, params or {}) for msgid, params in detail.get("messages", [])]
    return Result(row.mutation_id, row.result, messages, row.fact_id, row.job_id,
                  list(detail.get("flags", [])), replayed)


def _owned(stored: tuple[int, Result], user: Any, m: MutationIn) -> Result:
    staff_id, result = stored
    if staff_id != user.id:  # same ids from someone else: never leak or reuse their result
        return Result(m.id, "rejected", [Message(N_("This action id is already in use."))])
    return result


def _loggable(args: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<{len(v)} characters>" if isinstance(v, str) and len(v) > BIG_ARG else v)
            for k, v in args.items()}


def _job_id(args: dict[str, Any]) -> int | None:
    try:
        value = int(args.get("job_id"))
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**31 else None


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None or value.utcoffset() is None:
        return None
    return value


def parse_device_time(value: Any) -> datetime | None:
    """The phone's clock as it sent it (ISO 8601); anything unreadable counts as missing."""
    if isinstance(value, datetime):
        return _aware(value)
    try:
        return _aware(datetime.fromisoformat(str(value).strip()))
    except ValueError:
        return None
