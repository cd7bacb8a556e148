"""Boundary values on every route x method, generated from the app's route list: no 5xx
(issue 11). Runs on the demo world (so ids lead to real rows) on SQLite and PostgreSQL,
each route called as a person the authorization table lets through.

What is sent: every path parameter replaced by each of PATH_VALUES; every form or query
field the handler reads (found in its source; the whole field list for handlers passing
the form on) set to each of TEXT_VALUES, all at once and one field at a time; repeated
fields (a list where a text is expected); every field-app mutation and every sync push
with its arguments set to each bad value.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import time

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, text

from server.migrate import upgrade
from server.routes.intake import FORM_FIELDS
from server.settings import Settings
from server.sync.registry import REGISTRY
from tests.api.route_table import ACCESS, a_person_for, app_routes, concrete, params_of
from tests.conftest import csrf_token, login

DEMO_PASSWORD = "fieldops-demo"
PATH_VALUES = ["0", "-1", "2147483648", "9223372036854775808", "9" * 30, "%00", "x" * 300,
               "9999-12", "0001-01-01", "abc"]  # fmt: skip
TEXT_VALUES = ["\x00", "x" * 25_000, "-1", "9223372036854775808", "0001-01-01",
               "9999-12-31T23:59", "9999-12", "=HYPERLINK(\"x\")", "\r\n\t"]  # fmt: skip
ONE_FIELD_VALUES = ["\x00", "9223372036854775808", "9999-12-31"]
JSON_VALUES = [2**63, -1, "\x00", "x" * 25_000, "9999-12-31T23:59:59", None, [], 1.5]
SKIP = {("GET", "/events"), ("POST", "/logout"),  # a stream that never ends; signing out
        ("POST", "/me/sign-out-everywhere")}
_FIELD = re.compile(r"""(?:data\.get|form_\w+)\(\s*(?:data,\s*)?["'](\w+)["']|data\[["'](\w+)["']\]""")
ROUTE_FIELDS = {"day", "until", "kind", "name", "month", "staff_id", "reason", "note", "on",
                "keep", "shift_id", "with_staff_id", "locale", "next", "username", "password",
                "display_name", "roles", "phone", "group", "region", "birth_date", "degree",
                "experience_months", "email", "held_on", "hours", "passed", "notes",
                "classification", "priority", "job_id", "engineer_id", "action", "mutation",
                "mutation_id", "device_time", "client_id", "score", "reached", "resolved",
                "comment", "no_feedback_reason", "reason_text", *FORM_FIELDS}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_app(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fieldops.db'}"
    else:
        url = request.getfixturevalue("fresh_pg")
    upgrade(url)
    settings = Settings(data_dir=tmp_path, database_url=url, demo_data=False,
                        background_loop=False, push_enabled=False)  # fmt: skip
    from server.cli import demo_data

    demo_data(settings)
    from server.app import create_app

    return create_app(settings)


def _real_ids(app) -> dict[str, str]:
    """Ids of real demo rows, so the values reach past 'not found'."""
    one = {
        "request_id": "select min(id) from support_request where status in ('new','handed_off')",
        "job_id": "select min(j.id) from job j join staff s on s.id = j.assignee_id "
                  "where s.username = 'onsite'",
        "shift_id": "select min(sh.id) from shift sh join staff s on s.id = sh.staff_id "
                    "where s.username in ('onsite', 'remote')",
        "staff_id": "select min(s.id) from staff s join staffrole r on r.staff_id = s.id "
                    "where r.role = 'onsite' and s.username <> 'onsite'",
        "month": "select min(month) from roster",
    }  # fmt: skip
    ids = {}
    with Session(app.state.engine) as db:
        for key, sql in one.items():
            value = db.exec(text(sql)).first()
            if value and value[0] is not None:
                ids[key] = str(value[0])
    return ids


def _fields_of(handler) -> tuple[list[str], list[str]]:
    """(fields the handler reads by name, every field it may read): the second adds all
    the app's field names when the handler passes the form on whole."""
    fn = handler.fn
    source = inspect.getsource(getattr(fn, "func", fn))
    named = {a or b for a, b in _FIELD.findall(source)}
    every = set(named)
    if re.search(r"[(,]\s*data\s*[,)]", source) or "_values(" in source or "FIELDS" in source:
        every |= ROUTE_FIELDS  # the form goes on whole: try every field the app knows
    return sorted(named), sorted(every)


def _send(client: TestClient, method: str, url: str, form=None, query=None, json=None):
    headers = {"x-csrftoken": csrf_token(client)}
    if method == "POST":
        if json is not None:
            return client.post(url, json=json, headers=headers, follow_redirects=False)
        return client.post(url, data=form or {}, headers=headers, follow_redirects=False)
    return client.request(method, url, params=query, headers=headers, follow_redirects=False)


def test_boundary_values_on_every_route_never_get_a_server_error(demo_app):
    logging.getLogger("httpx").setLevel(logging.WARNING)  # thousands of requests
    app = demo_app
    ids = _real_ids(app)
    failures: list[str] = []
    tried = 0
    client = TestClient(app=app)  # one client, one app lifespan: signed in as each in turn
    signed_in: list[str | None] = ["-"]

    def client_for(who: str | None) -> TestClient:
        if signed_in[0] != who:
            client.cookies.clear()
            if who:
                assert login(client, who, DEMO_PASSWORD).status_code == 303, who
            signed_in[0] = who
        return client

    def check(client, method, url, **kw):
        nonlocal tried
        tried += 1
        started = time.monotonic()
        try:
            r = _send(client, method, url, **kw)
        except Exception as exc:  # noqa: BLE001 - an error raised through the app
            failures.append(f"{method} {url[:80]}: raised {exc!r}"[:300])
            return
        if os.environ.get("BOUNDARY_DEBUG") and time.monotonic() - started > 1:
            print(f"slow {time.monotonic() - started:.1f}s {method} {url[:80]}", flush=True)
        if r.status_code >= 500:
            shown = {k: (str(v)[:40] if v else v) for k, v in kw.items()}
            failures.append(f"{method} {url[:80]} {shown}: {r.status_code} {r.text[:160]!r}")

    client.__enter__()
    client.headers["accept"] = "text/html"
    # a route no person may call (the rental system's token API) is not a person's
    routes = sorted((r for r in app_routes(app) if ACCESS.get(r[:2], "public") != frozenset()),
                    key=lambda r: str(a_person_for(ACCESS.get(r[:2], "public"))))  # fmt: skip
    try:
        for method, path, handler in routes:
            if method in ("OPTIONS", "HEAD") or (method, path) in SKIP:
                continue
            if path.startswith(("/static", "/schema")):
                continue
            client_for(a_person_for(ACCESS[(method, path)]))
            good = concrete(path, **ids)
            for name, _kind in params_of(path):  # each path parameter, one at a time
                for value in PATH_VALUES:
                    check(client, method, concrete(path, **(ids | {name: value})))
            if path in ("/sync/push", "/push/subscribe", "/push/unsubscribe", "/push/shown",
                        "/push/ack"):  # fmt: skip
                for value in JSON_VALUES:
                    for name, mutation in REGISTRY.items():
                        args = dict.fromkeys(mutation.args.model_fields, value)
                        body = {"client_id": "boundary", "mutations": [{
                            "id": "0b7c7b8e-2f59-4a4c-9a55-1c2f0d7b0e11", "name": name,
                            "args": args | {"job_id": value}, "device_time": value}]}  # fmt: skip
                        check(client, method, good, json=body)
                    check(client, method, good, json={"endpoint": value, "id": value,
                                                      "receipt": value, "keys": value})  # fmt: skip
                continue
            named, fields = _fields_of(handler)
            if path == "/field/jobs/{job_id:int}" and method == "POST":
                for name, mutation in REGISTRY.items():
                    for value in TEXT_VALUES:
                        form = dict.fromkeys(mutation.args.model_fields, value)
                        check(client, method, good, form=form | {"mutation": name,
                                                                 "device_time": value})
                continue
            for value in TEXT_VALUES:  # every field at once
                values = dict.fromkeys(fields, value)
                if method == "GET":  # a URL stays under httpx's 64 KB (long text: one field)
                    check(client, method, good, query=dict.fromkeys(fields, value[:60]))
                else:
                    check(client, method, good, form=values)
            for name in named:  # one field at a time; and a list where a text is expected
                for value in [*ONE_FIELD_VALUES, ["1", "2"]]:
                    key = "query" if method == "GET" else "form"
                    check(client, method, good, **{key: {name: value}})
    finally:
        client.__exit__(None, None, None)
    print(f"\nboundary values: {tried} requests, {len(failures)} server errors")
    assert not failures, f"{len(failures)} of {tried} got a 5xx:\n" + "\n".join(failures[:60])
