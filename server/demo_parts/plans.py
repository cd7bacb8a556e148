"""How each demo request goes: its stage, times, order, fault and jobs (D5-D8b)."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.demo_parts.data import (
    STAFF,
    STAGE_ORDER,
    SYMPTOMS,
)
from server.demo_parts.shapes import Order, Plan, Req
from server.domain.sla import target_minutes
from server.models import (
    OrderLine,
)


class PlansMixin:
    # -- support requests -------------------------------------------------------------

    def _open_plans(self) -> list[Plan]:
        P = Plan
        return [
            P("new", "remote", "P1"),
            P("new", "onsite", "P2", "urban"),
            P("new", "remote", "P3"),
            P("new", "onsite", "P3", "suburban"),
            P("handed_off", "onsite", "P1", "suburban"),
            P("handed_off", "remote", "P2"),
            P("handed_off", "remote", "P3"),
            P("handed_off", "onsite", "P2", "urban"),
            P("handed_off", "remote", "P3"),
            P("handed_off", "onsite", "P3", "urban"),
            P("handed_off", "remote", "P2"),
            P("assigned", "remote", "P1", assignee="remote"),
            P("assigned", "remote", "P3"),
            P("assigned", "onsite", "P2", "urban", assignee="onsite"),
            P("assigned", "onsite", "P3", "suburban"),
            P("in_progress", "remote", "P2", job_state="accepted", assignee="remote"),
            P("in_progress", "remote", "P3", job_state="accepted"),
            P("in_progress", "onsite", "P1", "urban", job_state="en_route", assignee="onsite"),
            P("in_progress", "onsite", "P1", "suburban", job_state="on_site", flagged=True),
            P("resolved", "remote", "P2"),
            P("resolved", "onsite", "P1", "urban"),
            P("resolved", "remote", "P3"),
            P("resolved", "onsite", "P3", "suburban"),
            P("resolved", "remote", "P1"),
            P("resolved", "onsite", "P2", "urban"),
        ]

    def _closed_plans(self) -> list[Plan]:
        rng = self.rng
        times = []
        while len(times) < 30:
            t = self.now - timedelta(hours=rng.uniform(36, 30 * 24))
            if self.cal.is_special(t) and any(o.active(t) for o in self.orders):
                times.append(t)
        times.sort()
        plans = []
        for t in times:
            classification = "onsite" if rng.random() < 0.45 else "remote"
            priority = rng.choices(["P1", "P2", "P3"], weights=[30, 30, 40])[0]
            plans.append(Plan("closed", classification, priority, received_at=t))
        onsite = [p for p in plans if p.classification == "onsite"]
        for p in onsite[-2:]:
            p.swap = True  # recent enough that the swapped-in unit is still on the order
        onsite[0].late_arrival = True
        onsite[1].flagged = onsite[1].flag_resolved = True
        onsite[2].late_sync = True
        plans[3].late_handoff = True
        plans[len(plans) // 2].no_feedback = True
        cancelled = Plan(
            "cancelled",
            "remote",
            "P3",
            received_at=self.now - timedelta(hours=rng.uniform(48, 120)),
        )
        return plans + [cancelled]

    def _timeline(self, plan: Plan, region: str | None) -> dict[str, timedelta]:
        """Offsets from receipt of every step this request could reach."""
        m, p1 = self._minutes, plan.priority == "P1"
        off = {"handoff": m(11, 14) if plan.late_handoff else m(1.5, 8)}
        if plan.received_at is None and plan.stage != "resolved":  # open: quick so far
            off["handoff"] = m(1, 4)
        off["assign"] = off["handoff"] + (m(0.3, 1.5) if p1 else m(0.5, 3))
        off["accept"] = off["assign"] + (m(0.3, 1.5) if p1 else m(1, 8))
        off["accept_remote"] = off["assign"] + m(0.3, 2)
        if plan.classification == "onsite":
            off["en_route"] = off["accept"] + m(0.5, 3)
            target = target_minutes("arrival", plan.priority, region or "urban", self.sla)
            travel = (
                m(1.05 * target, 1.25 * target)
                if plan.late_arrival
                else m(0.35 * target, 0.85 * target)
            )
            off["arrive"] = max(off["assign"] + travel, off["en_route"] + m(3, 8))
            off["resolved"] = off["arrive"] + (m(8, 25) if p1 else m(12, 45))
        else:
            off["resolved"] = off["accept"] + (m(5, 25) if p1 else m(8, 50))
        off["feedback"] = off["resolved"] + m(50, 20 * 60)
        off["cancel"] = off["handoff"] + m(3, 15)
        return off

    def _reached(self, plan: Plan, off: dict[str, timedelta]) -> list[str]:
        if plan.stage == "cancelled":
            return ["handoff", "cancel"]
        last = {
            "new": None,
            "handed_off": "handoff",
            "assigned": "assign",
            "in_progress": {"accepted": "accept", "en_route": "en_route", "on_site": "arrive"}.get(
                plan.job_state, "accept"
            ),
            "resolved": "resolved",
            "closed": "feedback",
        }[plan.stage]
        if last is None:
            return []
        steps = [k for k in STAGE_ORDER if k in off]
        return steps[: steps.index(last) + 1]

    def _choose_order(self, at: datetime, region: str | None, swap: bool) -> Order:
        def ok(o: Order, strict: bool) -> bool:
            return (
                (not strict or o.active(at))
                and (region is None or o.venue.region == region)
                and bool(o.units_at(at) if strict else o.lines)
                and (not swap or (o.row.ends_at > self.now and o not in self.swapped))
            )

        candidates = [o for o in self.orders if ok(o, True)] or [
            o for o in self.orders if ok(o, False)
        ]
        return self.rng.choice(candidates)

    def _plan_request(self, plan: Plan) -> Req:
        rng = self.rng
        if plan.received_at is not None:  # closed and cancelled: the time was chosen first
            received = plan.received_at
            order = self._choose_order(received, plan.region, plan.swap)
            off = self._timeline(plan, order.venue.region)
        else:
            off = self._timeline(plan, plan.region)
            steps = self._reached(plan, off)
            last = off[steps[-1]] if steps else timedelta(0)
            # short waits: every open clock still has time left when the demo starts
            p1 = plan.priority == "P1"
            wait = {
                "new": (0.5, 4),
                "handed_off": (0.2, 1.2) if p1 else (0.5, 5),
                "assigned": (0.1, 0.8),
                "in_progress": (1, 6),
                "resolved": (60, 18 * 60),
            }[plan.stage]
            received = self.now - last - self._minutes(*wait)
            for _ in range(20):  # requests that waited for hours came in a special period
                if plan.stage != "resolved" or self.cal.is_special(received):
                    break
                received = self.now - last - self._minutes(*wait)
            order = self._choose_order(received, plan.region, False)
        region = order.venue.region
        reached = self._reached(plan, off)
        t = {k: received + off[k] for k in reached}
        if "assign" in t:
            t["accept_remote"] = received + off["accept_remote"]
        line_units = order.units_at(received) or [(ln, u) for ln, u in order.lines]
        line, unit = rng.choice(line_units)
        classification = plan.classification
        symptom = rng.choice(SYMPTOMS[(unit.device_type, classification)])
        if plan.priority == "P1":
            state, starts = "live", received - self._minutes(15, 150)
        elif plan.priority == "P2":
            state, starts = "upcoming", received + self._minutes(90, 20 * 60)
        elif rng.random() < 0.3:
            state, starts = "upcoming", received + self._minutes(26 * 60, 72 * 60)
        else:
            state, starts = "none", None
        is_open = plan.received_at is None
        agents = [self._id(u) for u, _n, r, _g, _rg in STAFF if r == "agent"]
        dispatchers = [self._id(u) for u, _n, r, _g, _rg in STAFF if r == "dispatcher"]
        req = Req(
            plan=plan,
            received=received,
            t=t,
            order=order,
            unit=unit,
            region=region,
            symptom=symptom,
            channel="hotline"
            if plan.priority == "P1" and rng.random() < 0.7
            else rng.choices(["hotline", "wechat", "wecom"], weights=[50, 25, 25])[0],
            stream_state=state,
            stream_starts_at=starts,
            agent=self._id("agent") if is_open else rng.choice(agents),
            dispatcher=self._id("dispatcher") if is_open else rng.choice(dispatchers),
        )
        self._plan_jobs(req)
        if plan.swap and "resolved" in t:
            self._plan_swap(req, line)
        return req

    def _plan_jobs(self, req: Req) -> None:
        plan, t = req.plan, req.t
        if "assign" not in t:
            return
        demo = {self._id("remote"), self._id("onsite")}
        stage = plan.stage
        if stage == "assigned":
            state = "offered"
        elif stage == "in_progress":
            state = plan.job_state or "accepted"
        else:
            state = "done"
        active = state != "done"
        kind = plan.classification
        if plan.assignee:
            who = self._id(plan.assignee)
        else:
            who = self._pick(
                kind,
                req.region if kind == "onsite" else None,
                t["assign"],
                demo if active else set(),
            )
        req.jobs.append({"kind": kind, "assignee": who, "state": state, "primary": True})
        if kind == "onsite" and plan.priority == "P1":  # D8a: live stream, guide remotely at once
            if stage == "assigned":
                rstate = "offered"
            elif "arrive" in t:
                rstate = "done"
            else:
                rstate = "accepted"
            rwho = self._pick("remote", None, t["assign"], demo if rstate != "done" else set())
            req.jobs.append({"kind": "remote", "assignee": rwho, "state": rstate, "primary": False})

    def _plan_swap(self, req: Req, line: OrderLine) -> None:
        """D13: the faulty unit leaves the order for repair; a reserve unit takes its place."""
        at = req.t["resolved"] - self._minutes(2, 6)
        unit_out = req.unit
        unit_in = self.swap_spares[unit_out.device_type].pop()
        line.removed_at = at
        unit_out.status, unit_out.depot_id = "in_repair", None
        unit_in.status, unit_in.depot_id = "rented", None
        new_line = OrderLine(order_id=req.order.row.id, unit_id=unit_in.id, added_at=at)
        req.order.lines.append((new_line, unit_in))
        self.db.add(new_line)
        req.swap = {"at": at, "out": unit_out, "in": unit_in}
        self.swapped.append(req.order)
