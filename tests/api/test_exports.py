"""Formula injection: every export writes text as text (issue 11).

The exports are found from the app's route list (every GET route ending in /csv or
/xlsx), so a new export is tested too. CSV: the OWASP rule (a leading ' before = + - @
tab CR); XLSX: the cell's data type is string, never formula.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from server.models import Roster, Shift
from server.queries.calendar import load_calendar
from tests.api.route_table import app_routes, concrete
from tests.conftest import add_staff, login

EVIL = ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]  # fmt: skip


def test_every_export_writes_formula_like_text_as_text(app, client, db, people):
    roster = Roster(month="2026-05", status="published")
    db.add(roster)
    db.flush()
    cal = load_calendar(db)
    for n, name in enumerate(EVIL):
        person = add_staff(db, f"evil{n}", "onsite", display_name=name, group="onsite",
                           region="urban")  # fmt: skip
        slot = cal.night_slot(date(2026, 5, 12 + n))
        db.add(Shift(roster_id=roster.id, staff_id=person.id, day=date(2026, 5, 12 + n),
                     kind="night", starts_at=slot.starts_at, ends_at=slot.ends_at,
                     group="onsite", region="urban"))  # fmt: skip
    db.commit()
    login(client, "manager")
    exports = [p for m, p, _ in app_routes(app) if m == "GET" and p.endswith(("/csv", "/xlsx"))]
    assert len(exports) >= 2, exports
    carried = 0  # exports that carry the names (the roster hours); the rest: no formula
    for path in exports:
        r = client.get(concrete(path, month="2026-05"))
        assert r.status_code == 200, (path, r.status_code)
        if path.endswith("/csv"):
            cells = [c for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig")))
                     for c in row]  # fmt: skip
            if all("'" + name in cells for name in EVIL):
                carried += 1
            assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                        or (c[:1] == "-" and not c[1:].replace(".", "").isdigit())], path
        else:
            ws = load_workbook(io.BytesIO(r.content)).active
            cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
            assert not [c for c in cells if c.data_type == "f"], path
            names = {c.value: c.data_type for c in cells if isinstance(c.value, str)}
            shown = [name.replace("\r", "\n") for name in EVIL]  # XML reads CR back as LF
            if all(name in names for name in shown):
                carried += 1
                assert {names[name] for name in shown} == {"s"}, path
    assert carried >= 2, "the roster hours CSV and XLSX carry the names"
