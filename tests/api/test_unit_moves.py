"""The units screen, the import and the rental system's API change a unit's status only
through the state machine (issue 14; S15, D13): ``server.actions.equipment.move``, version-
checked and audited. Retiring a unit rented on an open order, held or in transit for a
request is refused with the reason whatever the path; a status set by hand is the move
that leads there, or refused."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from server.actions import ActionError, catalog, equipment, imports
from server.db import utcnow
from server.models import AuditEntry, ChangeRecord, SupportRequest, Unit
from tests.api.test_catalog_screens import shop  # noqa: F401 - the fixture
from tests.api.test_import import as_csv
from tests.api.test_rental_api import API, _auth, _token
from tests.conftest import form_post, login, text_of

RETIRE = {"reason": "外壳开裂，无法修复"}


def _request(db, number: str = "FO-20261130-0007") -> SupportRequest:
    request = SupportRequest(number=number, customer_name="星耀", channel="hotline",
                             contact_name="李娜", phone="13800138000", device_type="camera",
                             symptom="黑屏", status="assigned", received_at=utcnow())
    db.add(request)
    db.commit()
    return request


def _fresh(db, unit: Unit) -> Unit:
    db.rollback()  # a new snapshot: what the server committed
    db.expire_all()
    return db.get(Unit, unit.id)


def test_retiring_a_unit_rented_held_or_in_transit_is_refused_whatever_the_path(
        client, people, db, shop):  # noqa: F811
    request = _request(db)
    held = shop["spare"]
    equipment.move(db, held, "hold", people["equipment"].id, utcnow(), request_id=request.id)
    shipped = Unit(asset_tag="CAM-0009", device_type="camera", model="Z280", status="reserve",
                   depot_id=shop["depot"].id)
    db.add(shipped)
    db.flush()
    equipment.move(db, shipped, "ship", people["equipment"].id, utcnow(), request_id=request.id)
    db.commit()
    units = (shop["rented"], held, shipped)
    before = [(_fresh(db, u).status, _fresh(db, u).version) for u in units]

    login(client, "equipment")
    for unit, why in ((shop["rented"], "RO-1"), (held, request.number), (shipped, request.number)):
        r = form_post(client, f"/units/{unit.id}/retire", RETIRE)
        assert r.status_code == 422 and why in text_of(r.text), unit.asset_tag
        # the edit form's status too
        r = form_post(client, f"/units/{unit.id}", {"asset_tag": unit.asset_tag,
                                                     "device_type": "camera", "model": "Z280",
                                                     "depot": "徐汇应急备件库", "status": "retired"})
        assert r.status_code == 422 and why in text_of(r.text), unit.asset_tag
    client.cookies.clear()

    db.rollback()  # a new snapshot: the test writes the token next
    token = _token(db, people)  # the rental system's API
    for unit, why in ((shop["rented"], "RO-1"), (held, request.number)):
        r = client.put(f"{API}/units/{unit.asset_tag}", headers=_auth(token),
                       json={"device_type": "camera", "model": "Z280", "status": "retired"})
        assert r.status_code == 422 and why in r.text, unit.asset_tag

    report = imports.dry_run(db, "units", "units.csv", as_csv([  # the import's dry run
        ["asset_tag", "device_type", "model", "depot", "status"],
        [shop["rented"].asset_tag, "camera", "Z280", "", "retired"],
        [held.asset_tag, "camera", "Z280", "徐汇应急备件库", "retired"],
        [shipped.asset_tag, "camera", "Z280", "", "retired"]]), ("urban",), ZoneInfo("Asia/Shanghai"))
    assert [r.outcome for r in report.rows] == ["refused"] * 3

    assert [(_fresh(db, u).status, _fresh(db, u).version) for u in units] == before
    assert _fresh(db, held).held_for_request_id == request.id


def test_retiring_is_the_state_machines_move_audited_and_announced(client, people, db, shop):  # noqa: F811
    spare = shop["spare"]
    version = spare.version
    login(client, "equipment")
    assert form_post(client, f"/units/{spare.id}/retire", RETIRE).status_code == 303
    unit = _fresh(db, spare)
    assert unit.status == "retired" and unit.version == version + 1
    entry = db.exec(select(AuditEntry).where(AuditEntry.entity == "unit",
                                             AuditEntry.entity_id == str(spare.id))).one()
    assert entry.action == "unit.retire" and entry.actor_id == people["equipment"].id
    assert entry.details["from_state"] == "reserve" and entry.details["reason"] == RETIRE["reason"]
    assert db.exec(select(ChangeRecord).where(ChangeRecord.entity == "unit",
                                              ChangeRecord.entity_id == str(spare.id))).all()
    assert "已报废" in text_of(client.get(f"/units/{spare.id}").text)


def test_a_retire_racing_a_hold_loses(people, db, engine, shop):  # noqa: F811
    """The retire read the unit free; meanwhile a dispatcher held it for a request
    (another transaction, committed): the retire is refused, the hold stands."""
    request = _request(db)
    spare = db.get(Unit, shop["spare"].id)  # this session has read it: reserve, not held
    with Session(engine) as other:
        equipment.move(other, other.get(Unit, spare.id), "hold", people["dispatcher"].id,
                       utcnow(), request_id=request.id)
        other.commit()
    try:
        catalog.retire_unit(db, people["equipment"].id, spare.id, "摔坏", utcnow())
        db.commit()
    except ActionError as exc:
        db.rollback()
        assert request.number in exc.message.render()
    unit = _fresh(db, spare)
    assert (unit.status, unit.held_for_request_id) == ("reserve", request.id)


def test_a_status_set_by_hand_is_the_move_that_leads_there(client, people, db, shop):  # noqa: F811
    broken, spare = shop["broken"], shop["spare"]
    login(client, "equipment")

    def edit(unit: Unit, status: str, depot: str = "徐汇应急备件库"):
        return form_post(client, f"/units/{unit.id}", {
            "asset_tag": unit.asset_tag, "device_type": "camera", "model": "Z280",
            "depot": depot, "status": status})

    r = edit(broken, "reserve", depot="")  # back in the reserve: at which depot?
    assert r.status_code == 422 and "选择" in text_of(r.text)
    assert edit(broken, "reserve").status_code == 303  # repaired, at the depot
    assert edit(spare, "in_repair").status_code == 303  # found faulty at the depot
    actions = [e.action for e in db.exec(select(AuditEntry).where(
        AuditEntry.action.like("unit.%")).order_by(AuditEntry.id))]
    assert actions == ["unit.repaired", "unit.to_repair"]
    assert (_fresh(db, broken).status, _fresh(db, spare).status) == ("reserve", "in_repair")

    assert edit(broken, "in_transit").status_code == 303
    r = edit(broken, "in_repair")  # no move leads from in transit to repair by hand
    assert r.status_code == 422 and "不能在这里改为" in text_of(r.text)
    assert _fresh(db, broken).status == "in_transit"
