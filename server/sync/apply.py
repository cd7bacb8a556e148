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
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, select

from server.actions import ActionError
from server.actions.field import flag_fact
from server.db import open_session, session_scope, utcnow
from server.domain import device_clock
from server.domain.device_clock import NO_OFFSET, ClockOffset, sane_instant
from server.domain.field import Outcome
from server.domain.text import N_, Message
from server.i18n import gettext, render
from server.models import ClientMutation, FieldFact, Job
from server.sync import mutations as _field_mutations  # noqa: F401 - fills the registry
from server.sync.registry import REGISTRY

log = logging.getLogger(__name__)
# The database is unreachable or busy: nothing is wrong with the mutation, send it again.
# Any other failure while applying one mutation is that mutation's own (a value the
# database cannot hold, a NUL byte, a number out of range): it alone is refused (D14: one
# bad entry never jams the phone's outbox).
OUTAGE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, ConnectionError)
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
          now: datetime | None = None, sent_at: datetime | None = None) -> Result:
    return apply_all(engine, user, client_id, [m], settings, now, sent_at)[0]


def apply_all(engine: Engine, user: Any, client_id: str, mutations: list[MutationIn],
              settings: Any, now: datetime | None = None,
              sent_at: datetime | None = None) -> list[Result]:
    """Apply a push in order. Each mutation and its log row share one savepoint, so each
    is all or nothing; the push commits once (a crash before that loses the whole push,
    which the phone still holds and sends again). A mutation whose data the database
    cannot take is refused alone, with the reason; only an outage of the database stops
    the push there: that mutation and all after it are answered "retry".

    ``sent_at`` is the phone's clock when it sent the push: the offset to the server's
    clock corrects every device time in it (D8c, ``server.domain.device_clock``)."""
    known = stored_results(engine, client_id, [m.id for m in mutations])
    results: list[Result] = []
    if all(m.id in known for m in mutations):  # a replay: no write lock needed
        return [_owned(known[m.id], user, m) for m in mutations]
    now = now or utcnow()
    offset = device_clock.measure(sent_at, now, settings.sla.clock_flag_seconds)
    # durable: the phone deletes its copy on our answer, so the commit reaches the disk
    # before we answer (SQLite synchronous=FULL for this transaction; README Durability)
    with _one_writer(engine), session_scope(engine, write=True, durable=True) as db:
        seq = db.exec(select(func.max(ClientMutation.seq))
                      .where(ClientMutation.client_id == client_id)).one() or 0
        for k, m in enumerate(mutations):
            if m.id in known:
                results.append(_owned(known[m.id], user, m))
                continue
            try:
                result = _apply_one(db, user, client_id, m, settings, now, seq + 1, offset)
            except OUTAGE:  # keep what went before; the phone sends the rest again
                log.exception("mutation %s (%s) failed: database unavailable", m.id, m.name)
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
               now: datetime, seq: int, offset: ClockOffset = NO_OFFSET,
               clash: bool = False, broken: Exception | None = None) -> Result:
    """The mutation's change and its log row, all or nothing (one savepoint).

    ``clash``: its record's id is another device's; ``broken``: applying it failed on
    its own data. Either way only the refusal is logged (once: a replay answers it)."""
    savepoint = db.begin_nested()
    try:
        if clash:  # its record's id was taken by another device's record: log the refusal
            outcome = _refusal(None, m)
        elif broken is not None:
            outcome = _data_refusal(broken, m)
        else:
            try:
                outcome = _run(db, user, m, settings, now, offset)
            except ActionError as exc:  # refused: undo whatever it began
                savepoint.rollback()
                savepoint = db.begin_nested()
                outcome = _refusal(exc, m)
        row = ClientMutation(
            client_id=client_id[:64], mutation_id=m.id[:64], staff_id=user.id,
            name=_clean(m.name)[:32], args=_loggable(m.args) if broken is None else {},
            device_time=sane_instant(m.device_time), received_at=now, seq=seq,
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
        if clash or broken is not None:
            return _unstored(m)
        return _apply_one(db, user, client_id, m, settings, now, seq, clash=True)
    except OUTAGE:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    except Exception as exc:  # noqa: BLE001 - this mutation's own data: refuse it alone
        if savepoint.is_active:
            savepoint.rollback()
        log.warning("mutation %s (%s) refused: %r", m.id, _clean(m.name)[:32], exc)
        if clash or broken is not None:
            return _unstored(m)
        return _apply_one(db, user, client_id, m, settings, now, seq, broken=exc)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise


def _data_refusal(exc: Exception, m: MutationIn) -> Outcome:
    """A readable reason for a failure caused by the mutation's own values."""
    out = Outcome(job_id=_job_id(m.args))
    text = str(getattr(exc, "orig", exc)).lower()
    if "0x00" in text or "nul character" in text or "\x00" in text:
        return out.reject(N_("Not recorded: it contains a character that cannot be stored. "
                             "Record it again."))
    if "too long" in text or "truncat" in text:
        return out.reject(N_("Not recorded: a text is too long. Shorten it and record it again."))
    return out.reject(N_("Not recorded: a value in it is out of range or cannot be stored. "
                         "Check it and record it again."))


def _unstored(m: MutationIn) -> Result:
    """Not even the refusal could be logged: answered, not stored (a resend asks again)."""
    return Result(m.id, "rejected", [Message(N_(
        "Not recorded: a value in it is out of range or cannot be stored. "
        "Check it and record it again."))], job_id=_job_id(m.args))


def _refusal(exc: ActionError | None, m: MutationIn) -> Outcome:
    out = Outcome(job_id=_job_id(m.args))
    if exc is not None:
        return out.reject(exc.message.msgid, **exc.message.params)
    return out.reject(N_("This record was already received from another device."))


def _run(db: Session, user: Any, m: MutationIn, settings: Any, now: datetime,
         offset: ClockOffset = NO_OFFSET) -> Outcome:
    spec = REGISTRY.get(m.name)
    if spec is None:
        return Outcome(job_id=_job_id(m.args)).reject(
            N_("This phone sent an action the server does not know ({name}): update the app."),
            name=_clean(m.name)[:32])
    if not user.has(*spec.roles):
        return Outcome(job_id=_job_id(m.args)).reject(N_("Your role cannot do this."))
    if _has_nul(m.args):  # PostgreSQL text cannot hold it; nobody types it
        return Outcome(job_id=_job_id(m.args)).reject(
            N_("Not recorded: it contains a character that cannot be stored. Record it again."))
    try:
        args = spec.args.model_validate({**m.args, "fact_id": m.args.get("fact_id") or m.id})
    except ValidationError as exc:
        names = sorted({gettext(ARG_LABELS.get(str(e["loc"][0]), str(e["loc"][0])))
                        for e in exc.errors() if e["loc"]})
        return Outcome(job_id=_job_id(m.args)).reject(
            N_("Not recorded: check {fields} and record it again."), fields=", ".join(names))
    device_time = offset.correct(sane_instant(m.device_time))
    outcome = spec.handler(db, user.id, args, device_time, now, settings)
    if offset.flagged and outcome.fact_id and outcome.status != "rejected":
        fact = db.get(FieldFact, outcome.fact_id)
        if fact is not None:
            flag_fact(fact, outcome, "clock_skew")
    return outcome


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


def _loggable(args: Any) -> dict[str, Any]:
    """The arguments as the log keeps them: big values summed up, no NUL (PostgreSQL's
    JSON cannot hold one), nothing that is not JSON."""
    if not isinstance(args, dict):
        return {}

    def clean(v: Any, depth: int = 0) -> Any:
        if isinstance(v, str):
            return f"<{len(v)} characters>" if len(v) > BIG_ARG else _clean(v)
        if isinstance(v, bool) or v is None or isinstance(v, int) and abs(v) < 2**53:
            return v
        if isinstance(v, float):
            return v if v == v and abs(v) != float("inf") else str(v)
        if isinstance(v, list | dict) and depth < 3:
            items = list(v.items() if isinstance(v, dict) else enumerate(v))[:20]
            cleaned = {_clean(str(k))[:64]: clean(x, depth + 1) for k, x in items}
            return cleaned if isinstance(v, dict) else list(cleaned.values())
        return _clean(str(v))[:BIG_ARG]

    return {_clean(str(k))[:64]: clean(v) for k, v in list(args.items())[:50]}


def _clean(text: Any) -> str:
    return str(text).replace("\x00", "")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _job_id(args: dict[str, Any]) -> int | None:
    try:
        value = int(args.get("job_id"))
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**31 else None


def parse_device_time(value: Any) -> datetime | None:
    """The phone's clock as it sent it (ISO 8601), in UTC; anything unreadable or absurd
    (outside 2000-2200, naive) counts as missing (D8c: the server's time, flagged)."""
    if isinstance(value, datetime):
        return sane_instant(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return sane_instant(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        return None
