"""Roster rules: who may be on which special-period shift, and when a roster may change.

Every number comes from ``RosterRules`` (domain.md: D-rules are settings, never constants).
The checks return ``Violation``/``Message`` values instead of raising, so the roster screen
can show every problem at once and the "Fill for me" solver can be verified by the very
same rules it was built from.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from server.domain.shifts import ShiftKind, ShiftSlot
from server.domain.text import N_, Message

StaffId = int | str
SlotKey = tuple[date, ShiftKind]
Group = Literal["remote", "onsite"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class RosterRules:
    """Administrator settings for rosters and staff qualification (S8-S13, D10)."""

    remote_min_per_shift: int = 2  # S9
    onsite_min_per_region_per_shift: int = 1  # S9
    regions: tuple[str, ...] = ("urban", "suburban")  # S9
    max_consecutive_nights_warning: int = 3  # D10: more than this in a row is a warning
    backups_min: int = 3  # S12
    backups_max: int = 5  # S12
    swap_min_days: int = 5  # S11
    publish_min_days: int = 3  # S10
    draft_deadline_day: int = 25  # S10
    reminder_from_day: int = 20  # S10
    min_age: int = 22  # S8
    min_degree: str = "associate"  # S8
    min_experience_months: int = 12  # S8
    min_onboarding_hours: float = 20  # S13


@dataclass(frozen=True)
class Rostered:
    """A person as the roster sees them: remote, or onsite in one service region."""

    staff_id: StaffId
    group: Group
    region: str | None = None


@dataclass(frozen=True, order=True)
class Assignment:
    staff_id: StaffId
    slot_key: SlotKey


@dataclass(frozen=True)
class Violation:
    """One problem in a roster. Errors block publishing (S10); warnings only inform."""

    code: str
    severity: Severity
    message: Message
    slot_key: SlotKey | None = None
    staff_id: StaffId | None = None


@dataclass(frozen=True)
class HoursSplit:
    """Hours worked in a month by pay category (D16)."""

    weekday_nights: float = 0.0
    weekend_days: float = 0.0  # rest days: weekends and a holiday block's other days off
    holidays: float = 0.0  # the 13 statutory days only

    @property
    def total(self) -> float:
        return self.weekday_nights + self.weekend_days + self.holidays


class SwapError(ValueError):
    """A swap that cannot even be expressed (the person is not on that shift)."""

    def __init__(self, message: Message):
        super().__init__(message.render())
        self.message = message


def _error(code, msgid, slot_key=None, staff_id=None, **params) -> Violation:
    return Violation(code, "error", Message(msgid, params), slot_key, staff_id)


def _warning(code, msgid, slot_key=None, staff_id=None, **params) -> Violation:
    return Violation(code, "warning", Message(msgid, params), slot_key, staff_id)


def roster_violations(
    slots: Sequence[ShiftSlot],
    assignments: Iterable[Assignment],
    people: Mapping[StaffId, Rostered],
    eligible: set[StaffId],
    backups: set[StaffId],
    rules: RosterRules,
) -> list[Violation]:
    """Every rule a month's roster breaks, errors first in slot order.

    Coverage counts only eligible people of the right group and region: an ineligible
    person on a shift is reported (S13) *and* leaves the shift short, because nobody
    qualified is there. Work is indexed by slot and by person, so the cost grows with
    the number of assignments, not with its square.
    """
    by_key = {slot.key: slot for slot in slots}
    on_slot: dict[SlotKey, list[StaffId]] = defaultdict(list)
    by_person: dict[StaffId, list[ShiftSlot]] = defaultdict(list)
    out: list[Violation] = []

    for a in dict.fromkeys(assignments):  # the same assignment twice is one assignment
        slot = by_key.get(a.slot_key)
        if slot is None:
            out.append(
                _error(
                    "unknown_slot",
                    N_("No special-period shift {day} {kind}"),
                    a.slot_key,
                    a.staff_id,
                    day=a.slot_key[0],
                    kind=a.slot_key[1],
                )
            )
            continue
        if a.staff_id not in people:
            out.append(
                _error(
                    "unknown_person",
                    N_("{staff} is not in the support team"),
                    a.slot_key,
                    a.staff_id,
                    staff=a.staff_id,
                )
            )
            continue
        if a.staff_id not in eligible:  # S13
            out.append(
                _error(
                    "not_eligible",
                    N_("{staff} is not qualified to be rostered"),
                    a.slot_key,
                    a.staff_id,
                    staff=a.staff_id,
                )
            )
        on_slot[a.slot_key].append(a.staff_id)
        by_person[a.staff_id].append(slot)

    for slot in sorted(slots):
        out.extend(_coverage(slot, on_slot.get(slot.key, ()), people, eligible, rules))
    for staff_id, worked in by_person.items():
        out.extend(_overlaps(staff_id, worked))
        out.extend(_night_runs(staff_id, worked, rules))
    out.extend(_backup_violations(backups, eligible, rules))
    out.sort(key=lambda v: v.severity != "error")  # stable: keeps slot order within each
    return out


def _coverage(slot, staff_ids, people, eligible, rules) -> list[Violation]:
    """S9: at least N remote on duty and M onsite on standby in every region."""
    remote = 0
    onsite: dict[str, int] = defaultdict(int)
    for staff_id in staff_ids:
        person = people[staff_id]
        if staff_id not in eligible:
            continue
        if person.group == "remote":
            remote += 1
        elif person.region is not None:
            onsite[person.region] += 1
    out = []
    if remote < rules.remote_min_per_shift:
        out.append(
            _error(
                "remote_coverage",
                N_("{day} {kind}: {count} remote staff on duty, at least {required}"),
                slot.key,
                day=slot.day,
                kind=slot.kind,
                count=remote,
                required=rules.remote_min_per_shift,
            )
        )
    for region in rules.regions:
        if onsite[region] < rules.onsite_min_per_region_per_shift:
            out.append(
                _error(
                    "onsite_coverage",
                    N_(
                        "{day} {kind}: {count} onsite staff on standby in {region}, at least {required}"
                    ),
                    slot.key,
                    day=slot.day,
                    kind=slot.kind,
                    region=region,
                    count=onsite[region],
                    required=rules.onsite_min_per_region_per_shift,
                )
            )
    return out


def _overlaps(staff_id, worked: list[ShiftSlot]) -> list[Violation]:
    """D10: never two overlapping shifts; back to back (a 24 h stint) is a warning.

    Sorted by start, a shift overlaps an earlier one exactly when it starts before the
    latest end seen so far, so one pass finds every overlapping shift.
    """
    out = []
    latest: ShiftSlot | None = None
    for slot in sorted(worked, key=lambda s: (s.starts_at, s.ends_at)):
        if latest is not None and slot.starts_at < latest.ends_at:
            out.append(
                _error(
                    "overlap",
                    N_("{staff} is on two overlapping shifts: {first} and {second}"),
                    slot.key,
                    staff_id,
                    staff=staff_id,
                    first=f"{latest.day} {latest.kind}",
                    second=f"{slot.day} {slot.kind}",
                )
            )
        elif latest is not None and slot.starts_at == latest.ends_at:
            out.append(
                _warning(
                    "back_to_back",
                    N_("{staff} works {first} and {second} back to back"),
                    slot.key,
                    staff_id,
                    staff=staff_id,
                    first=f"{latest.day} {latest.kind}",
                    second=f"{slot.day} {slot.kind}",
                )
            )
        if latest is None or slot.ends_at > latest.ends_at:
            latest = slot
    return out


def _night_runs(staff_id, worked: list[ShiftSlot], rules) -> list[Violation]:
    """D10: one warning per run of nights longer than the limit, on its first extra night."""
    runs: list[list[date]] = []
    for day in sorted({s.day for s in worked if s.kind == "night"}):
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    limit = rules.max_consecutive_nights_warning
    return [
        _warning(
            "consecutive_nights",
            N_("{staff} works {count} nights in a row from {first}; more than {max} is a warning"),
            (run[limit], "night"),
            staff_id,
            staff=staff_id,
            count=len(run),
            first=run[0],
            max=limit,
        )
        for run in runs
        if len(run) > limit
    ]


def _backup_violations(backups, eligible, rules) -> list[Violation]:
    """S12: 3-5 backups a month, each one allowed to step in (S13)."""
    out = []
    if not rules.backups_min <= len(backups) <= rules.backups_max:
        out.append(
            _error(
                "backups_count",
                N_("{count} backup staff; a month needs {min} to {max}"),
                count=len(backups),
                min=rules.backups_min,
                max=rules.backups_max,
            )
        )
    for staff_id in sorted(backups, key=str):
        if staff_id not in eligible:
            out.append(
                _error(
                    "backup_not_eligible",
                    N_("Backup {staff} is not qualified to be rostered"),
                    staff_id=staff_id,
                    staff=staff_id,
                )
            )
    return out


def swap_check(
    shift_starts_at: datetime, requested_at: datetime, rules: RosterRules
) -> Message | None:
    """S11: a swap is asked for at least 5 x 24 h before the shift starts; None means allowed."""
    if shift_starts_at - requested_at < timedelta(days=rules.swap_min_days):
        return Message(
            N_("A swap must be requested at least {days} days before the shift"),
            {"days": rules.swap_min_days},
        )
    return None


def publish_check(
    first_shift_starts_at: datetime,
    now: datetime,
    violations: Iterable[Violation],
    rules: RosterRules,
) -> list[Message]:
    """S10: publish only an error-free roster, at least 3 x 24 h before its first shift."""
    out = []
    errors = sum(1 for v in violations if v.severity == "error")
    if errors:
        out.append(
            Message(N_("The roster has {count} errors to fix before publishing"), {"count": errors})
        )
    if first_shift_starts_at - now < timedelta(days=rules.publish_min_days):
        out.append(
            Message(
                N_("A roster must be published at least {days} days before its first shift"),
                {"days": rules.publish_min_days},
            )
        )
    return out


def draft_reminder_due(today: date, next_month_has_draft: bool, rules: RosterRules) -> bool:
    """S10: remind the support manager from the 20th until next month's draft exists."""
    return not next_month_has_draft and today.day >= rules.reminder_from_day


