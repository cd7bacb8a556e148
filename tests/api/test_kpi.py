"""The KPI dashboard and the monthly review (S5, S7, D9) over the demo data plus a drill:
every figure links to its requests, drills never count, and the XLSX read back holds the
dashboard's numbers."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from server.demo import load_demo
from server.models import SlaClock, SupportRequest
from server.queries import kpi as q
from server.routes import kpi_view
from tests.conftest import form_post, login, text_of

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # a night in Shanghai
MONTH = "2026-11"
DEMO = "fieldops-demo"


@pytest.fixture
def demo(db, settings, clock):
    clock.set(NOW)
    load_demo(db, NOW, settings)
    db.commit()
    # A drill that went badly must not move a single figure (D9, D12).
    real = db.exec(select(SupportRequest).where(SupportRequest.status == "closed")).first()
    drill = SupportRequest(**real.model_dump(exclude={"id", "number", "is_drill"}), number="DRILL-1",
                           is_drill=True)  # fmt: skip
    db.add(drill)
    db.flush()
    db.add(SlaClock(request_id=drill.id, kind="first_response", started_at=NOW - timedelta(hours=2),
                    deadline_at=NOW - timedelta(hours=2) + timedelta(minutes=5),
                    stopped_at=NOW - timedelta(hours=1)))  # fmt: skip
    # A customer name that a spreadsheet would run as a formula.
    open_one = db.exec(select(SupportRequest).where(SupportRequest.status == "handed_off")).first()
    open_one.customer_name = "=HYPERLINK(\"http://evil\",\"x\")"
    db.add(open_one)
    db.commit()
    return drill


def test_the_dashboard_shows_the_figures_with_links_and_no_drill(client, db, settings, demo):
    login(client, "manager", DEMO)
    page = client.get("/kpi", params={"period": MONTH})
    assert page.status_code == 200
    d = q.dashboard(db, MONTH, NOW, settings)
    sat = d.report.satisfaction
    assert sat.den > 5 and demo.id not in d.report.received
    assert kpi_view.pct(sat.value) in page.text
    assert f'href="/kpi/requests?period={MONTH}&amp;figure=satisfaction.den"' in page.text
    assert page.text.count("<svg") >= 10 and "95 %" in page.text
    # the requests behind a figure
    listed = client.get("/kpi/requests", params={"period": MONTH, "figure": "satisfaction.den"})
    assert listed.status_code == 200
    assert len(re.findall(r'href="/board/requests/\d+"', listed.text)) == sat.den
    assert "DRILL-1" not in listed.text
    breaches = client.get("/kpi/requests", params={"period": MONTH, "figure": "breaches"})
    assert "DRILL-1" not in breaches.text
    # weeks work too; junk is a readable 404
    assert client.get("/kpi", params={"period": "2026-W47"}).status_code == 200
    for bad in ("2026-13", "x", "2026-W99", "99999-01"):
        assert client.get("/kpi", params={"period": bad}).status_code == 404
    assert client.get("/kpi/requests", params={"period": MONTH, "figure": "nope"}).status_code == 404


def test_only_the_manager_sees_kpis(client, demo):
    login(client, "dispatcher", DEMO)
    assert client.get("/kpi").status_code == 403


def test_the_xlsx_read_back_equals_the_dashboard(client, db, settings, demo):
    login(client, "manager", DEMO)
    r = client.get(f"/kpi/review/{MONTH}/xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    sheets = {ws.title: [row for row in ws.iter_rows(min_row=2, values_only=True)]
              for ws in wb.worksheets}  # fmt: skip
    figures = {row[0]: row for row in sheets["数据"]}
    d = q.dashboard(db, MONTH, NOW, settings)
    expected = kpi_view.figure_rows(d)
    assert len(figures) == len(expected) > 20
    for row in expected:
        got = figures[row.key]
        assert (got[2], got[3]) == (row.num, row.den), row.key
        if row.value is not None:
            assert got[4] == pytest.approx(row.value, abs=1e-4), row.key
    # the same numbers as the page shows
    page = client.get("/kpi", params={"period": MONTH}).text
    sat = figures["satisfaction"]
    assert f"{sat[4] * 100:.1f} %" in page
    assert sat[2] == d.report.satisfaction.num and sat[3] == d.report.satisfaction.den
    # every breach, with its reason column; no drill
    assert len(sheets["超时记录"]) == len(d.report.breaches)
    assert "DRILL-1" not in {b[0] for b in sheets["超时记录"]}
    # text that looks like a formula stays text
    ws = wb["未解决问题"]
    cells = [c for row in ws.iter_rows() for c in row if c.value and str(c.value).startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_the_review_page_prints_and_a_breach_reason_can_be_written(client, db, demo, settings):
    login(client, "manager", DEMO)
    page = client.get("/kpi/review", params={"month": MONTH})
    assert page.status_code == 200 and "@media print" not in page.text
    d = q.dashboard(db, MONTH, NOW, settings)
    assert d.report.breaches, "the demo has breaches"
    b = d.report.breaches[0]
    r = form_post(client, f"/kpi/breaches/{b.clock_id}/reason", {"reason": "两名工程师都在处理P1"},
                  htmx=True)
    assert r.status_code == 200 and "两名工程师都在处理P1" in r.text
    db.rollback()  # end the test's read snapshot
    assert db.get(SlaClock, b.clock_id).breach_reason == "两名工程师都在处理P1"
    again = q.dashboard(db, MONTH, NOW, settings)
    assert next(x for x in again.report.breaches if x.clock_id == b.clock_id).recorded
    empty = form_post(client, f"/kpi/breaches/{b.clock_id}/reason", {"reason": " "}, htmx=True)
    assert empty.status_code == 422 and "超时" in text_of(empty.text)
    assert client.get("/kpi/review", params={"month": "2026-W47"}).status_code == 404


def test_a_reopened_request_keeps_its_first_runs_breach_and_its_reason(client, db, demo, settings):
    """D9 reopens a request with a fresh resolution clock; the late first run still counts
    as a breach (S5), is listed 'before reopening', and takes its own reason."""
    from server.actions.feedback import record_feedback
    from server.models import RequestStatus, SlaRun

    req = db.exec(select(SupportRequest).where(SupportRequest.status == "handed_off")).first()
    started = NOW - timedelta(hours=30)
    clock = db.exec(select(SlaClock).where(SlaClock.request_id == req.id,
                                           SlaClock.kind == "resolution")).first()  # fmt: skip
    if clock is None:
        clock = SlaClock(request_id=req.id, kind="resolution")
    clock.started_at, clock.deadline_at = started, started + timedelta(hours=4)
    clock.stopped_at = started + timedelta(hours=6)  # two hours late
    req.status, req.resolved_at = RequestStatus.resolved, clock.stopped_at
    db.add_all([clock, req])
    db.commit()
    record_feedback(db, None, req.id, reached=True, score=2, resolved=False, comment="又黑屏了",
                    no_feedback_reason="", now=NOW - timedelta(hours=1), settings=settings)
    db.commit()
    run = db.exec(select(SlaRun).where(SlaRun.request_id == req.id)).one()
    assert (run.kind, run.stopped_at) == ("resolution", started + timedelta(hours=6))
    assert db.get(SlaClock, clock.id).stopped_at is None  # the new run is running

    d = q.dashboard(db, MONTH, NOW, settings)
    mine = [b for b in d.report.breaches if b.request_id == req.id and b.clock == "resolution"]
    assert [b.run_id for b in mine] == [run.id] and mine[0].over_minutes == 120
    login(client, "manager", DEMO)
    page = client.get("/kpi/review", params={"month": MONTH})
    assert f'action="/kpi/runs/{run.id}/reason"' in page.text and "重开前" in page.text
    r = form_post(client, f"/kpi/runs/{run.id}/reason", {"reason": "备件送错型号"}, htmx=True)
    assert r.status_code == 200 and "备件送错型号" in r.text
    assert form_post(client, f"/kpi/runs/{run.id}/reason", {"reason": ""},
                     htmx=True).status_code == 422  # fmt: skip
    assert form_post(client, "/kpi/runs/999999/reason", {"reason": "x"},
                     htmx=True).status_code == 422  # fmt: skip
    db.rollback()
    assert db.get(SlaRun, run.id).breach_reason == "备件送错型号"
    again = q.dashboard(db, MONTH, NOW, settings)
    assert next(b for b in again.report.breaches if b.run_id == run.id).recorded
