"""What the roster screens show: a month's grid with every rule checked (S9-S13, D10),
the months and the plain words they are described in, the draft reminder (S10).

Everything here reads; the changes are in ``server.actions``. A month is always judged
by the domain's ``roster_violations`` on the calendar of ``load_calendar`` (the
chinesecalendar package plus the manager's overrides, D2), so the grid, "Fill for me",
publishing and the swap check cannot disagree about a rule. Hours (D16) are in
``roster_hours``, an engineer's own shifts in ``my_shifts``, swaps in ``swaps``, the duty
screen's shifts and absences in ``duty``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from server import i18n
from server.domain import bounds
from server.domain.calendar import SpecialCalendar
from server.domain.roster import (
    Assignment,
    Rostered,
    RosterRules,
    SlotKey,
    Violation,
    draft_overdue,
    draft_reminder_due,
    roster_violations,
)
from server.domain.shifts import ShiftSlot
from server.domain.text import N_, Message
from server.models import (
    Absence,
    DayOffRequest,
    Roster,
    RosterBackup,
    Shift,
    Staff,
)
from server.queries.team import TeamMember, TrainingSummary, team

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
_SLOT_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2}) (night|day)$")


# -- months -----------------------------------------------------------------------------


def parse_month(value: str) -> tuple[int, int] | None:
    """'2026-11' -> (2026, 11); malformed or outside the years of ``bounds`` -> None."""
    return bounds.parse_month(value)


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    k = year * 12 + (month - 1) + n
    return k // 12, k % 12 + 1


def month_of(d: date) -> tuple[int, int]:
    return d.year, d.month


# -- plain words ------------------------------------------------------------------------


def fmt_day(d: date, gettext=None) -> str:
    gettext = gettext or i18n.gettext
    return (
        gettext("{month}/{day}").format(month=d.month, day=d.day)
        + " "
        + gettext(WEEKDAYS[d.weekday()])
    )


def _plain(key: str, value: Any, names: dict, gettext) -> Any:
    if key in ("staff", "backup") or key.endswith(("_staff", "staff_id")):
        return names.get(value, value)
    if isinstance(value, date):
        return fmt_day(value, gettext)
    if isinstance(value, float):
        return f"{value:g}"
    if key in ("kind", "region", "min_degree") and isinstance(value, str):
        return gettext(value)
    if isinstance(value, str):
        m = _SLOT_TEXT.match(value)
        if m:
            return fmt_day(date.fromisoformat(m.group(1)), gettext) + " " + gettext(m.group(2))
    return value


def describe(message: Message | str, names: dict | None = None, locale: str | None = None) -> str:
    """A domain message in plain words: people by name, dates as 12月5日 周六, shift and
    region names translated ("{staff} is not qualified" -> "曹宇 尚不具备排班资格")."""
    gettext = i18n.translations(locale).gettext if locale else i18n.gettext
    if isinstance(message, str):
        return gettext(message)
    names = names or {}
    params = {k: _plain(k, v, names, gettext) for k, v in message.params.items()}
    return gettext(message.msgid).format(**params)


def slot_words(day: date, kind: str, locale: str | None = None) -> str:
    gettext = i18n.translations(locale).gettext if locale else i18n.gettext
    return fmt_day(day, gettext) + " " + gettext(kind)


# -- the month grid ---------------------------------------------------------------------


@dataclass
class DayInfo:
    day: date
    kind: str  # workday | weekend | holiday
    makeup: bool  # a make-up working Saturday/Sunday (调休上班)
    holiday_name: str | None
    kinds: tuple[str, ...]  # the shifts of this date: ("day", "night") or ("night",)


@dataclass
class PoolInfo:
    key: tuple[str, str | None]
    need: int
    members: list[TeamMember]


@dataclass
class MonthView:
    year: int
    month: int
    roster: Roster | None
    calendar: SpecialCalendar
    rules: RosterRules
    today: date
    slots: list[ShiftSlot]
    days: list[DayInfo]
    pools: list[PoolInfo]
    people: dict[int, Rostered]
    names: dict[int, str]
    eligible: set[int]
    reasons: dict[int, list[Message]]
    shifts: dict[tuple[int, SlotKey], Shift]
    backups: set[int]
    days_off: dict[int, set[date]]
    absences: dict[int, Absence]  # by shift id
    violations: list[Violation] = field(default_factory=list)

    @property
    def key(self) -> str:
        return month_key(self.year, self.month)

    @property
    def status(self) -> str:
        return self.roster.status if self.roster else "none"

    @property
    def editable(self) -> bool:
        return self.roster is not None and self.roster.status == "draft"

    @property
    def assignments(self) -> list[Assignment]:
        return [Assignment(sid, k) for sid, k in self.shifts]

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "warning"]

    @property
    def first_shift_starts_at(self) -> datetime:
        return self.slots[0].starts_at

    @property
    def missing_years(self) -> list[int]:
        return self.calendar.missing_years([self.year])

    @property
    def override_count(self) -> int:
        return self.calendar.override_count(self.year)

    def member_list(self) -> list[TeamMember]:
        return [m for p in self.pools for m in p.members]

    def on(self, staff_id: int, day: date, kind: str) -> bool:
        return (staff_id, (day, kind)) in self.shifts

    def shift(self, staff_id: int, day: date, kind: str) -> Shift | None:
        return self.shifts.get((staff_id, (day, kind)))

    def flag(self, staff_id: int, day: date, kind: str) -> str | None:
        return self._flags.get((staff_id, (day, kind)))

    def total(self, staff_id: int) -> int:
        return sum(1 for sid, _k in self.shifts if sid == staff_id)

    def coverage(self, pool: PoolInfo, day: date, kind: str) -> int:
        return self._coverage.get((pool.key, (day, kind)), 0)

    def describe(self, message: Message) -> str:
        return describe(message, self.names)

    def finish(self) -> MonthView:
        """Check every rule (S9, S13, D10, S12) and index the results for the grid."""
        self.violations = roster_violations(
            self.slots, self.assignments, self.people, self.eligible, self.backups, self.rules
        )
        flags: dict[tuple[int, SlotKey], str] = {}
        for v in self.violations:
            if v.staff_id is not None and v.slot_key is not None:
                k = (v.staff_id, v.slot_key)
                if flags.get(k) != "error":
                    flags[k] = v.severity
        self._flags = flags
        coverage: dict[tuple[tuple, SlotKey], int] = defaultdict(int)
        for sid, k in self.shifts:
            person = self.people.get(sid)
            if person is None or sid not in self.eligible:
                continue
            pool = ("remote", None) if person.group == "remote" else ("onsite", person.region)
            coverage[pool, k] += 1
        self._coverage = coverage
        return self


def month_view(
    db: Session,
    year: int,
    month: int,
    calendar: SpecialCalendar,
    rules: RosterRules,
    today: date,
) -> MonthView:
    roster = db.exec(select(Roster).where(Roster.month == month_key(year, month))).first()
    slots = calendar.month_slots(year, month)
    first, last = slots[0].day, slots[-1].day
    by_day: dict[date, list[str]] = defaultdict(list)
    for s in slots:
        by_day[s.day].append(s.kind)
    days = [
        DayInfo(
            d,
            calendar.day_kind(d),
            calendar.is_makeup_workday(d),
            calendar.holiday_name(d),
            tuple(by_day[d]),
        )
        for d in sorted(by_day)
    ]

    shift_rows = list(db.exec(select(Shift).where(Shift.roster_id == roster.id))) if roster else []
    members = team(db, today, rules)
    known = {m.staff.id for m in members}
    extra_ids = {s.staff_id for s in shift_rows} - known
    if extra_ids:  # someone rostered who has since left the team: still shown
        extra = team(db, today, rules, include_inactive=True)
        members += [m for m in extra if m.staff.id in extra_ids]
        for sid in extra_ids - {m.staff.id for m in members}:
            staff = db.get(Staff, sid)
            if staff is not None:
                members.append(TeamMember(staff, TrainingSummary(), []))

    pools: list[PoolInfo] = [PoolInfo(("remote", None), rules.remote_min_per_shift, [])]
    pools += [
        PoolInfo(("onsite", r), rules.onsite_min_per_region_per_shift, []) for r in rules.regions
    ]
    other = PoolInfo(("other", None), 0, [])
    by_key = {p.key: p for p in pools}
    for m in members:
        s = m.staff
        key = ("remote", None) if s.group == "remote" else ("onsite", s.region)
        by_key.get(key, other).members.append(m)
    if other.members:
        pools.append(other)

    people = {
        m.staff.id: Rostered(m.staff.id, m.staff.group, m.staff.region)
        for m in members
        if m.staff.group in ("remote", "onsite")
    }
    eligible = {m.staff.id for m in members if m.eligible and m.staff.active and m.staff.group}
    backups: set[int] = set()
    absences: dict[int, Absence] = {}
    if roster:
        backups = set(
            db.exec(select(RosterBackup.staff_id).where(RosterBackup.roster_id == roster.id))
        )
        ids = [s.id for s in shift_rows]
        if ids:
            for a in db.exec(select(Absence).where(Absence.shift_id.in_(ids))):
                absences[a.shift_id] = a
    days_off: dict[int, set[date]] = defaultdict(set)
    for r in db.exec(
        select(DayOffRequest).where(DayOffRequest.day >= first, DayOffRequest.day <= last)
    ):
        days_off[r.staff_id].add(r.day)

    return MonthView(
        year=year,
        month=month,
        roster=roster,
        calendar=calendar,
        rules=rules,
        today=today,
        slots=slots,
        days=days,
        pools=pools,
        people=people,
        names={m.staff.id: m.staff.display_name for m in members},
        eligible=eligible,
        reasons={m.staff.id: m.reasons for m in members},
        shifts={(s.staff_id, (s.day, s.kind)): s for s in shift_rows},
        backups=backups,
        days_off=dict(days_off),
        absences=absences,
    ).finish()


def draft_reminder(db: Session, today: date, rules: RosterRules) -> dict[str, Any] | None:
    """S10: from the 20th, next month without a draft is shown to the support manager."""
    ny, nm = add_months(today.year, today.month, 1)
    key = month_key(ny, nm)
    has = key in rosters_by_month(db, [key])
    if not draft_reminder_due(today, has, rules):
        return None
    return {"month": key, "overdue": draft_overdue(today, has, rules),
            "deadline": rules.draft_deadline_day}  # fmt: skip


def rosters_by_month(db: Session, keys: list[str]) -> dict[str, Roster]:
    return {r.month: r for r in db.exec(select(Roster).where(Roster.month.in_(keys)))}
