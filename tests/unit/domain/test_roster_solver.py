import random
import time
from collections import Counter
from datetime import date

import pytest

from server.domain.roster import Assignment, RosterRules, roster_violations
from server.domain.roster_solver import fill_roster
from tests.unit.domain.factories import month_slots, team

RULES = RosterRules()
# June 2025: 30 days, starts on a Sunday; 2 June is the Dragon Boat holiday.
JUNE = month_slots(2025, 6, holidays={date(2025, 6, 2)})
# May 2025: 31 days, 1-5 May is the Labour Day holiday.
MAY = month_slots(2025, 5, holidays={date(2025, 5, d) for d in range(1, 6)})


def some_days_off(people, per_person, seed=1, year=2025, month=6):
    rng = random.Random(seed)
    return {p: {date(year, month, rng.randint(1, 28)) for _ in range(per_person)} for p in people}


def solve(slots=JUNE, people=None, eligible=None, days_off=None, **kwargs):
    people = people if people is not None else team()
    eligible = eligible if eligible is not None else set(people)
    kwargs.setdefault("time_limit_s", 5)
    return fill_roster(slots, people, eligible, days_off or {}, RULES, **kwargs)


def per_person(result, prefix):
    counts = Counter(a.staff_id for a in result.assignments)
    return [counts[p] for p in team() if p.startswith(prefix)]


@pytest.fixture(scope="module")
def demo():
    """The demo team: 12 remote, 6 urban and 6 suburban onsite, two days off each."""
    people = team()
    days_off = some_days_off(people, 2)
    return people, days_off, solve(people=people, days_off=days_off)


def test_demo_team_gets_a_roster_with_no_violations_at_all(demo):
    people, _, result = demo
    assert result.feasible, result.reasons
    assert result.reasons == []
    # errors and warnings: the solver's hard rules are stricter than the warnings
    assert (
        roster_violations(JUNE, result.assignments, people, set(people), result.backups, RULES)
        == []
    )


def test_every_shift_gets_exactly_the_minimum(demo):  # S9, kept fair
    people, _, result = demo
    for slot in JUNE:
        on = Counter(
            (people[a.staff_id].group, people[a.staff_id].region)
            for a in result.assignments
            if a.slot_key == slot.key
        )
        assert on == {("remote", None): 2, ("onsite", "urban"): 1, ("onsite", "suburban"): 1}


def test_days_off_are_respected(demo):
    _, days_off, result = demo
    assert not [a for a in result.assignments if a.slot_key[0] in days_off[a.staff_id]]


def test_shifts_are_shared_evenly_within_each_pool(demo):
    _, _, result = demo
    for prefix in "rus":
        counts = per_person(result, prefix)
        assert max(counts) - min(counts) <= 1, (prefix, counts)


def test_nights_and_weekends_are_spread(demo):
    people, _, result = demo
    kinds = {s.key: s for s in JUNE}
    nights = Counter(a.staff_id for a in result.assignments if a.slot_key[1] == "night")
    weekends = Counter(
        a.staff_id for a in result.assignments if kinds[a.slot_key].day_kind == "weekend"
    )
    remote = [p for p in people if p.startswith("r")]
    assert max(nights[p] for p in remote) == 5  # 60 remote nights / 12 people
    assert max(weekends[p] for p in remote) <= 3  # 36 remote weekend shifts / 12 people


def test_backups_are_eligible_light_and_cover_every_pool(demo):  # S12
    _, _, result = demo
    assert RULES.backups_min <= len(result.backups) <= RULES.backups_max
    assert {b[0] for b in result.backups} == {"r", "u", "s"}
    load = Counter(a.staff_id for a in result.assignments)
    for backup in result.backups:
        assert load[backup] == min(per_person(result, backup[0]))


def test_the_callers_backups_are_kept():
    result = solve(backups={"r01", "r02", "u01", "s01"})
    assert result.backups == {"r01", "r02", "u01", "s01"}


def test_only_eligible_people_are_rostered():  # S13
    people = team(remote=14, urban=7, suburban=7)
    eligible = set(people) - {"r13", "r14", "u07", "s07"}
    result = solve(people=people, eligible=eligible)
    assert result.feasible
    assert {a.staff_id for a in result.assignments} <= eligible
    assert not result.backups - eligible


def test_fixed_assignments_are_kept_even_on_a_day_off():
    key = (date(2025, 6, 14), "day")
    fixed = [Assignment("r03", key), Assignment("u02", key)]
    result = solve(days_off={"r03": {date(2025, 6, 14)}}, fixed=fixed)
    assert result.feasible
    assert set(fixed) <= set(result.assignments)


