"""Turning the KPI figures into what the dashboard, the review page and the XLSX show.

One place builds the labelled rows, so the printable review and the XLSX hold exactly
the dashboard's numbers (tests read the XLSX back and compare).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from server.charts import Bar, columns, hbars
from server.domain import kpi
from server.domain.sla import CLOCK_KINDS, PRIORITIES, REGIONS
from server.domain.spreadsheet import xlsx_append
from server.i18n import gettext as _
from server.queries.kpi import Dashboard
from server.routes.intake import SYMPTOM_LABELS

SLA_COLUMNS = ("", *PRIORITIES, *REGIONS)  # '' = every request


def href(period: str, figure: str) -> str:
    return "/kpi/requests?" + urlencode({"period": period, "figure": figure})


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@dataclass
class Cell:
    text: str
    href: str = ""
    miss: bool = False


@dataclass
class Row:
    """One figure: key (stable, also in the XLSX), label, numerator, denominator, value."""

    key: str
    label: str
    num: int | None
    den: int | None
    value: float | None
    target: float | None = None

    @property
    def text(self) -> str:
        return pct(self.value) if self.den is not None else str(self.num)


def label_of(group: str, key: str) -> str:
    if group == "fault":
        return _(SYMPTOM_LABELS[key]) if key in SYMPTOM_LABELS else key
    if group in ("device", "shift") or key in CLOCK_KINDS:
        return _(key) if key != "office" else _("office hours")
    return key


def figure_rows(d: Dashboard) -> list[Row]:
    """Every number of the period, in order: the XLSX 'Figures' sheet and the tests."""
    rep = d.report
    rows = [
        Row("satisfaction", _("Customer satisfaction (scored 4-5 of surveyed)"),
            rep.satisfaction.num, rep.satisfaction.den, rep.satisfaction.value,
            kpi.SATISFACTION_TARGET),
        Row("resolution", _("Fault resolution rate (confirmed fixed of closed)"),
            rep.resolution.num, rep.resolution.den, rep.resolution.value, kpi.RESOLUTION_TARGET),
        Row("received", _("Requests received"), len(rep.received), None, None),
        Row("reopened", _("Reopened after feedback"), len(rep.reopened), None, None),
        Row("closed_without_feedback", _("Closed without feedback (reason recorded)"),
            len(rep.closed_without_feedback), None, None),
        Row("breaches", _("Time limits missed"), len(rep.breaches), None, None),
    ]  # fmt: skip
    for kind in CLOCK_KINDS:
        for col in SLA_COLUMNS:
            key = f"{kind}|{col}" if col else kind
            ratio = rep.sla.get(key)
            if ratio is None:
                continue
            label = _("On time: %(clock)s") % {"clock": _(kind)} + (f" · {_(col)}" if col else "")
            rows.append(Row(f"sla.{key}", label, ratio.num, ratio.den, ratio.value))
    for group, items in (("first_response", rep.first_response_bins),
                         ("arrival", rep.arrival_bins)):  # fmt: skip
        for label, ids in items:
            rows.append(Row(f"{group}.{label}", f"{_(group)} · {label} min", len(ids), None, None))
    for group, data in (("device", rep.by_device), ("fault", rep.by_fault),
                        ("engineer", rep.by_engineer), ("shift", rep.by_shift)):  # fmt: skip
        for key, ids in data.items():
            rows.append(Row(f"{group}.{key}", label_of(group, key), len(ids), None, None))
    return rows


def sla_table(d: Dashboard) -> list[tuple[str, list[Cell]]]:
    out = []
    for kind in CLOCK_KINDS:
        cells = []
        for col in SLA_COLUMNS:
            key = f"{kind}|{col}" if col else kind
            r = d.report.sla.get(key)
            if r is None or not r.den:
                cells.append(Cell("—"))
                continue
            cells.append(Cell(f"{pct(r.value)} ({r.num}/{r.den})", href(d.period, f"sla.{key}.den"),
                              miss=r.num < r.den))
        out.append((_(kind), cells))
    return out


def trend_chart(points: list[tuple[str, kpi.Ratio, kpi.Ratio]], which: int, target: float,
                title: str) -> object:
    bars = []
    for period, *ratios in points:
        ratio = ratios[which]
        short = period.split("-", 1)[1] if "-W" in period else period[2:]
        bars.append(Bar(short, ratio.value, href(period, ("satisfaction", "resolution")[which]
                                                 + ".den") if ratio.den else "",
                        f"{ratio.value * 100:.0f}%" if ratio.value is not None else "",
                        miss=ratio.value is not None and ratio.value < target))
    return columns(bars, title=title, max_value=1, target=target,
                   target_text=f"{target * 100:.0f} %")


def histogram_chart(d: Dashboard, group: str, title: str) -> object:
    items = d.report.first_response_bins if group == "first_response" else d.report.arrival_bins
    top = max((len(ids) for _, ids in items), default=0)
    bars = [Bar(label, len(ids), href(d.period, f"{group}.{label}") if ids else "",
                str(len(ids))) for label, ids in items]
    return columns(bars, title=title, max_value=max(top, 1), width=520, height=200)


def count_chart(d: Dashboard, group: str, title: str) -> object:
    data = {"device": d.report.by_device, "fault": d.report.by_fault,
            "engineer": d.report.by_engineer, "shift": d.report.by_shift}[group]
    bars = [Bar(label_of(group, k), len(ids), href(d.period, f"{group}.{k}"), str(len(ids)))
            for k, ids in list(data.items())[:12]]
    return hbars(bars, title=title)


def charts(d: Dashboard) -> dict[str, tuple[str, object]]:
    """name -> (caption, svg): the caption is also the chart's accessible title."""
    sat, res = {"target": "95 %"}, {"target": "90 %"}
    titles = {
        "sat_weeks": _("Satisfaction per week against %(target)s") % sat,
        "res_weeks": _("Resolution rate per week against %(target)s") % res,
        "sat_months": _("Satisfaction per month against %(target)s") % sat,
        "res_months": _("Resolution rate per month against %(target)s") % res,
        "first_response": _("First response time (minutes)"),
        "arrival": _("Onsite arrival time (minutes)"),
        "device": _("Requests per device type"),
        "fault": _("Requests per fault kind"),
        "engineer": _("Requests per engineer"),
        "shift": _("Requests per shift"),
    }
    svg = {
        "sat_weeks": trend_chart(d.trend.weeks, 0, kpi.SATISFACTION_TARGET, titles["sat_weeks"]),
        "res_weeks": trend_chart(d.trend.weeks, 1, kpi.RESOLUTION_TARGET, titles["res_weeks"]),
        "sat_months": trend_chart(d.trend.months, 0, kpi.SATISFACTION_TARGET,
                                  titles["sat_months"]),
        "res_months": trend_chart(d.trend.months, 1, kpi.RESOLUTION_TARGET, titles["res_months"]),
        "first_response": histogram_chart(d, "first_response", titles["first_response"]),
        "arrival": histogram_chart(d, "arrival", titles["arrival"]),
    }
    for group in ("device", "fault", "engineer", "shift"):
        svg[group] = count_chart(d, group, titles[group])
    return {k: (titles[k], svg[k]) for k in titles}


