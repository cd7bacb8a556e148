"""'Fill for me': a fair month roster from a constraint solver (OR-Tools CP-SAT).

The hard rules are the ones ``roster_violations`` checks, so a filled roster has no
errors by construction (S9, S13, D10); on top of them it never puts anyone on more than
3 nights in a row (a warning for a hand-made roster, a hard limit here) nor on two shifts
back to back (a 24 h stint), and it respects days off. Among the rosters that meet
them, it prefers the fairest: the same number of shifts for everyone in a pool, and
nights, weekends and holidays spread out.

Where a month cannot be filled, plain-word reasons are found *before* solving (too few
people in a region, a day where too many are off, too few people to rotate nights), so
the support manager learns what to change, not just that the solver gave up.
"""

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from ortools.sat.python import cp_model

from server.domain.roster import Assignment, Rostered, RosterRules, SlotKey, StaffId
from server.domain.shifts import ShiftSlot
from server.domain.text import N_, Message

Pool = tuple[str, str | None]  # ("remote", None) or ("onsite", region)

# Objective weights: an even number of shifts first, then the spread of hard shifts.
_TOTAL_SPREAD_WEIGHT = 10
_CATEGORY_MAX_WEIGHT = 1


@dataclass
class SolveResult:
    """What 'Fill for me' found.

    ``feasible`` says the shifts could be filled; ``reasons`` explains why not, and may
    also hold a note when fewer eligible people than S12 asks for are left for backups.
    """

    assignments: list[Assignment]
    backups: set[StaffId]
    feasible: bool
    reasons: list[Message] = field(default_factory=list)
    status: str = ""
    wall_time_s: float = 0.0


def _pools(
    people: Mapping[StaffId, Rostered], eligible: set[StaffId], rules: RosterRules
) -> dict[Pool, list[StaffId]]:
    """Eligible people by the coverage they count for (S9, S13)."""
    pools: dict[Pool, list[StaffId]] = {("remote", None): []}
    pools.update({("onsite", region): [] for region in rules.regions})
    for staff_id in sorted(people, key=str):
        person = people[staff_id]
        pool = ("remote", None) if person.group == "remote" else ("onsite", person.region)
        if staff_id in eligible and pool in pools:
            pools[pool].append(staff_id)
    return pools


def _need(pool: Pool, rules: RosterRules) -> int:
    return (
        rules.remote_min_per_shift if pool[0] == "remote" else rules.onsite_min_per_region_per_shift
    )


def _msg(pool: Pool, remote_msgid: str, onsite_msgid: str, **params) -> Message:
    if pool[0] == "remote":
        return Message(remote_msgid, params)
    return Message(onsite_msgid, {"region": pool[1], **params})


def _touching_pairs(slots: Sequence[ShiftSlot]) -> list[tuple[SlotKey, SlotKey]]:
    """Pairs of shifts one person may not both work: overlapping (D10) or back to back.

    Back to back means one ends when the other starts, e.g. a weekend day 08-18 and that
    date's night 18-08, or a night and the next morning's day: either is a 24 h stint.
    """
    ordered = sorted(slots, key=lambda s: s.starts_at)
    pairs = []
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.starts_at > first.ends_at:
                break
            pairs.append((first.key, second.key))
    return pairs


def _night_windows(slots: Sequence[ShiftSlot], length: int) -> list[list[SlotKey]]:
    """Every run of ``length`` nights on consecutive dates."""
    nights = sorted(s.day for s in slots if s.kind == "night")
    windows = []
    for i in range(len(nights) - length + 1):
        window = nights[i : i + length]
        if window[-1] - window[0] == timedelta(days=length - 1):
            windows.append([(day, "night") for day in window])
    return windows


def _prechecks(slots, pools, available, fixed_on, rules) -> list[Message]:
    """Reasons a month cannot be filled that need no solver to see."""
    reasons = []
    by_day: dict[date, list[ShiftSlot]] = defaultdict(list)
    for slot in slots:
        by_day[slot.day].append(slot)
    limit = rules.max_consecutive_nights_warning
    has_long_run = bool(_night_windows(slots, limit + 1))
    for pool, members in pools.items():
        need = _need(pool, rules)
        if need == 0:
            continue
        if len(members) < need:  # S9 cannot be met on any shift
            reasons.append(
                _msg(
                    pool,
                    N_("Only {n} eligible remote staff; each shift needs {need}"),
                    N_("Only {n} eligible {region} onsite staff; each shift needs {need}"),
                    n=len(members),
                    need=need,
                )
            )
            continue
        per_day = {
            day: sum(max(need, len(fixed_on[pool, s.key])) for s in shifts)
            for day, shifts in by_day.items()
        }
        busiest = max(per_day.values(), default=0)
        too_small = len(members) < busiest
        if too_small:  # all shifts of one date touch: each needs its own people
            reasons.append(
                _msg(
                    pool,
                    N_(
                        "Only {n} eligible remote staff; a day with a day and a night shift needs {need} different people"
                    ),
                    N_(
                        "Only {n} eligible {region} onsite staff; a day with a day and a night shift needs {need} different people"
                    ),
                    n=len(members),
                    need=busiest,
                )
            )
        if has_long_run and len(members) * limit < (limit + 1) * need:  # D10, hard here
            too_small = True
            reasons.append(
                _msg(
                    pool,
                    N_(
                        "Only {n} eligible remote staff: covering every night would put someone on more than {max} nights in a row"
                    ),
                    N_(
                        "Only {n} eligible {region} onsite staff: covering every night would put someone on more than {max} nights in a row"
                    ),
                    n=len(members),
                    max=limit,
                )
            )
        if too_small:
            continue  # the pool itself is too small; naming each date adds nothing
        for day in sorted(by_day):  # days off leave too few people on one date
            free = sum(1 for p in members if any(available(p, s) for s in by_day[day]))
            if free < per_day[day]:
                reasons.append(
                    _msg(
                        pool,
                        N_("On {day} only {n} remote staff are available; the shifts need {need}"),
                        N_(
                            "On {day} only {n} {region} onsite staff are available; the shifts need {need}"
                        ),
                        day=day,
                        n=free,
                        need=per_day[day],
                    )
                )
    return reasons


