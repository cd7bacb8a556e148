import time
from dataclasses import fields
from datetime import UTC, date, timedelta

import pytest

from server.domain.roster import (
    Assignment,
    HoursSplit,
    RosterRules,
    SwapError,
    Violation,
    apply_swap,
    draft_overdue,
    draft_reminder_due,
    hours_report,
    publish_check,
    roster_violations,
    swap_check,
)
from server.domain.shifts import ShiftSlot
from server.domain.text import Message
from tests.unit.domain.factories import at, day_shift, month_slots, night, team

RULES = RosterRules()
# June 2025: starts on a Sunday; 2 June is the Dragon Boat holiday.
SLOTS = month_slots(2025, 6, holidays={date(2025, 6, 2)})
PEOPLE = team()
EVERYONE = set(PEOPLE)
BACKUPS = {"r01", "u01", "s01"}
SPARE = "r12"  # on no shift in rotation(): tests put them where they want


def rotation(slots=SLOTS, people=PEOPLE) -> list[Assignment]:
    """A valid roster: each pool takes turns, so nobody is on adjacent shifts."""
    pools = {pre: sorted(p for p in people if p.startswith(pre) and p != SPARE) for pre in "rus"}
    out = []
    for i, slot in enumerate(sorted(slots)):
        for staff_id in (
            pools["r"][(2 * i) % len(pools["r"])],
            pools["r"][(2 * i + 1) % len(pools["r"])],
            pools["u"][i % len(pools["u"])],
            pools["s"][i % len(pools["s"])],
        ):
            out.append(Assignment(staff_id, slot.key))
    return out


def check(assignments, slots=SLOTS, people=PEOPLE, eligible=EVERYONE, backups=BACKUPS):
    return roster_violations(slots, assignments, people, eligible, backups, RULES)


def codes(violations: list[Violation]) -> list[str]:
    return [v.code for v in violations]


def without(assignments, staff_id, key):
    return [a for a in assignments if a != Assignment(staff_id, key)]


def on(slot_key, assignments=None):
    return [a.staff_id for a in (assignments or rotation()) if a.slot_key == slot_key]


def test_defaults_are_the_numbers_of_domain_md():
    assert {f.name: getattr(RULES, f.name) for f in fields(RULES)} == {
        "remote_min_per_shift": 2,
        "onsite_min_per_region_per_shift": 1,
        "regions": ("urban", "suburban"),
        "max_consecutive_nights_warning": 3,
        "backups_min": 3,
        "backups_max": 5,
        "swap_min_days": 5,
        "publish_min_days": 3,
        "draft_deadline_day": 25,
        "reminder_from_day": 20,
        "min_age": 22,
        "min_degree": "associate",
        "min_experience_months": 12,
        "min_onboarding_hours": 20,
    }


def test_a_full_rotation_has_no_violations():
    assert check(rotation()) == []


# --- coverage (S9)


def test_a_missing_remote_engineer_is_a_coverage_gap():
    key = (date(2025, 6, 10), "night")
    [v] = check(without(rotation(), on(key)[0], key))
    assert (v.code, v.severity, v.slot_key) == ("remote_coverage", "error", key)
    assert v.message.params["count"] == 1
    assert v.message.params["required"] == 2


def test_each_region_needs_its_own_onsite_standby():
    key = (date(2025, 6, 7), "day")
    suburban = [p for p in on(key) if p.startswith("s")][0]
    [v] = check(without(rotation(), suburban, key))
    assert v.code == "onsite_coverage"
    assert v.message.params["region"] == "suburban"
    assert v.message.render() == "2025-06-07 day: 0 onsite staff on standby in suburban, at least 1"


def test_an_extra_person_from_another_region_does_not_cover():
    key = (date(2025, 6, 7), "day")
    suburban = [p for p in on(key) if p.startswith("s")][0]
    roster = [*without(rotation(), suburban, key), Assignment("u06", key)]
    assert "onsite_coverage" in codes(check(roster))


