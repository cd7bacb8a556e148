"""Schemathesis against the app's own OpenAPI document: no request may get a 5xx.

Runs once signed in as each of the 7 roles (so every operation is exercised past the
sign-in check and each role's guards), on SQLite (issue 11; PostgreSQL: see below). File
routes (sw.js, manifest, icons) are not in the schema. A bounded number of examples per
operation and role keeps it to a few seconds per database. (schemathesis' own pytest
plugin does not run under pytest 9 yet, so each operation's Hypothesis strategy is driven
directly.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from server.models import Role
from tests.conftest import csrf_token, login

EXAMPLES = 8  # per operation and role


def test_no_request_gets_a_server_error(app, client, people):
    # SQLite only: on PostgreSQL the live-update channel's asyncio lock belongs to the
    # test client's loop, and schemathesis' ASGI calls run on another one (the boundary
    # test covers PostgreSQL through the test client).
    tried = 0
    for role in Role:  # one client (one app lifespan), signed in as each role in turn
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
