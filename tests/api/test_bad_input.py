"""Bad input is a 4xx with a message in the user's language, never a 5xx (issue 11).

Each case is an instance of a kind the shared bounded types (server/routes/params.py,
server/domain/bounds.py) close: ids past a database integer, years 0001 and 9999, NUL
bytes and overlong text, OPTIONS, a fragment missing its context. Run on SQLite and on
PostgreSQL (the faults differ between them).
"""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token, form_post, login, text_of

HUGE = [str(2**31), str(2**63), "9" * 30]


def _4xx(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])


def test_options_is_answered_on_every_path(any_db_client):
    from server.routes.nav import Screen  # noqa: F401 - the app is built

    client = any_db_client
    paths = {"/", "/login", "/board/", "/requests/new", "/roster/2026-11", "/team/1",
             "/sync/push", "/push/subscribe", "/calendar/", "/field/jobs/1", "/healthz"}
    for signed in (False, True):
        if signed:
            login(client, "manager")
        for path in sorted(paths):
            r = client.options(path)
            assert r.status_code < 500, (path, r.status_code, r.text[:200])


def test_my_requests_fragment_renders_for_an_agent(any_db_client):
    login(any_db_client, "agent")
    r = any_db_client.get("/requests/mine", headers={"hx-request": "true"})
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("number", HUGE)
def test_ids_past_a_database_integer_are_refused(any_db_client, number):
    client = any_db_client
    login(client, "manager")
    for url in (f"/team/{number}", f"/board/requests/{number}", f"/requests/new?filed={number}"):
        _4xx(client.get(url))
    _4xx(form_post(client, f"/roster/swaps/{number}/approve"))
    _4xx(form_post(client, f"/team/{number}/training/{number}/delete"))
    client.post("/roster/", data={"month": "2026-11"}, headers={"x-csrftoken": csrf_token(client)})
    _4xx(form_post(client, "/roster/2026-11/backup", {"staff_id": number}))
    _4xx(form_post(client, "/roster/2026-11/toggle", {"staff_id": number, "day": "2026-11-03"}))


@pytest.mark.parametrize("year", ["0001", "9999"])
def test_years_out_of_range_are_refused(any_db_client, year):
    client = any_db_client
    login(client, "manager")
    _4xx(client.get(f"/roster/{year}-01"))
    _4xx(client.get(f"/roster/{year}-12/hours/csv"))
    _4xx(client.get("/calendar", params={"month": f"{year}-12"}))
    _4xx(form_post(client, "/roster/", {"month": f"{year}-01"}))
    _4xx(form_post(client, "/calendar/overrides", {"day": f"{year}-12-31", "kind": "holiday",
                                                   "name": "x"}))
    _4xx(form_post(client, f"/calendar/overrides/{year}-12-31/remove"))
    _4xx(form_post(client, "/roster/2026-11/days-off", {"staff_id": "1", "day": f"{year}-01-01"}))
    _4xx(form_post(client, "/team/1", {"birth_date": f"{year}-12-31"}))
    for field in ("received_at", "stream_starts_at", "fault_started_at"):
        when = f"{year}-12-31T23:59"
        query = {"stream_state": "upcoming", "symptom_kind": "no_power", "device_type": "camera",
                 field: when}
        r = client.get("/requests/new/proposal", params=query, headers={"hx-request": "true"})
        assert r.status_code < 500, (field, r.status_code, r.text[:300])
        r = form_post(client, "/requests/new", {**query, "channel": "hotline",
                                                "customer_name": "x", "action": "save"})
        assert r.status_code < 500, (field, r.status_code, r.text[:300])


def test_nul_and_overlong_text_are_refused(any_db_client):
    client = any_db_client
    token = csrf_token(client)
    for username in ("agent\x00", "a" * 100):
        r = client.post("/login", data={"username": username, "password": "x",
                                        "_csrf_token": token})
        _4xx(r)
    login(client, "agent")
    for field in ("customer_name", "symptom", "order_no", "phone"):
        _4xx(form_post(client, "/requests/new", {field: "abc\x00def", "channel": "hotline"}))
        _4xx(client.get("/requests/new/order", params={"order_no": "1\x00", field: "a\x00"}))
    client.cookies.clear()
    login(client, "admin")
    for size in (100_000, 100):  # past any form field; past the column
        r = form_post(client, "/admin/people/", {"username": "long.name", "password": "long-enough-1",
                                                 "display_name": "名" * size, "roles": ["agent"]})
        _4xx(r)
    assert "64" in text_of(r.text)


def test_the_refusal_speaks_the_users_language(any_db_client):
    client = any_db_client
    login(client, "manager")
    r = client.get(f"/team/{2**40}")
    assert r.status_code == 400
    assert "请输入" in text_of(r.text) and "2147483647" in r.text
    form_post(client, "/language", {"locale": "en"})
    r = client.get(f"/team/{2**40}")
    assert "Enter a whole number from 1 to 2147483647" in text_of(r.text)
    r = client.get("/roster/9999-01", headers={"accept": "application/json"})
    assert r.status_code == 400 and "1900-01" in r.json()["error"]