def test_an_empty_roster_reports_every_shift():
    gaps = check([])
    assert len(gaps) == len(SLOTS) * 3  # remote, urban, suburban on every shift


def test_regions_are_a_setting():
    rules = RosterRules(regions=("urban",))
    people = {k: v for k, v in PEOPLE.items() if not k.startswith("s")}
    roster = [a for a in rotation() if not a.staff_id.startswith("s")]
    assert roster_violations(SLOTS, roster, people, set(people), {"r01", "r02", "u01"}, rules) == []


# --- who may be rostered (S13)


def test_an_ineligible_person_is_flagged_and_does_not_count():
    key = (date(2025, 6, 3), "night")
    person = on(key)[0]
    violations = check(rotation(), eligible=EVERYONE - {person})
    not_eligible = [v for v in violations if v.code == "not_eligible"]
    assert {v.staff_id for v in not_eligible} == {person}
    assert key in {v.slot_key for v in not_eligible}
    assert key in {v.slot_key for v in violations if v.code == "remote_coverage"}


def test_an_unknown_person_or_shift_is_an_error():
    roster = [
        *rotation(),
        Assignment("x99", (date(2025, 6, 3), "night")),
        Assignment("r01", (date(2025, 6, 3), "day")),
    ]  # a Tuesday has no day shift
    violations = check(roster)
    assert codes(violations) == ["unknown_person", "unknown_slot"]
    assert violations[1].message.render() == "No special-period shift 2025-06-03 day"


def test_the_same_assignment_twice_counts_once():
    key = (date(2025, 6, 10), "night")
    first = on(key)[0]
    roster = [*without(rotation(), on(key)[1], key), Assignment(first, key)]
    assert codes(check(roster)) == ["remote_coverage"]


# --- overlapping shifts and nights in a row (D10)


def test_overlapping_shifts_compare_real_intervals():
    d = date(2025, 6, 7)
    long_day = ShiftSlot(d, "day", at(d, 8), at(d, 20), "weekend")  # runs into the night
    slots = [long_day, night(d, "weekend")]
    roster = [Assignment("r01", long_day.key), Assignment("r01", (d, "night"))]
    violations = roster_violations(slots, roster, PEOPLE, EVERYONE, BACKUPS, RULES)
    [overlap] = [v for v in violations if v.code == "overlap"]
    assert (overlap.severity, overlap.staff_id, overlap.slot_key) == ("error", "r01", (d, "night"))


def test_a_long_shift_overlapping_a_later_one_is_found_past_a_short_one():
    d = date(2025, 6, 7)
    slots = [
        ShiftSlot(d, "day", at(d, 8), at(d, 23), "weekend"),
        ShiftSlot(d, "night", at(d, 18), at(d, 19), "weekend"),
    ]
    roster = [Assignment("r01", s.key) for s in slots]
    assert "overlap" in codes(roster_violations(slots, roster, PEOPLE, EVERYONE, BACKUPS, RULES))


@pytest.mark.parametrize(
    "keys",
    [
        [(date(2025, 6, 7), "day"), (date(2025, 6, 7), "night")],  # 08-18 then 18-08
        [(date(2025, 6, 6), "night"), (date(2025, 6, 7), "day")],  # 18-08 then 08-18
    ],
)
def test_back_to_back_shifts_do_not_overlap_but_are_a_24h_warning(keys):
    violations = check(rotation() + [Assignment(SPARE, k) for k in keys])
    assert codes(violations) == ["back_to_back"]
    assert violations[0].severity == "warning"
    assert violations[0].slot_key == keys[1]


def _nights_for(staff_id, first_day, count):
    """The rotation plus staff_id as an extra remote on `count` nights from first_day."""
    return rotation() + [
        Assignment(staff_id, (first_day + timedelta(days=i), "night")) for i in range(count)
    ]


