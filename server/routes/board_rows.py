"""The dispatch board's rows as HTML, written by hand for speed.

The board re-renders on every change for every dispatcher, with up to thousands of open
requests. Jinja takes ~50 ms for 2,000 rows of this table; this formatter takes ~5 ms
for the same bytes, which keeps the whole board under 100 ms. Everything around the
rows (summary, header, on-duty panel) stays in ``partials/board_requests.html``; the
words come in already translated (``words``), and every value that a person typed is
escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from server.domain import sla as rules
from server.i18n import gettext as _
from server.queries.board import STEPS, BoardRow

STREAMS = ("live", "upcoming", "none")
REGIONS = ("urban", "suburban")


def words() -> dict[str, str]:
    """Every word a row can show, translated once per render."""
    table = {code: _(code) for code in (*rules.CLOCK_KINDS, *STREAMS, *REGIONS)}
    table.update({step: _(step) for step in STEPS})
    table.update(paused=_("paused"), assign=_("Assign"), reassign=_("Reassign"), drill=_("drill"),
                 flagged=_("Field facts flagged for the dispatcher"), more=_("Show more"),
                 unconfirmed=_("arrival unconfirmed"))
    return {k: str(escape(v)) for k, v in table.items()}


def rows_html(rows: Iterable[BoardRow], w: dict[str, str], tz: ZoneInfo) -> Markup:
    out: list[str] = []
    add = out.append
    for r in rows:
        rid = r.id
        clocks = "".join(  # data-s / data-v: deadline and warning, epoch seconds (app.js)
            f'<i class="clk {c.state}">{w[c.kind]} <b>{w["paused"]}</b></i>'
            if c.state == "paused" else
            f'<i class="clk {c.state}" data-s="{int(c.deadline_s)}" data-v="{int(c.warn_s)}">'
            f'{w[c.kind]} <b>{c.remaining_text}</b></i>'
            for c in r.clocks
        )
        stream = w.get(r.stream_state, r.stream_state)
        if r.stream_state == "upcoming" and r.stream_starts_at is not None:
            stream += "<br><small>" + r.stream_starts_at.astimezone(tz).strftime("%m-%d %H:%M") + "</small>"
        step = w.get(r.step, r.step)
        if r.jobs:
            step += "<br><small>" + " · ".join(str(escape(j.assignee_name)) for j in r.jobs) + "</small>"
        if r.arrival_unconfirmed:
            step += f' <span class="chip warn unconfirmed">{w["unconfirmed"]}</span>'
        if r.flags:
            step += f' <span class="flag" title="{w["flagged"]}">⚑{r.flags}</span>'
        drill = f' <span class="chip drill">{w["drill"]}</span>' if r.is_drill else ""
        button = (  # app.js opens it in the side panel; without script, the request's page
            f'<a class="btn small" href="/board/requests/{rid}" data-panel="/board/requests/{rid}/panel">'
            f'{w["reassign"] if r.jobs else w["assign"]}</a>'
            if r.status != "new" else ""
        )
        add(
            f'<tr data-r="{rid}" class="{r.worst}"><td><b class="prio {r.priority.lower()}">'
            f'{r.priority}</b>{drill}</td><td><a href="/board/requests/{rid}">{escape(r.number)}'
            f'</a><br>{escape(r.customer_name)}</td><td class="{r.stream_state}">{stream}</td>'
            f'<td>{escape(r.venue)}<br><small>{w.get(r.region, escape(r.region))}</small></td>'
            f'<td>{step}</td><td>{clocks}</td><td>{button}</td></tr>\n'
        )
    return Markup("".join(out))


def more_row(offset: int, remaining: int, w: dict[str, str]) -> Markup:
    """The last row while more requests wait below: it loads the next ones when it scrolls
    into view (or is pressed), replacing itself."""
    if remaining <= 0:
        return Markup("")
    return Markup(
        f'<tr class="more"><td colspan="7"><button class="btn small" '
        f'hx-get="/board/more?offset={offset}" hx-trigger="click, revealed" '
        f'hx-target="closest tr" hx-swap="outerHTML">{w["more"]} ({remaining})</button></td></tr>'
    )
