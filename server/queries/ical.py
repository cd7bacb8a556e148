"""My shifts as an iCalendar feed (RFC 5545) that a phone calendar subscribes to."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlmodel import Session, select

from server import i18n
from server.models import Absence, Roster, Shift, Staff

PAST_DAYS = 60


def _summary(shift: Shift, gettext, covering: bool) -> str:
    if shift.group == "remote":
        where = gettext("Remote on duty")
    else:
        where = gettext("Onsite standby") + (f" · {gettext(shift.region)}" if shift.region else "")
    text = f"{gettext(shift.kind)} · {where}"
    return f"{text} ({gettext('backup')})" if covering else text


def feed(db: Session, staff: Staff, now: datetime, base_url: str = "") -> bytes:
    """Every published shift of mine from two months back on; an absence cancels the
    event (so the phone removes it) and a shift taken over as a backup is added."""
    gettext = i18n.translations(staff.locale).gettext
    since = now - timedelta(days=PAST_DAYS)
    cal = Calendar()
    cal.add("prodid", "-//FieldOps//Night support roster//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"FieldOps · {staff.display_name}")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")

    own = db.exec(
        select(Shift, Absence)
        .join(Roster, Roster.id == Shift.roster_id)
        .join(Absence, Absence.shift_id == Shift.id, isouter=True)
        .where(Roster.status == "published", Shift.staff_id == staff.id, Shift.ends_at > since)
    ).all()
    covering = db.exec(
        select(Shift)
        .join(Absence, Absence.shift_id == Shift.id)
        .where(Absence.covered_by == staff.id, Shift.ends_at > since)
    ).all()
    rows = [(s, a, False) for s, a in own] + [(s, None, True) for s in covering]
    for shift, absence, cover in sorted(rows, key=lambda r: r[0].starts_at):
        event = Event()
        event.add("uid", f"shift-{shift.id}{'-cover' if cover else ''}@fieldops")
        event.add("dtstamp", now)
        event.add("dtstart", shift.starts_at)
        event.add("dtend", shift.ends_at)
        event.add("summary", _summary(shift, gettext, cover))
        if base_url:
            event.add("url", f"{base_url}/my/shifts")
        if absence is not None:
            event.add("status", "CANCELLED")
            event.add("description", gettext("You were reported unable to work this shift."))
        else:
            event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()