def test_three_nights_in_a_row_are_fine():
    assert check(_nights_for(SPARE, date(2025, 6, 9), 3)) == []


def test_a_fourth_night_in_a_row_is_a_warning():
    [v] = check(_nights_for(SPARE, date(2025, 6, 9), 4))
    assert (v.code, v.severity, v.staff_id) == ("consecutive_nights", "warning", SPARE)
    assert v.slot_key == (date(2025, 6, 12), "night")
    assert v.message.params["count"] == 4
    assert v.message.params["first"] == date(2025, 6, 9)


def test_a_long_run_of_nights_is_one_warning_with_its_length():
    [v] = check(_nights_for(SPARE, date(2025, 6, 9), 6))
    assert v.message.params["count"] == 6


# --- backups (S12)


@pytest.mark.parametrize(
    ("backups", "ok"),
    [
        ({"r01", "u01"}, False),
        ({"r01", "u01", "s01"}, True),
        ({"r01", "r02", "u01", "u02", "s01"}, True),
        ({"r01", "r02", "u01", "u02", "s01", "s02"}, False),
    ],
)
def test_a_month_has_three_to_five_backups(backups, ok):
    violations = check(rotation(), backups=backups)
    assert codes(violations) == ([] if ok else ["backups_count"])
    if not ok:
        assert violations[0].message.params == {"count": len(backups), "min": 3, "max": 5}


def test_a_backup_must_be_eligible():
    [v] = check(rotation(), backups={"r01", "u01", "x1"})
    assert (v.code, v.staff_id) == ("backup_not_eligible", "x1")


def test_errors_come_before_warnings():
    roster = _nights_for(SPARE, date(2025, 6, 9), 4)
    violations = check(roster, backups={"r02"})
    assert [v.severity for v in violations] == ["error", "warning"]


# --- swaps (S11)


def test_a_swap_exactly_five_days_ahead_is_allowed():
    starts = at(date(2025, 6, 10), 18)
    assert swap_check(starts, starts - timedelta(days=5), RULES) is None


def test_a_swap_four_days_23_hours_ahead_is_refused():
    starts = at(date(2025, 6, 10), 18)
    message = swap_check(starts, starts - timedelta(days=4, hours=23), RULES)
    assert message == Message(
        "A swap must be requested at least {days} days before the shift", {"days": 5}
    )


def test_swap_notice_is_measured_between_instants_in_any_time_zone():
    starts = at(date(2025, 6, 10), 18)  # 10:00 UTC
    assert swap_check(starts, (starts - timedelta(days=5)).astimezone(UTC), RULES) is None
    assert swap_check(starts, (starts - timedelta(days=5, seconds=-1)).astimezone(UTC), RULES)


def test_apply_swap_replaces_one_person_on_one_shift():
    key = (date(2025, 6, 10), "night")
    before = rotation()
    giver = on(key)[0]
    after = apply_swap(before, giver, SPARE, key)
    assert Assignment(SPARE, key) in after and Assignment(giver, key) not in after
    assert len(after) == len(before)
    assert Assignment(giver, key) in before  # the input is untouched


def test_a_swapped_roster_is_judged_by_the_same_rules():
    key = (date(2025, 6, 7), "night")
    neighbour = on((date(2025, 6, 7), "day"))[0]  # already on the day shift before it
    after = apply_swap(rotation(), on(key)[0], neighbour, key)
    assert "back_to_back" in codes(check(after))


def test_apply_swap_refuses_what_cannot_be_swapped():
    key = (date(2025, 6, 10), "night")
    present = on(key)[0]
    with pytest.raises(SwapError) as not_there:
        apply_swap(rotation(), SPARE, "r05", key)
    assert not_there.value.message.msgid == "{staff} is not on the shift {day} {kind}"
    with pytest.raises(SwapError):
        apply_swap(rotation(), present, on(key)[1], key)


# --- publishing and drafting (S10)


