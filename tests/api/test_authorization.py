"""The authorization matrix: every route x method x person (7 roles + anonymous), with the
expected answer from ONE table (tests/api/route_table.py), generated from the app's own
route list so a new route cannot be forgotten (issue 11).

Expected: a person the table lets through is never refused (no 401/403, no redirect to
sign-in) and never gets a 5xx; a signed-in person it does not list gets 403; anonymous
gets sent to sign in (303 to /login). OPTIONS answers everyone without data.
"""

from __future__ import annotations

from litestar.testing import TestClient

from tests.api.route_table import (
    ACCESS,
    ANONYMOUS,
    OWN_ANSWERS,
    PEOPLE,
    allowed,
    app_routes,
    concrete,
)
from tests.conftest import csrf_token, login

STREAMS = {("GET", "/events")}  # server-sent events never end: only refusals are read
# Routes that end the caller's own session go last, or every later check would see sign-in.
ENDS_MY_SESSION = ["/me/password", "/me/sign-out-everywhere", "/logout"]


def _call(client: TestClient, method: str, url: str):
    headers = {"x-csrftoken": csrf_token(client)}
    return client.request(method, url, headers=headers, follow_redirects=False,
                          data={} if method == "POST" else None)  # fmt: skip


def _verdict(access, who: str, method: str, path: str, response) -> str | None:
    key = (method, path)
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    to_login = status in (302, 303) and response.headers.get("location", "").startswith("/login")
    if method == "OPTIONS":
        return None if status < 300 else f"OPTIONS answered {status}"
    if allowed(access, who):
        if status in OWN_ANSWERS.get(key, ()):
            return None
        if status in (401, 403) or to_login:
            return f"refused ({status}) though the table allows {who}"
        return None
    if who == ANONYMOUS:
        return None if to_login or status == 401 else f"anonymous got {status}, not sign-in"
    return None if status == 403 else f"{who} got {status}, expected 403"


def test_every_route_role_and_method_answers_as_the_table_says(app, people):
    routes = list(app_routes(app))
    missing = sorted({(m, p) for m, p, _ in routes if m != "OPTIONS" and (m, p) not in ACCESS})
    assert not missing, f"routes without a row in tests/api/route_table.py ACCESS: {missing}"
    stale = sorted(set(ACCESS) - {(m, p) for m, p, _ in routes})
    assert not stale, f"rows for routes the app no longer has: {stale}"

    problems, checked = [], 0
    for who in PEOPLE:
        with TestClient(app=app) as client:
            client.headers["accept"] = "text/html"
            if who != ANONYMOUS:
                assert login(client, who).status_code == 303
            for method, path, _handler in sorted(routes, key=lambda r: (ENDS_MY_SESSION.index(r[1]) + 1
                                                                  if r[1] in ENDS_MY_SESSION else 0)):
                access = ACCESS.get((method, path), "public")
                if (method, path) in STREAMS and allowed(access, who):
                    continue
                response = _call(client, method, concrete(path))
                checked += 1
                problem = _verdict(access, who, method, path, response)
                if problem:
                    problems.append(f"{method} {path} as {who}: {problem}")
    print(f"authorization matrix: {checked} route x method x person checks, "
          f"{len(routes)} route-methods, {len(PEOPLE)} people")
    assert not problems, "\n".join(problems)
