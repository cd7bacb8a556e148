"""The client mutation log: what a mutation's row keeps, and its stored result read back.

Every applied, flagged or refused mutation leaves one ``ClientMutation`` row keyed by
(client id, mutation id), written in the transaction of its change; a replay answers
from it (architecture promise 2). The helpers here build the row, read rows back as
results and keep the logged arguments small and storable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, func, union_all
from sqlmodel import Session, select

from server.domain.device_clock import sane_instant
from server.domain.field import Outcome
from server.domain.text import N_, Message
from server.i18n import render
from server.models import ClientMutation, Job, SyncInbox

BIG_ARG = 512  # longer argument values (photos) are not copied into the mutation log


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


Stored = tuple[int, Result]  # (staff id of the person who sent it, its stored result)


# what an answer needs from a log row: plain rows, no ORM objects (a replay reads 20)
ANSWER_COLUMNS = (ClientMutation.mutation_id, ClientMutation.staff_id, ClientMutation.result,
                  ClientMutation.fact_id, ClientMutation.job_id, ClientMutation.detail)

# The reads every push makes, built once and run on the session's connection: no statement
# to build, no cache key to compute and no ORM execution per call (a receipt's read took
# 0.3 ms that way, 0.13 ms this way). They read only the log, which no ``db_queue`` queue
# and no ORM object writes (``LOG_INSERT``), so nothing needs writing before them.
_CLIENT = bindparam("client_id")
_STORED = select(*ANSWER_COLUMNS).where(
    ClientMutation.client_id == _CLIENT,
    ClientMutation.mutation_id.in_(bindparam("ids", expanding=True)))
_NEWEST_SEQ = (select(func.max(ClientMutation.seq))
               .where(ClientMutation.client_id == _CLIENT).scalar_subquery())
# two index lookups (the primary key; the phone's newest by ``ix_client_mutation_client_seq``),
# not one scan of the phone's whole history that an OR of the two would make
_READ = union_all(
    select(*ANSWER_COLUMNS, ClientMutation.seq).where(
        ClientMutation.client_id == _CLIENT,
        ClientMutation.mutation_id.in_(bindparam("ids", expanding=True))),
    select(*ANSWER_COLUMNS, ClientMutation.seq).where(
        ClientMutation.client_id == _CLIENT, ClientMutation.seq == _NEWEST_SEQ))
_LAST = (select(ClientMutation.mutation_id)
         .where(ClientMutation.client_id == _CLIENT,
                ClientMutation.staff_id == bindparam("staff_id"))
         .order_by(ClientMutation.seq.desc()).limit(1))
_MAX_SEQ = select(func.max(ClientMutation.seq)).where(ClientMutation.client_id == _CLIENT)


def stored_in(db: Session, client_id: str, ids: list[str]) -> dict[str, Stored]:
    """The stored results of those of ``ids`` this client's log holds, by mutation id."""
    if not ids:
        return {}
    rows = db.connection().execute(_STORED, {"client_id": client_id, "ids": ids}).all()
    return {r.mutation_id: (r.staff_id, result_of(r, replayed=True)) for r in rows}


class LogRead(NamedTuple):
    """What one read of a phone's log found (``read_log``)."""

    stored: dict[str, Stored]  # the entries asked for, by mutation id
    seq: int  # the phone's highest ``seq`` so far (0: none)
    newest: tuple[str, int] | None  # (mutation id, staff id) of that newest entry


def read_log(db: Session, client_id: str, ids: list[str]) -> LogRead:
    """``stored_in`` and the phone's newest entry, in one statement: the rows asked for
    and the phone's newest row."""
    rows = db.connection().execute(_READ, {"client_id": client_id, "ids": ids}).all()
    wanted = set(ids)  # the newest may be among them too: read twice, kept once
    top = max(rows, key=lambda r: r.seq, default=None)
    return LogRead({r.mutation_id: (r.staff_id, result_of(r, replayed=True))
                    for r in rows if r.mutation_id in wanted},
                   top.seq if top is not None else 0,
                   (top.mutation_id, top.staff_id) if top is not None else None)


def max_seq(db: Session, client_id: str) -> int:
    """The phone's highest ``seq`` so far (0: none)."""
    return db.connection().execute(_MAX_SEQ, {"client_id": client_id}).scalar() or 0


