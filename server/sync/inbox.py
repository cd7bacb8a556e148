"""Receive, then apply: a push is durably received first and applied in order right after.

As CouchDB and Replicache do, the server acknowledges a push once it is safe, not once
every rule has run:

- ``receive`` writes the push's new mutations to ``sync_inbox`` in one small durable
  commit (group-committed with the pushes arriving alongside: ``server.sync.receipts``)
  and answers them "received" (the phone may delete its copy: nothing recorded in the
  field can be lost from here on). Mutations already in the mutation log are answered
  with their stored result, as before.
- The process's ``Applier`` (``server.sync.applier``; worker threads started on demand,
  one on SQLite, two on PostgreSQL, each phone applied by one at a time) applies
  the inbox per phone and person in the order received, each push through
  ``apply_push`` (every rule, the mutation log deciding exactly-once), and deletes the
  inbox rows in the same transaction as their results. The first waiting push of each
  phone goes in a group with other phones' (``apply_group``: one transaction, one
  INSERT per table for the lot); a group that fails is applied one push at a time.
- A push with nothing queued before it skips the inbox: it is applied in its own
  request, in one durable transaction, so one phone alone gets its results in the same
  answer (``Applier.apply_alone``); one that finds only this process's applier busy
  with earlier rows of other phones waits (bounded) for its own results; under a burst
  it is answered at receipt and the phone asks again later (a resend is answered from
  the log).

Order per phone holds across pushes and processes: rows are applied in receipt order per
(client, person), a client is applied by one process at a time (a PostgreSQL advisory
lock), and a twin already applied is answered from the log (D14: one refused mutation
never blocks the ones after it). Rows left by a crash are applied by the background
loop's tick (``server.jobs.sync_inbox``) or the next push.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from server.db import autocommit, open_session, utcnow
from server.domain.text import N_, Message
from server.sync import receipts
from server.sync.applier import Applier, applier
from server.sync.apply import OUTAGE, Pushed
from server.sync.log import (
    MutationIn,
    Result,
    last_applied,
    last_mutation_id,
    owned,
    read_log,
    stored_in,
)

log = logging.getLogger(__name__)

RECEIVED = N_("Received by the server; being applied.")


@dataclass
class Received:
    """What ``receive`` did: ``results[i]`` is the stored result of ``mutations[i]`` or
    None when it is in the inbox (new now, or received before and not applied yet)."""

    results: list[Result | None]
    waiting: list[str]  # ids in the inbox, in order
    alone: bool  # nothing else was queued here: the applier starts on these at once
    last_mutation_id: str | None = None  # the phone's newest applied one, read on receipt


def receive(engine: Engine, user: Any, client_id: str, mutations: list[MutationIn],
            sent_at: datetime | None, worker: Applier, now: datetime | None = None,
            apply_here: bool = False) -> Received:
    """Durably receive a push: one INSERT of its new mutations, committed with the fsync
    (README Durability) before the phone is answered; then ``worker`` applies them
    (``apply_here`` and nothing queued before them: the caller does, ``Applier.catch_up``).

    Raises the database's error on an outage (the route answers 503; nothing stored)."""
    ids = [m.id for m in mutations]
    with worker.receiving():
        # one statement (PostgreSQL: outside a transaction, no BEGIN and no ROLLBACK)
        with open_session(autocommit(engine)) as db:
            read = read_log(db, client_id, ids)
            known, last = read.stored, last_applied(db, read, client_id, user.id)
        results: list[Result | None] = [owned(known[m.id], user, m) if m.id in known else None
                                        for m in mutations]
        new = [m for m in mutations if m.id not in known]
        alone = False
        if new:
            # counted as queued before the commit, so a push right behind it does not take
            # itself for alone and wait behind this one's rows
            alone = worker.expect(client_id, [m.id for m in new])
            now = now or utcnow()
            rows = [{"client_id": client_id, "mutation_id": m.id, "staff_id": user.id,
                     "name": m.name[:200], "args": json.dumps(m.args, default=str),
                     "device_time": m.device_time, "sent_at": sent_at, "received_at": now}
                    for m in new]
            try:
                receipts.gate(engine).write(engine, rows)
            except BaseException:
                worker.poke()  # it clears what it cannot find
                raise
            if not (alone and apply_here):
                worker.poke()
    waiting = [m.id for m, r in zip(mutations, results, strict=True) if r is None]
    return Received(results, waiting, alone, last)


def push(engine: Engine, user: Any, client_id: str, mutations: list[MutationIn],
         sent_at: datetime | None, settings: Any) -> Pushed:
    """``POST /sync/push``: receive the push durably, then answer each mutation with its
    result (a push with nothing queued before it waits up to ``sync_wait_seconds`` for
    them) or "received" (applied right after; a resend is answered from the log)."""
    worker = applier(engine, settings)
    waits = settings.sync_wait_seconds > 0
    if waits:
        pushed = worker.apply_alone(user, client_id, mutations, sent_at)
        if pushed is not None:
            return pushed
    got = receive(engine, user, client_id, mutations, sent_at, worker, apply_here=waits)
    results = list(got.results)
    alone = got.alone and waits
    if got.waiting and alone:
        try:  # in this thread: no hand-off to the applier's thread and back
            worker.catch_up(client_id)
        except OUTAGE:  # received all the same: the applier and the tick try again
            log.warning("sync inbox: database unavailable while applying; answered received")
        if worker.queued(client_id, got.waiting):  # another thread had it, or it failed
            worker.poke()
        done = worker.wait(client_id, got.waiting, settings.sync_wait_seconds)
        results = [r or (owned(done[m.id], user, m) if m.id in done else None)
                   for m, r in zip(mutations, results, strict=True)]
    last = got.last_mutation_id  # answered at receipt: read then (it only grows)
    if alone and results and all(results) and not results[-1].replayed:
        last = mutations[-1].id  # all applied in order just now: the last is the newest
    elif alone:
        with open_session(engine) as db:
            if any(r is None for r in results):  # applied by another process?
                known = stored_in(db, client_id, [m.id for m in mutations])
                results = [r or (owned(known[m.id], user, m) if m.id in known else None)
                           for m, r in zip(mutations, results, strict=True)]
            last = last_mutation_id(db, client_id, user.id)
    return Pushed([r or received_result(m) for m, r in zip(mutations, results, strict=True)],
                  last)


def received_result(m: MutationIn) -> Result:
    return Result(m.id, "received", [Message(RECEIVED)])
