"""Rules for what an engineer records at the venue (D13, D14, D15), on plain data.

A field fact is never dropped (D14). These functions only decide how it is taken:
applied, kept but flagged for the dispatcher, or refused with a reason (a swap of a
unit that cannot be swapped in, D13, is refused and still kept as a flagged report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from server.domain.geo import Datum, check_in_flag, distance_to_venue_m, to_wgs84, wgs84_to_gcj02
from server.domain.text import N_, Message

Status = Literal["applied", "flagged", "rejected"]
STATUSES: tuple[Status, ...] = ("applied", "flagged", "rejected")

# The faults S8a names first, then the other usual causes at a venue.
FAULT_KINDS = ("no_power", "signal_lost", "push_failed", "cabling", "settings", "damaged", "other")
FAULT_LABELS = {
    "no_power": N_("Will not power on"),
    "signal_lost": N_("Signal lost"),
    "push_failed": N_("Stream push failing"),
    "cabling": N_("Cabling or connector"),
    "settings": N_("Wrong settings"),
    "damaged": N_("Hardware damaged"),
    "other": N_("Other"),
}

# Why an engineer declines an offered job (it then moves on along the D8b chain).
DECLINE_REASONS = {
    "busy": N_("Busy on another job"),
    "too_far": N_("Too far away"),
    "unwell": N_("Unwell"),
}
# What an engineer at the venue needs when it cannot be fixed there.
CANNOT_FIX_NEEDS = {
    "swap_unit": N_("Needs a swap unit"),
    "second_engineer": N_("Needs a second engineer"),
    "remote_help": N_("Needs remote help"),
}

# Why a fact was flagged; each is a msgid shown to the dispatcher in their language.
FLAG_REASONS = {
    "cancelled": N_("The job was cancelled before this reached the server."),
    "reassigned": N_("The job was given to someone else before this reached the server."),
    "not_assignee": N_("Recorded by someone who is not assigned to this job."),
    "escalated": N_("The job had been handed on before this reached the server."),
    "clock": N_("The phone's clock looked wrong: the server's time was used."),
    "clock_skew": N_("The phone's clock was off: its times were corrected by the server."),
    "outside": N_("Checked in outside the venue's radius."),
    "swap_refused": N_("Swap refused: the report is kept for the dispatcher to resolve."),
}

_CHANGED_JOB = {"cancelled": "cancelled", "reassigned": "reassigned", "escalated": "escalated"}


@dataclass
class Outcome:
    """What became of one field action: a status, the messages for the engineer, flags."""

    status: Status = "applied"
    messages: list[Message] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # keys of FLAG_REASONS
    fact_id: str | None = None
    job_id: int | None = None

    def say(self, msgid: str, **params) -> Outcome:
        self.messages.append(Message(msgid, params))
        return self

    def flag(self, reason: str) -> Outcome:
        if reason not in self.flags:
            self.flags.append(reason)
        if self.status == "applied":
            self.status = "flagged"
        return self

    def reject(self, msgid: str, **params) -> Outcome:
        self.status = "rejected"
        return self.say(msgid, **params)


def job_change(
    job_status: str, request_status: str, assignee_id: int | None, staff_id: int
) -> str | None:
    """D14: why a fact no longer fits its job (it is then kept and flagged), or None."""
    if request_status == "cancelled":
        return "cancelled"
    if job_status in _CHANGED_JOB:
        return _CHANGED_JOB[job_status]
    if assignee_id != staff_id:
        return "not_assignee"
    return None


ONSITE_ONLY = ("check_in", "swap", "photo")  # facts only someone at the venue can record


def not_yours(assignee_id: int | None, staff_id: int, job_kind: str, fact_kind: str) -> str | None:
    """Who may record what, as a msgid refusing it, or None.

    A job that is not the engineer's and never was (each Job row keeps its engineer, also
    after a reassignment) is refused and nothing is kept: a stranger's report would be
    noise, and its answer must not tell them how far they are from a customer's venue. A
    job that *was* theirs goes on to ``job_change`` (kept and flagged, D14). A check-in,
    swap or photo needs someone at the venue: not on a remote engineer's job."""
    if assignee_id != staff_id:
        return N_("This job is not yours: nothing was recorded.")
    if fact_kind in ONSITE_ONLY and job_kind != "onsite":
        return N_("Only the onsite engineer at the venue can record this.")
    return None


@dataclass(frozen=True)
class CheckIn:
    distance_m: float | None
    radius_m: float
    outside: bool


def assess_check_in(
    lat: float,
    lon: float,
    accuracy_m: float | None,
    venue: tuple[float, float, Datum] | None,
    radius_m: float,
) -> CheckIn:
    """D15: distance in one datum; beyond radius + accuracy is accepted but flagged.

    A request without venue coordinates has nothing to compare against: no distance,
    no flag.
    """
    if venue is None:
        return CheckIn(None, radius_m, False)
    distance = distance_to_venue_m(lat, lon, *venue)
    return CheckIn(round(distance, 1), radius_m, check_in_flag(distance, accuracy_m, radius_m))


def navigation_links(lat: float, lon: float, datum: Datum, name: str) -> list[tuple[str, str]]:
    """Open the venue in a map app: AMap and Baidu take GCJ-02, Apple Maps WGS-84."""
    w_lat, w_lon = to_wgs84(lat, lon, datum)
    g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
    label = quote(name)
    return [
        ("amap", f"https://uri.amap.com/navigation?to={g_lon:.6f},{g_lat:.6f},{label}"
                 f"&mode=car&coordinate=gaode&callnative=1"),
        ("baidu", f"https://api.map.baidu.com/direction?destination=latlng:{g_lat:.6f},"
                  f"{g_lon:.6f}|name:{label}&coord_type=gcj02&mode=driving&output=html"
                  f"&src=fieldops"),
        ("apple", f"https://maps.apple.com/?daddr={w_lat:.6f},{w_lon:.6f}&q={label}"),
    ]


def refused_swap_awaits_equipment(kind: str, data: dict | None, resolved_at: object,
                                  resolution: str) -> bool:
    """D13, issue 15: whether a swap refused at sync still waits for the equipment manager,
    who confirms what physically happened (``data['resolution']`` once they have).

    It waits while nobody decided yet, or after the dispatcher handed it to them
    (``resolution == 'equipment'``); a report the dispatcher rejected does not (the
    records stay as they are). ``kind``, ``data``, ``resolved_at``, ``resolution``: the
    fact's fields of those names (``flag_resolved_at``, ``flag_resolution``)."""
    data = data or {}
    if kind != "swap" or not data.get("refused") or "resolution" in data:
        return False
    return resolved_at is None or resolution == "equipment"
