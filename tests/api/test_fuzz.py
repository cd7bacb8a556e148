"""Schemathesis against the app's own OpenAPI document: no request may get a 5xx.

Runs once signed in as each of the 7 roles (so every operation is exercised past the
sign-in check and each role's guards), on SQLite and on PostgreSQL (issue 11). File
routes (sw.js, manifest, icons) are not in the schema. A bounded number of examples per
operation and role keeps it to a few seconds per database. (schemathesis' own pytest
plugin does not run under pytest 9 yet, so each operation's Hypothesis strategy is driven
directly.)

Schemathesis' ASGI client runs each call on an event loop of its own, not the one the
app's lifespan started on: anything loop-bound the app keeps (the live-update channel's
backend, its locks and queues) must be made in the loop that uses it, or these calls fail.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from sqlmodel import Session

from server.migrate import upgrade
from server.models import Role
from server.settings import Settings
from tests.conftest import add_staff, csrf_token, login

EXAMPLES = 8  # per operation and role


@pytest.fixture(params=["sqlite", "postgresql"])
def fuzz_app(request, tmp_path):
    """The app with one person per role, on each database."""
    from server.app import create_app
    from server.db import make_engine

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fieldops.db'}"
    else:
        url = request.getfixturevalue("fresh_pg")
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        for role in Role:
            add_staff(db, role.value, role.value)
    engine.dispose()
    app = create_app(Settings(data_dir=tmp_path, database_url=url, demo_data=False,
                              background_loop=False, push_enabled=False))  # fmt: skip
    yield app
    app.state.engine.dispose()


def test_no_request_gets_a_server_error(fuzz_app):
    app = fuzz_app
    tried = 0
    with TestClient(app=app) as client:  # one app lifespan, signed in as each role in turn
        client.headers["accept"] = "text/html"
        for role in Role:
            client.cookies.clear()
            assert login(client, role.value).status_code == 303
            cookies = dict(client.cookies)
            headers = {"x-csrftoken": csrf_token(client), "accept": "application/json"}
            # the document is for signed-in staff only
            schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app,
                                                    headers=headers, cookies=cookies)  # fmt: skip
            operations = [result.ok() for result in schema.get_all_operations()]
            assert len(operations) >= 3
            for operation in operations:
                tried += _fuzz(operation, headers, cookies, role.value)
    print(f"\nschemathesis: {tried} requests over {len(operations)} operations x 7 roles")


def _fuzz(operation, headers: dict, cookies: dict, role: str) -> int:
    calls = 0

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def no_5xx(case):
        nonlocal calls
        calls += 1
        response = case.call(headers=headers, cookies=cookies)
        assert response.status_code < 500, (
            f"{operation.method.upper()} {operation.path} as {role}: {response.status_code} "
            f"{response.text[:300]}"
        )

    no_5xx()
    return calls