def fill_roster(
    slots: Sequence[ShiftSlot],
    people: Mapping[StaffId, Rostered],
    eligible: set[StaffId],
    days_off: Mapping[StaffId, set[date]],
    rules: RosterRules,
    fixed: Iterable[Assignment] = (),
    time_limit_s: float = 8.0,
    seed: int = 0,
    backups: set[StaffId] | None = None,
) -> SolveResult:
    """Fill every shift of the month with exactly the S9 minimum, as fairly as possible.

    Exactly the minimum, so that nobody carries a shift the rules do not ask for; a
    shift may hold more only when ``fixed`` already puts more people on it. ``fixed``
    assignments (kept by the manager) win over days off. A day off on date d frees the
    person from the shifts *of* d (its day and the night starting at 18:00 on d).
    Backups are the caller's, or chosen among those carrying the fewest shifts (S12).
    """
    started = time.monotonic()
    slots = sorted(slots)
    by_key = {s.key: s for s in slots}
    pools = _pools(people, eligible, rules)
    pool_of = {p: pool for pool, members in pools.items() for p in members}
    fixed = list(dict.fromkeys(fixed))
    fixed_set = set(fixed)

    reasons: list[Message] = []
    fixed_on: dict[tuple[Pool, SlotKey], list[StaffId]] = defaultdict(list)
    for a in fixed:
        if a.slot_key not in by_key:
            reasons.append(
                Message(
                    N_("No special-period shift {day} {kind}"),
                    {"day": a.slot_key[0], "kind": a.slot_key[1]},
                )
            )
        elif a.staff_id not in pool_of:
            reasons.append(
                Message(
                    N_("{staff} is kept on {day} {kind} but cannot be rostered"),
                    {"staff": a.staff_id, "day": a.slot_key[0], "kind": a.slot_key[1]},
                )
            )
        else:
            fixed_on[pool_of[a.staff_id], a.slot_key].append(a.staff_id)

    def available(staff_id: StaffId, slot: ShiftSlot) -> bool:
        return (
            slot.day not in days_off.get(staff_id, ())
            or Assignment(staff_id, slot.key) in fixed_set
        )

    reasons += _prechecks(slots, pools, available, fixed_on, rules)
    if reasons:
        return SolveResult(
            [], set(backups or ()), False, reasons, "precheck", time.monotonic() - started
        )

    model = cp_model.CpModel()
    x: dict[tuple[StaffId, SlotKey], cp_model.IntVar] = {}
    for staff_id in pool_of:
        for slot in slots:
            if available(staff_id, slot):
                x[staff_id, slot.key] = model.NewBoolVar(f"x[{staff_id},{slot.day},{slot.kind}]")
    # Kept shifts hold through assumptions: if they make the month impossible, the solver
    # names the ones to blame (a core of assumptions) instead of a vague "no roster".
    keep_lits = {}
    for a in fixed:
        lit = model.NewBoolVar(f"keep[{a.staff_id},{a.slot_key[0]},{a.slot_key[1]}]")
        model.Add(x[a.staff_id, a.slot_key] == 1).OnlyEnforceIf(lit)
        keep_lits[lit.Index()] = a
    if keep_lits:
        model.AddAssumptions([model.GetBoolVarFromProtoIndex(i) for i in keep_lits])

    for pool, members in pools.items():  # S9: coverage, exactly the minimum
        for slot in slots:
            on = [x[p, slot.key] for p in members if (p, slot.key) in x]
            model.Add(sum(on) == max(_need(pool, rules), len(fixed_on[pool, slot.key])))

    pairs = _touching_pairs(slots)
    windows = _night_windows(slots, rules.max_consecutive_nights_warning + 1)
    for staff_id in pool_of:
        for a, b in pairs:  # D10 + rest: no overlap, no 24 h stint
            if (staff_id, a) in x and (staff_id, b) in x:
                if Assignment(staff_id, a) in fixed_set and Assignment(staff_id, b) in fixed_set:
                    continue  # the manager kept both: the grid shows it; fill around them
                model.AddBoolOr([x[staff_id, a].Not(), x[staff_id, b].Not()])
        for window in windows:  # D10: at most 3 nights in a row (kept ones may already exceed)
            run = [x[staff_id, k] for k in window if (staff_id, k) in x]
            if len(run) == len(window):
                kept = sum(1 for k in window if Assignment(staff_id, k) in fixed_set)
                model.Add(sum(run) <= max(rules.max_consecutive_nights_warning, kept))

    model.Minimize(_fairness(model, x, slots, pools, rules))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_search_workers = 2
    solver.parameters.random_seed = seed
    status = solver.Solve(model)
    name = solver.StatusName(status).lower()
    elapsed = time.monotonic() - started

    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        core = [keep_lits[i] for i in solver.SufficientAssumptionsForInfeasibility()
                if i in keep_lits] if status == cp_model.INFEASIBLE and keep_lits else []
        if core:
            blame = [_blocking(a, rules) for a in sorted(
                core, key=lambda a: (a.slot_key, str(a.staff_id)))]
            return SolveResult([], set(backups or ()), False, blame, name, elapsed)
        if status == cp_model.INFEASIBLE:
            why = Message(
                N_(
                    "No roster meets every rule with these staff and days off; "
                    "add staff or remove days off"
                )
            )
        else:
            why = Message(
                N_("No roster found within {seconds} s; try again with more time"),
                {"seconds": time_limit_s},
            )
        return SolveResult([], set(backups or ()), False, [why], name, elapsed)

    chosen = sorted(
        (Assignment(p, k) for (p, k), var in x.items() if solver.Value(var)),
        key=lambda a: (a.slot_key, str(a.staff_id)),
    )
    if backups is None:
        backups, note = _choose_backups(chosen, pools, rules)
        reasons += note
    return SolveResult(chosen, set(backups), True, reasons, name, elapsed)


