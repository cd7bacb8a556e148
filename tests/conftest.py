"""Fixtures shared by every layer: a fresh migrated database per test, an app, people."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from litestar.testing import TestClient
from sqlmodel import Session

from server import clock as server_clock
from server.db import make_engine
from server.migrate import upgrade
from server.models import Role, Staff, StaffRole
from server.security import hash_password
from server.settings import Settings

# Tests check behaviour, never timings: no Hypothesis deadline or slow-generation check, which
# fail on a busy machine (CI has 2 cores), not on a wrong answer.
hypothesis_settings.register_profile(
    "fieldops", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("fieldops")

PASSWORD = "correct-horse-1"
_HASH = hash_password(PASSWORD)


class TestClock:
    """The one source of "now" in a test: the app under test reads the same instant.

    Starts at the wall clock (so the suite runs at whatever instant it is started, and CI's
    faketime runs move it), frozen for the test; ``set`` pins a chosen instant, ``advance``
    moves it on.
    """

    def __init__(self, at: datetime) -> None:
        self.set(at)

    @property
    def now(self) -> datetime:
        return server_clock.utcnow()

    def set(self, at: datetime) -> datetime:
        server_clock.freeze(at)
        return self.now

    def advance(self, **delta: float) -> datetime:
        return self.set(self.now + timedelta(**delta))


@pytest.fixture(autouse=True)
def clock() -> Iterator[TestClock]:
    # Whole seconds: forms and pages show minutes, so no test straddles a boundary by a hair.
    test_clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    yield test_clock
    server_clock.reset()


@pytest.fixture
def now(clock) -> datetime:
    """The instant this test runs at (the app's "now" too)."""
    return clock.now


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """Migrate once; each test copies the file (migrations themselves are tested apart)."""
    path = tmp_path_factory.mktemp("template") / "fieldops.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path, migrated_template) -> Settings:
    db_file = tmp_path / "fieldops.db"
    shutil.copy(migrated_template, db_file)
    return Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{db_file}",
        demo_data=False,
        background_loop=False,
        push_enabled=False,
    ).with_secrets()


@pytest.fixture
def engine(settings):
    engine = make_engine(settings.db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(settings):
    from server.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app=app) as c:
        c.headers["accept"] = "text/html"  # as a browser sends
        yield c


def add_staff(db: Session, username: str, *roles: str, **fields) -> Staff:
    staff = Staff(
        username=username,
        display_name=fields.pop("display_name", username.title()),
        password_hash=_HASH,
        **fields,
    )
    db.add(staff)
    db.flush()
    for role in roles:
        db.add(StaffRole(staff_id=staff.id, role=role))
    db.commit()
    return staff


@pytest.fixture
def people(db) -> dict[str, Staff]:
    """One person per role, username = role name, password PASSWORD."""
    return {r.value: add_staff(db, r.value, r.value) for r in Role}


def csrf_token(client: TestClient) -> str:
    token = client.cookies.get("csrftoken")
    if not token:
        client.get("/login")
        token = client.cookies.get("csrftoken")
    return token


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def form_post(client: TestClient, url: str, data: dict | None = None, htmx: bool = False, **kw):
    headers = {"x-csrftoken": csrf_token(client)}
    if htmx:
        headers["hx-request"] = "true"
    return client.post(url, data=data or {}, headers=headers, follow_redirects=False, **kw)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def missing_real_part(reason: str) -> None:
    """Skip on a laptop without the part; fail in CI, where .ci/run provides it."""
    if os.environ.get("FIELDOPS_TEST_REQUIRE_REAL"):
        pytest.fail(reason + " (FIELDOPS_TEST_REQUIRE_REAL is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test PostgreSQL database; under pytest-xdist each worker gets its own database
    beside it (``<name>_gw0``...), since a test empties the whole schema."""
    url = os.environ.get("FIELDOPS_TEST_DATABASE_URL")
    if not url:
        missing_real_part("FIELDOPS_TEST_DATABASE_URL is not set: PostgreSQL test skipped")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy import create_engine, make_url, text

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": name}).first():  # fmt: skip
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def fresh_pg(pg_url) -> str:
    """An empty public schema on the test PostgreSQL database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        # A connection an earlier test leaked (idle in a transaction) would make DROP SCHEMA
        # wait for ever and hang the suite: end every other session on this database first.
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return pg_url


@pytest.fixture
def pg(fresh_pg):
    """(url, engine) of the migrated test PostgreSQL database, empty."""
    from server.db import make_engine
    from server.migrate import upgrade

    upgrade(fresh_pg)
    engine = make_engine(fresh_pg)
    yield fresh_pg, engine
    engine.dispose()
