"""Schemathesis against the app's own OpenAPI document: no request may get a 5xx.

Runs signed in as an onsite engineer, so the sync and push endpoints are exercised past
the sign-in check; file routes (sw.js, manifest, icons) are not in the schema.
(schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's
Hypothesis strategy is driven directly.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import csrf_token, login


def test_no_request_gets_a_server_error(app, client, people):
    login(client, "onsite")
    cookies = dict(client.cookies)
    headers = {"x-csrftoken": csrf_token(client), "accept": "application/json"}
    # the document is for signed-in staff only
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, headers=headers, cookies=cookies)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 3

    for operation in operations:
        _fuzz(operation, headers, cookies)


def _fuzz(operation, headers: dict, cookies: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def no_5xx(case):
        response = case.call(headers=headers, cookies=cookies)
        assert response.status_code < 500, (
            f"{operation.method.upper()} {operation.path}: {response.status_code} "
            f"{response.text[:300]}"
        )

    no_5xx()
