"""Apply mutations exactly once: each one's change and its ClientMutation row together.

A push is one write transaction that commits once (a crash before the commit loses the
whole push, which the phone still holds and sends again). A mutation already seen (same
client id and mutation id) returns the stored result and changes nothing, however many
times the phone replays it. Two identical pushes racing each other meet on the primary
key: the loser answers the winner's result.

Two ways through a push, with the same results:

- the fast path: every mutation in turn, in one transaction with no savepoints, the
  writes flushed together (one INSERT per table for the lot; the facts as plain rows,
  ``server.actions.fact_queue``), each job's and request's rows read once for the whole
  push (``field.LOCKED_JOBS``);
- the careful path, when anything in the fast path raised (a refusal that must undo
  what the action began, data the database cannot take, a record id taken by another
  device, a racing twin, an outage): the fast attempt is rolled back whole and the push
  applied again with one savepoint per mutation, so each is all or nothing and one bad
  entry is refused alone (D14) while the others are applied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from server.actions import ActionError, fact_queue
from server.actions.field import LOCKED_JOBS
from server.actions.field_flags import flag_fact
from server.actions.job_common import lock_jobs, read_venues
from server.actions.sla import HELD_CLOCKS, HELD_PAUSES, hold_clocks
from server.bulk import insert_rows
from server.db import open_session, session_scope, utcnow
from server.domain import device_clock
from server.domain.device_clock import NO_OFFSET, ClockOffset, sane_instant
from server.domain.field import Outcome
from server.domain.text import N_, Message
from server.i18n import gettext
from server.models import FieldFact
from server.sync import mutations as _field_mutations  # noqa: F401 - fills the registry
from server.sync.log import (
    LOG_INSERT,
    MutationIn,
    Result,
    clean,
    forget,
    has_nul,
    job_id_of,
    last_mutation_id,
    log_values,
    max_seq,
    owned,
    read_log,
    result_of,
    stored_in,
)
from server.sync.registry import REGISTRY
from server.sync.writer import one_writer

log = logging.getLogger(__name__)
# The database is unreachable or busy: nothing is wrong with the mutation, send it again.
# Any other failure while applying one mutation is that mutation's own (a value the
# database cannot hold, a NUL byte, a number out of range): it alone is refused (D14: one
# bad entry never jams the phone's outbox).
OUTAGE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, ConnectionError)

ARG_LABELS = {
    "job_id": N_("job"), "lat": N_("position"), "lon": N_("position"),
    "accuracy_m": N_("position"), "fault_kind": N_("fault kind"), "text": N_("what was done"),
    "image": N_("photo"), "caption": N_("caption"), "unit_out": N_("unit taken out"),
    "unit_in": N_("unit put in"), "reason": N_("reason"), "customer_name": N_("customer's name"),
    "stream_back": N_("stream back"), "note": N_("note"),
}

__all__ = ["OUTAGE", "MutationIn", "Pushed", "Queued", "Result", "apply", "apply_all",
           "apply_group", "apply_push",
           "last_mutation_id", "parse_device_time"]


class Pushed:
    """A push's answer: one result per mutation, and the newest mutation this client had
    applied (Replicache's lastMutationID)."""

    def __init__(self, results: list[Result], last_id: str | None) -> None:
        self.results, self.last_mutation_id = results, last_id


def apply(engine: Engine, user: Any, client_id: str, m: MutationIn, settings: Any,
          now: datetime | None = None, sent_at: datetime | None = None) -> Result:
    return apply_push(engine, user, client_id, [m], settings, now, sent_at).results[0]


def apply_all(engine: Engine, user: Any, client_id: str, mutations: list[MutationIn],
              settings: Any, now: datetime | None = None,
              sent_at: datetime | None = None) -> list[Result]:
    return apply_push(engine, user, client_id, mutations, settings, now, sent_at).results


def apply_push(engine: Engine, user: Any, client_id: str, mutations: list[MutationIn],
               settings: Any, now: datetime | None = None,
               sent_at: datetime | None = None,
               inbox_ids: dict[str, int] | None = None, durable: bool = True,
               known: dict[str, Any] | None = None) -> Pushed:
    """Apply a push in order, each mutation all or nothing, committed once. A mutation
    whose data the database cannot take is refused alone, with the reason; only an
    outage of the database stops the push there: that mutation and all after it are
    answered "retry".

    ``sent_at`` is the phone's clock when it sent the push: the offset to the server's
    clock corrects every device time in it (D8c, ``server.domain.device_clock``).

    ``inbox_ids``: mutation id -> its ``sync_inbox`` row (``server.sync.inbox``); the rows
    of every mutation answered (not "retry") are deleted in the same transaction.
    ``durable``: commit with SQLite's fsync. The inbox's applier passes False: its rows
    were received durably, and a commit lost to a power cut loses their inbox deletion
    with it, so they are applied again after the restart (still exactly once).
    ``known``: SQLite, the log's entries for these ids, read by the caller just now."""
    ids = [m.id for m in mutations]
    if engine.dialect.name == "sqlite" and not inbox_ids and known is None:
        # SQLite has one writer at a time: a replay is answered without queueing for it.
        # (PostgreSQL, and the inbox's applier, whose rows are new but for a rare resend,
        # read the log inside the push's own transaction.)
        with open_session(engine) as db:
            known = stored_in(db, client_id, ids)
            if all(i in known for i in ids):
                if inbox_ids:  # a resend received after its first copy was applied
                    with one_writer(engine), session_scope(engine, write=True) as w:
                        forget(w, list(inbox_ids.values()))
                return Pushed([owned(known[m.id], user, m) for m in mutations],
                              last_mutation_id(db, client_id, user.id))
    now = now or utcnow()
    offset = device_clock.measure(sent_at, now, settings.sla.clock_flag_seconds)
    # durable: the phone deletes its copy on our answer, so the commit reaches the disk
    # before we answer (SQLite synchronous=FULL for this transaction; README Durability)
    with one_writer(engine):
        try:
            with session_scope(engine, write=True, durable=durable) as db:
                return _push(db, user, client_id, mutations, settings, now, offset, fast=True,
                             known=known, inbox_ids=inbox_ids)
        except Exception as exc:  # noqa: BLE001 - anything: the careful path sorts it out
            log.debug("push from %s takes the careful path: %r", client_id[:12], exc)
        with session_scope(engine, write=True, durable=durable) as db:
            return _push(db, user, client_id, mutations, settings, now, offset, fast=False,
                         inbox_ids=inbox_ids)


@dataclass
class Queued:
    """One phone's push from the inbox, for ``apply_group``."""

    user: Any
    client_id: str
    mutations: list[MutationIn]
    now: datetime  # when it was received
    sent_at: datetime | None
    inbox_ids: dict[str, int]  # mutation id -> its ``sync_inbox`` row


@dataclass
class _Writes:
    """What the pushes of a group leave to be written together at its end."""

    logged: list[dict[str, Any]] = field(default_factory=list)  # log rows
    answered: list[int] = field(default_factory=list)  # inbox rows to delete


def apply_group(engine: Engine, pushes: list[Queued], settings: Any) -> list[Pushed] | None:
    """The pushes of several phones (one each) applied on the fast path in one transaction,
    each as ``apply_push`` would: every rule, in order, exactly once. Their writes go
    together: one INSERT per table and one commit for the lot, where each push alone
    pays its own.

    None when any of them would need the careful path (a refusal that must undo what it
    began, data the database cannot take, a racing twin) or the database failed: the
    whole group is rolled back, nothing is applied, and the caller applies each push
    alone (``apply_push``), where one bad entry is refused alone (D14). Commits without
    the fsync (``durable=False``): inbox rows were received durably."""
    if len({p.client_id for p in pushes}) < len(pushes):
        raise ValueError("one push per phone in a group: a phone's pushes go in order")
    writes = _Writes()
    try:
        with one_writer(engine), session_scope(engine, write=True) as db:
            # the group's jobs and requests read (and locked) once, not once a push
            venues = _hold_rows(db, _job_ids(m for p in pushes for m in p.mutations))
            out = []
            for p in pushes:
                offset = device_clock.measure(p.sent_at, p.now, settings.sla.clock_flag_seconds)
                out.append(_push(db, p.user, p.client_id, p.mutations, settings, p.now, offset,
                                 fast=True, inbox_ids=p.inbox_ids, together=writes))
            _write(db, writes.logged, writes.answered)
            for key in (LOCKED_JOBS, HELD_CLOCKS, HELD_PAUSES):
                db.info.pop(key, None)
            del venues
        return out
    except Exception as exc:  # noqa: BLE001 - anything: each push alone sorts it out
        log.debug("a group of %d pushes is applied one by one: %r", len(pushes), exc)
        return None


def _job_ids(mutations: Iterable[MutationIn]) -> set[int]:
    """The job ids these mutations name (those that could be one)."""
    ids = (m.args.get("job_id") for m in mutations if isinstance(m.args, dict))
    return {i for i in ids if type(i) is int and 0 < i < 2**31}


def _hold_rows(db: Session, job_ids: set[int]) -> list[Any]:
    """The fast path's reads, once for its transaction: these jobs and their requests
    (locked: ``lock_jobs``), their clocks and their venues, held in the session for the
    actions (``field.LOCKED_JOBS``, ``sla.HELD_CLOCKS``). Four statements, not the
    actions' reads one job, request, clock and venue at a time. Keep the venues returned
    while the transaction runs: the session holds its objects weakly."""
    locked = db.info[LOCKED_JOBS] = lock_jobs(db, job_ids)
    hold_clocks(db, {r.id for _, r in locked.values()})
    return read_venues(db, {r.venue_id for _, r in locked.values() if r.venue_id})


def _write(db: Session, logged: list[dict[str, Any]], answered: list[int]) -> None:
    """The fast path's writes: the queued facts, the ORM's changes, the log rows, and the
    deletion of the inbox rows answered."""
    fact_queue.finish(db)
    db.flush()
    if logged:
        insert_rows(db.connection(), LOG_INSERT.table, logged)
    forget(db, answered)


def _push(db: Session, user: Any, client_id: str, mutations: list[MutationIn], settings: Any,
          now: datetime, offset: ClockOffset, fast: bool,
          known: dict[str, Any] | None = None,
          inbox_ids: dict[str, int] | None = None,
          together: _Writes | None = None) -> Pushed:
    """``known``: the log as read just before (SQLite, outside the write lock); a twin
    that committed since then meets the primary key, and the careful path answers it.
    ``together``: the fast path of one of several pushes (``apply_group``): its log rows
    and answered inbox rows are left there, written with the others' at the end."""
    if known is None:  # in this transaction, with the newest seq: one read
        known, seq, _ = read_log(db, client_id, [m.id for m in mutations])
    else:
        seq = max_seq(db, client_id)
    known = dict(known)
    venues: list[Any] = []
    if together is None and fast:  # a group's are read for the whole group (``apply_group``)
        venues = _hold_rows(db, _job_ids(m for m in mutations if m.id not in known))
    elif together is None:  # the careful path reads each as it goes (a savepoint may undo)
        db.info[LOCKED_JOBS], db.info[HELD_CLOCKS] = {}, {}
    if fast:  # its facts written together (fact_queue), before any read that could miss them
        fact_queue.start(db)
    results: list[Result] = []
    logged: list[dict[str, Any]] = []
    for k, m in enumerate(mutations):
        if m.id in known:
            results.append(owned(known[m.id], user, m))
            continue
        if fast:  # any exception: the caller rolls back and takes the careful path
            outcome = _run(db, user, m, settings, now, offset)
            logged.append(log_values(db, user, client_id, m, outcome, now, seq + 1))
            result = result_of(logged[-1])
        else:
            try:
                result = _apply_one(db, user, client_id, m, settings, now, seq + 1, offset)
            except OUTAGE:  # keep what went before; the phone sends the rest again
                log.exception("mutation %s (%s) failed: database unavailable", m.id, m.name)
                results += [Result(x.id, "retry") for x in mutations[k:]]
                break
        seq += 1
        known[m.id] = (user.id, Result(**{**result.__dict__, "replayed": True}))
        results.append(result)
    answered = [inbox_ids[r.id] for r in results
                if inbox_ids and r.status != "retry" and r.id in inbox_ids]
    if together is not None:
        together.logged += logged
        together.answered += answered
    elif fast:  # the whole push's writes together; a failure here: the careful path
        _write(db, logged, answered)
    elif answered:
        forget(db, answered)
    if together is None:
        for key in (LOCKED_JOBS, HELD_CLOCKS, HELD_PAUSES):
            db.info.pop(key, None)
        del venues
    fresh = [r.id for r in results if r.status != "retry" and not r.replayed]
    # applied in order just now: the last of them is the newest
    return Pushed(results, fresh[-1] if fresh else last_mutation_id(db, client_id, user.id))


def _apply_one(db: Session, user: Any, client_id: str, m: MutationIn, settings: Any,
               now: datetime, seq: int, offset: ClockOffset = NO_OFFSET,
               clash: bool = False, broken: Exception | None = None) -> Result:
    """The careful path's step: the mutation's change and its log row, all or nothing
    (one savepoint).

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
        row = log_values(db, user, client_id, m, outcome, now, seq, logged_args=broken is None)
        db.flush()  # the change, then its log row, inside the savepoint
        db.connection().execute(LOG_INSERT, [row])
        savepoint.commit()
        return result_of(row)
    except IntegrityError:
        # Either a twin of this push committed this very mutation first (answer what it
        # stored), or the record's client-made id is another device's (refuse, once).
        savepoint.rollback()
        twin = stored_in(db, client_id, [m.id]).get(m.id)
        if twin is not None:
            return owned(twin, user, m)
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
        log.warning("mutation %s (%s) refused: %r", m.id, clean(m.name)[:32], exc)
        if clash or broken is not None:
            return _unstored(m)
        return _apply_one(db, user, client_id, m, settings, now, seq, broken=exc)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise


def _data_refusal(exc: Exception, m: MutationIn) -> Outcome:
    """A readable reason for a failure caused by the mutation's own values."""
    out = Outcome(job_id=job_id_of(m.args))
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
        "Check it and record it again."))], job_id=job_id_of(m.args))


