"""The background loop's D8b tick: move every overdue, unaccepted job one step on.

Each job gets its own savepoint, so one refusal does not hold back the others, and each
step is taken at most once whatever the number of server processes
(``server.actions.ack_chain.advance``: a conditional UPDATE on ``Job.ack_step``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.actions import ActionError
from server.actions.ack_chain import advance, overdue_jobs
from server.jobs.loop import register_tick

log = logging.getLogger(__name__)


@register_tick
def ack_chain(db: Session, now: datetime, settings: Any) -> int:
    """Answers how many steps this process took."""
    taken = 0
    for job_id in overdue_jobs(db, now, settings.sla):
        try:
            with db.begin_nested():
                taken += advance(db, job_id, now, settings) is not None
        except ActionError as exc:
            log.warning("ack chain: job %s not moved on: %s", job_id, exc)
    return taken
