"""An app with one person per role on SQLite and, when FIELDOPS_TEST_DATABASE_URL is set,
on PostgreSQL: the bounds tests run on both (a NUL byte or an id above 2^31 fails only
on PostgreSQL, one above 2^63 only on SQLite)."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient
from sqlmodel import Session

from server.migrate import upgrade
from server.models import Role
from server.settings import Settings
from tests.conftest import add_staff


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request, tmp_path):
    """(app, database url) on each database, with one person per role (username = role)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fieldops.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("fresh_pg")
        upgrade(url)
    from server.app import create_app
    from server.db import make_engine

    engine = make_engine(url)
    with Session(engine) as db:
        for role in Role:
            add_staff(db, role.value, role.value)
    engine.dispose()
    settings = Settings(data_dir=tmp_path, database_url=url, demo_data=False,
                        background_loop=False, push_enabled=False)  # fmt: skip
    yield create_app(settings)


@pytest.fixture
def any_db_client(any_db_app):
    with TestClient(app=any_db_app) as client:
        client.headers["accept"] = "text/html"
        yield client