def last_applied(db: Session, read: LogRead, client_id: str, staff_id: int) -> str | None:
    """``last_mutation_id`` from a ``read_log``: its newest entry when it is this person's
    (a phone is nearly always one person's), else read."""
    if read.newest is None:
        return None
    if read.newest[1] == staff_id:
        return read.newest[0]
    return last_mutation_id(db, client_id, staff_id)


def last_mutation_id(db: Session, client_id: str, staff_id: int) -> str | None:
    """Replicache's lastMutationID: the newest mutation this client had applied."""
    return db.connection().execute(_LAST, {"client_id": client_id,
                                           "staff_id": staff_id}).scalar()


LOG_INSERT = ClientMutation.__table__.insert()  # type: ignore[attr-defined]
_FORGET = delete(SyncInbox).where(SyncInbox.id.in_(bindparam("inbox_ids", expanding=True)))


def forget(db: Session, inbox_ids: list[int]) -> None:
    """Delete these ``sync_inbox`` rows: their mutations' results are in the log now."""
    if inbox_ids:
        db.connection().execute(_FORGET, {"inbox_ids": inbox_ids})


def log_values(db: Session, user: Any, client_id: str, m: MutationIn, outcome: Outcome,
               now: datetime, seq: int, logged_args: bool = True) -> dict[str, Any]:
    """The mutation's log row as column values, for one INSERT of a whole push
    (``LOG_INSERT``). ``logged_args``: False when the arguments themselves could not be
    stored."""
    job_id = outcome.job_id or job_id_of(m.args)
    return {
        "client_id": client_id[:64], "mutation_id": m.id[:64], "staff_id": user.id,
        "name": clean(m.name)[:32], "args": loggable(m.args) if logged_args else {},
        "device_time": sane_instant(m.device_time), "received_at": now, "seq": seq,
        "result": outcome.status,
        "message": " ".join(msg.render() for msg in outcome.messages)[:2000],
        "fact_id": outcome.fact_id if outcome.status != "rejected" or outcome.flags else None,
        "detail": {"messages": [[msg.msgid, msg.params] for msg in outcome.messages],
                   "flags": outcome.flags},
        # the job page lists it; an unknown job id is kept in args only
        "job_id": job_id if job_id and _is_job(db, job_id) else None,
    }


def _is_job(db: Session, job_id: int) -> bool:
    """Whether the job exists (its action has just read it, nearly always)."""
    if db.identity_map.get(db.identity_key(Job, job_id)) is not None:
        return True
    return db.get(Job, job_id) is not None


def result_of(row: ClientMutation | dict[str, Any], replayed: bool = False) -> Result:
    """A log row (stored, or its values about to be) as the answer to the phone."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    detail = get("detail") or {}
    messages = [Message(msgid, params or {}) for msgid, params in detail.get("messages", [])]
    return Result(get("mutation_id"), get("result"), messages, get("fact_id"), get("job_id"),
                  list(detail.get("flags", [])), replayed)


def owned(stored: Stored, user: Any, m: MutationIn) -> Result:
    staff_id, result = stored
    if staff_id != user.id:  # same ids from someone else: never leak or reuse their result
        return Result(m.id, "rejected", [Message(N_("This action id is already in use."))])
    return result


def loggable(args: Any) -> dict[str, Any]:
    """The arguments as the log keeps them: big values summed up, no NUL (PostgreSQL's
    JSON cannot hold one), nothing that is not JSON."""
    if not isinstance(args, dict):
        return {}

    def tidy(v: Any, depth: int = 0) -> Any:
        if isinstance(v, str):
            return f"<{len(v)} characters>" if len(v) > BIG_ARG else clean(v)
        if isinstance(v, bool) or v is None or isinstance(v, int) and abs(v) < 2**53:
            return v
        if isinstance(v, float):
            return v if v == v and abs(v) != float("inf") else str(v)
        if isinstance(v, list | dict) and depth < 3:
            items = list(v.items() if isinstance(v, dict) else enumerate(v))[:20]
            cleaned = {clean(str(k))[:64]: tidy(x, depth + 1) for k, x in items}
            return cleaned if isinstance(v, dict) else list(cleaned.values())
        return clean(str(v))[:BIG_ARG]

    return {clean(str(k))[:64]: tidy(v) for k, v in list(args.items())[:50]}


def clean(text: Any) -> str:
    return str(text).replace("\x00", "")


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def job_id_of(args: dict[str, Any]) -> int | None:
    try:
        value = int(args.get("job_id"))
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**31 else None
