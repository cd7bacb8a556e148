"""KPI arithmetic from hand-built requests (S7, D9, D6, D12)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server.domain import kpi
from server.domain.sla import Pause, SlaTargets

TZ = ZoneInfo("Asia/Shanghai")
T = SlaTargets()
NOW = datetime(2026, 12, 5, 12, tzinfo=TZ)


def at(day, hour=20, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def answer(day, score, fixed, hour=21):
    return kpi.Answer(at(day, hour), True, score, fixed)


def req(rid, day=3, **kw):
    kw.setdefault("status", "closed")
    if kw["status"] == "closed":
        kw.setdefault("closed_at", at(day, 22))
    return kpi.RequestFacts(id=rid, number=f"FO-{rid}", received_at=at(day), **kw)


def clock(kind, start, minutes, took, pauses=(), reason=""):
    """A clock of ``minutes`` budget that stopped ``took`` minutes after it started."""
    stop = None if took is None else start + timedelta(minutes=took)
    return kpi.ClockFacts(kind, start, start + timedelta(minutes=minutes), stop, tuple(pauses),
                          reason)


def test_satisfaction_counts_first_answers_and_drops_drills_and_unreached():
    requests = [
        req(1, answers=(answer(3, 5, True),)),
        req(2, answers=(answer(3, 4, True),)),
        # reopened: first a 2 / not fixed, later a 5 / fixed: dissatisfied for satisfaction,
        # confirmed fixed for resolution
        req(3, answers=(answer(3, 2, False), answer(4, 5, True)), reopened=1),
        # closed without feedback: not surveyed, but closed (resolution's denominator)
        req(4, answers=(kpi.Answer(at(3, 23), False),)),
        # a drill never counts, whatever it scored
        req(5, answers=(answer(3, 1, False),), is_drill=True),
        # reopened and still open: surveyed (dissatisfied) but not closed
        req(6, status="handed_off", answers=(answer(3, 3, True),), reopened=1),
    ]
    sat = kpi.satisfaction(requests, "2026-11", TZ)
    assert (sat.num_ids, sat.den_ids) == ([1, 2], [1, 2, 3, 6])
    assert sat.value == 0.5 and sat.meets is False
    res = kpi.resolution(requests, "2026-11", TZ)
    assert (res.num_ids, res.den_ids) == ([1, 2, 3], [1, 2, 3, 4])
    assert res.value == 0.75 and res.meets is False
    rep = kpi.report(requests, "2026-11", TZ, NOW, T)
    assert rep.closed_without_feedback == [4]
    assert rep.reopened == [3, 6]
    assert 5 not in rep.received and rep.ids("satisfaction.num") == [1, 2]


def test_periods_bucket_by_local_time_and_iso_week():
    # 2026-11-30 23:30 Shanghai is 15:30 UTC: November locally, week 49.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=TZ)
    r = kpi.RequestFacts(1, "FO-1", late, status="closed", closed_at=late,
                         answers=(kpi.Answer(late, True, 5, True),))
    assert kpi.satisfaction([r], "2026-11", TZ).den == 1
    assert kpi.satisfaction([r], "2026-12", TZ).den == 0
    assert kpi.satisfaction([r], "2026-W49", TZ).den == 1
    assert kpi.satisfaction([r], "2026-12", TZ).value is None  # nothing measured is not 0 %


def test_a_paused_clock_meets_its_moved_deadline_and_breaches_keep_their_reason():
    start = at(3)
    pause = Pause(start + timedelta(minutes=2), start + timedelta(minutes=12),
                  "customer asked to wait")
    requests = [
        # 15-minute budget, stopped at 20 min, 10 of them paused: met (net 10 min)
        req(1, priority="P2", clocks=(clock("first_response", start, 15, 20, [pause]),)),
        # stopped at 20 min without a pause: missed, reason recorded by the manager
        req(2, priority="P2", clocks=(clock("first_response", start, 15, 20,
                                            reason="both engineers on P1s"),)),
        # still running 40 min past its deadline at NOW: breached
        req(3, priority="P1", region="suburban", status="in_progress",
            clocks=(clock("arrival", NOW - timedelta(minutes=130), 90, None),)),
        # running within its budget: undecided, left out
        req(4, status="in_progress", clocks=(clock("resolution", NOW - timedelta(minutes=5), 240, None),)),
        # a drill's missed clock never counts
        req(5, is_drill=True, clocks=(clock("first_response", start, 15, 60),)),
    ]
    nov = kpi.sla_compliance(requests, "2026-11", TZ, NOW, T)
    assert (nov["first_response"].num_ids, nov["first_response"].den_ids) == ([1], [1, 2])
    assert nov["first_response|P2"].value == 0.5
    assert "resolution" not in nov and "first_response|P1" not in nov
    dec = kpi.sla_compliance(requests, "2026-12", TZ, NOW, T)
    assert dec["arrival|suburban"].value == 0.0
    minutes = dict(kpi.clock_minutes(requests, "first_response", "2026-11", TZ, NOW, T))
    assert minutes == {1: 10.0, 2: 20.0}
    found = kpi.breaches(requests, "2026-11", TZ, NOW, T)
    assert [(b.request_id, b.clock, b.over_minutes, b.reason) for b in found] == [
        (2, "first_response", 5.0, "both engineers on P1s")]
    assert [b.request_id for b in kpi.breaches(requests, "2026-11", TZ, NOW, T, True)] == [2, 5]


def test_histograms_groups_and_figure_links():
    values = [(1, 0.5), (2, 5.0), (3, 14.9), (4, 61)]
    bins = kpi.histogram(values, (0, 5, 10, 15, 30, 60))
    assert bins == [("0-5", [1]), ("5-10", [2]), ("10-15", [3]), ("15-30", []),
                    ("30-60", []), ("60+", [4])]
    requests = [req(1, device_type="camera", engineers=("王", "李"), shift="night"),
                req(2, device_type="camera", engineers=("王",), shift="day"),
                req(3, device_type="mixer", shift="night", is_drill=True)]
    rep = kpi.report(requests, "2026-11", TZ, NOW, T)
    assert rep.by_device == {"camera": [1, 2]}
    assert rep.by_engineer == {"王": [1, 2], "李": [1]}
    assert rep.ids("device.camera") == [1, 2] and rep.ids("engineer.李") == [1]
    assert rep.ids("shift.night") == [1]
    assert rep.ids("nonsense") is None and rep.ids("sla.arrival.num") is None
    assert kpi.repeat_faults(requests, lambda r: r.device_type) == {"camera": [1, 2]}


def test_period_bounds_and_recent_periods():
    start, end = kpi.period_bounds("2026-12", TZ)
    assert (start.day, end.year, end.month) == (1, 2027, 1)
    start, end = kpi.period_bounds("2026-W53", TZ)
    assert end - start == timedelta(days=7)
    weeks, months = kpi.recent_periods(datetime(2027, 1, 2, tzinfo=TZ), TZ, 3, 3)
    assert months == ["2026-11", "2026-12", "2027-01"]
    assert weeks[-1] == "2026-W53"
