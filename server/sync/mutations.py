"""The onsite engineer's field actions, as mutations the phone can queue offline."""

from __future__ import annotations

from server.actions import field, field_reports
from server.domain.text import N_
from server.sync.registry import register

ENGINEER = ("onsite", "remote")
ONSITE = ("onsite",)  # at the venue: a remote engineer never checks in, swaps or photographs

register("accept", field.AcceptArgs, field.accept, ENGINEER, N_("Accept"))
register("on_my_way", field.OnMyWayArgs, field.on_my_way, ENGINEER, N_("On my way"))
register("check_in", field.CheckInArgs, field.check_in, ONSITE, N_("Check in"))
register("fix_note", field.FixNoteArgs, field.fix_note, ENGINEER, N_("Fix note"))
register("photo", field.PhotoArgs, field.photo, ONSITE, N_("Photo"))
register("swap", field.SwapArgs, field.swap, ONSITE, N_("Device swap"))
register("done", field.DoneArgs, field.done, ENGINEER, N_("Done"))
register("decline", field_reports.DeclineArgs, field_reports.decline, ENGINEER, N_("Decline"))
register("cannot_fix", field_reports.CannotFixArgs, field_reports.cannot_fix, ONSITE,
         N_("Cannot fix here"))