def test_publishing_exactly_three_days_ahead_is_allowed():
    first = at(date(2025, 7, 1), 0)
    assert publish_check(first, first - timedelta(days=3), [], RULES) == []


def test_publishing_two_days_23_hours_ahead_is_refused():
    first = at(date(2025, 7, 1), 0)
    [m] = publish_check(first, first - timedelta(days=2, hours=23), [], RULES)
    assert m.render() == "A roster must be published at least 3 days before its first shift"


def test_a_roster_with_errors_cannot_be_published_but_warnings_may_stand():
    first = at(date(2025, 7, 1), 0)
    now = first - timedelta(days=10)
    error = Violation("remote_coverage", "error", Message("x"))
    warning = Violation("consecutive_nights", "warning", Message("y"))
    [m] = publish_check(first, now, [error, error, warning], RULES)
    assert m.params == {"count": 2}
    assert publish_check(first, now, [warning], RULES) == []
    assert len(publish_check(first, first, [error], RULES)) == 2


@pytest.mark.parametrize(
    ("day", "has_draft", "due", "overdue"),
    [
        (19, False, False, False),
        (20, False, True, False),
        (25, False, True, False),
        (26, False, True, True),
        (26, True, False, False),
        (22, True, False, False),
    ],
)
def test_draft_reminder_from_the_20th_until_a_draft_exists(day, has_draft, due, overdue):
    today = date(2025, 6, day)
    assert draft_reminder_due(today, has_draft, RULES) is due
    assert draft_overdue(today, has_draft, RULES) is overdue


# --- hours (D16)


def test_hours_are_split_by_the_kind_of_the_date_a_shift_starts_on():
    slots = [
        night(date(2025, 6, 3), "workday"),  # Tuesday
        night(date(2025, 6, 6), "workday"),  # Friday: ends on Saturday, still a weekday night
        day_shift(date(2025, 6, 7), "weekend"),
        night(date(2025, 6, 8), "weekend"),  # Sunday: ends on a working Monday
        night(date(2025, 6, 2), "holiday"),
        day_shift(date(2025, 6, 2), "holiday"),
        night(date(2025, 4, 27), "workday"),  # make-up working Sunday (调休上班)
    ]
    roster = [Assignment("r01", s.key) for s in slots] + [Assignment("r02", slots[2].key)]
    report = hours_report(slots, roster)
    assert report["r01"] == HoursSplit(weekday_nights=42, weekend_days=24, holidays=24)
    assert report["r01"].total == 90
    assert report["r02"] == HoursSplit(weekend_days=10)


def test_hours_ignore_unknown_shifts_and_duplicates():
    slots = [night(date(2025, 6, 3))]
    roster = [Assignment("r01", slots[0].key)] * 2 + [
        Assignment("r01", (date(2025, 6, 4), "night"))
    ]
    assert hours_report(slots, roster) == {"r01": HoursSplit(weekday_nights=14)}


def test_a_month_of_hours_adds_up():
    report = hours_report(SLOTS, rotation())
    nights, days = 30, sum(1 for s in SLOTS if s.kind == "day")
    assert sum(h.total for h in report.values()) == 4 * (14 * nights + 10 * days)


# --- speed


def test_200_people_over_31_days_validate_well_under_100_ms():
    slots = month_slots(2025, 7)
    people = team(remote=120, urban=40, suburban=40)
    roster = rotation(slots, people)
    # everyone also on every 6th shift from their own offset: about 8 shifts each
    ordered = sorted(slots)
    roster += [
        Assignment(p, ordered[k].key)
        for i, p in enumerate(sorted(people))
        for k in range(i % 6, len(ordered), 6)
    ]
    best = min(
        _timed(lambda: roster_violations(slots, roster, people, set(people), BACKUPS, RULES))
        for _ in range(3)
    )
    print(f"validate 200 people x 31 days, {len(roster)} assignments: {best * 1000:.1f} ms")
    assert best < 0.1


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
