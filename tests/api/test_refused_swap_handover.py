"""A swap refused at sync (D13) that the dispatcher hands to the equipment manager from the
request page (issue 13) lands in the equipment manager's queue (issue 15), with who handed
it over and their note; the manager resolves it there, once, and both sides see it done.
A refused swap the dispatcher rejected stays out of the queue.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from server.actions.field import SwapArgs, swap
from server.models import AuditEntry, FieldFact, Notification
from server.push.message import payload
from server.queries.equipment import queue_counts, refused_swaps
from tests.api.field_world import build_world
from tests.conftest import add_staff, form_post, login, text_of


@pytest.fixture
def world(db, settings):
    return build_world(db, settings)


def _refused_swap(db, w, settings) -> str:
    at = w.dispatched_at + timedelta(minutes=30)
    out = swap(db, w.engineer.id, SwapArgs(job_id=w.job.id, unit_out=w.unit_out.asset_tag,
                                           unit_in=w.rented_elsewhere.asset_tag, reason="无法开机"),
               at, at, settings)
    db.commit()
    return out.fact_id


def test_handed_to_the_equipment_manager_it_is_in_their_queue_until_they_resolve_it(
    client, db, world, settings
):
    w = world
    manager = add_staff(db, "eq", "equipment", display_name="设备管理员")
    fact_id = _refused_swap(db, w, settings)
    login(client, "wang.jg")
    answer = form_post(client, f"/board/requests/{w.request.id}/facts/{fact_id}/resolve",
                       {"decision": "equipment", "note": "请核对两台编码器的去向"}, htmx=True)
    assert answer.status_code == 200, answer.text
    db.rollback()
    assert [s.fact.id for s in refused_swaps(db)] == [fact_id]
    assert queue_counts(db)["refused"] == 1
    # the notice takes the equipment manager to their queue
    note = db.exec(select(Notification).where(Notification.staff_id == manager.id,
                                              Notification.channel == "webpush")).one()
    assert payload(note.id, note.payload, secret="s", priority="P2", job_kind=None)["url"] \
        == "/equipment/queue"

    client.cookies.clear()
    login(client, "eq")
    queue = text_of(client.get("/equipment/queue").text)
    assert w.request.number in queue and w.rented_elsewhere.asset_tag in queue
    assert "王建国" in queue and "请核对两台编码器的去向" in queue  # who handed it over, why
    done = form_post(client, f"/equipment/swaps/{fact_id}/resolve",
                     {"happened": "no", "note": "工程师确认没有换上"}, htmx=True)
    assert done.status_code == 200, done.text
    assert "没有待处理的被拒绝换机" in text_of(done.text)
    db.rollback()
    assert refused_swaps(db) == []
    fact = db.get(FieldFact, fact_id)
    assert fact.data["resolution"]["happened"] is False and fact.data["resolution"]["by"] == manager.id
    # the dispatcher's hand-over stays what the flag says on the request page
    assert (fact.flag_resolution, fact.flag_resolved_by) == ("equipment", w.dispatcher.id)
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "swap.resolved")).one().actor_id \
        == manager.id
    again = form_post(client, f"/equipment/swaps/{fact_id}/resolve",
                      {"happened": "yes", "note": "再来一次"}, htmx=True)
    assert again.status_code == 422 and "已经处理过" in text_of(again.text)


def test_a_refused_swap_the_dispatcher_rejected_is_not_in_the_queue(client, db, world, settings):
    w = world
    add_staff(db, "eq", "equipment", display_name="设备管理员")
    fact_id = _refused_swap(db, w, settings)
    assert [s.fact.id for s in refused_swaps(db)] == [fact_id]  # before anyone decides
    login(client, "wang.jg")
    answer = form_post(client, f"/board/requests/{w.request.id}/facts/{fact_id}/resolve",
                       {"decision": "reject", "note": "工程师报错了单号"}, htmx=True)
    assert answer.status_code == 200, answer.text
    db.rollback()
    assert refused_swaps(db) == []
    client.cookies.clear()
    login(client, "eq")
    refused = form_post(client, f"/equipment/swaps/{fact_id}/resolve",
                        {"happened": "no", "note": "x"}, htmx=True)
    assert refused.status_code == 422
