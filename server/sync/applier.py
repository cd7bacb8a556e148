"""The process's applier of the sync inbox (``server.sync.inbox`` receives into it).

Worker threads started on demand (one on SQLite, ``THREADS`` on PostgreSQL) apply the
inbox per phone and person in the order received, each push through ``apply_push`` (every
rule, the mutation log deciding exactly-once), and delete the inbox rows in the same
transaction as their results. A phone is applied by one thread of one process at a time
(an in-process set and a PostgreSQL advisory lock, ``server.sync.phone_locks``). A push with nothing
queued before it is applied in its own request's thread (``Applier.apply_alone``).

Under ``serve`` those threads run in the server's applier process, not in the server
(``server.sync.applier_process``): the server's ``Applier`` pokes it and keeps the book of
what it received and what was applied (``server.sync.applier_link``).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from server.db import autocommit, open_session
from server.security import CurrentUser, load_user, load_users
from server.sync import inbox_rows, receipts
from server.sync.applier_link import DEFER_SECONDS, ProcessSide
from server.sync.apply import OUTAGE, Pushed, Queued, apply_group, apply_push
from server.sync.log import MutationIn, Result, Stored, last_mutation_id, owned, stored_in
from server.sync.phone_locks import phone_lock, phone_locks
from server.sync.receipts import base_engine

log = logging.getLogger(__name__)

BATCH_ROWS = 2000  # inbox rows read per round of the applier
# the most mutations applied in one transaction by a group of phones' pushes: it holds
# SQLite's one write lock, and PostgreSQL's row locks, while receipts and the dispatchers'
# actions wait (~0.15 ms a mutation; 200 received no faster and applied no faster)
GROUP_MUTATIONS = 100
# applier threads per process on PostgreSQL: with groups of pushes, 4 applied no faster
# than 2 and slowed the receipts (the interpreter is shared); 2, so one waiting on a row
# lock does not stop the others
THREADS = 2


_appliers: weakref.WeakKeyDictionary[Engine, Applier] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def applier(engine: Engine, settings: Any) -> Applier:
    """This process's applier for the database (made on first use); ``settings`` are the
    newest the server runs with."""
    base = base_engine(engine)
    with _lock:
        found = _appliers.get(base)
        if found is None:
            found = _appliers[base] = Applier(base, settings)
        found.settings = settings
        return found


def catch_up(engine: Engine, settings: Any, client_id: str) -> None:
    """Apply what this phone's earlier pushes left in the inbox, in order, before an
    action it posts directly (the field form): that action must not overtake them."""
    applier(engine, settings).catch_up(client_id)


class Applier(ProcessSide):
    """Applies ``sync_inbox`` in order on a worker thread that lives while there is work.

    ``queued`` holds the (client, mutation) pairs this process received and has not
    applied yet; ``results`` the answers of those it applied, until the push waiting for
    them collects them."""

    def __init__(self, engine: Engine, settings: Any) -> None:
        self.engine, self.settings = engine, settings
        self._cond = threading.Condition()
        self._queued: set[tuple[str, str]] = set()
        self._results: dict[tuple[str, str], Stored] = {}
        # inbox rows this process answered (deleted with their results), by ``inbox_rows.row_key``: a
        # thread whose read of the inbox is older than another thread's apply skips them
        self._answered: dict[tuple[Any, ...], None] = {}
        self._threads: set[threading.Thread] = set()
        self._again = False
        self._busy: set[str] = set()  # phones a thread of this process is applying now
        self._receiving = 0  # receipts under way in this process (``receiving``)
        self._direct = 0  # pushes applied alone now, without the inbox (``apply_alone``)
        self._deferred_since: float | None = None  # the applier has let receipts go first
        # Applying in a process of its own (``server.sync.applier_process``). In the server:
        # ``_child`` is that process while it runs (poke it, not threads), ``_since_poke`` the
        # received mutations queued since the last poke and ``_pokes`` those of each poke it
        # has not finished yet; ``shared_receiving`` counts the receipts under way, in memory
        # both processes see. In the applier process: ``link`` reports to the server.
        self._child: Any = None
        self._since_poke: set[tuple[str, str]] = set()
        self._pokes: dict[int, set[tuple[str, str]]] = {}
        self._poke_seq = 0
        self._done_poke = 0  # the applier process: the newest poke a finished round followed
        self.shared_receiving: Any = None
        self.link: Any = None
        # PostgreSQL applies two groups at once (its round trips leave the CPU idle);
        # SQLite has one writer, so one thread
        self.threads = THREADS if engine.dialect.name == "postgresql" else 1

    def expect(self, client_id: str, ids: Iterable[str]) -> bool:
        """Count these as queued (about to be received); True when nothing else was."""
        with self._cond:
            alone = not self._queued
            keys = [(client_id, i) for i in ids]
            self._queued.update(keys)
            if self._child is not None:
                self._since_poke.update(keys)
            return alone

    @contextmanager
    def receiving(self) -> Iterator[None]:
        """A receipt under way: the applier lets it go first (``let_receipts_first``)."""
        with self._cond:
            self._receiving += 1
            if self.shared_receiving is not None:
                self.shared_receiving.value += 1
        try:
            yield
        finally:
            with self._cond:
                self._receiving -= 1
                if self.shared_receiving is not None:
                    self.shared_receiving.value -= 1
                if not self._receiving:
                    self._cond.notify_all()

    def let_receipts_first(self) -> None:
        """Before each push an applier thread applies: while receipts are under way in this
        process, wait for them (they share the CPU and the interpreter with the applier,
        and a phone waits for each: it deletes its copy on that answer), but never more
        than ``DEFER_SECONDS`` in a row, so a steady stream of receipts cannot starve it.
        A push applying its own phone's rows in its request's thread (``catch_up``) does
        not wait: its phone is waiting for this very answer."""
        if self.link is not None:  # the applier process: no interpreter shared with receipts
            if self.engine.dialect.name == "sqlite":  # but SQLite's one writer's lock
                self._let_server_receipts_first()
            return
        with self._cond:
            if threading.current_thread() not in self._threads:
                return
            if not self._receiving:
                self._deferred_since = None
                return
            now = time.monotonic()
            if self._deferred_since is None:
                self._deferred_since = now
            left = self._deferred_since + DEFER_SECONDS - now
            if left > 0 and self._cond.wait_for(lambda: not self._receiving, left):
                self._deferred_since = None

    def queued(self, client_id: str, ids: Iterable[str]) -> bool:
        """Whether any of these is received here and not applied yet."""
        with self._cond:
            return any((client_id, i) in self._queued for i in ids)

    def poke(self) -> None:
        """Apply what the inbox holds now (start the workers, or make them look again; with
        an applier process, tell it)."""
        with self._cond:
            child = self._child
            if child is not None:
                self._poke_seq += 1
                seq = self._poke_seq
                self._pokes[seq], self._since_poke = self._since_poke, set()
        if child is not None and child.poke(seq):
            return
        with self._cond:
            self._again = True
            while len(self._threads) < self.threads:
                thread = threading.Thread(target=self._work, name="sync-applier", daemon=True)
                self._threads.add(thread)
                thread.start()

    def wait(self, client_id: str, ids: list[str], timeout: float) -> dict[str, Stored]:
        """Wait until these mutations are applied (or ``timeout`` seconds pass); their
        results as far as this process applied them, with who sent them (``owned``)."""
        keys = [(client_id, i) for i in ids]
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.wait_for(lambda: not any(k in self._queued for k in keys),
                                max(0.0, deadline - time.monotonic()))
            return {k[1]: self._results.pop(k) for k in keys if k in self._results}

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                self._again = False
                seen = set(self._queued)
                poked = self._poke_seq  # the applier process: the server's pokes so far
            try:
                while self.drain():
                    pass
            except OUTAGE:
                log.warning("sync inbox: database unavailable; the background loop retries")
            except Exception:  # noqa: BLE001 - the worker must end cleanly, the tick retries
                log.exception("sync inbox: applying failed")
            with self._cond:
                self._done_poke = max(self._done_poke, poked)
                if self._again:
                    continue
                self._threads.discard(me)
                last = not self._threads
                if last:
                    # committed before the last round yet not applied (another process has
                    # the phone, or an outage): the tick finds them; waiting for them ends
                    self._queued -= seen
                    self._cond.notify_all()
                done_poke = self._done_poke
            if last and self.link is not None:  # the applier process: tell the server
                self.link.idle(done_poke)
            return

    def apply_alone(self, user: Any, client_id: str, mutations: list[MutationIn],
                    sent_at: datetime | None) -> Pushed | None:
        """A push with nothing before it (nothing received here and not applied yet, no
        other push being received or applied alone here, nothing of this phone's in the
        inbox) is applied at once, in this thread, in one durable transaction: no inbox
        rows to write, read back and delete. None: it is not alone; receive it.

        Its answer comes after the commit with the fsync, as a receipt's does, so the
        phone may delete its copy. When the database fails midway (what went before is
        committed), or on a fault of ours, None too: the rest is received into the inbox
        and answered "received", and the applier retries it."""
        with self._cond:
            if self._queued or self._receiving or self._direct or client_id in self._busy:
                return None
            self._direct += 1
            self._busy.add(client_id)
        try:
            with phone_lock(self.engine, client_id) as mine:
                if not mine:  # another process applies this phone's inbox now
                    return None
                known = None
                sqlite = self.engine.dialect.name == "sqlite"
                # PostgreSQL: one read here, outside a transaction (no BEGIN, no ROLLBACK)
                with open_session(self.engine if sqlite else autocommit(self.engine)) as db:
                    if inbox_rows.any_for(db, client_id):
                        return None  # its earlier pushes go first: received behind them
                    if sqlite:  # one writer: read the log here, before the write lock
                        known = stored_in(db, client_id, [m.id for m in mutations])
                        if all(m.id in known for m in mutations):  # a replay
                            return Pushed([owned(known[m.id], user, m) for m in mutations],
                                          last_mutation_id(db, client_id, user.id))
                pushed = apply_push(self.engine, user, client_id, mutations, self.settings,
                                    sent_at=sent_at, known=known)
            if any(r.status == "retry" for r in pushed.results):
                return None  # the database failed midway: the rest is received, kept here
            return pushed
        except OUTAGE:
            raise
        except Exception:  # noqa: BLE001 - a fault of ours: received, the applier retries
            log.exception("sync: a push from %s failed to apply at once", client_id[:12])
            return None
        finally:
            with self._cond:
                self._direct -= 1
                self._busy.discard(client_id)
                again = bool(self._queued)
            if again:  # received behind this one meanwhile
                self.poke()

    def catch_up(self, client_id: str) -> int:
        """Apply what the inbox holds for this phone, in order, in the calling thread (0
        when another thread or process applies it now). Raises ``OUTAGE``."""
        with open_session(self.engine) as db:
            rows = inbox_rows.of_client(db, client_id)
            # who sent them, read in the same transaction (a phone is usually one person's)
            people = load_users(db, {r.staff_id for r in rows})
        return self._apply_client(client_id, inbox_rows.by_client(rows)[client_id], people) if rows else 0

    def drain(self) -> int:
        """One round: apply up to ``BATCH_ROWS`` inbox rows, per client in receipt order.
        Returns how many rows were answered (0: nothing more to do now)."""
        with open_session(autocommit(self.engine)) as db:  # no transaction: two reads
            rows = inbox_rows.oldest(db, BATCH_ROWS)
            people = load_users(db, {r.staff_id for r in rows})  # who sent them
        by_client = inbox_rows.by_client(rows)
        # each phone's first push together with other phones' (``apply_together``); the
        # rest, and those a group could not take, one after another in order
        done = self.apply_together([(c, pushes[0]) for c, pushes in by_client.items()],
                                   people)
        for client_id, pushes in by_client.items():
            with self._cond:  # a phone whose pushes all went in a group: no lock to take
                left = [rows for rows in pushes if not self._answered_all(rows)]
            if left:
                done += self._apply_client(client_id, left, dict(people))
        return done

    def apply_together(self, firsts: list[tuple[str, list[Any]]],
                       people: dict[int, CurrentUser | None]) -> int:
        """Apply phones' pushes (one each, by client id) in groups of up to
        ``GROUP_MUTATIONS`` mutations, each group in one transaction (``apply_group``).
        A phone applied elsewhere now (another thread or process) is left out; a group
        that fails is left whole to the one-by-one path. Returns the rows answered."""
        done = 0
        for chunk in inbox_rows.chunks(firsts, GROUP_MUTATIONS):
            with self._cond:
                mine = [(c, rows) for c, rows in chunk
                        if c not in self._busy and not self._answered_all(rows)]
                self._busy.update(c for c, _ in mine)
            try:
                if len(mine) < 2:
                    continue
                with phone_locks(self.engine, [c for c, _ in mine]) as locked:
                    group = [(c, rows) for c, rows in mine if c in locked]
                    if len(group) < 2:
                        continue
                    self.let_receipts_first()
                    queued = [self._queued_push(c, rows, people) for c, rows in group]
                    receipts.gate(self.engine).clear()
                    pushed = apply_group(self.engine, queued, self.settings)
                    for (client_id, rows), one in zip(group, pushed or [], strict=False):
                        done += len(self._answer(client_id, rows, one.results))
            finally:
                with self._cond:
                    self._busy.difference_update(c for c, _ in mine)
        return done

    def _apply_client(self, client_id: str, pushes: list[list[Any]],
                      people: dict[int, CurrentUser | None] | None = None) -> int:
        """``people``: the senders, read just now (by staff id; others are read per push)."""
        with self._cond:
            if client_id in self._busy:  # another thread of ours applies this phone now
                return 0
            self._busy.add(client_id)
        try:
            return self._apply_locked(client_id, pushes, people or {})
        finally:
            with self._cond:
                self._busy.discard(client_id)

    def _apply_locked(self, client_id: str, pushes: list[list[Any]],
                      people: dict[int, CurrentUser | None]) -> int:
        done = 0
        with phone_lock(self.engine, client_id) as mine:
            if not mine:  # another process applies this phone now
                return 0
            for rows in pushes:
                with self._cond:
                    if self._answered_all(rows):
                        continue  # another thread of ours applied it since our read
                self.let_receipts_first()
                try:
                    answered = self._apply_push(client_id, rows, people)
                except OUTAGE:
                    raise
                except Exception:  # noqa: BLE001 - a fault of ours: the other phones go on
                    log.exception("sync inbox: a push from %s failed; it stays queued",
                                  client_id[:12])
                    break
                done += len(answered)
                if len(answered) < len(rows):  # "retry": keep this phone's order, stop here
                    break
        return done

    def _apply_push(self, client_id: str, rows: list[Any],
                    people: dict[int, CurrentUser | None]) -> list[Result]:
        if rows[0].staff_id in people:
            people = {rows[0].staff_id: people.pop(rows[0].staff_id)}  # a later push reads again
        p = self._queued_push(client_id, rows, people)
        receipts.gate(self.engine).clear()
        results = apply_push(self.engine, p.user, client_id, p.mutations, self.settings,
                             now=p.now, sent_at=p.sent_at, inbox_ids=p.inbox_ids,
                             durable=False).results
        return self._answer(client_id, rows, results)

    def _answered_all(self, rows: list[Any]) -> bool:
        """Whether a thread of ours has applied all these inbox rows since they were read
        (called holding ``_cond``)."""
        return all(inbox_rows.row_key(r) in self._answered for r in rows)

    def _queued_push(self, client_id: str, rows: list[Any],
                     people: dict[int, CurrentUser | None]) -> Queued:
        """A push of inbox rows, with its sender from ``people`` (read now if not there)."""
        first = rows[0]
        if first.staff_id in people:
            user = people[first.staff_id]
        else:
            with open_session(autocommit(self.engine)) as db:  # one read: no transaction
                user = load_user(db, first.staff_id)
        # Disabled between receipt and now: a person with no roles, so each action is
        # refused with the reason and logged once, like any refusal.
        user = user or CurrentUser(first.staff_id, "", "", frozenset(), "zh", None, None)
        return Queued(user, client_id,
                      [MutationIn(r.mutation_id, r.name, inbox_rows.args_of(r.args), r.device_time)
                       for r in rows],
                      first.received_at, first.sent_at, {r.mutation_id: r.id for r in rows})

    def _answer(self, client_id: str, rows: list[Any], results: list[Result]) -> list[Result]:
        """Note what was applied (for the pushes waiting for it, and so no other thread of
        ours applies it again); returns the results answered (not "retry")."""
        answered = [r for r in results if r.status != "retry"]
        by_id = {r.mutation_id: r for r in rows}
        with self._cond:
            for r in answered:
                self._answered[inbox_rows.row_key(by_id[r.id])] = None
                key = (client_id, r.id)
                if key in self._queued:
                    self._queued.discard(key)
                    self._results[key] = (rows[0].staff_id, r)
            self._forget_oldest()
            self._cond.notify_all()
        if self.link is not None and answered:
            self.link.answered(client_id, [(inbox_rows.row_key(by_id[r.id]), by_id[r.id].staff_id, r)
                                           for r in answered])
        return answered

    def _forget_oldest(self) -> None:
        for kept in (self._results, self._answered):
            if len(kept) > 10_000:  # nobody waited for them / read them: forget the oldest
                for key in list(kept)[:5_000]:
                    del kept[key]
