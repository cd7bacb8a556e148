"""A small support team and its rosters, for the roster and team API tests.

Six remote engineers and three onsite engineers in each region, every one qualified
(S8) and trained (S13), plus one newcomer who is not; rosters are filled by the real
CP-SAT solver and written the way the screens write them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from server.domain.roster import Rostered, RosterRules
from server.domain.roster_solver import fill_roster
from server.models import Roster, RosterBackup, Shift, Staff, TrainingRecord
from server.queries.calendar import load_calendar
from tests.conftest import add_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = RosterRules()

TEAM = (
    [(f"r{i}", f"远程{i}", "remote", None) for i in range(1, 7)]
    + [(f"u{i}", f"市区{i}", "onsite", "urban") for i in range(1, 4)]
    + [(f"s{i}", f"郊区{i}", "onsite", "suburban") for i in range(1, 4)]
)


def local(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI)


def train(db: Session, staff: Staff, hours: float = 20, exam: bool | None = True) -> None:
    db.add(TrainingRecord(staff_id=staff.id, kind="onboarding", held_on=date(2025, 3, 1),
                          hours=hours, notes="岗前培训"))  # fmt: skip
    if exam is not None:
        db.add(TrainingRecord(staff_id=staff.id, kind="exam", held_on=date(2025, 3, 8),
                              passed=exam))  # fmt: skip
    db.commit()


def engineer(db: Session, username: str, name: str, group: str, region: str | None,
             qualified: bool = True, **fields) -> Staff:  # fmt: skip
    staff = add_staff(
        db, username, group, display_name=name, group=group, region=region,
        birth_date=fields.pop("birth_date", date(1994, 5, 1)),
        degree=fields.pop("degree", "bachelor"),
        support_experience_months=fields.pop("support_experience_months", 36),
        phone="13800138000", **fields,
    )  # fmt: skip
    if qualified:
        train(db, staff)
    return staff


def make_team(db: Session) -> dict[str, Staff]:
    team = {u: engineer(db, u, n, g, r) for u, n, g, r in TEAM}
    team["newbie"] = engineer(db, "newbie", "新人", "remote", None, qualified=False)
    train(db, team["newbie"], hours=14, exam=None)
    return team


def write_roster(db: Session, month: str, team: dict[str, Staff], status: str = "published",
                 published_at: datetime | None = None) -> Roster:  # fmt: skip
    """Fill ``month`` with the solver for the qualified team and store it."""
    y, m = int(month[:4]), int(month[5:])
    slots = load_calendar(db).month_slots(y, m)
    people = {s.id: Rostered(s.id, s.group, s.region) for k, s in team.items() if k != "newbie"}
    result = fill_roster(slots, people, set(people), {}, RULES, time_limit_s=5)
    assert result.feasible, result.reasons
    roster = Roster(month=month, status=status,
                    published_at=published_at or (datetime(y, m, 1, tzinfo=UTC) - timedelta(days=9)))  # fmt: skip
    db.add(roster)
    db.flush()
    by_key = {s.key: s for s in slots}
    for a in result.assignments:
        slot = by_key[a.slot_key]
        person = people[a.staff_id]
        db.add(Shift(roster_id=roster.id, staff_id=a.staff_id, day=slot.day, kind=slot.kind,
                     starts_at=slot.starts_at, ends_at=slot.ends_at, group=person.group,
                     region=person.region))  # fmt: skip
    for sid in sorted(result.backups):
        db.add(RosterBackup(roster_id=roster.id, staff_id=sid))
    db.commit()
    return roster


def shifts_of(db: Session, staff: Staff, roster: Roster) -> list[Shift]:
    return list(
        db.exec(
            select(Shift)
            .where(Shift.roster_id == roster.id, Shift.staff_id == staff.id)
            .order_by(Shift.starts_at)
        )
    )


def backups_of(db: Session, roster: Roster) -> list[int]:
    return list(db.exec(select(RosterBackup.staff_id).where(RosterBackup.roster_id == roster.id)))
