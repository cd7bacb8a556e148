from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.qualification import StaffProfile, age_on, eligibility_reasons, is_eligible
from server.domain.roster import RosterRules
from tests.unit.domain.factories import profile

RULES = RosterRules()
TODAY = date(2025, 6, 1)


def msgids(p, today=TODAY, rules=RULES):
    return [m.msgid for m in eligibility_reasons(p, today, rules)]


def test_a_qualified_trained_engineer_is_eligible():
    assert eligibility_reasons(profile(), TODAY, RULES) == []
    assert is_eligible(profile(), TODAY, RULES)


def test_19_5_onboarding_hours_is_not_20():  # S13
    [reason] = eligibility_reasons(profile(onboarding_hours=19.5), TODAY, RULES)
    assert reason.msgid == "Onboarding {hours} h of {required} h"
    assert reason.params == {"hours": 19.5, "required": 20}
    assert reason.render() == "Onboarding 19.5 h of 20 h"


def test_exactly_20_onboarding_hours_is_enough():
    assert eligibility_reasons(profile(onboarding_hours=20), TODAY, RULES) == []


def test_practical_exam_must_be_passed():  # S13
    assert msgids(profile(exam_passed=False)) == ["Practical exam not passed"]


@pytest.mark.parametrize(
    ("today", "eligible"),
    [
        (date(2025, 5, 31), False),  # the day before the 22nd birthday
        (date(2025, 6, 1), True),  # the birthday itself
        (date(2025, 6, 2), True),
    ],
)
def test_age_22_is_reached_on_the_birthday(today, eligible):  # S8
    reasons = eligibility_reasons(profile(birth_date=date(2003, 6, 1)), today, RULES)
    assert (reasons == []) is eligible
    if not eligible:
        assert reasons[0].msgid == "Age {age}, at least {min_age}"
        assert reasons[0].params == {"age": 21, "min_age": 22}


def test_born_on_29_february_turns_a_year_older_on_1_march():
    born = date(2004, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == 21
    assert age_on(born, date(2026, 3, 1)) == 22
    assert age_on(born, date(2028, 2, 29)) == 24


@pytest.mark.parametrize(
    ("degree", "eligible"),
    [
        ("none", False),
        ("high_school", False),
        ("associate", True),
        ("bachelor", True),
        ("master", True),
        ("doctorate", True),
    ],
)
def test_associate_degree_or_higher(degree, eligible):  # S8
    reasons = eligibility_reasons(profile(degree=degree), TODAY, RULES)
    assert (reasons == []) is eligible
    if not eligible:
        assert reasons[0].render() == "Degree below associate"


def test_minimum_degree_is_a_setting():
    rules = RosterRules(min_degree="bachelor")
    assert msgids(profile(degree="associate"), rules=rules) == ["Degree below {min_degree}"]


@pytest.mark.parametrize(("months", "eligible"), [(0, False), (11, False), (12, True), (60, True)])
def test_one_year_of_support_experience(months, eligible):  # S8
    reasons = eligibility_reasons(profile(support_experience_months=months), TODAY, RULES)
    assert (reasons == []) is eligible
    if not eligible:
        assert reasons[0].render() == f"Experience {months} months, at least 12 months"


def test_missing_data_is_reported_as_missing_not_guessed():
    bare = StaffProfile(id="new")
    assert msgids(bare) == [
        "Date of birth not recorded",
        "Degree not recorded",
        "Support experience not recorded",
        "Onboarding {hours} h of {required} h",
        "Practical exam not passed",
    ]


def test_every_reason_is_listed_at_once():
    p = profile(
        birth_date=date(2005, 1, 1),
        degree="high_school",
        support_experience_months=3,
        onboarding_hours=8,
        exam_passed=False,
    )
    assert len(eligibility_reasons(p, TODAY, RULES)) == 5


def test_thresholds_come_from_the_rules():
    rules = RosterRules(min_age=25, min_experience_months=48, min_onboarding_hours=30)
    assert msgids(profile(), rules=rules) == [
        "Experience {months} months, at least {min} months",
        "Onboarding {hours} h of {required} h",
    ]
    assert (
        msgids(profile(birth_date=date(2001, 6, 2)), rules=rules)[0]
        == "Age {age}, at least {min_age}"
    )


def test_unknown_degree_is_refused():
    with pytest.raises(ValueError):
        profile(degree="phd")


def _add_years(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year
        return date(born.year + years, 3, 1)


@given(
    st.dates(min_value=date(1940, 1, 1), max_value=date(2010, 12, 31)),
    st.integers(min_value=0, max_value=80),
)
def test_age_steps_up_exactly_on_each_birthday(born, years):
    birthday = _add_years(born, years)
    assert age_on(born, birthday) == years
    if years:
        assert age_on(born, birthday - timedelta(days=1)) == years - 1
