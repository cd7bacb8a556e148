"""No entry can jam the phone's outbox (D14): one mutation whose data the server or the
database cannot take is refused alone, with a readable reason; the rest of its push is
applied; only an outage of the database answers "retry"/503.

On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL (NUL bytes and
out-of-range instants are PostgreSQL's favourite ways to fail a whole transaction).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from server.db import utcnow
from server.models import ClientMutation, FieldFact
from server.sync import mutations as _registered  # noqa: F401 - fills the registry
from server.sync.registry import REGISTRY
from tests.api import sync_dbs
from tests.api.field_world import (
    assert_each_fact_once,
    check_in,
    mutation,
    note,
    push,
    results,
)
from tests.conftest import csrf_token

POISON_TIMES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59.999999+00:00", "1970-01-01T00:00:00Z", "not a time", "",
                "2026-13-45T99:99:99"]


settings, world, phone = sync_dbs.settings, sync_dbs.world, sync_dbs.phone  # both databases


def _fresh(db):
    db.commit()
    db.expire_all()


@pytest.mark.parametrize("device_time", POISON_TIMES)
def test_an_absurd_device_time_never_jams_the_push(phone, db, world, device_time):
    jid = world.job.id
    before, bad, after = note(jid), note(jid), note(jid)
    bad["device_time"] = device_time
    r = results(push(phone, [before, bad, after]))
    assert [x["status"] for x in r] == ["applied", "flagged", "applied"], r
    assert "clock" in r[1]["flags"]  # D8c: the server's time was used, the fact kept (D14)
    assert_each_fact_once(db, [before, bad, after])
    _fresh(db)
    fact = db.get(FieldFact, bad["id"])
    assert abs(fact.effective_at - utcnow()) < timedelta(minutes=5)


@pytest.mark.parametrize(("name", "args", "words"), [
    ("fix_note", {"fault_kind": "cabling", "text": "接口\x00松动"}, "字符"),
    ("done", {"customer_name": "李\x00明", "stream_back": "true"}, "字符"),
    ("swap", {"unit_out": "ENC-0001\x00", "unit_in": "ENC-0100"}, "字符"),
    ("fix_note", {"fault_kind": "cabling", "text": "长" * 2001}, "检查"),
    ("check_in", {"lat": 1e308, "lon": 121.4, "accuracy_m": 5}, "位置"),
    ("check_in", {"lat": 31.2, "lon": 121.4, "accuracy_m": -1}, "位置"),
    ("fix_note", {"fault_kind": ["cabling"], "text": {"a": 1}}, "检查"),
    ("accept", {"job_id": 2**63}, "检查"),
])
def test_one_bad_entry_is_refused_alone_with_a_reason(phone, db, world, name, args, words):
    jid = world.job.id
    bad = mutation(name, jid)
    bad["args"] = {"job_id": jid, **args}
    batch = [note(jid), bad, check_in(jid)]
    r = results(push(phone, batch))
    assert [x["status"] for x in r] == ["applied", "rejected", "applied"], r
    assert words in r[1]["message"], r[1]
    assert_each_fact_once(db, batch, kept=[batch[0], batch[2]])
    again = results(push(phone, batch))  # the phone sends it again: the same answers
    assert [x["status"] for x in again] == ["applied", "rejected", "applied"]
    assert all(x["replayed"] for x in again)


def test_a_malformed_entry_does_not_make_the_push_a_400(phone, db, world):
    good = note(world.job.id)
    odd = [{"id": "not-a-uuid", "name": "fix_note", "args": {}},
           {"id": "00000000-0000-4000-8000-000000000001", "name": "x" * 100, "args": [1, 2]},
           {"id": "00000000-0000-4000-8000-000000000002", "name": "done", "args": "garbage",
            "device_time": 12}]
    r = results(push(phone, [*odd, good]))
    assert [x["status"] for x in r] == ["rejected"] * 3 + ["applied"]
    assert all(x["message"] for x in r)
    assert_each_fact_once(db, [good])


def test_the_form_path_refuses_a_nul_with_a_reason(phone, db, world):
    jid = world.job.id
    data = {"_csrf_token": csrf_token(phone), "mutation": "fix_note",
            "mutation_id": "6a1f3b5e-8f0e-4c55-9b3c-0c1c2d3e4f50",
            "device_time": "9999-12-31T23:59:59-14:00", "fault_kind": "cabling",
            "text": "电源\x00接口"}
    r = phone.post(f"/field/jobs/{jid}", data=data, headers={"hx-request": "true"})
    assert r.status_code == 422  # refused, with the reason; the page swaps it in
    assert "无法保存的字符" in r.text
    data |= {"mutation_id": "6a1f3b5e-8f0e-4c55-9b3c-0c1c2d3e4f51", "text": "电源接口松动"}
    r = phone.post(f"/field/jobs/{jid}", data=data, headers={"hx-request": "true"})
    assert r.status_code == 200
    _fresh(db)
    fact = db.get(FieldFact, data["mutation_id"])  # an absurd time: the post's arrival
    assert abs(fact.effective_at - utcnow()) < timedelta(minutes=5)


def test_only_an_outage_answers_retry(phone, db, world, monkeypatch):
    from server.actions import field as field_actions
    from server.sync import registry

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    spec = REGISTRY["fix_note"]
    monkeypatch.setitem(registry.REGISTRY, "fix_note", registry.Mutation(
        "fix_note", field_actions.FixNoteArgs, down, spec.roles, spec.label))
    batch = [check_in(world.job.id), note(world.job.id), check_in(world.job.id)]
    r = results(push(phone, batch))
    # durably received: the inbox keeps them while the database cannot apply them
    assert [x["status"] for x in r] == ["applied", "received", "received"]
    monkeypatch.undo()  # the database is back: the next push (or the tick) applies them
    again = results(push(phone, batch))
    assert [x["status"] for x in again] == ["applied", "applied", "applied"], again
    assert_each_fact_once(db, batch)


# -- the property: random garbage anywhere, never a 5xx, every good mutation once -----------

FIELDS = sorted({f for spec in REGISTRY.values() for f in spec.args.model_fields} - {"fact_id"})
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.text(alphabet=st.sampled_from("\x00\ud7ff\ufffe é长ENC-0"), max_size=10),
    st.sampled_from(["ENC-0001", "ENC-0100", "cabling", "true", "1e999", "9" * 40, "长" * 2100]),
)
garbage_value = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                             | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                             max_leaves=6)
garbage_time = st.one_of(st.none(), st.sampled_from(POISON_TIMES), st.text(max_size=30),
                         st.integers(), st.datetimes(timezones=st.timezones()).map(
                             lambda d: d.isoformat()))


@st.composite
def garbage(draw, job_id: int):
    name = draw(st.sampled_from([*sorted(REGISTRY), "drop_table", ""]))
    args = draw(st.dictionaries(st.sampled_from(FIELDS), garbage_value, max_size=6))
    if draw(st.booleans()):
        args["job_id"] = job_id
    m = mutation(name, job_id)
    m["args"] = args
    m["device_time"] = draw(garbage_time)
    return m


@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_poisoned_batches_never_fail_and_apply_each_good_one_once(phone, db, world,
                                                                         data):
    jid = world.job.id
    good = [note(jid, text=f"第 {i} 条记录") for i in range(data.draw(st.integers(1, 3)))]
    bad = data.draw(st.lists(garbage(jid), min_size=1, max_size=6))
    batch = data.draw(st.permutations(good + bad))
    response = push(phone, batch)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        r = {x["id"]: x for x in response.json()["results"]}
        assert all(x["status"] != "retry" for x in r.values()), r
        for m in good:
            assert r[m["id"]]["status"] in ("applied", "flagged"), r[m["id"]]
    else:  # the body itself was not JSON the server can read: nothing applied, say so
        assert response.status_code == 400
        return
    assert_each_fact_once(db, good)
    again = push(phone, batch)  # a replay changes nothing
    assert again.status_code == 200
    _fresh(db)
    ids = [m["id"] for m in good]
    assert len(db.exec(select(ClientMutation).where(ClientMutation.mutation_id.in_(ids))).all()) \
        == len(good)
