"""Demo staff with their S8/S13 records, and published rosters (S9-S12, D10)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from server.demo_parts.data import (
    DEMO_PASSWORD,
    DRILL_NOTE,
    NOT_QUALIFIED,
    STAFF,
    TRAINING_TOPICS,
    wecom_userid,
)
from server.domain.qualification import StaffProfile, eligibility_reasons
from server.domain.roster import Assignment, Rostered, roster_violations
from server.domain.shifts import ShiftSlot
from server.models import (
    DayOffRequest,
    Roster,
    RosterBackup,
    Shift,
    Staff,
    StaffRole,
    SwapRequest,
    TrainingRecord,
)
from server.security import hash_password


class PeopleMixin:
    # -- staff, qualifications and training (S8, S13, S14) ------------------------------

    def _staff(self) -> None:
        password_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow: hash once
        rng = self.rng
        rows = []
        for username, name, _role, group, region in STAFF:
            newcomer = username in NOT_QUALIFIED
            days = rng.uniform(20, 50) if newcomer else rng.uniform(200, 1500)
            staff = Staff(
                username=username,
                password_hash=password_hash,
                display_name=name,
                phone=self._mobile(),
                email=f"{username}@fieldops.example",
                wecom_userid=wecom_userid(username),
                group=group,
                region=region,
                created_at=self.now - timedelta(days=days),
            )
            if group is not None:
                staff.birth_date = date(
                    rng.randint(1984, 2000), rng.randint(1, 12), rng.randint(1, 28)
                )
                staff.degree = rng.choice(["associate", "bachelor", "bachelor", "master"])
                staff.support_experience_months = rng.randint(14, 96)
                if NOT_QUALIFIED.get(username) == "age":
                    t = self.today
                    staff.birth_date = date(t.year - 21, t.month, min(t.day, 28)) - timedelta(
                        days=100
                    )
                elif NOT_QUALIFIED.get(username) == "experience":
                    staff.support_experience_months = 8
            rows.append(staff)
            self.staff[username] = staff
        self._add(rows)
        self._add(
            [
                StaffRole(staff_id=s.id, role=r)
                for (u, _n, r, _g, _rg), s in zip(STAFF, rows, strict=True)
            ]
        )
        self.counts["staff"] = len(rows)

    def _training(self) -> None:
        rng = self.rng
        rows: list[TrainingRecord] = []
        profiles: dict[int, StaffProfile] = {}
        for username, _name, _role, group, _region in STAFF:
            if group is None:
                continue
            staff = self.staff[username]
            why = NOT_QUALIFIED.get(username)
            start = staff.created_at.astimezone(self.tz).date() + timedelta(days=2)
            total = 14.0 if why == "onboarding" else float(rng.choice([20, 21, 22, 24]))
            first = 8.0 if why == "onboarding" else 12.0
            exam_passed = why not in ("exam", "onboarding")  # a short onboarding: no exam yet
            records = [
                ("onboarding", start, first, None, "入职培训：设备原理与故障分类"),
                ("onboarding", start + timedelta(days=3), total - first, None,
                 "入职培训：特殊时段支持流程与系统操作"),
            ]  # fmt: skip
            if why != "onboarding":
                result = "，通过" if exam_passed else "，未通过，需补考"
                records.append(("exam", start + timedelta(days=7), 0, exam_passed,
                                "实操考核：模拟推流失败与信号中断处置" + result))  # fmt: skip
            for back in range(3, -1, -1):  # the monthly sessions of the last months (S14)
                y, m = self.today.year, self.today.month - back
                if m < 1:
                    y, m = y - 1, m + 12
                topic = TRAINING_TOPICS[(y * 12 + m) % len(TRAINING_TOPICS)]
                records.append(("monthly", date(y, m, 15), 2, None, "月度培训：" + topic))
            records.append(("drill", self._last_drill_day(), 3, None, DRILL_NOTE))  # S14
            rows += [
                TrainingRecord(staff_id=staff.id, kind=kind, held_on=held, hours=hours,
                               passed=passed, notes=notes)
                for kind, held, hours, passed, notes in records
                if start <= held <= self.today
            ]  # fmt: skip
            profiles[staff.id] = StaffProfile(
                id=staff.id,
                birth_date=staff.birth_date,
                degree=staff.degree,
                support_experience_months=staff.support_experience_months,
                onboarding_hours=total,
                exam_passed=exam_passed,
            )
        self._add(rows)
        self.counts["training_records"] = len(rows)
        self.eligible = {
            sid for sid, p in profiles.items() if not eligibility_reasons(p, self.today, self.rules)
        }
        for username, _name, _role, group, region in STAFF:
            sid = self.staff[username].id
            if group is not None and sid in self.eligible:
                self.pools.setdefault((group, region), []).append(sid)
        self.counts["qualified_engineers"] = len(self.eligible)

    def _last_drill_day(self) -> date:
        """The quarterly drill is held on the 20th of each quarter's middle month."""
        y, m = self.today.year, self.today.month
        while True:
            if m % 3 == 2 and date(y, m, 20) <= self.today:
                return date(y, m, 20)
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)

    # -- rosters (S9-S12, D10) ------------------------------------------------------------

    def _rosters(self) -> None:
        rng = self.rng
        y, m = self.today.year, self.today.month
        months = [(y, m), (y + m // 12, m % 12 + 1)]
        first = self.cal.slot_at(self.now)
        if first is not None and (first.day.year, first.day.month) != (y, m):
            # 00:00-08:00 on the 1st belongs to last month's last night: roster it too
            months.insert(0, (first.day.year, first.day.month))
        by_month = {ym: self.cal.month_slots(*ym) for ym in months}
        slots = sorted(s for ym in months for s in by_month[ym])
        demo = [self._id("remote"), self._id("onsite")]

        # Days off some engineers asked for; the rotation respects them.
        engineers = sorted(sid for sid in self.eligible if sid not in demo)
        days = sorted({s.day for s in slots})
        day_off: set[tuple[int, date]] = set()
        while len(day_off) < 8:
            day_off.add((rng.choice(engineers), rng.choice(days)))
        self._add([DayOffRequest(staff_id=sid, day=d) for sid, d in sorted(day_off)])

        forced: dict[tuple[date, str], list[int]] = {}
        now_slot = self.cal.slot_at(self.now)
        if now_slot is not None and (now_slot.day.year, now_slot.day.month) in months:
            forced[now_slot.key] = demo
        assigned = self._rotate(slots, forced, day_off)

        manager = self._id("manager")
        published = [  # about the 22nd of the month before each, never in the future
            min(self._local(date(*ym, 1) - timedelta(days=10), 10), self.now - timedelta(hours=1))
            for ym in months
        ]
        people = {s.id: Rostered(s.id, s.group, s.region) for s in self.staff.values() if s.group}
        shifts, backups_rows, rosters = [], [], []
        for k, ym in enumerate(months):
            roster = Roster(
                month=f"{ym[0]:04d}-{ym[1]:02d}",
                status="published",
                published_at=published[k],
                published_by=manager,
            )
            rosters.append(roster)
        self._add(rosters)
        for k, (ym, roster) in enumerate(zip(months, rosters, strict=True)):
            month_slots = by_month[ym]
            assignments = [Assignment(sid, s.key) for s in month_slots for sid in assigned[s.key]]
            backups = self._backups(k, demo)
            errors = [
                v
                for v in roster_violations(
                    month_slots, assignments, people, self.eligible, backups, self.rules
                )
                if v.severity == "error"
            ]
            if errors:
                raise RuntimeError(
                    "demo roster breaks the rules: "
                    + "; ".join(v.message.render() for v in errors[:5])
                )
            first = month_slots[0].starts_at
            if first - roster.published_at < timedelta(days=self.rules.publish_min_days):
                raise RuntimeError("demo roster published too late")
            for s in month_slots:
                for sid in assigned[s.key]:
                    person = people[sid]
                    shifts.append(
                        Shift(
                            roster_id=roster.id,
                            staff_id=sid,
                            day=s.day,
                            kind=s.kind,
                            starts_at=s.starts_at.astimezone(UTC),
                            ends_at=s.ends_at.astimezone(UTC),
                            group=person.group,
                            region=person.region,
                        )
                    )
                    self.duty.append(
                        (
                            sid,
                            person.group,
                            person.region,
                            s.starts_at.astimezone(UTC),
                            s.ends_at.astimezone(UTC),
                        )
                    )
            backups_rows += [
                RosterBackup(roster_id=roster.id, staff_id=sid) for sid in sorted(backups)
            ]
        self._add(shifts)
        self._add(backups_rows)
        self._swap_request(shifts, people)
        self.counts.update(rosters=len(rosters), shifts=len(shifts), days_off=len(day_off))

    def _rotate(self, slots: list[ShiftSlot], forced, day_off) -> dict[tuple[date, str], list[int]]:
        """Fill every slot in order, least-loaded first, never on touching shifts and never
        more than the allowed nights in a row; relax only if a slot cannot be filled."""
        worked: dict[int, list[ShiftSlot]] = defaultdict(list)
        nights: dict[int, set[date]] = defaultdict(set)
        load: dict[int, int] = defaultdict(int)
        out: dict[tuple[date, str], list[int]] = defaultdict(list)
        by_key = {s.key: s for s in slots}

        def place(sid: int, slot: ShiftSlot) -> None:
            worked[sid].append(slot)
            load[sid] += 1
            if slot.kind == "night":
                nights[sid].add(slot.day)
            out[slot.key].append(sid)

        def free(sid: int, slot: ShiftSlot, strict: bool) -> bool:
            if (sid, slot.day) in day_off:
                return False
            for s in worked[sid]:
                if s.starts_at < slot.ends_at and slot.starts_at < s.ends_at:
                    return False
                if strict and (s.starts_at == slot.ends_at or s.ends_at == slot.starts_at):
                    return False
            if strict and slot.kind == "night":
                run, d = 1, slot.day - timedelta(days=1)
                while d in nights[sid]:
                    run, d = run + 1, d - timedelta(days=1)
                d = slot.day + timedelta(days=1)
                while d in nights[sid]:
                    run, d = run + 1, d + timedelta(days=1)
                if run > self.rules.max_consecutive_nights_warning:
                    return False
            return True

        for key, sids in forced.items():
            for sid in sids:
                place(sid, by_key[key])
        needs = [(("remote", None), self.rules.remote_min_per_shift)] + [
            (("onsite", region), self.rules.onsite_min_per_region_per_shift)
            for region in self.rules.regions
        ]
        for idx, slot in enumerate(slots):
            for pool_key, need in needs:
                pool = self.pools.get(pool_key, [])
                have = sum(1 for sid in out[slot.key] if sid in pool)
                for strict in (True, False):
                    if have >= need:
                        break
                    candidates = [
                        p for p in pool if p not in out[slot.key] and free(p, slot, strict)
                    ]
                    candidates.sort(
                        key=lambda p, pool=pool: (load[p], (pool.index(p) - idx) % len(pool))
                    )
                    for sid in candidates[: need - have]:
                        place(sid, slot)
                        have += 1
                if have < need:
                    raise RuntimeError(f"demo roster cannot cover {slot.day} {slot.kind}")
        return out

    def _backups(self, k: int, demo: list[int]) -> set[int]:
        """S12: 3-5 backups a month, qualified, taken in turn from each group."""
        want = max(self.rules.backups_min, min(4, self.rules.backups_max))
        picks: list[int] = []
        pools = [p for key, p in sorted(self.pools.items(), key=lambda kv: str(kv[0]))]
        i = 0
        while len(picks) < want and i < 100:
            pool = [sid for sid in pools[i % len(pools)] if sid not in demo and sid not in picks]
            if pool:
                picks.append(pool[(k * 2 + i) % len(pool)])
            i += 1
        return set(picks)

    def _swap_request(self, shifts: list[Shift], people) -> None:
        """One pending shift swap (S11), asked for well ahead, waiting for the manager."""
        demo = {self._id("remote"), self._id("onsite")}
        by_person: dict[int, list[Shift]] = defaultdict(list)
        for s in shifts:
            by_person[s.staff_id].append(s)
        for shift in shifts:
            if (
                shift.group != "onsite"
                or shift.staff_id in demo
                or shift.starts_at < self.now + timedelta(days=self.rules.swap_min_days + 2)
            ):
                continue
            for other in self.pools.get(("onsite", shift.region), []):
                if other in demo or other == shift.staff_id:
                    continue
                if all(
                    s.ends_at < shift.starts_at - timedelta(hours=24)
                    or s.starts_at > shift.ends_at + timedelta(hours=24)
                    for s in by_person[other]
                ):
                    self._add(
                        [
                            SwapRequest(
                                shift_id=shift.id,
                                from_staff_id=shift.staff_id,
                                to_staff_id=other,
                                status="pending",
                                requested_at=self.now - timedelta(hours=3),
                                reason="家中老人住院需要陪护，申请与同事换班",
                            )
                        ]
                    )
                    self.counts["swap_requests"] = 1
                    return

    def _on_duty(self, group: str, region: str | None, at: datetime) -> list[int]:
        return sorted(
            {
                sid
                for sid, g, r, start, end in self.duty
                if g == group and (region is None or r == region) and start <= at < end
            }
        )

    def _pick(self, group: str, region: str | None, at: datetime, exclude: set[int]) -> int:
        """D11: someone of the right group and region on duty then; else anyone qualified."""
        on_duty = [sid for sid in self._on_duty(group, region, at) if sid not in exclude]
        if not on_duty:
            on_duty = [sid for sid in self.pools.get((group, region), []) if sid not in exclude]
        return self.rng.choice(on_duty)