def _blocking(a: Assignment, rules) -> Message:
    """Why one kept shift blocks the fill (it is in the solver's core of kept shifts)."""
    params = {"staff": a.staff_id, "day": a.slot_key[0], "kind": a.slot_key[1]}
    return Message(N_("The kept shift {staff} {day} {kind} blocks the fill: with it, the other "
                      "shifts cannot be covered (S9) without two shifts in a row or more than "
                      "{nights} nights in a row (D10). Move or remove it, or fill without keeping"),
                   params | {"nights": rules.max_consecutive_nights_warning})


def _fairness(model, x, slots, pools, rules):
    """Per pool: spread of total shifts (max - min), plus the most nights, weekend and
    holiday shifts anyone carries. The average is a valid bound for each maximum, and
    stating it lets the solver prove an even roster optimal instead of running out the
    clock."""
    categories = {
        "night": [s.key for s in slots if s.kind == "night"],
        "weekend": [s.key for s in slots if s.day_kind == "weekend"],
        "holiday": [s.key for s in slots if s.day_kind == "holiday"],
    }
    terms = []
    for pool, members in pools.items():
        if not members:
            continue
        need, n = _need(pool, rules), len(members)
        totals = {p: sum(x[p, s.key] for s in slots if (p, s.key) in x) for p in members}
        demand = need * len(slots)
        t_max = model.NewIntVar(-(-demand // n), len(slots), f"tmax{pool}")
        t_min = model.NewIntVar(0, demand // n, f"tmin{pool}")
        for total in totals.values():
            model.Add(total <= t_max)
            model.Add(total >= t_min)
        terms.append(_TOTAL_SPREAD_WEIGHT * (t_max - t_min))
        for name, keys in categories.items():
            if not keys:
                continue
            c_max = model.NewIntVar(-(-need * len(keys) // n), len(keys), f"{name}max{pool}")
            for p in members:
                model.Add(sum(x[p, k] for k in keys if (p, k) in x) <= c_max)
            terms.append(_CATEGORY_MAX_WEIGHT * c_max)
    return sum(terms)


def _choose_backups(chosen: list[Assignment], pools, rules) -> tuple[set[StaffId], list[Message]]:
    """S12: the people carrying the fewest shifts, one per pool first so a backup can
    stand in for remote and for each region, then the lightest overall up to the minimum."""
    load: dict[StaffId, int] = {p: 0 for members in pools.values() for p in members}
    for a in chosen:
        load[a.staff_id] += 1

    def lightest(candidates):
        return sorted(candidates, key=lambda p: (load[p], str(p)))

    picked: list[StaffId] = []
    for members in pools.values():
        rest = [p for p in lightest(members) if p not in picked]
        if rest and len(picked) < rules.backups_max:
            picked.append(rest[0])
    for p in lightest(load):
        if len(picked) >= rules.backups_min:
            break
        if p not in picked:
            picked.append(p)
    note = []
    if len(picked) < rules.backups_min:
        note.append(
            Message(
                N_("Only {n} eligible staff can be backups; a month needs {min}"),
                {"n": len(picked), "min": rules.backups_min},
            )
        )
    return set(picked), note
