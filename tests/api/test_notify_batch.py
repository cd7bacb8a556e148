"""Several people's notices queued together (``notify.enqueue_all``): one row per person and
channel, each (channel, dedupe key) once, whoever queued it first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from server.actions import notify
from server.actions.notify import Notice, enqueue_all
from server.models import Notification, SupportRequest
from tests.conftest import add_staff

NOW = datetime(2026, 11, 26, 15, 10, tzinfo=UTC)


def leads(db: Session) -> list[int]:
    return [add_staff(db, "lead", "dispatcher").id,
            add_staff(db, "lead2", "dispatcher", wecom_userid="li.lei").id,
            add_staff(db, "lead3", "dispatcher").id]  # fmt: skip


def notices(ids: list[int], key: str = "handoff:7") -> list[Notice]:
    return [Notice(i, f"P1 请求 FO-7 ({i})", "推流失败", f"{key}:{i}") for i in ids]


def rows(db: Session) -> list[tuple[int, str, str]]:
    return sorted(db.exec(select(Notification.staff_id, Notification.channel,
                                 Notification.dedupe_key)).all())  # fmt: skip


def test_each_person_gets_each_channel_once_in_few_statements(db):
    ids = leads(db)
    statements: list[str] = []
    engine = db.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        queued = enqueue_all(db, notices(ids), kind="request.handed_off", urgency="high", now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    db.commit()
    # the order asked for: person by person, their channels in order, WeCom's app message last
    assert [(n.staff_id, n.channel) for n in queued] == [
        (ids[0], "webpush"), (ids[0], "wecom"),
        (ids[1], "webpush"), (ids[1], "wecom"), (ids[1], "wecom_app"),
        (ids[2], "webpush"), (ids[2], "wecom")]  # fmt: skip
    assert all(n.id is not None for n in queued)
    assert len(rows(db)) == 7
    assert all(n.urgency == "high" and n.payload["title"].startswith("P1 请求") for n in queued)
    # the WeCom ids, what is queued already, and the rows: not ~13 statements per person
    assert len([s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]) <= 3 + 7


def test_asking_again_queues_only_what_is_new(db):
    ids = leads(db)
    enqueue_all(db, notices(ids[:2]), kind="request.handed_off", now=NOW)
    db.commit()
    again = enqueue_all(db, notices(ids) + notices(ids[2:]), kind="request.handed_off", now=NOW)
    db.commit()
    assert [(n.staff_id, n.channel) for n in again] == [(ids[2], "webpush"), (ids[2], "wecom")]
    assert len(rows(db)) == 7
    assert enqueue_all(db, notices(ids), kind="request.handed_off", now=NOW) == []
    assert enqueue_all(db, [], kind="request.handed_off", now=NOW) == []


def test_a_drill_says_so_in_every_notice(db):
    ids = leads(db)
    request = SupportRequest(number="FO-DRILL-1", channel="hotline", received_at=NOW,
                             customer_name="演练", contact_name="演练", phone="13800138000",
                             device_type="encoder", symptom="演练", is_drill=True)  # fmt: skip
    db.add(request)
    db.commit()
    queued = enqueue_all(db, notices(ids), kind="request.handed_off", request_id=request.id,
                         now=NOW)
    assert queued and all(n.payload["title"].startswith(notify.DRILL_TITLE) for n in queued)


@pytest.mark.postgres
def test_rows_another_process_queued_meanwhile_are_skipped_and_the_rest_queued(pg):
    """The other process commits one of our keys between our read and our insert: the
    batch's savepoint fails on the key, and the rows are queued one by one, but that one."""
    url, engine = pg
    with Session(engine, expire_on_commit=False) as db:
        ids = leads(db)
    with Session(engine, expire_on_commit=False) as ours:
        real = ours.begin_nested

        def the_other_process_first():
            with Session(engine) as theirs:
                enqueue_all(theirs, notices(ids[1:2]), kind="request.handed_off",
                            channels=("wecom",), now=NOW)
                theirs.commit()
            ours.begin_nested = real
            return real()

        ours.begin_nested = the_other_process_first
        queued = enqueue_all(ours, notices(ids), kind="request.handed_off", now=NOW)
        ours.commit()
        assert (ids[1], "wecom") not in [(n.staff_id, n.channel) for n in queued]
        assert len(queued) == 6 and all(n.id is not None for n in queued)
    with Session(engine) as db:
        assert len(rows(db)) == 7
