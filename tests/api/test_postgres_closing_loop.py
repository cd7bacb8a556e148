"""Issue 16 on PostgreSQL: the KPI queries, the XLSX, the audit search, a drill started and
cleaned up, and the customer's feedback link, over the demo data."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from server.demo import load_demo
from server.migrate import upgrade
from server.models import Drill, SupportRequest
from server.settings import Settings
from tests.conftest import csrf_token, form_post, login

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DEMO = "fieldops-demo"


def test_closing_the_loop_on_postgresql(fresh_pg, tmp_path, clock):
    from server.app import create_app
    from server.db import make_engine

    clock.set(NOW)
    upgrade(fresh_pg)
    settings = Settings(data_dir=tmp_path, database_url=fresh_pg, demo_data=False,
                        background_loop=False, push_enabled=False)
    engine = make_engine(fresh_pg)
    with Session(engine) as db:
        load_demo(db, NOW, settings)
        db.commit()
    engine.dispose()
    app = create_app(settings)
    with TestClient(app=app) as client:
        client.headers["accept"] = "text/html"
        login(client, "manager", DEMO)
        page = client.get("/kpi", params={"period": "2026-10"})
        assert page.status_code == 200 and page.text.count("<svg") >= 10
        xlsx = client.get("/kpi/review/2026-10/xlsx")
        rows = {r[0]: r for r in load_workbook(io.BytesIO(xlsx.content))["数据"]
                .iter_rows(min_row=2, values_only=True)}  # fmt: skip
        assert rows["satisfaction"][3] > 10
        assert client.get("/audit", params={"who": "Agent", "what": "feedback"}).status_code == 200
        assert form_post(client, "/drills", {"script": "big_event"}).status_code == 303
        with Session(app.state.engine) as db:
            drill = db.exec(select(Drill).where(Drill.cleaned_at.is_(None))).one()
        assert client.get(f"/drills/{drill.id}").status_code == 200
        assert form_post(client, f"/drills/{drill.id}/clean").status_code == 303
        with Session(app.state.engine) as db:
            assert db.exec(select(SupportRequest).where(SupportRequest.is_drill)).all() == []
            resolved = db.exec(select(SupportRequest)
                               .where(SupportRequest.status == "resolved")).first()  # fmt: skip
        client.cookies.clear()
        login(client, "agent", DEMO)
        made = form_post(client, f"/requests/{resolved.id}/feedback-link", htmx=True)
        path = "/f/" + re.search(r'value="http[^"]+/f/([^"]+)"', made.text).group(1)
        client.cookies.clear()
        answer = client.post(path, data={"score": "5", "resolved": "yes",
                                         "_csrf_token": csrf_token(client)})
        assert answer.status_code == 200
        assert client.get(path).status_code == 410
        assert client.get("/f/not-a-real-token").status_code == 404
        with Session(app.state.engine) as db:
            assert db.get(SupportRequest, resolved.id).status == "closed"
