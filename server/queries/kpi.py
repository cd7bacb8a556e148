"""Request facts for the KPI dashboard and the monthly review (S5, S7, D9).

Loads what ``server.domain.kpi`` counts, in a few set queries (no query per request),
for requests that could touch a period: received, surveyed, closed or with a clock
started inside it. The arithmetic itself is in the domain module.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, or_, select

from server.domain import kpi
from server.domain import sla as rules
from server.domain.calendar import SpecialCalendar
from server.models import (
    AuditEntry,
    Feedback,
    Job,
    SlaClock,
    SlaPause,
    SlaRun,
    Staff,
    SupportRequest,
    Unit,
)
from server.queries.calendar import load_calendar

# A request surveyed or closed in a period was received at most this long before it.
LOOKBACK = timedelta(days=62)


def facts(db: Session, start: datetime, end: datetime, cal: SpecialCalendar,
          drills: bool = False, drill_id: int | None = None) -> list[kpi.RequestFacts]:
    """Every request received in [start - LOOKBACK, end), or of one drill, as plain facts."""
    query = select(SupportRequest)
    if drill_id is not None:
        query = query.where(SupportRequest.drill_id == drill_id)
    else:
        query = query.where(SupportRequest.received_at >= start - LOOKBACK,
                            SupportRequest.received_at < end)
        if not drills:
            query = query.where(or_(SupportRequest.is_drill.is_(False),
                                    SupportRequest.is_drill.is_(None)))
    requests = db.exec(query.order_by(SupportRequest.id)).all()
    return build(db, requests, cal)


def build(db: Session, requests: list[SupportRequest], cal: SpecialCalendar
          ) -> list[kpi.RequestFacts]:
    ids = [r.id for r in requests]
    if not ids:
        return []
    # Plain column rows, not ORM objects: a few thousand requests stay well under a second.
    answers: dict[int, list[kpi.Answer]] = defaultdict(list)
    for rid, at, reached, score, fixed in db.exec(
            select(Feedback.request_id, Feedback.recorded_at, Feedback.reached, Feedback.score,
                   Feedback.resolved).where(Feedback.request_id.in_(ids))
            .order_by(Feedback.recorded_at, Feedback.id)).all():  # fmt: skip
        answers[rid].append(kpi.Answer(at, reached, score, fixed))
    clocks = db.exec(select(SlaClock.id, SlaClock.request_id, SlaClock.kind, SlaClock.started_at,
                            SlaClock.deadline_at, SlaClock.stopped_at, SlaClock.breach_reason)
                     .where(SlaClock.request_id.in_(ids))).all()  # fmt: skip
    pauses: dict[int, list[rules.Pause]] = defaultdict(list)
    for cid, start, end, reason in db.exec(
            select(SlaPause.clock_id, SlaPause.started_at, SlaPause.ended_at, SlaPause.reason)
            .join(SlaClock, SlaClock.id == SlaPause.clock_id)
            .where(SlaClock.request_id.in_(ids))).all():  # fmt: skip
        pauses[cid].append(rules.Pause(start, end, reason))
    by_request: dict[int, list[kpi.ClockFacts]] = defaultdict(list)
    for cid, rid, kind, start, due, stop, reason in clocks:
        by_request[rid].append(kpi.ClockFacts(kind, start, due, stop, tuple(pauses[cid]), reason,
                                              cid))
    for run in db.exec(select(SlaRun).where(SlaRun.request_id.in_(ids))
                       .order_by(SlaRun.id)).all():  # fmt: skip
        paused = ((rules.Pause(run.started_at, run.started_at
                               + timedelta(seconds=run.paused_seconds), ""),)
                  if run.paused_seconds else ())  # fmt: skip
        by_request[run.request_id].append(kpi.ClockFacts(
            run.kind, run.started_at, run.deadline_at, run.stopped_at, paused,
            run.breach_reason, run.clock_id, run.id))  # fmt: skip
    engineers: dict[int, list[str]] = defaultdict(list)
    for rid, name in db.exec(select(Job.request_id, Staff.display_name)
                             .join(Staff, Staff.id == Job.assignee_id)
                             .where(Job.request_id.in_(ids)).order_by(Job.id)):  # fmt: skip
        if name not in engineers[rid]:
            engineers[rid].append(name)
    reopened: dict[int, int] = defaultdict(int)
    for rid in db.exec(select(AuditEntry.request_id).where(
            AuditEntry.request_id.in_(ids), AuditEntry.action == "request.reopened")).all():
        reopened[rid] += 1
    tags = dict(db.exec(select(Unit.id, Unit.asset_tag).where(
        Unit.id.in_([r.unit_id for r in requests if r.unit_id]))).all())  # fmt: skip
    out = []
    kinds: dict = {}  # local date -> day kind: one calendar lookup per day, not per request
    for r in requests:
        local = r.received_at.astimezone(cal.tz)
        if local.time() >= cal.night_start or local.time() < cal.night_end:
            shift = "night"
        else:
            day = local.date()
            if day not in kinds:
                kinds[day] = cal.day_kind(day)
            shift = "office" if kinds[day] == "workday" else "day"
        out.append(kpi.RequestFacts(
            id=r.id, number=r.number, received_at=r.received_at, priority=r.priority,
            region=r.region, device_type=r.device_type, symptom_kind=r.symptom_kind,
            status=r.status, closed_at=r.closed_at, is_drill=bool(r.is_drill),
            answers=tuple(answers[r.id]), clocks=tuple(by_request[r.id]),
            engineers=tuple(engineers[r.id]), shift=shift,
            reopened=reopened[r.id], unit_tag=tags.get(r.unit_id, ""),
            device_model=r.device_model))  # fmt: skip
    return out


@dataclass
class Trend:
    """Satisfaction and resolution per week and per month, for the two target charts."""

    weeks: list[tuple[str, kpi.Ratio, kpi.Ratio]]
    months: list[tuple[str, kpi.Ratio, kpi.Ratio]]


@dataclass
class Dashboard:
    period: str
    report: kpi.Report
    trend: Trend
    requests: dict[int, kpi.RequestFacts]
    missing_reasons: int  # breaches nobody has explained yet


def dashboard(db: Session, period: str, now: datetime, settings) -> Dashboard:
    """Every figure of ``period`` ('YYYY-MM' or 'YYYY-Www'; ValueError otherwise)."""
    tz = ZoneInfo(settings.time_zone)
    start, end = kpi.period_bounds(period, tz)
    weeks, months = kpi.recent_periods(min(now, end - timedelta(seconds=1)), tz)
    first = min(kpi.period_bounds(weeks[0], tz)[0], kpi.period_bounds(months[0], tz)[0], start)
    cal = load_calendar(db)
    rows = facts(db, first, max(end, now), cal)
    rep = kpi.report(rows, period, tz, now, settings.sla)
    trend = Trend(
        weeks=[(w, kpi.satisfaction(rows, w, tz), kpi.resolution(rows, w, tz)) for w in weeks],
        months=[(m, kpi.satisfaction(rows, m, tz), kpi.resolution(rows, m, tz)) for m in months],
    )
    return Dashboard(period, rep, trend, {r.id: r for r in rows},
                     sum(1 for b in rep.breaches if not b.recorded))


def requests_by_id(db: Session, ids: list[int]) -> list[SupportRequest]:
    if not ids:
        return []
    return list(db.exec(select(SupportRequest).where(SupportRequest.id.in_(ids))
                        .order_by(SupportRequest.received_at, SupportRequest.id)))


@dataclass
class Review:
    """S5: the month's figures, every breach with its reason, repeat faults, open problems."""

    dashboard: Dashboard
    repeat_units: dict[str, list[int]]
    repeat_models: dict[str, list[int]]
    open_problems: list[SupportRequest]


def review(db: Session, month: str, now: datetime, settings) -> Review:
    d = dashboard(db, month, now, settings)
    tz = ZoneInfo(settings.time_zone)
    rows = [r for r in d.requests.values()
            if not r.is_drill and kpi.month_of(r.received_at, tz) == month]
    still_open = [r.id for r in rows if r.status not in ("closed", "cancelled")]
    return Review(
        dashboard=d,
        repeat_units=kpi.repeat_faults(rows, lambda r: r.unit_tag),
        repeat_models=kpi.repeat_faults(rows, lambda r: r.device_model),
        open_problems=requests_by_id(db, still_open),
    )
