"""The same app on PostgreSQL: sign-in, a guarded screen and a state change."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from server.migrate import upgrade
from server.models import Role, Staff
from server.settings import Settings
from tests.conftest import add_staff, form_post, login

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(fresh_pg, tmp_path):
    from server.app import create_app
    from server.db import make_engine

    upgrade(fresh_pg)
    engine = make_engine(fresh_pg)
    with Session(engine) as db:
        for role in Role:
            add_staff(db, role.value, role.value)
    engine.dispose()
    settings = Settings(data_dir=tmp_path, database_url=fresh_pg, demo_data=False,
                        background_loop=False, push_enabled=False)
    app = create_app(settings)
    with TestClient(app=app) as client:
        client.headers["accept"] = "text/html"
        yield client, app


def test_sign_in_and_add_a_person_on_postgresql(pg_client):
    client, app = pg_client
    assert client.get("/healthz").json()["backend"] == "postgresql"
    assert login(client, "admin").status_code == 303
    r = form_post(client, "/admin/people/", {"display_name": "李雷", "username": "li.lei",
                                             "password": "long-enough-1", "roles": ["agent"]})
    assert r.status_code == 303
    with Session(app.state.engine) as db:
        assert db.exec(select(Staff).where(Staff.username == "li.lei")).one().display_name == "李雷"
    client.cookies.clear()
    login(client, "agent")
    assert client.get("/admin/people").status_code == 403