def test_a_fixed_extra_person_raises_that_shift_above_the_minimum():
    key = (date(2025, 6, 10), "night")
    fixed = [Assignment(p, key) for p in ("r01", "r02", "r03")]
    result = solve(fixed=fixed)
    assert result.feasible
    assert sorted(
        a.staff_id for a in result.assignments if a.slot_key == key and a.staff_id[0] == "r"
    ) == ["r01", "r02", "r03"]


def test_a_fixed_assignment_nobody_can_hold_is_explained():
    result = solve(
        eligible=set(team()) - {"r01"}, fixed=[Assignment("r01", (date(2025, 6, 10), "night"))]
    )
    assert not result.feasible
    assert result.reasons[0].msgid == "{staff} is kept on {day} {kind} but cannot be rostered"


# --- infeasible months are explained


def test_one_suburban_engineer_cannot_cover_a_month():
    result = solve(people=team(suburban=1))
    assert not result.feasible and result.status == "precheck"
    assert result.assignments == []
    assert {m.params.get("region") for m in result.reasons} == {"suburban"}
    rendered = [m.render() for m in result.reasons]
    assert (
        "Only 1 eligible suburban onsite staff: covering every night would put someone "
        "on more than 3 nights in a row"
    ) in rendered


def test_one_suburban_engineer_for_nights_only_is_refused_for_the_nights_in_a_row():
    weekdays_only = [s for s in JUNE if s.day_kind == "workday"]  # still has 5 nights in a row
    result = solve(slots=weekdays_only, people=team(suburban=1))
    [reason] = result.reasons
    assert reason.params == {"region": "suburban", "n": 1, "max": 3}


def test_no_suburban_engineer_at_all():
    [reason] = solve(people=team(suburban=0)).reasons
    assert reason.render() == "Only 0 eligible suburban onsite staff; each shift needs 1"


def test_too_few_remote_engineers_for_a_weekend_day_and_its_night():
    [reason] = solve(people=team(remote=3)).reasons
    assert reason.render() == (
        "Only 3 eligible remote staff; a day with a day and a night shift needs 4 different people"
    )


def test_a_date_where_too_many_are_off_is_named():
    days_off = {f"s0{i}": {date(2025, 6, 14)} for i in range(1, 6)}  # a Saturday
    [reason] = solve(days_off=days_off).reasons
    assert (
        reason.render()
        == "On 2025-06-14 only 1 suburban onsite staff are available; the shifts need 2"
    )


def test_when_only_the_solver_can_tell_it_says_so_plainly():
    # Two suburban engineers; one is off all week, so the other would work 5 nights in a row.
    days_off = {"s01": {date(2025, 6, d) for d in range(9, 14)}}
    result = solve(people=team(suburban=2), days_off=days_off)
    assert not result.feasible and result.status == "infeasible"
    [reason] = result.reasons
    assert reason.msgid.startswith("No roster meets every rule")


# --- speed


def test_60_people_over_31_days_in_well_under_10_seconds():
    people = team(remote=30, urban=15, suburban=15)
    days_off = some_days_off(people, 4, month=5)
    started = time.perf_counter()
    result = fill_roster(MAY, people, set(people), days_off, RULES, time_limit_s=8)
    elapsed = time.perf_counter() - started
    print(f"fill 60 people x 31 days: {elapsed:.2f} s ({result.status})")
    assert result.feasible
    assert (
        roster_violations(MAY, result.assignments, people, set(people), result.backups, RULES) == []
    )
    assert elapsed < 10


# -- "Fill for me" keeping the shifts already placed (issue 13) ------------------------------


def test_fill_goes_around_kept_shifts_even_four_nights_in_a_row():
    """Four nights in a row is a warning (D10), not a reason to refuse the whole fill."""
    kept = [Assignment("u01", (date(2025, 6, d), "night")) for d in (9, 10, 11, 12)]
    result = solve(fixed=kept)
    assert result.feasible, [m.msgid for m in result.reasons]
    assert set(kept) <= set(result.assignments)


def test_kept_shifts_that_block_the_fill_are_named():
    """Two urban engineers, both kept on the night before a weekend day: nobody urban is
    left for that day (they would work two shifts in a row); the kept shifts are named."""
    people = team(urban=2)
    sat = date(2025, 6, 7)  # a Saturday: it has a day shift
    kept = [Assignment("u01", (date(2025, 6, 6), "night")), Assignment("u02", (date(2025, 6, 6), "night"))]
    result = solve(people=people, fixed=kept)
    assert not result.feasible
    named = {(m.params["staff"], m.params["day"]) for m in result.reasons}
    assert named and named <= {("u01", date(2025, 6, 6)), ("u02", date(2025, 6, 6))}
    assert all("kept shift" in m.msgid for m in result.reasons)
    assert sat.weekday() == 5