def _refusal(exc: ActionError | None, m: MutationIn) -> Outcome:
    out = Outcome(job_id=job_id_of(m.args))
    if exc is not None:
        return out.reject(exc.message.msgid, **exc.message.params)
    return out.reject(N_("This record was already received from another device."))


def _run(db: Session, user: Any, m: MutationIn, settings: Any, now: datetime,
         offset: ClockOffset = NO_OFFSET) -> Outcome:
    spec = REGISTRY.get(m.name)
    if spec is None:
        return Outcome(job_id=job_id_of(m.args)).reject(
            N_("This phone sent an action the server does not know ({name}): update the app."),
            name=clean(m.name)[:32])
    if not user.has(*spec.roles):
        return Outcome(job_id=job_id_of(m.args)).reject(N_("Your role cannot do this."))
    if has_nul(m.args):  # PostgreSQL text cannot hold it; nobody types it
        return Outcome(job_id=job_id_of(m.args)).reject(
            N_("Not recorded: it contains a character that cannot be stored. Record it again."))
    try:
        args = spec.args.model_validate({**m.args, "fact_id": m.args.get("fact_id") or m.id})
    except ValidationError as exc:
        names = sorted({gettext(ARG_LABELS.get(str(e["loc"][0]), str(e["loc"][0])))
                        for e in exc.errors() if e["loc"]})
        return Outcome(job_id=job_id_of(m.args)).reject(
            N_("Not recorded: check {fields} and record it again."), fields=", ".join(names))
    device_time = offset.correct(sane_instant(m.device_time))
    outcome = spec.handler(db, user.id, args, device_time, now, settings)
    if offset.flagged and outcome.fact_id and outcome.status != "rejected":
        fact = fact_queue.queued(db, outcome.fact_id) or db.get(FieldFact, outcome.fact_id)
        if fact is not None:
            flag_fact(fact, outcome, "clock_skew")
    return outcome


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
