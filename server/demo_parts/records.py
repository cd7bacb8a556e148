"""The demo requests' rows: jobs, field facts (D14), swaps (D13), clocks (D5-D7),
feedback (D9) and the audit timeline."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from server.actions.audit import record
from server.demo_parts.data import (
    CANCEL_REASON,
    COMMENTS,
    FIXES,
    NO_FEEDBACK_REASON,
    SWAP_REASON,
    SYMPTOM_KIND,
)
from server.demo_parts.shapes import Req
from server.domain.geo import check_in_flag, distance_to_venue_m, to_wgs84
from server.domain.sla import deadline
from server.models import (
    Feedback,
    FieldFact,
    Job,
    SlaClock,
    SlaEvent,
    SupportRequest,
    UnitSwap,
)


class RecordsMixin:
    def _requests(self) -> None:
        reqs = [self._plan_request(p) for p in self._closed_plans()]
        reqs += [self._plan_request(p) for p in self._open_plans()]
        reqs.sort(key=lambda r: r.received)
        seq: dict[str, int] = defaultdict(int)
        for req in reqs:
            day = req.received.astimezone(self.tz).strftime("%Y%m%d")
            seq[day] += 1
            req.row = self._request_row(req, f"FO-{day}-{seq[day]:04d}")
        self._add([r.row for r in reqs])
        jobs = self._add([job for r in reqs for job in self._job_rows(r)])
        facts: list[FieldFact] = []
        clocks: list[SlaClock] = []
        feedback: list[Feedback] = []
        for r in reqs:
            facts += self._facts(r)
            feedback += self._feedback(r)
        self._add(facts)
        swaps = [self._swap_row(r) for r in reqs if r.swap]
        self._add(swaps)
        for r in reqs:
            clocks += self._clocks(r)
        self._add(clocks)
        self._add(feedback)
        events = self._add([e for c in clocks for e in self._events(c)])
        for r in reqs:
            self._audit(r)
        self.db.flush()
        statuses: dict[str, int] = defaultdict(int)
        for r in reqs:
            statuses[r.row.status] += 1
        self.counts.update(
            requests=len(reqs),
            **{
                f"requests_{s}": statuses[s]
                for s in (
                    "new",
                    "handed_off",
                    "assigned",
                    "in_progress",
                    "resolved",
                    "closed",
                    "cancelled",
                )
            },
            jobs=len(jobs),
            field_facts=len(facts),
            unit_swaps=len(swaps),
            sla_clocks=len(clocks),
            sla_events=len(events),
            feedback=len(feedback),
            audit_entries=self.audit_count,
        )

    def _request_row(self, req: Req, number: str) -> SupportRequest:
        plan, t, order = req.plan, req.t, req.order
        row = SupportRequest(
            number=number,
            channel=req.channel,
            received_at=req.received,
            recorded_by=req.agent,
            customer_id=order.customer.id,
            customer_name=order.customer.name,
            contact_name=order.contact.name,
            phone=order.contact.phone,
            address=order.venue.address,
            venue_id=order.venue.id,
            region=req.region,
            order_id=order.row.id,
            order_no=order.row.order_no,
            device_type=req.unit.device_type,
            device_model=req.unit.model,
            unit_id=req.unit.id,
            scenario=order.row.scenario,
            symptom=req.symptom,
            symptom_kind=SYMPTOM_KIND.get(req.symptom, "other"),
            fault_started_at=req.received - self._minutes(1, 15),
            stream_state=req.stream_state,
            stream_starts_at=req.stream_starts_at,
            classification=plan.classification,
            priority=plan.priority,
            status=plan.stage,
            handed_off_at=t.get("handoff"),
            resolved_at=t.get("resolved"),
        )
        if plan.stage == "closed":
            row.closed_at = t["feedback"]
            if plan.no_feedback:
                row.close_reason = NO_FEEDBACK_REASON
        elif plan.stage == "cancelled":
            row.closed_at, row.close_reason = t["cancel"], CANCEL_REASON
        return row

    def _job_rows(self, req: Req) -> list[Job]:
        t, rows = req.t, []
        for job in req.jobs:
            state, primary = job["state"], job["primary"]
            accepted = t.get("accept") if primary else t.get("accept_remote")
            row = Job(
                request_id=req.row.id,
                kind=job["kind"],
                assignee_id=job["assignee"],
                status=state,
                assigned_at=t["assign"],
                assigned_by=req.dispatcher,
            )
            if state != "offered":
                row.accepted_at = accepted
            if primary and job["kind"] == "onsite" and "arrive" in t:
                row.arrived_at = t["arrive"]
            if state == "done":
                if primary:
                    row.finished_at = t["resolved"]
                    row.outcome = (
                        "swapped"
                        if req.swap
                        else ("fixed" if job["kind"] == "onsite" else "solved")
                    )
                    row.notes = SWAP_REASON if req.swap else FIXES[req.symptom]
                else:
                    row.finished_at, row.outcome = t["arrive"], "needs_onsite"
                    row.notes = "远程指导未能恢复，现场工程师已到场接手"
            job["row"] = row
            rows.append(row)
        return rows

    def _fact(self, req: Req, job: Job, kind: str, at: datetime, **kw: Any) -> FieldFact:
        delay = kw.pop("delay", None) or self._minutes(0.02, 0.5)
        return FieldFact(
            id=self._uuid(),
            job_id=job.id,
            request_id=req.row.id,
            author_id=job.assignee_id,
            kind=kind,
            device_time=at,
            effective_at=at,
            received_at=at + delay,
            **kw,
        )

    def _facts(self, req: Req) -> list[FieldFact]:
        """D14: what the onsite engineer's phone recorded, with the device's own times."""
        primary = next((j for j in req.jobs if j["primary"]), None)
        if primary is None or primary["kind"] != "onsite":
            return []
        job, t, plan, rng = primary["row"], req.t, req.plan, self.rng
        out = []
        if "accept" in t:
            out.append(self._fact(req, job, "accept", t["accept"]))
        if "en_route" in t:
            out.append(self._fact(req, job, "en_route", t["en_route"]))
        if "arrive" in t:
            venue = req.order.venue
            v_lat, v_lon = to_wgs84(venue.lat, venue.lon, venue.datum)
            radius = venue.radius_m or self.settings.venue_radius_m
            accuracy = round(rng.uniform(20, 40) if plan.flagged else rng.uniform(5, 25), 1)
            away = radius + rng.uniform(250, 450) if plan.flagged else rng.uniform(15, 120)
            bearing = rng.uniform(0, 2 * math.pi)
            lat = v_lat + away * math.cos(bearing) / 111_320
            lon = v_lon + away * math.sin(bearing) / (111_320 * math.cos(math.radians(v_lat)))
            distance = distance_to_venue_m(lat, lon, venue.lat, venue.lon, venue.datum)
            flagged = check_in_flag(distance, accuracy, radius)
            fact = self._fact(
                req,
                job,
                "check_in",
                t["arrive"],
                lat=round(lat, 6),
                lon=round(lon, 6),
                accuracy_m=accuracy,
                distance_m=round(distance, 1),
                data={"venue": venue.name},
                delay=timedelta(minutes=52) if plan.late_sync else None,
            )
            if flagged:
                fact.flagged = True
                fact.data = fact.data | {"flags": ["outside"]}
                fact.flag_reason = f"签到位置距场馆 {distance:.0f} 米，超出 {radius} 米签到范围"
                if plan.flag_resolved:
                    fact.flag_resolved_at = t["arrive"] + self._minutes(10, 40)
                    fact.flag_resolved_by = req.dispatcher
                    fact.flag_resolution = "accepted"
            req.check_in = fact
            out.append(fact)
        if "resolved" in t:
            out.append(
                self._fact(
                    req,
                    job,
                    "fix_note",
                    t["resolved"] - self._minutes(3, 8),
                    data={"text": job.notes},
                )
            )
            if req.swap:
                swap = req.swap
                swap["fact"] = self._fact(
                    req,
                    job,
                    "swap",
                    swap["at"],
                    data={
                        "unit_out": swap["out"].asset_tag,
                        "unit_in": swap["in"].asset_tag,
                        "reason": SWAP_REASON,
                    },
                )
                out.append(swap["fact"])
            out.append(self._fact(req, job, "done", t["resolved"], data={"outcome": job.outcome}))
        return out

    def _swap_row(self, req: Req) -> UnitSwap:
        s = req.swap
        return UnitSwap(
            fact_id=s["fact"].id,
            order_id=req.order.row.id,
            unit_out_id=s["out"].id,
            unit_in_id=s["in"].id,
            reason=SWAP_REASON,
            swapped_at=s["at"],
        )

    def _clocks(self, req: Req) -> list[SlaClock]:
        """The clocks that have started (D5), with deadlines from the SLA rules (D8a)."""
        t, plan = req.t, req.plan
        end = t.get("cancel")  # a cancelled request stops every running clock

        def clock(kind: str, start: datetime, stop: datetime | None) -> SlaClock:
            due = deadline(kind, start, plan.priority, req.region, self.sla, req.stream_starts_at)
            return SlaClock(
                request_id=req.row.id,
                kind=kind,
                started_at=start,
                deadline_at=due,
                stopped_at=stop or end,
            )

        out = [clock("handoff", req.received, t.get("handoff"))]
        if "handoff" in t:
            accepts = [j["row"].accepted_at for j in req.jobs if j["row"].accepted_at]
            out.append(clock("first_response", t["handoff"], min(accepts) if accepts else None))
            out.append(clock("resolution", t["handoff"], t.get("resolved")))
        onsite = [j for j in req.jobs if j["kind"] == "onsite"]
        if onsite:
            arrived = t.get("arrive")
            if arrived and req.plan.flagged and not req.plan.flag_resolved and "resolved" not in t:
                arrived = None  # D15: beyond the radius, waiting for the dispatcher
            out.append(clock("arrival", t["assign"], arrived))
        if "resolved" in t:
            out.append(clock("follow_up", t["resolved"], t.get("feedback")))
        return out

    def _events(self, c: SlaClock) -> list[SlaEvent]:
        """D7: the warning and breach a stopped clock fired on its way (recorded for reports)."""
        if c.stopped_at is None:
            return []  # running clocks: the background loop fires (and notifies) them
        budget = c.deadline_at - c.started_at
        warn_at = c.started_at + budget * self.sla.warn_fraction
        out = []
        if c.stopped_at >= warn_at:
            out.append(SlaEvent(clock_id=c.id, level="warning", fired_at=warn_at))
        if c.stopped_at > c.deadline_at:
            out.append(SlaEvent(clock_id=c.id, level="breach", fired_at=c.deadline_at))
        return out

    def _feedback(self, req: Req) -> list[Feedback]:
        if req.plan.stage != "closed":
            return []
        at = req.t["feedback"]
        if req.plan.no_feedback:
            return [
                Feedback(
                    request_id=req.row.id,
                    recorded_by=req.agent,
                    recorded_at=at,
                    reached=False,
                    no_feedback_reason=NO_FEEDBACK_REASON,
                )
            ]
        score = self.rng.choices([5, 4, 3], weights=[60, 32, 8])[0]
        req.score = score
        return [
            Feedback(
                request_id=req.row.id,
                recorded_by=req.agent,
                recorded_at=at,
                reached=True,
                score=score,
                resolved=True,
                comment=self.rng.choice(COMMENTS[score]),
            )
        ]

    def _audit(self, req: Req) -> None:
        """The request's timeline, in order, with who did each step."""
        t, row, plan = req.t, req.row, req.plan
        n = 0

        def log(
            action: str,
            actor: int,
            at: datetime,
            entity: str = "request",
            entity_id: Any = None,
            **details: Any,
        ) -> None:
            nonlocal n
            record(
                self.db,
                action,
                actor,
                request_id=row.id,
                entity=entity,
                entity_id=row.id if entity_id is None else entity_id,
                at=at,
                **details,
            )
            n += 1

        log(
            "request.received", req.agent, req.received, channel=req.channel, priority=plan.priority
        )
        if "handoff" in t:
            log(
                "request.handed_off",
                req.agent,
                t["handoff"],
                classification=plan.classification,
                priority=plan.priority,
            )
        for job in req.jobs:
            j = job["row"]
            log(
                "job.assigned",
                req.dispatcher,
                j.assigned_at,
                "job",
                j.id,
                assignee_id=j.assignee_id,
                kind=j.kind,
            )
        for job in sorted(req.jobs, key=lambda x: x["row"].accepted_at or self.now):
            j = job["row"]
            if j.accepted_at:
                log("job.accepted", j.assignee_id, j.accepted_at, "job", j.id)
        fact = req.check_in
        primary = req.jobs[0]["row"] if req.jobs else None
        if fact is not None:
            log(
                "job.checked_in",
                fact.author_id,
                fact.effective_at,
                "job",
                fact.job_id,
                fact_id=fact.id,
                distance_m=fact.distance_m,
                flagged=fact.flagged,
            )
        if req.swap:
            log(
                "unit.swapped",
                primary.assignee_id,
                req.swap["at"],
                "unit",
                req.swap["in"].id,
                unit_out=req.swap["out"].asset_tag,
                unit_in=req.swap["in"].asset_tag,
            )
        if "resolved" in t:
            log("request.resolved", primary.assignee_id, t["resolved"], outcome=primary.outcome)
        if plan.stage == "closed":
            log(
                "feedback.recorded",
                req.agent,
                t["feedback"],
                reached=not plan.no_feedback,
                score=req.score,
            )
        if plan.stage == "cancelled":
            log("request.cancelled", req.agent, t["cancel"], reason=CANCEL_REASON)
        self.audit_count += n