def draft_overdue(today: date, next_month_has_draft: bool, rules: RosterRules) -> bool:
    """S10: "before the 25th" is read as "by the end of the 25th"; overdue from the 26th."""
    return not next_month_has_draft and today.day > rules.draft_deadline_day


def apply_swap(
    assignments: Iterable[Assignment],
    from_staff: StaffId,
    to_staff: StaffId,
    slot_key: SlotKey,
) -> list[Assignment]:
    """The roster as it would be after the swap, for ``roster_violations`` to judge (S11).

    Only the shape is checked here; whether the result is a good roster is the rules' job.
    """
    before = list(assignments)
    old = Assignment(from_staff, slot_key)
    if old not in before:
        raise SwapError(
            Message(
                N_("{staff} is not on the shift {day} {kind}"),
                {"staff": from_staff, "day": slot_key[0], "kind": slot_key[1]},
            )
        )
    new = Assignment(to_staff, slot_key)
    if new in before:
        raise SwapError(
            Message(
                N_("{staff} is already on the shift {day} {kind}"),
                {"staff": to_staff, "day": slot_key[0], "kind": slot_key[1]},
            )
        )
    return [new if a == old else a for a in before]


def pay_category(slot: ShiftSlot) -> str:
    """D16: a shift is paid by the kind of the date it starts on.

    The night of Friday 1 May (a statutory holiday) is holiday pay even though it ends on
    Saturday; the night of Sunday is rest-day pay even though it ends on a working Monday;
    the night of a make-up working Saturday (调休上班) is a weekday night. Only the 13
    statutory days are 'holidays'; the other days off of a holiday block (its weekend,
    moved rest days) are rest days ('weekend_days'). One rule, no split nights, so every
    shift lands in exactly one column.
    """
    if slot.statutory:
        return "holidays"
    return "weekday_nights" if slot.day_kind == "workday" else "weekend_days"


def hours_report(
    slots: Sequence[ShiftSlot], assignments: Iterable[Assignment]
) -> dict[StaffId, HoursSplit]:
    """D16: hours per person, split by pay category (see ``pay_category``).

    Hours come from each slot's own interval (14 for a night, 10 for a day). Assignments
    to shifts that do not exist are left out: ``roster_violations`` reports them.
    """
    by_key = {slot.key: slot for slot in slots}
    totals: dict[StaffId, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for a in dict.fromkeys(assignments):
        slot = by_key.get(a.slot_key)
        if slot is not None:
            totals[a.staff_id][pay_category(slot)] += slot.hours
    return {staff_id: HoursSplit(**split) for staff_id, split in totals.items()}
