"""Roster speed (issue 6): prints figures, asserts nothing but validity.

1. Validating a month roster of 200 people with ``roster_violations`` (goal: < 100 ms).
2. The same check the way the grid does it after each toggle: ``month_view`` loads the
   staff, training, shifts, days off and backups from a real SQLite file, then checks.
3. "Fill for me" (CP-SAT) for 60 people and a 31-day month with a holiday week and a
   make-up working day, two days off each (goal: a valid, fair roster in < 10 s).

Run: ``.venv/bin/python bench/roster.py``
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session  # noqa: E402

from server.db import make_engine  # noqa: E402
from server.domain.calendar import SpecialCalendar  # noqa: E402
from server.domain.roster import Assignment, Rostered, RosterRules, roster_violations  # noqa: E402
from server.domain.roster_solver import fill_roster  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.models import Roster, RosterBackup, Shift, Staff, StaffRole, TrainingRecord  # noqa: E402
from server.queries import roster as rq  # noqa: E402
from server.queries.calendar import load_calendar  # noqa: E402

RULES = RosterRules()
CAL = SpecialCalendar()
YEAR, MONTH = 2026, 10  # 31 days; National Day 1-8 October; make-up working days 10 Oct


def team(remote: int, urban: int, suburban: int) -> dict[int, Rostered]:
    people, n = {}, 0
    for count, group, region in ((remote, "remote", None), (urban, "onsite", "urban"),
                                 (suburban, "onsite", "suburban")):  # fmt: skip
        for _ in range(count):
            n += 1
            people[n] = Rostered(n, group, region)
    return people


def busy_roster(slots, people, per_person: int, seed: int = 7) -> list[Assignment]:
    """About ``per_person`` shifts each, spread at random: a big, realistic, messy month."""
    rng = random.Random(seed)
    out = set()
    for sid in people:
        for slot in rng.sample(slots, per_person):
            out.add(Assignment(sid, slot.key))
    return sorted(out)


def timed(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return times, result


def pct(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bench_validate() -> None:
    slots = CAL.month_slots(YEAR, MONTH)
    people = team(100, 50, 50)
    assignments = busy_roster(slots, people, per_person=9)
    eligible = set(list(people)[:-6])  # a few not qualified: more to report
    backups = {1, 101, 151, 2}
    times, violations = timed(
        lambda: roster_violations(slots, assignments, people, eligible, backups, RULES), 50
    )
    print(f"validate 200 people, {len(slots)} special-period shifts, {len(assignments)} assignments "
          f"({len(violations)} violations found):")  # fmt: skip
    print(f"  roster_violations  median {statistics.median(times):6.1f} ms   "
          f"p95 {pct(times, .95):6.1f} ms   max {max(times):6.1f} ms   (goal < 100 ms)")  # fmt: skip


def bench_month_view() -> None:
    """What one toggle in the grid costs on the server: load everything, check every rule."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        people = team(100, 50, 50)
        slots = CAL.month_slots(YEAR, MONTH)
        assignments = busy_roster(slots, people, per_person=9)
        with Session(engine) as db:
            ids = {}
            for sid, p in people.items():
                s = Staff(username=f"e{sid}", password_hash="x", display_name=f"工程师{sid}",
                          group=p.group, region=p.region, birth_date=date(1994, 1, 1),
                          degree="bachelor", support_experience_months=30)  # fmt: skip
                db.add(s)
                db.flush()
                ids[sid] = s.id
                db.add(StaffRole(staff_id=s.id, role=p.group))
                db.add(TrainingRecord(staff_id=s.id, kind="onboarding", held_on=date(2025, 1, 1),
                                      hours=20))  # fmt: skip
                db.add(TrainingRecord(staff_id=s.id, kind="exam", held_on=date(2025, 1, 8),
                                      passed=True))  # fmt: skip
            roster = Roster(month=rq.month_key(YEAR, MONTH), status="draft")
            db.add(roster)
            db.flush()
            by_key = {s.key: s for s in slots}
            for a in assignments:
                slot, p = by_key[a.slot_key], people[a.staff_id]
                db.add(Shift(roster_id=roster.id, staff_id=ids[a.staff_id], day=slot.day,
                             kind=slot.kind, starts_at=slot.starts_at, ends_at=slot.ends_at,
                             group=p.group, region=p.region))  # fmt: skip
            for sid in (1, 101, 151):
                db.add(RosterBackup(roster_id=roster.id, staff_id=ids[sid]))
            db.commit()
        today = date(2026, 9, 20)
        with Session(engine) as db:
            cal = load_calendar(db)
            times, view = timed(lambda: rq.month_view(db, YEAR, MONTH, cal, RULES, today), 20)
        engine.dispose()
    print(f"grid check after a toggle (month_view on SQLite: load 200 people, training, "
          f"{len(view.shifts)} shifts, then every rule):")  # fmt: skip
    print(f"  month_view         median {statistics.median(times):6.1f} ms   "
          f"p95 {pct(times, .95):6.1f} ms   max {max(times):6.1f} ms")  # fmt: skip


def bench_fill() -> None:
    slots = CAL.month_slots(YEAR, MONTH)
    people = team(30, 15, 15)
    rng = random.Random(3)
    days = sorted({s.day for s in slots})
    days_off = {p: set(rng.sample(days, 2)) for p in people}
    runs = []
    for seed in range(3):
        t = time.perf_counter()
        result = fill_roster(slots, people, set(people), days_off, RULES, seed=seed,
                             time_limit_s=8.0)  # fmt: skip
        runs.append((time.perf_counter() - t, result))
    print(f"fill for me: 60 people (30 remote, 15 urban, 15 suburban), {len(slots)} special-period shifts "
          f"in {YEAR}-{MONTH:02d} (holiday week, make-up day), 2 days off each:")  # fmt: skip
    for seconds, result in runs:
        errors = [v for v in roster_violations(slots, result.assignments, people, set(people),
                                               result.backups, RULES) if v.severity == "error"]  # fmt: skip
        warnings = len(roster_violations(slots, result.assignments, people, set(people),
                                         result.backups, RULES)) - len(errors)  # fmt: skip
        off_kept = all(
            a.slot_key[0] not in days_off[a.staff_id] for a in result.assignments
        )
        counts = Counter(a.staff_id for a in result.assignments)
        spread = {}
        for name, members in (("remote", range(1, 31)), ("urban", range(31, 46)),
                              ("suburban", range(46, 61))):  # fmt: skip
            loads = [counts[p] for p in members]
            spread[name] = f"{min(loads)}-{max(loads)}"
        nights = Counter(a.staff_id for a in result.assignments if a.slot_key[1] == "night")
        print(f"  {seconds:5.2f} s  status {result.status:<8} shifts {len(result.assignments)}  "
              f"errors {len(errors)} warnings {warnings}  days off kept {off_kept}  "
              f"shifts per person {spread}  most nights {max(nights.values())}  "
              f"backups {len(result.backups)}")  # fmt: skip


if __name__ == "__main__":
    started = datetime.now(UTC)
    bench_validate()
    bench_month_view()
    bench_fill()
    print(f"(total {(datetime.now(UTC) - started).total_seconds():.1f} s)")
