"""The equipment desk (issue 15): unit invariants whatever the path, shipments closed by the
engineer's swap, the double swap, replays, repairs, refused swaps and the screens.

Each test runs on SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from server.actions import ActionError, repairs, spares
from server.actions.equipment import MoveRefused
from server.actions.jobs import cancel_request
from server.actions.spares import hold_reserve_unit
from server.db import utcnow
from server.models import (
    AuditEntry,
    ClientMutation,
    FieldFact,
    Job,
    OrderLine,
    RepairTicket,
    SpareRequest,
    SupportRequest,
    Unit,
    UnitSwap,
)
from server.security import load_user
from server.settings import Settings
from server.sync.apply import MutationIn, apply
from tests.api import session_dbs
from tests.api.equipment_world import build_desk, invariant_problems
from tests.api.field_world import done, push, results, swap
from tests.conftest import form_post, login, text_of

settings = session_dbs.settings  # every test here on both databases


@pytest.fixture
def now():
    return utcnow()


@pytest.fixture
def desk(db, settings, now):
    return build_desk(db, settings, now)


def fresh(db: Session, model, id_):
    db.commit()
    db.expire_all()
    return db.get(model, id_)


def count(db, model, *where) -> int:
    db.commit()
    db.expire_all()
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


def held_and_asked(db, desk, now, site=0):
    req = db.get(SupportRequest, desk.sites[site].request.id)
    unit = hold_reserve_unit(db, None, req, now)
    db.commit()
    spare = db.exec(select(SpareRequest).where(SpareRequest.request_id == req.id)).one()
    return unit, spare


# -- the loop: held, shipped, swapped in on the phone ------------------------------------------


def test_a_held_unit_shipped_and_swapped_in_closes_the_spare_request(client, db, desk, now):
    site = desk.sites[0]
    unit, spare = held_and_asked(db, desk, now)
    assert unit.held_for_request_id == site.request.id and spare.source == "auto"
    assert spare.unit_id == unit.id and spare.deadline_at is not None
    spares.ship_spare(db, desk.manager.id, spare.id, unit.id, "engineer", site.engineer.id,
                      "", now + timedelta(minutes=40), now)
    db.commit()
    assert fresh(db, Unit, unit.id).status == "in_transit"
    # the engineer's phone and the dispatcher's request page say it is on its way
    login(client, site.engineer.username)
    page = text_of(client.get(f"/field/jobs/{site.job.id}").text)
    eta = (now + timedelta(minutes=40)).astimezone(__import__("zoneinfo").ZoneInfo(
        "Asia/Shanghai")).strftime("%H:%M")
    assert "备用设备已在路上" in page and eta in page and unit.asset_tag in page
    m = swap(site.job.id, site.unit.asset_tag, unit.asset_tag)
    r = results(push(client, [m]))[0]
    assert r["status"] == "applied", r
    assert "已送达并换上" in r["message"]
    spare = fresh(db, SpareRequest, spare.id)
    assert spare.status == "delivered" and spare.closed_at is not None
    assert fresh(db, Unit, unit.id).status == "rented"
    out = fresh(db, Unit, site.unit.id)
    assert out.status == "in_repair"
    ticket = db.exec(select(RepairTicket).where(RepairTicket.unit_id == out.id)).one()
    assert ticket.fault == "编码器无法开机"  # copied from the request
    lines = db.exec(select(OrderLine.unit_id).where(OrderLine.order_id == site.order.id,
                                                    OrderLine.removed_at.is_(None))).all()
    assert list(lines) == [unit.id]  # the order lists what the customer has
    assert invariant_problems(db) == []
    page = text_of(client.get(f"/field/jobs/{site.job.id}").text)
    assert "已送达并换上" in page


def test_a_unit_held_for_another_request_cannot_be_shipped(db, desk, now):
    unit, _ = held_and_asked(db, desk, now, site=0)
    other = spares.ask_for_spare(db, None, desk.sites[1].request.id, "dispatcher", now)
    db.commit()
    eng = desk.sites[1].engineer.id
    with pytest.raises(MoveRefused) as refused:
        spares.ship_spare(db, desk.manager.id, other.id, unit.id, "engineer", eng, "",
                          now + timedelta(hours=1), now)
    assert "another request" in refused.value.message.msgid
    db.rollback()
    assert fresh(db, Unit, unit.id).held_for_request_id == desk.sites[0].request.id


@pytest.mark.parametrize(("carrier", "staff", "note", "eta_minutes", "field"), [
    ("courier", None, "", 30, "tracking_note"),
    ("engineer", None, "", 30, "carrier_staff_id"),
    ("drone", None, "x", 30, "carrier"),
    ("courier", None, "顺丰 SF123", -5, "eta"),
])
def test_a_shipment_with_bad_details_is_refused_and_changes_nothing(db, desk, now, carrier,
                                                                    staff, note, eta_minutes,
                                                                    field):
    unit, spare = held_and_asked(db, desk, now)
    with pytest.raises(ActionError) as refused:
        spares.ship_spare(db, desk.manager.id, spare.id, unit.id, carrier, staff, note,
                          now + timedelta(minutes=eta_minutes), now)
    assert refused.value.field == field
    db.rollback()
    assert fresh(db, Unit, unit.id).status == "reserve"
    assert fresh(db, SpareRequest, spare.id).status == "open"


def test_held_units_of_an_ended_request_go_back_to_reserve_visibly(db, desk, now, settings):
    unit, spare = held_and_asked(db, desk, now)
    site = desk.sites[0]
    cancel_request(db, desk.manager.id, site.request.id, "客户取消直播", now, settings)
    db.commit()
    unit = fresh(db, Unit, unit.id)
    assert unit.status == "reserve" and unit.held_for_request_id is None
    assert fresh(db, SpareRequest, spare.id).status == "cancelled"
    from server.queries.equipment import unit_history

    history = [h.action for h in unit_history(db, unit.id)]
    assert history == ["unit.release", "unit.hold"]  # newest first
    timeline = db.exec(select(AuditEntry.action).where(
        AuditEntry.request_id == site.request.id)).all()
    assert "unit.released" in timeline and "spare.cancelled" in timeline


def test_an_onsite_sign_off_releases_the_hold_and_ends_the_other_jobs(client, db, desk, now):
    """The engineer's "done" from the phone resolves the request: the unit held for it is
    back in the reserve, the waiting spare request and the remote job are cancelled."""
    site = desk.sites[0]
    unit, spare = held_and_asked(db, desk, now)
    remote = Job(request_id=site.request.id, kind="remote", assignee_id=desk.manager.id,
                 status="accepted", assigned_at=now - timedelta(minutes=16),
                 accepted_at=now - timedelta(minutes=16))
    db.add(remote)
    db.commit()
    login(client, site.engineer.username)
    r = results(push(client, [done(site.job.id)]))[0]
    assert r["status"] == "applied", r
    assert fresh(db, Unit, unit.id).status == "reserve"
    assert fresh(db, Unit, unit.id).held_for_request_id is None
    assert fresh(db, SpareRequest, spare.id).status == "cancelled"
    assert fresh(db, Job, remote.id).status == "cancelled"
    assert fresh(db, Job, site.job.id).outcome == "fixed"
    assert fresh(db, SupportRequest, site.request.id).status == "resolved"
    timeline = db.exec(select(AuditEntry.action).where(
        AuditEntry.request_id == site.request.id)).all()
    assert {"unit.released", "spare.cancelled", "job.cancelled"} <= set(timeline)
    assert invariant_problems(db) == []


def test_a_unit_in_transit_for_an_ended_request_waits_to_be_brought_back(db, desk, now,
                                                                        settings):
    unit, spare = held_and_asked(db, desk, now)
    spares.ship_spare(db, desk.manager.id, spare.id, unit.id, "courier", None, "顺丰 SF1",
                      now + timedelta(hours=1), now)
    cancel_request(db, desk.manager.id, desk.sites[0].request.id, "取消", now, settings)
    db.commit()
    assert fresh(db, Unit, unit.id).status == "in_transit"
    from server.queries.equipment import in_transit_unclaimed

    assert [s.unit.id for s in in_transit_unclaimed(db)] == [unit.id]
    spares.back_to_reserve(db, desk.manager.id, unit.id, desk.depots[1].id, now)
    db.commit()
    unit = fresh(db, Unit, unit.id)
    assert (unit.status, unit.depot_id, unit.held_for_request_id) == ("reserve",
                                                                      desk.depots[1].id, None)
    assert invariant_problems(db) == []


# -- two engineers swap in the same unit at once (D14) -----------------------------------------


def test_two_engineers_swapping_in_the_same_unit_at_once_one_wins(db, desk, engine, settings,
                                                                 monkeypatch):
    """Both read the unit as free; exactly one swap applies, the other is told why and its
    report is kept, flagged, for the dispatcher."""
    spare = desk.spares[0]
    # PostgreSQL: both transactions read the unit free before either writes. SQLite takes
    # one writer at a time, so the second reads after the first committed (no waiting:
    # a timeout would never pass under a frozen faketime).
    both_read = None if settings.is_sqlite else threading.Barrier(2)
    from server.actions import equipment

    real_rule = equipment.rules.swap_refusal

    def rule_then_wait(*args, **kwargs):
        answer = real_rule(*args, **kwargs)
        if both_read is not None:
            both_read.wait()
        return answer

    monkeypatch.setattr(equipment.rules, "swap_refusal", rule_then_wait)
    out: dict[int, object] = {}

    def engineer(i):
        site = desk.sites[i]
        with Session(engine) as s:
            user = load_user(s, site.engineer.id)
        m = MutationIn(str(uuid4()), "swap", {"job_id": site.job.id, "unit_out":
                       site.unit.asset_tag, "unit_in": spare.asset_tag, "reason": "无法开机"},
                       utcnow())
        out[i] = (m, apply(engine, user, f"phone-{i}", m, settings))

    threads = [threading.Thread(target=engineer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(r.status for _, r in out.values())
    assert statuses == ["applied", "rejected"], out
    loser_m, loser = next(v for v in out.values() if v[1].status == "rejected")
    assert spare.asset_tag in loser.messages[0].render()
    fact = fresh(db, FieldFact, loser_m.id)
    assert fact.flagged and fact.data.get("refused")  # kept for the dispatcher
    assert count(db, UnitSwap) == 1
    assert fresh(db, Unit, spare.id).status == "rented"
    assert invariant_problems(db) == []


def test_an_offline_swap_replayed_twice_applies_once(client, db, desk, now):
    unit, spare = held_and_asked(db, desk, now)
    site = desk.sites[0]
    spares.ship_spare(db, desk.manager.id, spare.id, unit.id, "engineer", site.engineer.id, "",
                      now + timedelta(minutes=30), now)
    db.commit()
    login(client, site.engineer.username)
    m = swap(site.job.id, site.unit.asset_tag, unit.asset_tag)
    first = results(push(client, [m]))[0]
    again = results(push(client, [m]))[0]
    third = results(push(client, [m], client_id="phone-1"))[0]
    assert first["status"] == "applied" and again["replayed"] and third["replayed"]
    assert count(db, UnitSwap) == 1 and count(db, RepairTicket) == 1
    assert count(db, ClientMutation, ClientMutation.mutation_id == m["id"]) == 1
    assert count(db, AuditEntry, AuditEntry.action == "spare.delivered") == 1
    assert invariant_problems(db) == []


# -- returns, repair, retire -------------------------------------------------------------------


def test_a_swapped_out_unit_goes_through_repair_back_to_a_depot(client, db, desk, clock):
    site = desk.sites[0]
    login(client, site.engineer.username)
    assert results(push(client, [swap(site.job.id, site.unit.asset_tag,
                                      desk.spares[0].asset_tag)]))[0]["status"] == "applied"
    ticket = db.exec(select(RepairTicket)).one()
    now = clock.advance(minutes=30)  # the unit reaches the workshop after the swap
    repairs.receive(db, desk.manager.id, ticket.id, now)
    with pytest.raises(ActionError):
        repairs.finish_repair(db, desk.manager.id, ticket.id, "repaired", None, "", now)
    repairs.finish_repair(db, desk.manager.id, ticket.id, "repaired", desk.depots[0].id,
                          "换电源板", now)
    db.commit()
    unit = fresh(db, Unit, site.unit.id)
    assert (unit.status, unit.depot_id) == ("reserve", desk.depots[0].id)
    from server.queries.equipment import unit_history

    actions = [h.action for h in unit_history(db, unit.id)]
    assert actions == ["unit.repaired", "unit.received", "unit.take_out"]
    with pytest.raises(ActionError):
        repairs.retire(db, desk.manager.id, unit.id, "", now)  # a reason is needed
    repairs.retire(db, desk.manager.id, unit.id, "外壳破裂", now)
    db.commit()
    assert fresh(db, Unit, unit.id).status == "retired"
    with pytest.raises(MoveRefused):
        repairs.retire(db, desk.manager.id, desk.sites[1].unit.id, "租出中", now)


# -- swaps refused at sync, resolved by the manager (D13) --------------------------------------


def test_a_refused_swap_is_in_the_queue_and_its_correction_is_audited(client, db, desk, now):
    site, other = desk.sites
    login(client, site.engineer.username)
    # the engineer put in a unit the records say is rented elsewhere
    m = swap(site.job.id, site.unit.asset_tag, other.unit.asset_tag)
    r = results(push(client, [m]))[0]
    assert r["status"] == "rejected"
    from server.queries.equipment import refused_swaps

    assert [x.fact.id for x in refused_swaps(db)] == [m["id"]]
    with pytest.raises(ActionError):
        repairs.resolve_refused_swap(db, desk.manager.id, m["id"], True, "", now)
    db.rollback()
    repairs.resolve_refused_swap(db, desk.manager.id, m["id"], True, "电话确认已换上", now)
    db.commit()
    assert refused_swaps(db) == []
    moved = fresh(db, Unit, other.unit.id)
    assert moved.status == "rented"
    lines = db.exec(select(OrderLine.order_id).where(OrderLine.unit_id == moved.id,
                                                     OrderLine.removed_at.is_(None))).all()
    assert list(lines) == [site.order.id]  # it left the other order: one place only
    assert fresh(db, Unit, site.unit.id).status == "in_repair"
    resolved = db.exec(select(AuditEntry).where(AuditEntry.action == "swap.resolved")).one()
    assert resolved.actor_id == desk.manager.id and resolved.details["happened"] is True
    assert invariant_problems(db) == []
    with pytest.raises(ActionError):
        repairs.resolve_refused_swap(db, desk.manager.id, m["id"], False, "again", now)


# -- property: random sequences keep every invariant, on both databases ------------------------

OPS = ("hold", "ask", "ship", "swap", "back", "receive", "repair", "retire", "cancel", "withdraw")


@hsettings(max_examples=12, deadline=None, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 1), st.integers(0, 5)),
                min_size=1, max_size=18))
def test_random_sequences_keep_every_unit_in_one_state_and_on_one_order(db, settings, steps):
    """Holds, shipments, deliveries (swaps), returns, repairs and cancellations in any
    order: refused moves change nothing, and every unit stays in exactly one state, on at
    most one open order line, with the records agreeing."""
    now = utcnow()
    prefix = uuid4().hex[:6].upper()
    desk = build_desk(db, settings, now, prefix=prefix)
    manager = desk.manager.id
    units = [s.unit for s in desk.sites] + desk.spares
    for op, i, k in steps:
        site, unit = desk.sites[i], units[k % len(units)]
        req = db.get(SupportRequest, site.request.id)
        spare = db.exec(select(SpareRequest).where(SpareRequest.request_id == req.id)
                        .order_by(SpareRequest.id.desc())).first()
        try:
            if op == "hold":
                hold_reserve_unit(db, manager, req, now)
            elif op == "ask":
                spares.ask_for_spare(db, manager, req.id, "dispatcher", now)
            elif op == "ship" and spare is not None:
                spares.ship_spare(db, manager, spare.id, unit.id, "courier", None, "顺丰",
                                  now + timedelta(hours=1), now)
            elif op == "swap":
                _swap(db, site, unit, now, settings)
            elif op == "back":
                spares.back_to_reserve(db, manager, unit.id, desk.depots[k % 2].id, now)
            elif op in ("receive", "repair"):
                ticket = db.exec(select(RepairTicket).where(RepairTicket.unit_id == unit.id,
                                                            RepairTicket.closed_at.is_(None))
                                 ).first()
                if ticket is not None and op == "receive":
                    repairs.receive(db, manager, ticket.id, now)
                elif ticket is not None:
                    repairs.finish_repair(db, manager, ticket.id, "repaired",
                                          desk.depots[0].id, "", now)
            elif op == "retire":
                repairs.retire(db, manager, unit.id, "报废", now)
            elif op == "cancel":
                cancel_request(db, manager, req.id, "客户取消", now, settings)
            elif op == "withdraw" and spare is not None:
                spares.cancel_spare(db, manager, spare.id, "不需要了", now)
            db.commit()
        except ActionError:
            db.rollback()
        assert invariant_problems(db) == [], (op, i, k)


def _swap(db, site, unit, now, settings):
    from server.actions import field as field_actions
    from server.actions.field import SwapArgs

    args = SwapArgs(job_id=site.job.id, unit_out=_on_order(db, site), unit_in=unit.asset_tag,
                    reason="无法开机")
    field_actions.swap(db, site.engineer.id, args, now, now, settings)


def _on_order(db, site) -> str:
    unit = db.exec(select(Unit).join(OrderLine, OrderLine.unit_id == Unit.id).where(
        OrderLine.order_id == site.order.id, OrderLine.removed_at.is_(None))).first()
    return unit.asset_tag if unit else "NONE"


# -- the screens -----------------------------------------------------------------------------


def test_the_manager_ships_from_the_queue_screen(client, db, desk, now):
    unit, spare = held_and_asked(db, desk, now)
    login(client, "equipment")
    page = client.get("/equipment/queue")
    assert page.status_code == 200
    assert desk.sites[0].request.number in page.text and unit.asset_tag in page.text
    bad = form_post(client, f"/equipment/spares/{spare.id}/ship",
                    {"unit_id": str(unit.id), "carrier": "courier", "tracking_note": "",
                     "eta": "2099-01-01T10:00"}, htmx=True)
    assert bad.status_code == 422 and "快递" in text_of(bad.text)
    assert fresh(db, Unit, unit.id).status == "reserve"
    junk = form_post(client, f"/equipment/spares/{spare.id}/ship",
                     {"unit_id": "x", "carrier": "courier", "tracking_note": "SF1",
                      "eta": "not a date"}, htmx=True)
    assert junk.status_code == 422
    ok = form_post(client, f"/equipment/spares/{spare.id}/ship",
                   {"unit_id": str(unit.id), "carrier": "courier", "tracking_note": "顺丰 SF1",
                    "eta": "2099-01-01T10:00"}, htmx=True)
    assert ok.status_code == 200, ok.text
    assert fresh(db, Unit, unit.id).status == "in_transit"
    assert "顺丰 SF1" in ok.text


def test_stock_filters_history_labels_and_home(client, db, desk, now):
    unit, _ = held_and_asked(db, desk, now)
    login(client, "equipment")
    page = client.get("/equipment", params={"tag": unit.asset_tag.lower()})
    assert page.status_code == 200 and unit.asset_tag in page.text
    assert "为需求单保留" in text_of(page.text)
    other = client.get("/equipment", params={"status": "in_repair"})
    assert other.status_code == 200 and unit.asset_tag not in other.text
    assert client.get("/equipment", params={"depot": "x", "status": "nope"}).status_code == 200
    history = client.get(f"/equipment/units/{unit.id}")
    assert history.status_code == 200 and "<svg" in history.text
    assert desk.sites[0].request.number in text_of(history.text)
    labels = client.get("/equipment/labels")
    assert labels.status_code == 200 and labels.text.count('class="label"') == 6
    assert client.get("/equipment/units/999999").status_code == 404
    home = text_of(client.get("/").text)
    assert "库存不足" in home  # the Kiloview and the mixer thresholds are not met
    login(client, desk.sites[0].engineer.username)
    assert client.get("/equipment").status_code == 403


def test_the_dispatcher_and_the_engineer_ask_for_a_spare(client, db, desk, now):
    login(client, desk.sites[1].engineer.username)
    wrong = form_post(client, f"/spares/ask/{desk.sites[0].request.id}", htmx=True)
    assert wrong.status_code == 422  # not this engineer's request
    ok = form_post(client, f"/spares/ask/{desk.sites[1].request.id}",
                   {"job_id": str(desk.sites[1].job.id)}, htmx=True)
    assert ok.status_code == 200 and "设备管理部" in text_of(ok.text)
    spare = db.exec(select(SpareRequest)).one()
    assert spare.source == "engineer" and spare.fault.startswith("编码器无法开机")
    held = fresh(db, Unit, spare.unit_id)  # the nearest matching unit is kept for it
    assert held.held_for_request_id == desk.sites[1].request.id and held.model == "LiveU Solo"


def test_the_demo_data_keeps_every_unit_invariant(tmp_path):
    """The demo's spares and repairs are made through the actions: each unit in one state,
    a spare waiting, two on their way, the units in repair each with their ticket."""
    from server.db import make_engine
    from server.demo import load_demo
    from server.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        load_demo(db, utcnow(), Settings(data_dir=tmp_path))
        db.commit()
        assert invariant_problems(db) == []
        statuses = db.exec(select(SpareRequest.status)).all()
        assert "open" in statuses  # the demo onsite login's, its unit held to be shipped
        in_repair = db.exec(select(func.count()).where(Unit.status == "in_repair")).one()
        assert count(db, RepairTicket, RepairTicket.closed_at.is_(None)) == in_repair > 0
    engine.dispose()


def test_a_unit_comes_back_only_to_a_real_depot(client, db, desk, now, settings):
    unit, spare = held_and_asked(db, desk, now)
    spares.ship_spare(db, desk.manager.id, spare.id, unit.id, "courier", None, "顺丰 SF9",
                      now + timedelta(hours=1), now)
    spares.cancel_spare(db, desk.manager.id, spare.id, "客户自行解决", now)
    db.commit()
    login(client, "equipment")
    for depot in ("0", "999", "x"):
        bad = form_post(client, f"/equipment/units/{unit.id}/back", {"depot_id": depot},
                        htmx=True)
        assert bad.status_code == 422 and "库点" in text_of(bad.text)
        assert fresh(db, Unit, unit.id).status == "in_transit"
    ok = form_post(client, f"/equipment/units/{unit.id}/back",
                   {"depot_id": str(desk.depots[1].id)}, htmx=True)
    assert ok.status_code == 200 and "设备已回到备用库" in text_of(ok.text)
    assert (fresh(db, Unit, unit.id).status, fresh(db, Unit, unit.id).depot_id) == (
        "reserve", desk.depots[1].id)
    assert invariant_problems(db) == []


def test_the_manager_resolves_a_refused_swap_from_the_queue(client, db, desk, now):
    site, other = desk.sites
    login(client, site.engineer.username)
    m = swap(site.job.id, site.unit.asset_tag, other.unit.asset_tag)
    assert results(push(client, [m]))[0]["status"] == "rejected"
    login(client, "equipment")
    queue = client.get("/equipment/queue")
    assert other.unit.asset_tag in queue.text and "同步时被拒绝的换机 (1)" in text_of(queue.text)
    url = f"/equipment/swaps/{m['id']}/resolve"
    for data in ({"note": "问过工程师"}, {"happened": "maybe", "note": "x"},
                 {"happened": "no", "note": ""}):
        bad = form_post(client, url, data, htmx=True)
        assert bad.status_code == 422
    assert form_post(client, "/equipment/swaps/" + "z" * 80 + "/resolve",
                     {"happened": "no", "note": "x"}, htmx=True).status_code == 422
    ok = form_post(client, url, {"happened": "no", "note": "工程师确认没有换上"}, htmx=True)
    assert ok.status_code == 200 and "没有待处理的被拒绝换机" in text_of(ok.text)
    fact = fresh(db, FieldFact, m["id"])
    assert fact.flag_resolved_at is not None and fact.data["resolution"]["happened"] is False
    assert fresh(db, Unit, other.unit.id).status == "rented"  # the records stay as they were
    assert invariant_problems(db) == []
