"""Why a clock ran late (D7, S5): the reason the monthly review lists beside each breach."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from server.actions import ActionError, audit
from server.domain.text import N_
from server.models import SlaClock, SlaRun

REASON_LIMIT = 500


def _checked(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(N_("Write down why the time limit was missed."), "reason")
    if len(reason) > REASON_LIMIT:
        raise ActionError(N_("Keep this under {limit} characters."), "reason", limit=REASON_LIMIT)
    return reason


def explain_breach(db: Session, actor_id: int, clock_id: int, reason: str, now: datetime
                   ) -> SlaClock:
    """Record (or correct) the reason; an empty reason is refused, a clock that met its
    deadline has nothing to explain (the caller shows only breaches)."""
    clock = db.get(SlaClock, clock_id)
    if clock is None:
        raise ActionError(N_("There is no such clock."))
    reason = _checked(reason)
    before, clock.breach_reason = clock.breach_reason, reason
    db.add(clock)
    audit.record(db, "sla.breach_explained", actor_id, request_id=clock.request_id,
                 entity="sla_clock", entity_id=clock.id, at=now, clock=clock.kind,
                 reason=reason, before=before)  # fmt: skip
    return clock


def explain_run_breach(db: Session, actor_id: int, run_id: int, reason: str, now: datetime
                       ) -> SlaRun:
    """The same for an earlier run of a clock that started again (a reopened request, D9)."""
    run = db.get(SlaRun, run_id)
    if run is None:
        raise ActionError(N_("There is no such clock."))
    reason = _checked(reason)
    before, run.breach_reason = run.breach_reason, reason
    db.add(run)
    audit.record(db, "sla.breach_explained", actor_id, request_id=run.request_id,
                 entity="sla_run", entity_id=run.id, at=now, clock=run.kind,
                 reason=reason, before=before)  # fmt: skip
    return run
