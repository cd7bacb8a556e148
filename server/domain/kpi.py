"""The policy's targets measured (S5, S7, D9): pure arithmetic on plain request facts.

D9 definitions, as counted here (every figure keeps the ids of the requests behind it):

- Satisfaction = surveyed requests scored 4-5 / all surveyed requests. A request counts
  once, by its *first* answer (the verdict on the service as first delivered): a request
  reopened after a score of 2 stays a dissatisfied one even if a later answer is a 5.
  It falls in the period of that first answer. Requests closed without feedback (the
  customer could not be reached) are not surveyed and are left out.
- Resolution rate = closed requests the customer confirmed fixed (their last answer,
  swaps included) / all closed requests, in the period the request was closed. A request
  closed with a reason instead of feedback counts in the denominator only.
- SLA compliance = clocks met / clocks decided (met, missed, or still running past their
  deadline), per clock kind, priority and region, for clocks started in the period.
  A paused clock's deadline moves by the paused time (D6), exactly as on the board.
- Drill requests (D12) never count: every function here drops them first.

Periods are local (D1) calendar months 'YYYY-MM' and ISO weeks 'YYYY-Www'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.domain import sla as rules

SATISFACTION_TARGET = 0.95  # S7
RESOLUTION_TARGET = 0.90  # S7
SATISFIED_FROM = 4  # D9: scored 4-5 of 5
# Minutes: the edges of the response/arrival time distributions (the last bin is open).
FIRST_RESPONSE_BINS = (0, 5, 10, 15, 30, 60)
ARRIVAL_BINS = (0, 30, 45, 60, 90, 120, 180)


@dataclass(frozen=True)
class Answer:
    """One feedback record: reached=False means closed with a reason instead."""

    at: datetime
    reached: bool
    score: int | None = None
    resolved: bool | None = None


@dataclass(frozen=True)
class ClockFacts:
    kind: str
    started_at: datetime
    deadline_at: datetime
    stopped_at: datetime | None = None
    pauses: tuple[rules.Pause, ...] = ()
    breach_reason: str = ""
    id: int = 0  # the clock's row, so a reason can be written for its breach
    run_id: int = 0  # an earlier, finished run of that clock (SlaRun), or 0 for the current one


@dataclass(frozen=True)
class RequestFacts:
    """What the KPIs need of one request (built by ``server.queries.kpi``)."""

    id: int
    number: str
    received_at: datetime
    priority: str = "P3"
    region: str = "urban"
    device_type: str = "other"
    symptom_kind: str = "other"
    status: str = "new"
    closed_at: datetime | None = None
    is_drill: bool = False
    answers: tuple[Answer, ...] = ()  # in the order recorded
    clocks: tuple[ClockFacts, ...] = ()
    engineers: tuple[str, ...] = ()  # display names of everyone who held a job on it
    shift: str = "office"  # night | day | office: the special-period shift it arrived in
    reopened: int = 0
    unit_tag: str = ""
    device_model: str = ""


@dataclass
class Ratio:
    """A figure with the requests behind it: ``num_ids`` ⊆ ``den_ids``."""

    num_ids: list[int] = field(default_factory=list)
    den_ids: list[int] = field(default_factory=list)
    target: float | None = None

    @property
    def num(self) -> int:
        return len(self.num_ids)

    @property
    def den(self) -> int:
        return len(self.den_ids)

    @property
    def value(self) -> float | None:
        """None when nothing was measured (an empty period is not 0 %)."""
        return self.num / self.den if self.den else None

    @property
    def meets(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target


@dataclass(frozen=True)
class Breach:
    request_id: int
    number: str
    clock: str
    priority: str
    region: str
    over_minutes: float  # how far past the (pause-adjusted) deadline, net of pauses
    reason: str  # the recorded reason, or the pause reasons, or ''
    drill: bool = False
    clock_id: int = 0
    recorded: bool = False  # the reason was written for this breach (not pause reasons)
    run_id: int = 0  # the breach was an earlier run of a restarted clock (reopened request)


@dataclass
class Report:
    """Every dashboard figure of one period, each with its requests."""

    period: str
    satisfaction: Ratio
    resolution: Ratio
    sla: dict[str, Ratio]  # "clock" -> ratio, and "clock|P1", "clock|urban" breakdowns
    first_response_bins: list[tuple[str, list[int]]]
    arrival_bins: list[tuple[str, list[int]]]
    by_device: dict[str, list[int]]
    by_fault: dict[str, list[int]]
    by_engineer: dict[str, list[int]]
    by_shift: dict[str, list[int]]
    breaches: list[Breach]
    received: list[int]
    reopened: list[int]
    closed_without_feedback: list[int]

    def ids(self, key: str) -> list[int] | None:
        """The requests behind the figure ``key`` (the dashboard's links), None if unknown."""
        return figure_ids(self, key)


# -- periods ---------------------------------------------------------------------------


def month_of(instant: datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return f"{local.year}-{local.month:02d}"


def week_of(instant: datetime, tz: ZoneInfo) -> str:
    y, w, _ = instant.astimezone(tz).isocalendar()
    return f"{y}-W{w:02d}"


def period_of(period: str) -> Callable[[datetime, ZoneInfo], str]:
    """The bucketing function for a period key: 'YYYY-MM' or 'YYYY-Www'."""
    return week_of if "-W" in period else month_of


def period_bounds(period: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a month 'YYYY-MM' or an ISO week 'YYYY-Www' in local time.

    Raises ValueError for anything else.
    """
    if "-W" in period:
        y, w = period.split("-W")
        first = date.fromisocalendar(int(y), int(w), 1)
        last = first + timedelta(days=7)
    else:
        y, m = (int(p) for p in period.split("-"))
        if not (1 <= m <= 12 and len(period) == 7):
            raise ValueError(period)
        first, last = date(y, m, 1), date(y + m // 12, m % 12 + 1, 1)
    return (datetime.combine(first, datetime.min.time(), tz),
            datetime.combine(last, datetime.min.time(), tz))  # fmt: skip


def recent_periods(now: datetime, tz: ZoneInfo, weeks: int = 8, months: int = 6
                   ) -> tuple[list[str], list[str]]:
    """The last ``weeks`` ISO weeks and ``months`` months up to now, oldest first."""
    local = now.astimezone(tz)
    wk = [week_of(local - timedelta(weeks=i), tz) for i in range(weeks)][::-1]
    ms, y, m = [], local.year, local.month
    for _ in range(months):
        ms.append(f"{y}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return wk, ms[::-1]


# -- the figures -----------------------------------------------------------------------


def real(requests: Iterable[RequestFacts]) -> list[RequestFacts]:
    """D9/D12: drills never count."""
    return [r for r in requests if not r.is_drill]


def satisfaction(requests: Iterable[RequestFacts], period: str, tz: ZoneInfo) -> Ratio:
    bucket = period_of(period)
    out = Ratio(target=SATISFACTION_TARGET)
    for r in real(requests):
        first = next((a for a in r.answers if a.reached and a.score is not None), None)
        if first is None or bucket(first.at, tz) != period:
            continue
        out.den_ids.append(r.id)
        if first.score >= SATISFIED_FROM:
            out.num_ids.append(r.id)
    return out


def resolution(requests: Iterable[RequestFacts], period: str, tz: ZoneInfo) -> Ratio:
    bucket = period_of(period)
    out = Ratio(target=RESOLUTION_TARGET)
    for r in real(requests):
        if r.status != "closed" or r.closed_at is None or bucket(r.closed_at, tz) != period:
            continue
        out.den_ids.append(r.id)
        last = r.answers[-1] if r.answers else None
        if last is not None and last.reached and last.resolved:
            out.num_ids.append(r.id)
    return out


def clock_outcome(clock: ClockFacts, now: datetime, targets: rules.SlaTargets
                  ) -> tuple[str, rules.ClockStatus]:
    """'met', 'missed' (stopped late), 'breached' (running past its deadline) or 'open'."""
    status = rules.clock_status(clock.started_at, clock.deadline_at, clock.pauses,
                                clock.stopped_at, now, targets)  # fmt: skip
    if status.state in ("met", "missed", "breached"):
        return status.state, status
    return "open", status


def sla_compliance(requests: Iterable[RequestFacts], period: str, tz: ZoneInfo,
                   now: datetime, targets: rules.SlaTargets) -> dict[str, Ratio]:
    """Per clock kind, and per 'kind|priority' and 'kind|region'; undecided clocks left out."""
    bucket = period_of(period)
    out: dict[str, Ratio] = defaultdict(Ratio)
    for r in real(requests):
        for c in r.clocks:
            if bucket(c.started_at, tz) != period:
                continue
            outcome, _ = clock_outcome(c, now, targets)
            if outcome == "open":
                continue
            for key in (c.kind, f"{c.kind}|{r.priority}", f"{c.kind}|{r.region}"):
                out[key].den_ids.append(r.id)
                if outcome == "met":
                    out[key].num_ids.append(r.id)
    return dict(out)


def breaches(requests: Iterable[RequestFacts], period: str, tz: ZoneInfo, now: datetime,
             targets: rules.SlaTargets, include_drills: bool = False) -> list[Breach]:
    """Every clock started in the period that ran past its deadline, with its reason."""
    bucket = period_of(period)
    out = []
    pool = list(requests) if include_drills else real(requests)
    for r in pool:
        for c in r.clocks:
            if bucket(c.started_at, tz) != period:
                continue
            outcome, status = clock_outcome(c, now, targets)
            if outcome not in ("missed", "breached"):
                continue
            reason = c.breach_reason or "; ".join(p.reason for p in c.pauses if p.reason)
            out.append(Breach(r.id, r.number, c.kind, r.priority, r.region,
                              round(-status.remaining_seconds / 60, 1), reason, r.is_drill,
                              c.id, bool(c.breach_reason), c.run_id))
    return sorted(out, key=lambda b: (b.number, b.clock, b.run_id == 0, b.run_id))


def clock_minutes(requests: Iterable[RequestFacts], kind: str, period: str, tz: ZoneInfo,
                  now: datetime, targets: rules.SlaTargets) -> list[tuple[int, float]]:
    """(request id, minutes net of pauses) of every stopped ``kind`` clock in the period."""
    bucket = period_of(period)
    out = []
    for r in real(requests):
        for c in r.clocks:
            if c.kind == kind and c.stopped_at is not None and bucket(c.started_at, tz) == period:
                _, status = clock_outcome(c, now, targets)
                out.append((r.id, status.elapsed_seconds / 60))
    return out


def histogram(values: Sequence[tuple[int, float]], edges: Sequence[int]
              ) -> list[tuple[str, list[int]]]:
    """Bins '0-5', '5-10', ..., '60+' (minutes) holding the request ids that fall in each."""
    labels = [f"{a}-{b}" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}+"]
    bins: list[list[int]] = [[] for _ in labels]
    for rid, minutes in values:
        i = sum(1 for e in edges[1:] if minutes >= e)
        bins[i].append(rid)
    return list(zip(labels, bins, strict=True))


def count_by(requests: Iterable[RequestFacts], key: Callable[[RequestFacts], Iterable[str]]
             ) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for r in requests:
        for k in key(r):
            out[k].append(r.id)
    return dict(sorted(out.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def report(requests: Sequence[RequestFacts], period: str, tz: ZoneInfo, now: datetime,
           targets: rules.SlaTargets) -> Report:
    """Every figure of the dashboard and the monthly review for one period."""
    bucket = period_of(period)
    arrived = [r for r in real(requests) if bucket(r.received_at, tz) == period]
    closed_in = [r for r in real(requests)
                 if r.status == "closed" and r.closed_at and bucket(r.closed_at, tz) == period]
    return Report(
        period=period,
        satisfaction=satisfaction(requests, period, tz),
        resolution=resolution(requests, period, tz),
        sla=sla_compliance(requests, period, tz, now, targets),
        first_response_bins=histogram(
            clock_minutes(requests, "first_response", period, tz, now, targets),
            FIRST_RESPONSE_BINS),
        arrival_bins=histogram(clock_minutes(requests, "arrival", period, tz, now, targets),
                               ARRIVAL_BINS),
        by_device=count_by(arrived, lambda r: [r.device_type]),
        by_fault=count_by(arrived, lambda r: [r.symptom_kind]),
        by_engineer=count_by(arrived, lambda r: r.engineers),
        by_shift=count_by(arrived, lambda r: [r.shift]),
        breaches=breaches(requests, period, tz, now, targets),
        received=[r.id for r in arrived],
        reopened=[r.id for r in arrived if r.reopened],
        closed_without_feedback=[r.id for r in closed_in
                                 if not any(a.reached for a in r.answers)],
    )  # fmt: skip


def repeat_faults(requests: Iterable[RequestFacts], key: Callable[[RequestFacts], str],
                  at_least: int = 2) -> dict[str, list[int]]:
    """S5: units (or models) with ``at_least`` real requests in the set, most first."""
    groups = count_by([r for r in real(requests) if key(r)], lambda r: [key(r)])
    return {k: ids for k, ids in groups.items() if len(ids) >= at_least}


def figure_ids(rep: Report, key: str) -> list[int] | None:
    """Resolve a figure key such as 'satisfaction.num', 'sla.arrival|P1.den',
    'device.camera', 'first_response.5-10', 'breaches' to its request ids."""
    head, _, rest = key.partition(".")
    ratios = {"satisfaction": rep.satisfaction, "resolution": rep.resolution}
    if head in ratios or head == "sla":
        name, _, part = rest.rpartition(".") if head == "sla" else ("", "", rest)
        ratio = rep.sla.get(name) if head == "sla" else ratios[head]
        if ratio is None or part not in ("num", "den"):
            return None
        return list(ratio.num_ids if part == "num" else ratio.den_ids)
    groups = {"device": rep.by_device, "fault": rep.by_fault, "engineer": rep.by_engineer,
              "shift": rep.by_shift, "first_response": dict(rep.first_response_bins),
              "arrival": dict(rep.arrival_bins)}  # fmt: skip
    if head in groups:
        return list(groups[head].get(rest, [])) if rest in groups[head] else None
    lists = {"received": rep.received, "reopened": rep.reopened,
             "closed_without_feedback": rep.closed_without_feedback,
             "breaches": sorted({b.request_id for b in rep.breaches})}  # fmt: skip
    if head in lists and not rest:
        return list(lists[head])
    return None
