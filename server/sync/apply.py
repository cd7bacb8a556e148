"""Apply mutations exactly once: each one's change and its ClientMutation row together.

A push is one write transaction; inside it each mutation and its log row share a
savepoint, so a mutation is applied whole or not at all, and the push commits once (a
crash before the commit loses the whole push, which the phone still holds and sends
again). A mutation already seen (same client id and mutation id) returns the stored
result and changes nothing, however many times the phone replays it. Two identical
pushes racing each other meet on the primary key: the loser answers the winner's result.
"""

from __future__ import annotations

import logging
import threading
import weakref
from contextlib import nullcontext
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

log = logging.getLogger(__name__)
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
    return apply_all(engine, user, client_id, [m], settings, now)[0]


def apply_all(engine: Engine, user: Any, client_id: str, mutations: list[MutationIn],
              settings: Any, now: datetime | None = None) -> list[Result]:
    """Apply a push in order. Each mutation and its log row share one savepoint, so each
    is all or nothing; the push commits once (a crash before that loses the whole push,
    which the phone still holds and sends again). A mutation that fails unexpectedly
    stops the push there: it and all after it are answered "retry"."""
    known = stored_results(engine, client_id, [m.id for m in mutations])
    results: list[Result] = []
    if all(m.id in known for m in mutations):  # a replay: no write lock needed
        return [_owned(known[m.id], user, m) for m in mutations]
    now = now or utcnow()
    with _one_writer(engine), session_scope(engine, write=True) as db:
        seq = db.exec(select(func.max(ClientMutation.seq))
                      .where(ClientMutation.client_id == client_id)).one() or 0
        for k, m in enumerate(mutations):
            if m.id in known:
                results.append(_owned(known[m.id], user, m))
                continue
            try:
                result = _apply_one(db, user, client_id, m, settings, now, seq + 1)
            except Exception:  # noqa: BLE001 - keep what went before; the phone retries
                log.exception("mutation %s (%s) failed", m.id, m.name)
                results += [Result(x.id, "retry") for x in mutations[k:]]
                break
            seq += 1
            known[m.id] = (user.id, Result(**{**result.__dict__, "replayed": True}))
            results.append(result)
    return results


_writers: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def _one_writer(engine: Engine) -> threading.Lock | nullcontext:
    """SQLite takes one writer at a time; its busy handler makes the others poll with
    growing sleeps, so fifty phones at once left the lock idle between pushes. Queue
    them here instead and hand the lock on at once. PostgreSQL needs no such thing."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _writers.setdefault(engine, threading.Lock())


def stored_results(engine: Engine, client_id: str, ids: list[str]) -> dict[str, tuple[int, Result]]:
    with open_session(engine) as db:
        rows = db.exec(select(ClientMutation).where(ClientMutation.client_id == client_id,
                                                    ClientMutation.mutation_id.in_(ids))).all()
        return {r.mutation_id: (r.staff_id, _result_of(r, replayed=True)) for r in rows}


def last_mutation_id(db: Session, client_id: str, staff_id: int) -> str | None:
    """Replicache's lastMutationID: the newest mutation this client had applied."""
    return db.exec(
        select(ClientMutation.mutation_id)
        .where(ClientMutation.client_id == client_id, ClientMutation.staff_id == staff_id)
        .order_by(ClientMutation.seq.desc())
        .limit(1)
    ).first()


def _apply_one(db: Session, user: Any, client_id: str, m: MutationIn, settings: Any,
               now: datetime, seq: int, clash: bool = False) -> Result:
    """The mutation's change and its log row, all or nothing (one savepoint)."""
    savepoint = db.begin_nested()
    try:
        if clash:  # its record's id was taken by another device's record: log the refusal
            outcome = _refusal(None, m)
        else:
            try:
                outcome = _run(db, user, m, settings, now)
            except ActionError as exc:  # refused: undo whatever it began
                savepoint.rollback()
                savepoint = db.begin_nested()
                outcome = _refusal(exc, m)
        row = ClientMutation(
            client_id=client_id, mutation_id=m.id, staff_id=user.id, name=m.name[:32],
            args=_loggable(m.args), device_time=_aware(m.device_time), received_at=now, seq=seq,
            result=outcome.status,
            message=" ".join(msg.render() for msg in outcome.messages)[:2000],
            fact_id=outcome.fact_id if outcome.status != "rejected" or outcome.flags else None,
            detail={"messages": [[msg.msgid, msg.params] for msg in outcome.messages],
                    "flags": outcome.flags},
        )
        job_id = outcome.job_id or _job_id(m.args)
        row.job_id = job_id if job_id and db.get(Job, job_id) else None  # the job page lists it
        db.add(row)
        db.flush()  # one flush: the change and its log row together
        savepoint.commit()
        return _result_of(row)
    except IntegrityError:
        # Either a twin of this push committed this very mutation first (answer what it
        # stored), or the record's client-made id is another device's (refuse, once).
        savepoint.rollback()
        twin = db.exec(select(ClientMutation).where(
            ClientMutation.client_id == client_id, ClientMutation.mutation_id == m.id)
            .execution_options(populate_existing=True)).first()
        if twin is not None:
            return _owned((twin.staff_id, _result_of(twin, replayed=True)), user, m)
        if clash:
            raise
        return _apply_one(db, user, client_id, m, settings, now, seq, clash=True)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise


def _refusal(exc: ActionError | None, m: MutationIn) -> Outcome:
    out = Outcome(job_id=_job_id(m.args))
    if exc is not None:
        return out.reject(exc.message.msgid, **exc.message.params)
    return out.reject(N_("This record was already received from another device."))


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
    return spec.handler(db, user.id, args, _aware(m.device_time), now, settings)


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
