"""The onsite engineer's field actions, as mutations the phone can queue offline."""

from __future__ import annotations

from server.actions import field
from server.domain.text import N_
from server.sync.registry import register

ENGINEER = ("onsite", "remote")

register("accept", field.AcceptArgs, field.accept, ENGINEER, N_("Accept"))
register("on_my_way", field.OnMyWayArgs, field.on_my_way, ENGINEER, N_("On my way"))
register("check_in", field.CheckInArgs, field.check_in, ENGINEER, N_("Check in"))
register("fix_note", field.FixNoteArgs, field.fix_note, ENGINEER, N_("Fix note"))
register("photo", field.PhotoArgs, field.photo, ENGINEER, N_("Photo"))
register("swap", field.SwapArgs, field.swap, ENGINEER, N_("Device swap"))
register("done", field.DoneArgs, field.done, ENGINEER, N_("Done"))
