"""Who may be rostered at all: the staff qualifications of S8 and the training of S13.

``eligibility_reasons`` lists every reason at once, so the support manager sees the whole
gap for a person (e.g. "Onboarding 19.5 h of 20 h" and "Practical exam not passed")
rather than fixing one thing only to meet the next.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from server.domain.roster import RosterRules, StaffId
from server.domain.text import N_, Message

Degree = Literal["none", "high_school", "associate", "bachelor", "master", "doctorate"]

# Ranked lowest first; S8 asks for "associate degree or higher" (大专及以上).
DEGREES: tuple[str, ...] = ("none", "high_school", "associate", "bachelor", "master", "doctorate")


@dataclass(frozen=True)
class StaffProfile:
    """What the staff profile records for S8/S13; None means not recorded yet."""

    id: StaffId
    birth_date: date | None = None
    degree: Degree | None = None
    support_experience_months: int | None = None
    onboarding_hours: float = 0.0
    exam_passed: bool = False

    def __post_init__(self):
        if self.degree is not None and self.degree not in DEGREES:
            raise ValueError(f"unknown degree {self.degree!r}")


def age_on(birth_date: date, today: date) -> int:
    """Whole years of age; a person turns N on their birthday.

    Someone born on 29 February turns N on 1 March in a common year (the day after
    28 February), which is the cautious reading for a minimum age.
    """
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def eligibility_reasons(profile: StaffProfile, today: date, rules: RosterRules) -> list[Message]:
    """Why this person may not be rostered yet; an empty list means eligible (S8, S13).

    Missing data is a reason of its own: nobody is rostered on an unknown age, degree or
    experience, and the message says what to fill in rather than guessing.
    """
    reasons: list[Message] = []

    if profile.birth_date is None:  # S8
        reasons.append(Message(N_("Date of birth not recorded")))
    else:
        age = age_on(profile.birth_date, today)
        if age < rules.min_age:
            reasons.append(
                Message(N_("Age {age}, at least {min_age}"), {"age": age, "min_age": rules.min_age})
            )

    if profile.degree is None:  # S8
        reasons.append(Message(N_("Degree not recorded")))
    elif DEGREES.index(profile.degree) < DEGREES.index(rules.min_degree):
        reasons.append(Message(N_("Degree below {min_degree}"), {"min_degree": rules.min_degree}))

    months = profile.support_experience_months
    if months is None:  # S8
        reasons.append(Message(N_("Support experience not recorded")))
    elif months < rules.min_experience_months:
        reasons.append(
            Message(
                N_("Experience {months} months, at least {min} months"),
                {"months": months, "min": rules.min_experience_months},
            )
        )

    if profile.onboarding_hours < rules.min_onboarding_hours:  # S13: 19.5 h is not 20 h
        reasons.append(
            Message(
                N_("Onboarding {hours} h of {required} h"),
                {"hours": profile.onboarding_hours, "required": rules.min_onboarding_hours},
            )
        )
    if not profile.exam_passed:  # S13
        reasons.append(Message(N_("Practical exam not passed")))
    return reasons


def is_eligible(profile: StaffProfile, today: date, rules: RosterRules) -> bool:
    return not eligibility_reasons(profile, today, rules)
