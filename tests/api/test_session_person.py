"""The signed-in person comes with the session row, in one query (issue 18), and that
takes nothing away: a person disabled or a role taken away counts on the very next
request, an ended session lets nobody in, a session row that names nobody still finds
its person. On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, update
from sqlmodel import delete

from server.models import StaffRole, WebSession
from tests.api import session_dbs
from tests.conftest import login

settings = session_dbs.settings  # every test here on both databases


@pytest.fixture
def statements(client):
    """Every SQL statement the server runs from here on (whitespace squeezed)."""
    seen: list[str] = []
    engine = client.app.state.engine

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def reads(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if s.upper().startswith("SELECT")
            and re.search(rf"\b(FROM|JOIN) {table}\b", s)]


def test_a_signed_in_request_reads_its_session_and_person_in_one_statement(client, people,
                                                                           statements):
    assert login(client, "onsite").status_code == 303
    client.get("/sync/saved")  # the idle clock's touch, if any, is behind us
    statements.clear()
    r = client.get("/sync/saved")  # signed in, and no database work of its own
    assert r.status_code == 200
    assert len(reads(statements, "web_session")) == 1, statements
    assert reads(statements, "staff") == reads(statements, "web_session"), statements
    assert reads(statements, "staffrole") == reads(statements, "web_session"), statements


def test_a_disabled_person_is_signed_out_on_the_next_request_with_their_session_still_there(
        client, people, db):
    assert login(client, "dispatcher").status_code == 303
    assert client.get("/board/").status_code == 200
    staff = people["dispatcher"]
    staff.active = False
    db.add(staff)
    db.commit()  # behind the app's back: the session row is still there
    r = client.get("/board/", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]
    assert client.get("/sync/pull", headers={"accept": "application/json"}).status_code == 401


def test_a_role_taken_away_counts_on_the_next_request(client, people, db):
    assert login(client, "dispatcher").status_code == 303
    assert client.get("/board/").status_code == 200
    db.exec(delete(StaffRole).where(StaffRole.staff_id == people["dispatcher"].id))
    db.commit()
    assert client.get("/board/").status_code == 403


def test_an_ended_session_lets_nobody_in(client, people, db):
    assert login(client, "dispatcher").status_code == 303
    db.exec(delete(WebSession))  # as "sign out everywhere" does, from another process
    db.commit()
    r = client.get("/board/", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


def test_a_session_row_naming_nobody_still_finds_its_person(client, people, db):
    assert login(client, "dispatcher").status_code == 303
    db.exec(update(WebSession).values(staff_id=None))
    db.commit()
    assert client.get("/board/").status_code == 200  # by the uid in the session's data
