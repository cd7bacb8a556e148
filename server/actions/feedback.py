"""The closed loop's last step: the customer's feedback at follow-up (S6, S7, D9).

A resolved request is closed only with the customer's answer, or with a recorded reason
why none was possible (S6). A dissatisfied (score < 4) or unresolved answer reopens it
(D9): back to technical service with a running resolution clock. The 'follow_up' clock
stops in every case, so a request that has been followed up never breaches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.actions import ActionError, FieldErrors, audit, changes
from server.actions import sla as clocks
from server.domain.text import N_, Message
from server.models import RequestStatus, SupportRequest
from server.models.feedback import Feedback

SATISFIED_FROM = 4  # D9: scored 4-5 of 5
COMMENT_LIMIT = 2000


def record_feedback(
    db: Session,
    actor_id: int | None,
    request_id: int,
    *,
    reached: bool,
    score: int | None,
    resolved: bool | None,
    comment: str,
    no_feedback_reason: str,
    now: datetime,
    settings: Any,
    via: str = "agent",
) -> Feedback:
    """Record the answer; close the request or reopen it. Saves nothing on bad input.

    ``actor_id`` is the agent who asked, or None when the customer answered on their
    private link (``via='link'``, server.actions.feedback_link): one path either way.
    """
    request = db.get(SupportRequest, request_id)
    if request is None:
        raise ActionError(N_("There is no request {request_id}."), request_id=request_id)
    if request.status != RequestStatus.resolved:
        raise ActionError(N_("Only a resolved request waits for the customer's feedback."))
    comment, reason = (comment or "").strip(), (no_feedback_reason or "").strip()
    errors: dict[str, Message] = {}
    if reached:
        if score is None or not 1 <= score <= 5:
            errors["score"] = Message(N_("Choose a score from 1 to 5."))
        if resolved is None:
            errors["resolved"] = Message(N_("Ask whether the fault is fixed."))
    elif not reason:
        errors["no_feedback_reason"] = Message(
            N_("Say why no feedback was possible (for example: no answer after three calls)."))
    if len(comment) > COMMENT_LIMIT:
        errors["comment"] = Message(N_("Keep this under {limit} characters."),
                                    {"limit": COMMENT_LIMIT})
    if len(reason) > COMMENT_LIMIT:
        errors["no_feedback_reason"] = Message(N_("Keep this under {limit} characters."),
                                               {"limit": COMMENT_LIMIT})
    if errors:
        raise FieldErrors(errors)

    feedback = Feedback(
        request_id=request.id, recorded_by=actor_id, via=via, recorded_at=now, reached=reached,
        score=score if reached else None, resolved=resolved if reached else None,
        comment=comment, no_feedback_reason="" if reached else reason,
    )
    db.add(feedback)
    db.flush()
    clocks.stop_clock(db, request.id, "follow_up", now)
    audit.record(db, "feedback.recorded", actor_id, request_id=request.id, entity="feedback",
                 entity_id=feedback.id, at=now, via=via, reached=reached, score=feedback.score,
                 resolved=feedback.resolved, comment=comment, reason=feedback.no_feedback_reason)
    if not reached:
        request.status, request.closed_at = RequestStatus.closed, now
        request.close_reason = reason
        audit.record(db, "request.closed", actor_id, request_id=request.id, entity="request",
                     entity_id=request.id, at=now, reason=reason, feedback_id=feedback.id)
    elif score >= SATISFIED_FROM and resolved:
        request.status, request.closed_at, request.close_reason = RequestStatus.closed, now, ""
        audit.record(db, "request.closed", actor_id, request_id=request.id, entity="request",
                     entity_id=request.id, at=now, score=score, feedback_id=feedback.id)
    else:
        # D9: back to technical service; the board shows it again with a fresh resolution clock.
        request.status, request.resolved_at = RequestStatus.handed_off, None
        clocks.start_clock(db, request, "resolution", now, settings.sla)
        audit.record(db, "request.reopened", actor_id, request_id=request.id, entity="request",
                     entity_id=request.id, at=now, score=score, resolved=resolved,
                     feedback_id=feedback.id)
    request.version += 1
    db.add(request)
    changes.changed(db, "request", request.id, request_id=request.id)
    return feedback
