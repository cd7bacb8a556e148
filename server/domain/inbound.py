"""Rules for inbound contacts and the customer's status link (D18, D19). Plain data only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.text import N_

AUTO_REPLY = "已收到，技术支持将在 10 分钟内联系您"  # issue 17: the immediate reply, in Chinese
CLOSE_REASONS = ("not_a_request", "duplicate", "spam", "resolved_on_call", "other")
CLOSE_REASON_LABELS = {
    "not_a_request": N_("Not a support request"),
    "duplicate": N_("Duplicate of another contact"),
    "spam": N_("Spam or wrong number"),
    "resolved_on_call": N_("Answered at once, nothing to dispatch"),
    "other": N_("Other reason"),
}


def auto_reply(request_number: str | None) -> str:
    """The reply to every customer message: names the request once there is one."""
    if request_number:
        return f"{AUTO_REPLY}（需求单号 {request_number}）"
    return AUTO_REPLY


@dataclass(frozen=True)
class ContactClock:
    """S4/D18: the 10-minute handoff clock runs from the contact's arrival."""

    age_seconds: int
    due_at: datetime
    state: str  # running | warning | breached


def contact_clock(received_at: datetime, now: datetime, handoff_minutes: int,
                  warn_fraction: float) -> ContactClock:
    due = received_at + timedelta(minutes=handoff_minutes)
    age = max(0, int((now - received_at).total_seconds()))
    if now >= due:
        state = "breached"
    elif age >= handoff_minutes * 60 * warn_fraction:
        state = "warning"
    else:
        state = "running"
    return ContactClock(age, due, state)


def alerts_due(received_at: datetime, now: datetime, agents_alerted: bool, lead_alerted: bool,
               agent_minutes: int, lead_minutes: int) -> tuple[bool, bool]:
    """(alert the agents now, alert the on-duty lead now), each fired once (D18)."""
    age = now - received_at
    return (not agents_alerted and age >= timedelta(minutes=agent_minutes),
            not lead_alerted and age >= timedelta(minutes=lead_minutes))


def mask_phone(phone: str | None) -> str:
    """13812345678 -> 138****5678; short numbers keep only their last two digits."""
    digits = (phone or "").strip()
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return digits


# D19: the stage in plain words for the customer (Chinese msgids live in the catalog).
STAGES = ("received", "assigned", "on_the_way", "arrived", "remote", "done", "closed",
          "cancelled")
STAGE_LABELS = {
    "received": N_("We have your request and are finding an engineer"),
    "assigned": N_("An engineer has been assigned"),
    "remote": N_("An engineer is helping you remotely"),
    "on_the_way": N_("The engineer is on the way"),
    "arrived": N_("The engineer has arrived"),
    "done": N_("Fixed: please tell us how we did"),
    "closed": N_("Your request is closed. Thank you!"),
    "cancelled": N_("Cancelled"),
}
# The same stages as steps of the page's progress list (done or not yet, so no "please").
STEP_LABELS = {
    "received": N_("Request received"),
    "assigned": N_("Engineer assigned"),
    "on_the_way": N_("Engineer on the way"),
    "arrived": N_("Engineer arrived"),
    "done": N_("Fixed"),
}


def customer_stage(request_status: str, job_kind: str | None, job_status: str | None) -> str:
    if request_status == "cancelled":
        return "cancelled"
    if request_status == "closed":
        return "closed"
    if request_status == "resolved":
        return "done"
    if job_status == "on_site":
        return "arrived"
    if job_status == "en_route":
        return "on_the_way"
    if job_status == "accepted" and job_kind == "remote":
        return "remote"
    if job_status in ("offered", "accepted"):
        return "assigned"
    return "received"


def eta_minutes(distance_m: float, speed_kmh: float = 30.0, minimum: int = 5) -> int:
    """A rough driving estimate from the straight-line distance: city roads wind (x1.4)
    and average about 30 km/h at night. Rounded up to 5 minutes; never below ``minimum``."""
    minutes = distance_m * 1.4 / (speed_kmh * 1000 / 60)
    return max(minimum, int(math.ceil(minutes / 5.0) * 5))


def link_expires_at(closed_at: datetime | None, hours_after_close: int) -> datetime | None:
    """D19: a status link works until the request closed + 24 h; None while it is open."""
    return closed_at + timedelta(hours=hours_after_close) if closed_at else None