# -- the monthly review as XLSX (S5) --------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(wb, title: str, header: list[str], rows: list[list], widths: tuple[int, ...]) -> None:
    """One sheet; text cells are strings, never formulas (``xlsx_append``, issue 11)."""
    from openpyxl.styles import Font

    ws = wb.create_sheet(title[:31])
    xlsx_append(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        xlsx_append(ws, row)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width


def review_xlsx(r) -> bytes:
    """Sheets: Figures (the dashboard's rows), Breaches, Repeat faults, Open problems.

    Numbers are numbers (ratios as fractions 0-1), text is always text.
    """
    import io

    from openpyxl import Workbook

    d = r.dashboard
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, _("Figures"), ["key", _("Figure"), _("Count"), _("Out of"), _("Rate"), _("Target")],
           [[row.key, row.label, row.num, row.den,
             round(row.value, 4) if row.value is not None else None, row.target]
            for row in figure_rows(d)], (28, 44, 10, 10, 10, 10))  # fmt: skip
    _sheet(wb, _("Breaches"), [_("Request"), _("Clock"), _("Priority"), _("Service region"),
                               _("Minutes late"), _("Reason")],
           [[b.number, _(b.clock) + (f" ({_('before reopening')})" if b.run_id else ""),
             b.priority, _(b.region), b.over_minutes, b.reason]
            for b in d.report.breaches], (22, 12, 8, 10, 12, 60))  # fmt: skip
    reqs = d.requests
    repeat = [[_("Unit"), key, len(ids), ", ".join(reqs[i].number for i in ids)]
              for key, ids in r.repeat_units.items()]
    repeat += [[_("Model"), key, len(ids), ", ".join(reqs[i].number for i in ids)]
               for key, ids in r.repeat_models.items()]
    _sheet(wb, _("Repeat faults"), [_("Per"), _("Unit or model"), _("Requests"),
                                    _("Request numbers")], repeat, (10, 24, 10, 60))
    _sheet(wb, _("Open problems"), [_("Request"), _("Status"), _("Priority"), _("Customer"),
                                    _("Symptom")],
           [[x.number, _(x.status), x.priority, x.customer_name, x.symptom]
            for x in r.open_problems], (22, 12, 8, 24, 60))  # fmt: skip
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
