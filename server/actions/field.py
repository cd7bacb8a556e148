"""What the onsite engineer records at the venue: one function per field action.

Each takes ``(db, staff_id, args, device_time, now, settings)`` and returns an
``Outcome``: applied, flagged (kept and shown to the dispatcher) or rejected (with the
reason for the engineer). The same function runs for a tap that reached the server at
once and for the phone's outbox replayed hours later (architecture promise 4); the
sync layer (``server.sync``) owns the transaction and the exactly-once bookkeeping.

Every fact becomes a ``FieldFact`` whose id is the client-made UUID (D14: never
dropped). When the job changed meanwhile (reassigned, cancelled) the fact is kept and
flagged and nothing else changes (architecture promise 3: the server is the
authority). Clocks stop at the fact's plausible device time (D8c).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import event
from sqlmodel import Session

from server import photos
from server.actions import audit, changes, equipment, fact_queue
from server.actions import sla as clocks
from server.actions.field_args import (  # noqa: F401 - the actions' arguments, named here too
    AcceptArgs,
    CheckInArgs,
    DoneArgs,
    FixNoteArgs,
    JobArgs,
    OnMyWayArgs,
    PhotoArgs,
    SwapArgs,
)
from server.actions.field_flags import for_dispatcher
from server.actions.job_common import unflushed, unflushed_row
from server.actions.jobs import accept_job
from server.actions.requests import release_holds
from server.actions.sign_off_reads import sign_off_finds
from server.domain import field as rules
from server.domain.sla import plausible_fact_time
from server.domain.text import N_, Message
from server.i18n import gettext
from server.models import (
    ACTIVE_JOB_STATUSES,
    FieldFact,
    Job,
    JobStatus,
    Photo,
    RequestStatus,
    SlaClock,
    SlaPause,
    SupportRequest,
    Venue,
)

MAX_PHOTO_BYTES = 2_000_000  # the phone shrinks photos to ~200 KB; this is a safety net
OPEN_REQUEST = (RequestStatus.handed_off, RequestStatus.assigned, RequestStatus.in_progress)

# session.info: job id -> (job, request) for the jobs whose rows this transaction has read
# FOR UPDATE. The sync layer keeps it for one push (server.sync.apply), so twenty
# mutations on one job read its rows once; without it (None) every action reads afresh.
LOCKED_JOBS = "fieldops_locked_jobs"


@event.listens_for(Session, "after_rollback")
def _locks_gone(session: Session) -> None:
    """A rollback, of a savepoint too, may give the row locks back (PostgreSQL releases
    those taken inside a savepoint) and expires what it undid: read the rows again."""
    locked = session.info.get(LOCKED_JOBS)
    if locked:
        locked.clear()


# -- the actions ---------------------------------------------------------------------------


def accept(db: Session, staff_id: int, args: AcceptArgs, device_time: datetime | None,
           now: datetime, settings: Any) -> rules.Outcome:
    ctx = _begin(db, staff_id, args, "accept", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    if not _changed_job(out):
        accept_job(db, staff_id, job.id, fact.effective_at, now, settings)
        out.say(N_("Job accepted."))
    return _keep(db, job, request, fact, out)


def on_my_way(db: Session, staff_id: int, args: OnMyWayArgs, device_time: datetime | None,
              now: datetime, settings: Any) -> rules.Outcome:
    ctx = _begin(db, staff_id, args, "en_route", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    if args.lat is not None and args.lon is not None:
        fact.lat, fact.lon, fact.accuracy_m = args.lat, args.lon, args.accuracy_m
    if not _changed_job(out) and job.status in ACTIVE_JOB_STATUSES:
        _accept_first(db, staff_id, job, fact, now, settings)
        if job.status == JobStatus.accepted:
            job.status = JobStatus.en_route
            _bump(db, job)
            audit.record(db, "job.en_route", staff_id, request_id=request.id, entity="job",
                         entity_id=job.id, at=fact.effective_at, fact_id=fact.id)
        out.say(N_("On your way: the dispatcher can see it."))
    return _keep(db, job, request, fact, out)


def check_in(db: Session, staff_id: int, args: CheckInArgs, device_time: datetime | None,
             now: datetime, settings: Any) -> rules.Outcome:
    """D15: position, accuracy and distance to the venue in one datum; D8c: the arrival
    clock stops at the check-in's device time (the earliest, if two phones checked in)."""
    ctx = _begin(db, staff_id, args, "check_in", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    with unflushed(db, Venue):
        venue = db.get(Venue, request.venue_id) if request.venue_id else None
    radius = float(venue.radius_m if venue and venue.radius_m else settings.venue_radius_m)
    seen = rules.assess_check_in(args.lat, args.lon, args.accuracy_m,
                                 (venue.lat, venue.lon, venue.datum) if venue else None, radius)
    fact.lat, fact.lon, fact.accuracy_m, fact.distance_m = (args.lat, args.lon, args.accuracy_m,
                                                             seen.distance_m)
    fact.data = {"venue": venue.name if venue else request.address, "radius_m": radius}
    if seen.outside:
        out.flag("outside")
    if not _changed_job(out):  # a late check-in on a finished job still dates the arrival
        at = fact.effective_at
        if job.status in ACTIVE_JOB_STATUSES:
            _accept_first(db, staff_id, job, fact, now, settings)
        if job.status in (JobStatus.accepted, JobStatus.en_route):
            job.status = JobStatus.on_site
        job.arrived_at = min(job.arrived_at, at) if job.arrived_at else at
        _bump(db, job)
        if not seen.outside:  # D15: beyond the radius, only the dispatcher's accept stops it
            _stop_at_earliest(db, request.id, "arrival", at)
        audit.record(db, "job.checked_in", staff_id, request_id=request.id, entity="job",
                     entity_id=job.id, at=at, fact_id=fact.id, distance_m=seen.distance_m,
                     outside=seen.outside, flagged="clock" in out.flags)
    if seen.distance_m is None:
        out.say(N_("Checked in."))
    elif seen.outside:
        out.say(N_("Checked in {distance} m from the venue, outside its {radius} m radius."),
                distance=round(seen.distance_m), radius=round(radius))
    else:
        out.say(N_("Checked in {distance} m from the venue."), distance=round(seen.distance_m))
    return _keep(db, job, request, fact, out)


def fix_note(db: Session, staff_id: int, args: FixNoteArgs, device_time: datetime | None,
             now: datetime, settings: Any) -> rules.Outcome:
    ctx = _begin(db, staff_id, args, "fix_note", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    fact.data = {"fault_kind": args.fault_kind, "text": args.text}
    if not _changed_job(out):
        job.notes = (job.notes + "\n" + args.text).strip()[-4000:]
        _bump(db, job, announce=False)  # the fact's own change covers it
    out.say(N_("Fix note saved."))
    return _keep(db, job, request, fact, out)


def photo(db: Session, staff_id: int, args: PhotoArgs, device_time: datetime | None,
          now: datetime, settings: Any) -> rules.Outcome:
    sent = photos.decode(args.image)
    if len(sent) > MAX_PHOTO_BYTES:
        return rules.Outcome().reject(N_("This photo is too large: take it again."))
    content = photos.reencode(sent)  # only pixels Pillow decoded are ever stored (issue 11)
    if content is None:
        return rules.Outcome().reject(N_("This photo could not be read: take it again."))
    content_type = photos.CONTENT_TYPE
    ctx = _begin(db, staff_id, args, "photo", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    fact.data = {"photo_id": fact.id, "content_type": content_type, "bytes": len(content),
                 "sent_bytes": len(sent),
                 "caption": args.caption}
    fact = fact_queue.stored(db, fact)  # the photo points at the fact
    db.add(Photo(id=fact.id, fact_id=fact.id, content_type=content_type, content=content))
    out.say(N_("Photo saved."))
    return _keep(db, job, request, fact, out)


def swap(db: Session, staff_id: int, args: SwapArgs, device_time: datetime | None,
         now: datetime, settings: Any) -> rules.Outcome:
    """D13: the unit out goes to repair, the reserve unit in goes on the order. A swap the
    rules refuse is rejected with the reason, and the report is kept, flagged (D14)."""
    ctx = _begin(db, staff_id, args, "swap", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    fact.data = {"unit_out": args.unit_out, "unit_in": args.unit_in, "reason": args.reason}
    if _changed_job(out):
        out.say(N_("Swap kept as a report: the dispatcher will sort out the units."))
        return _keep(db, job, request, fact, out)
    fact = fact_queue.stored(db, fact)  # the swap's records point at the fact
    try:  # the units move through the equipment actions (issue 15 invariants)
        swapped = equipment.swap_units(db, staff_id, request, args.unit_out, args.unit_in,
                                       args.reason, fact.effective_at, fact.id)
    except equipment.MoveRefused as exc:
        return _refuse_swap(db, job, request, fact, out, exc.message)
    unit_out, unit_in = swapped.unit_out, swapped.unit_in
    if job.status == JobStatus.done:  # reported after the sign-off: the outcome says swapped
        job.outcome = "swapped"
        _bump(db, job)
    out.say(N_("Swap recorded: {unit_out} out to repair, {unit_in} in on the order."),
            unit_out=unit_out.asset_tag, unit_in=unit_in.asset_tag)
    if swapped.spare is not None:
        out.say(N_("Spare unit delivered and swapped in."))
    return _keep(db, job, request, fact, out)


def done(db: Session, staff_id: int, args: DoneArgs, device_time: datetime | None,
         now: datetime, settings: Any) -> rules.Outcome:
    """The customer confirms the stream is back (when a stream is affected): the job is
    done, the request resolved, 'resolution' stops at the device time and 'follow_up'
    starts (D5, D8c)."""
    ctx = _begin(db, staff_id, args, "done", device_time, now, settings)
    if isinstance(ctx, rules.Outcome):
        return ctx
    job, request, fact, out = ctx
    if not args.stream_back and request.stream_state != "none":
        return rules.Outcome(job_id=args.job_id).reject(
            N_("Ask the customer to confirm the stream is back before finishing."))
    # what the sign-off needs to know, in one read before its writes (sign_off_reads)
    finds = sign_off_finds(db, job)
    outcome = "swapped" if finds.swapped else "fixed"
    fact.data = {"customer_name": args.customer_name, "stream_back": args.stream_back,
                 "note": args.note,
                 "outcome": outcome}
    if _changed_job(out):
        return _keep(db, job, request, fact, out)
    if job.status == JobStatus.done:
        out.say(N_("This job was already finished; your sign-off is kept too."))
        return _keep(db, job, request, fact, out)
    at = fact.effective_at
    _accept_first(db, staff_id, job, fact, now, settings)
    resolves = request.status in OPEN_REQUEST
    others = finds.other_jobs if resolves else []
    job.status, job.finished_at, job.outcome = JobStatus.done, at, outcome
    if args.note:
        job.notes = (job.notes + "\n" + args.note).strip()[-4000:]
    _bump(db, job)
    audit.record(db, "job.done", staff_id, request_id=request.id, entity="job", entity_id=job.id,
                 at=at, fact_id=fact.id, outcome=outcome, customer_name=args.customer_name)
    if resolves:
        for other in others:
            other.status, other.finished_at = JobStatus.cancelled, at
            _bump(db, other)
            audit.record(db, "job.cancelled", staff_id, request_id=request.id, entity="job",
                         entity_id=other.id, at=at, assignee_id=other.assignee_id,
                         reason="fixed onsite")
        for kind in ("first_response", "arrival"):
            with unflushed(db, SlaClock, SlaPause, request_id=request.id):
                clocks.stop_clock(db, request.id, kind, at)
        _stop_at_earliest(db, request.id, "resolution", at)
        request.status, request.resolved_at = RequestStatus.resolved, at
        release_holds(db, request.id, staff_id, at,
                      found=(finds.held_units, finds.waiting_spares))
        clocks.start_clock(db, request, "follow_up", at, settings.sla)
        audit.record(db, "request.resolved", staff_id, request_id=request.id, entity="request",
                     entity_id=request.id, at=at, outcome=outcome)
    out.say(N_("Job done: the request is resolved and customer service will follow up."))
    return _keep(db, job, request, fact, out)


# -- shared steps --------------------------------------------------------------------------

Fact = FieldFact | fact_queue.Draft  # a draft in a push's fast path (fact_queue)
Context = tuple[Job, SupportRequest, Fact, rules.Outcome]


def _begin(db: Session, staff_id: int, args: JobArgs, kind: str, device_time: datetime | None,
           now: datetime, settings: Any) -> Context | rules.Outcome:
    """Load the job, make the fact at its plausible time (D8c), flag a changed job (D14)."""
    # Request row first, then the job, as the dispatcher's actions do (jobs._open_request):
    # on PostgreSQL a "done" and a cancel take turns instead of half-applying both.
    locked = db.info.get(LOCKED_JOBS)
    if locked is not None and args.job_id in locked:  # this transaction holds both rows
        job, request = locked[args.job_id]
    else:
        with unflushed_row(db, Job, args.job_id):
            job, request = db.get(Job, args.job_id), None
    if job is None:
        return rules.Outcome().reject(N_("There is no job {job_id}."), job_id=args.job_id)
    refusal = rules.not_yours(job.assignee_id, staff_id, job.kind, kind)
    if refusal is not None:  # not stored, and nothing about the venue said back
        return rules.Outcome().reject(refusal)
    if request is None:
        with unflushed_row(db, SupportRequest, job.request_id):
            request = db.get(SupportRequest, job.request_id, with_for_update=True,
                             populate_existing=True)
        if db.get_bind().dialect.name != "sqlite":  # SQLite locks no row: a re-read adds nothing
            with unflushed_row(db, Job, args.job_id):
                job = db.get(Job, args.job_id, with_for_update=True, populate_existing=True)
        if locked is not None:  # held here too: the session's map keeps objects weakly
            locked[job.id] = (job, request)
    dispatched = job.assigned_at or request.handed_off_at or request.received_at
    at, doubtful = plausible_fact_time(device_time, dispatched, now, settings.sla)
    fact = fact_queue.make(db, id=str(args.fact_id or uuid4()), job_id=job.id,
                           request_id=request.id, author_id=staff_id, kind=kind,
                           device_time=_aware(device_time) or now, effective_at=at,
                           received_at=now, data={})
    out = rules.Outcome(fact_id=fact.id, job_id=job.id)
    change = rules.job_change(job.status, request.status, job.assignee_id, staff_id)
    if change:
        out.flag(change)
    if doubtful:
        out.flag("clock")
    return job, request, fact, out


def _changed_job(out: rules.Outcome) -> bool:
    return any(f in ("cancelled", "reassigned", "not_assignee", "escalated") for f in out.flags)


def _keep(db: Session, job: Job, request: SupportRequest, fact: Fact,
          out: rules.Outcome) -> rules.Outcome:
    """Store the fact with its flags and tell the board and the engineer's phones."""
    fact.flagged = bool(out.flags)
    # For the dispatcher's screens, in the site's language (the codes stay in data.flags).
    fact.flag_reason = "\n".join(for_dispatcher(Message(rules.FLAG_REASONS[f])) for f in out.flags)
    fact.data = dict(fact.data) | ({"flags": list(out.flags)} if out.flags else {})
    fact_queue.keep(db, fact)
    request.version += 1  # loaded in this session (_begin): its change is tracked
    for reason in out.flags:
        if reason != "outside":  # the check-in's own message says how far
            out.say(rules.FLAG_REASONS[reason])
    if out.flags and out.status == "flagged":
        out.say(N_("Kept, and shown to the dispatcher."))
    # The fact reaches the phones of its author and the job's engineer (/sync/pull); the
    # request, every board. A job whose state moved says so itself (_bump).
    changes.changed(db, "fact", fact.id, staff_ids=[fact.author_id, job.assignee_id],
                    request_id=request.id)
    changes.changed(db, "request", request.id, request_id=request.id)
    return out


def _accept_first(db: Session, staff_id: int, job: Job, fact: Fact, now: datetime,
                  settings: Any) -> None:
    """Setting off, checking in or finishing is also the answer to an offer (D8b)."""
    if job.status == JobStatus.offered:
        accept_job(db, staff_id, job.id, fact.effective_at, now, settings)


def _stop_at_earliest(db: Session, request_id: int, kind: str, at: datetime) -> None:
    """D8c: the clock stops when the thing first happened, even if that report came last."""
    with unflushed(db, SlaClock, SlaPause, request_id=request_id):
        clocks.stop_at_earliest(db, request_id, kind, at)


def _bump(db: Session, job: Job, announce: bool = True) -> None:
    job.version += 1  # loaded in this session (_begin): its change is tracked
    if announce:
        changes.changed(db, "job", job.id, staff_ids=[job.assignee_id], request_id=job.request_id)


def _refuse_swap(db: Session, job: Job, request: SupportRequest, fact: Fact,
                 out: rules.Outcome, refusal: Message) -> rules.Outcome:
    params = dict(refusal.params)
    status = params.pop("status", None)
    if status:
        params["status"] = gettext(status)
    refusal = Message(refusal.msgid, params)
    out.flag("swap_refused")
    out.status = "rejected"
    out.messages.append(refusal)
    fact.data = dict(fact.data) | {"refused": [refusal.msgid, params]} | (
        {"refused_status": status} if status else {})  # the unit status code, for any reader's language
    _keep(db, job, request, fact, out)
    if status:
        refusal = Message(refusal.msgid, params | {"status": for_dispatcher(Message(status))})
    fact.flag_reason += "\n" + for_dispatcher(refusal)
    return out


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None or value.utcoffset() is None:
        return None
    return value


__all__ = ["accept", "check_in", "done", "fix_note", "on_my_way", "photo", "swap"]
