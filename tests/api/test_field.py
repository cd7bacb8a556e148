"""The onsite engineer's screens, the form path of a mutation, photos, and the sync API's
contract (OpenAPI, pull, refusals)."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlmodel import func, select

from server.db import utcnow
from server.models import ClientMutation, FieldFact, Job, Photo
from server.sync.registry import REGISTRY
from tests.api.field_world import NEAR, build_world, check_in, mutation, note, push, results
from tests.conftest import add_staff, csrf_token, form_post, login, text_of

JSON = {"accept": "application/json"}


@pytest.fixture
def world(db, settings):
    return build_world(db, settings)


@pytest.fixture
def phone(client, world):
    login(client, "zhang.qiang")
    return client


def jpeg(size=(64, 48)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def facts(db, **where) -> int:
    db.commit()
    return db.exec(select(func.count()).select_from(FieldFact).where(
        *[getattr(FieldFact, k) == v for k, v in where.items()])).one()


# -- my jobs, the job page -------------------------------------------------------------------


def test_my_jobs_lists_my_open_jobs_most_urgent_first(phone, db, world, settings):
    second = Job(request_id=world.request.id, kind="onsite", assignee_id=world.engineer.id,
             status="offered", assigned_at=utcnow())
    finished = Job(request_id=world.request.id, kind="onsite", assignee_id=world.engineer.id,
                   status="done", assigned_at=utcnow())
    db.add_all([second, finished])
    db.commit()
    page = phone.get("/field")
    assert page.status_code == 200
    html = page.text
    ids = [int(i) for i in re.findall(r'href="/field/jobs/(\d+)"', html)]
    assert ids[0] == world.job.id and finished.id not in ids and second.id in ids
    assert 'href="tel:13800138000"' in html
    assert "https://uri.amap.com/navigation?to=" in html
    assert "正在直播" in html or "live" in text_of(html)
    assert 'class="clk' in html and "data-d=" in html  # the running clock ticks in app.js
    # the page keeps itself fresh online: an htmx fragment on the live trigger
    fragment = phone.get("/field", headers={"hx-request": "true"}).text
    assert 'id="my-jobs"' in fragment
    assert "<html" not in fragment


def test_the_job_page_has_a_big_button_for_each_step(phone, world):
    html = phone.get(f"/field/jobs/{world.job.id}").text
    for name in ("on_my_way", "check_in", "fix_note", "photo", "swap", "done"):
        assert f'data-mutation="{name}"' in html, name
    # already accepted: the accept step is there only for the phone's offline state, hidden
    assert re.search(r'data-mutation="accept" data-offer="offered" hidden', html)
    assert not re.search(r'data-mutation="on_my_way" data-offer="[^"]*" hidden', html)
    assert 'capture="environment"' in html and "data-geo" in html
    assert "ENC-0100" in html  # the reserve unit of the right type is offered
    assert 'id="sync-notice"' in html and "立即同步" in html  # the sync bar, in Chinese
    assert "X-Fieldops-Mutation" in html


def test_only_the_assignee_and_the_dispatch_desk_see_a_job(client, world):
    login(client, "yang.fan")
    assert client.get(f"/field/jobs/{world.job.id}").status_code == 403
    client.cookies.clear()
    login(client, "wang.jg")
    assert client.get(f"/field/jobs/{world.job.id}").status_code == 200
    assert client.get("/field").status_code == 403  # "my jobs" is the engineer's
    assert client.get("/field/jobs/999999").status_code == 404


def test_the_home_screen_offers_my_jobs_to_an_onsite_engineer(phone):
    assert 'href="/field"' in phone.get("/").text


# -- a mutation posted from the page (online, htmx) --------------------------------------------


def form_fields(world, name: str, **args) -> dict:
    return {"mutation": name, "mutation_id": str(uuid4()), "device_time": utcnow().isoformat(),
            "client_id": "phone-form", "job_id": str(world.job.id), "_label": "x", **args}


def test_a_form_post_applies_through_the_same_path_and_answers_the_job_fragment(phone, db, world):
    data = form_fields(world, "check_in", lat=str(NEAR[0]), lon=str(NEAR[1]), accuracy_m="12")
    r = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<article id="job"')
    assert "已签到" in r.text and "outcome applied" in r.text
    # the service worker replays the same post later: nothing is applied twice
    again = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)
    assert again.status_code == 200 and "已签到" in again.text
    assert facts(db, kind="check_in") == 1
    row = db.exec(select(ClientMutation)).one()
    assert (row.client_id, row.mutation_id, row.result) == ("phone-form", data["mutation_id"],
                                                            "applied")
    # and /sync/push with the same ids answers from the log too
    replay = {"id": data["mutation_id"], "name": "check_in",
              "args": {"job_id": world.job.id, "lat": NEAR[0], "lon": NEAR[1]},
              "device_time": data["device_time"]}
    assert results(push(phone, [replay], "phone-form"))[0]["replayed"] is True
    assert facts(db, kind="check_in") == 1


def test_a_plain_post_without_script_still_records_once(phone, db, world):
    data = {"mutation": "fix_note", "fault_kind": "signal_lost", "text": "重新接线",
            "job_id": str(world.job.id)}
    r = form_post(phone, f"/field/jobs/{world.job.id}", data)
    assert r.status_code == 303 and r.headers["location"] == f"/field/jobs/{world.job.id}"
    fact = db.exec(select(FieldFact).where(FieldFact.kind == "fix_note")).one()
    assert not fact.flagged  # no device time: the post arrived as it happened


def test_a_refused_form_post_says_why_in_chinese(phone, world):
    data = form_fields(world, "swap", unit_out="ENC-0001", unit_in="ENC-0300")
    r = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)
    assert "outcome rejected" in r.text and "ENC-0300" in r.text and "维修" in r.text
    data = form_fields(world, "done", customer_name="李明")  # the box not ticked
    r = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)
    assert "outcome rejected" in r.text and "直播已恢复" in r.text


def test_an_unexpected_failure_answers_503_so_the_phone_keeps_the_action(phone, db, world,
                                                                         monkeypatch):
    """D14: nothing stored means the answer must not look like success; the service
    worker keeps any 5xx post in its outbox and sends it again."""
    from sqlalchemy.exc import OperationalError

    from server.sync import registry

    def broken(*args, **kwargs):  # an outage; a mutation's own bad data is refused instead
        raise OperationalError("UPDATE job", {}, Exception("database went away"))

    spec = REGISTRY["fix_note"]
    monkeypatch.setitem(registry.REGISTRY, "fix_note",
                        registry.Mutation("fix_note", spec.args, broken, spec.roles, spec.label))
    data = form_fields(world, "fix_note", fault_kind="signal_lost", text="重新接线")
    r = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)
    assert r.status_code == 503 and "outcome retry" in r.text and "再发送" in r.text
    plain = form_post(phone, f"/field/jobs/{world.job.id}", {k: v for k, v in data.items()
                                                             if k != "mutation_id"})
    assert plain.status_code == 503
    assert facts(db, kind="fix_note") == 0
    monkeypatch.undo()
    again = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)  # the replay
    assert again.status_code == 200 and facts(db, kind="fix_note") == 1


# -- photos ------------------------------------------------------------------------------------


def test_a_photo_is_kept_and_shown_only_to_those_concerned(phone, client, db, world):
    image = "data:image/jpeg;base64," + base64.b64encode(jpeg()).decode()
    m = mutation("photo", world.job.id, image=image, caption="接口烧毁")
    r = results(push(phone, [m]))[0]
    assert r["status"] == "applied"
    photo = db.get(Photo, m["id"])
    assert photo.content_type == "image/jpeg" and _size(photo.content) == (64, 48)
    got = phone.get(f"/field/photos/{m['id']}")
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.content == photo.content
    assert f'/field/photos/{m["id"]}' in phone.get(f"/field/jobs/{world.job.id}").text
    row = db.exec(select(ClientMutation)).one()
    assert row.args["image"].startswith("<")  # the log does not copy the picture
    client.cookies.clear()
    login(client, "yang.fan")
    assert client.get(f"/field/photos/{m['id']}").status_code == 403


def test_a_photo_taken_online_goes_through_the_form_post(phone, db, world):
    """A phone's shrunk photo (~100-300 KB as a data: URL) is far longer than a text field."""
    import os

    big = jpeg((1280, 960))
    image = "data:image/jpeg;base64," + base64.b64encode(big + os.urandom(60_000)).decode()
    data = form_fields(world, "photo", image=image, caption="接口烧毁")
    r = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)
    assert r.status_code == 200, r.text[:300]
    assert facts(db, kind="photo") == 1


def _size(content: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        assert image.format == "JPEG"
        return image.size


PNG_THEN_HTML = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(document.cookie)</script></html>"


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 128, 255, 128)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("image", ["not base64!", base64.b64encode(b"GIF89a....").decode(),
                                   base64.b64encode(PNG_THEN_HTML).decode(),
                                   base64.b64encode(_png()[:60]).decode(),  # cut short
                                   base64.b64encode(b"RIFF\x00\x00\x00\x00WEBPVP8 ").decode()])
def test_something_that_is_not_a_photo_is_rejected(phone, db, world, image):
    r = results(push(phone, [mutation("photo", world.job.id, image=image)]))[0]
    assert r["status"] == "rejected" and "照片" in r["message"]
    assert facts(db) == 0


def test_a_bad_photo_in_a_batch_rejects_only_itself(phone, db, world):
    """Issue 11: a PNG signature followed by HTML is neither stored nor served; the rest
    of the push applies, with no 5xx."""
    batch = [mutation("photo", world.job.id, image=base64.b64encode(jpeg()).decode()),
             mutation("photo", world.job.id, image=base64.b64encode(PNG_THEN_HTML).decode()),
             mutation("photo", world.job.id, image=base64.b64encode(_png()).decode())]
    r = push(phone, batch)
    assert r.status_code == 200
    assert [x["status"] for x in results(r)] == ["applied", "rejected", "applied"]
    assert "照片" in results(r)[1]["message"]
    assert db.get(Photo, batch[1]["id"]) is None
    stored = db.get(Photo, batch[2]["id"])  # a PNG is kept as a re-encoded JPEG
    assert stored.content_type == "image/jpeg" and _size(stored.content) == (40, 30)
    assert PNG_THEN_HTML[8:] not in stored.content


def test_bad_photo_data_on_the_form_path_is_a_4xx(phone, db, world):
    data = {"mutation": "photo", "image": base64.b64encode(PNG_THEN_HTML).decode()}
    r = form_post(phone, f"/field/jobs/{world.job.id}", data, htmx=True)
    assert r.status_code == 422 and "照片" in text_of(r.text)
    assert facts(db, kind="photo") == 0


# -- the sync API's contract -----------------------------------------------------------------


def test_openapi_documents_push_pull_and_every_mutations_arguments(client, people):
    login(client, "onsite")
    schema = client.get("/schema/openapi.json").json()
    assert {"/sync/push", "/sync/pull"} <= set(schema["paths"])
    components = schema["components"]["schemas"]
    body = schema["paths"]["/sync/push"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/PushBody")
    for name in REGISTRY:
        camel = "".join(p.title() for p in name.split("_"))
        assert f"{camel}Mutation" in components, name
    check_in_args = components["CheckInArgs"]["properties"]
    assert {"job_id", "lat", "lon", "accuracy_m"} <= set(check_in_args)
    assert {"unit_out", "unit_in"} <= set(components["SwapArgs"]["properties"])
    pull = schema["paths"]["/sync/pull"]["get"]
    assert {p["name"] for p in pull["parameters"]} >= {"cursor", "client_id"}


def test_pull_returns_my_changes_since_a_cursor_and_my_last_mutation(phone, db, world, monkeypatch,
                                                                   clock):
    monkeypatch.setattr("server.sync.routes.SETTLE", timedelta(0))  # the overlap: test_sync.py
    empty = phone.get("/sync/pull?cursor=0&client_id=phone-1", headers=JSON).json()
    assert empty["last_mutation_id"] is None and empty["staff_id"] == world.engineer.id
    assert empty["pages"] == ["/field", f"/field/jobs/{world.job.id}"]
    batch = [check_in(world.job.id), note(world.job.id)]
    results(push(phone, batch))
    clock.advance(seconds=1)  # the phone pulls a moment later; its push has settled
    pulled = phone.get(f"/sync/pull?cursor={empty['cursor']}&client_id=phone-1",
                       headers=JSON).json()
    assert pulled["last_mutation_id"] == batch[-1]["id"]
    changed = {(c["entity"], c["entity_id"]) for c in pulled["changes"]}
    assert ("fact", batch[0]["id"]) in changed and ("job", str(world.job.id)) in changed
    assert pulled["cursor"] > empty["cursor"]
    later = phone.get(f"/sync/pull?cursor={pulled['cursor']}&client_id=phone-1",
                      headers=JSON).json()
    assert later["changes"] == [] and later["cursor"] == pulled["cursor"]
    other_phone = phone.get("/sync/pull?cursor=0&client_id=tablet", headers=JSON).json()
    assert other_phone["last_mutation_id"] is None


def test_a_bad_mutation_is_answered_and_does_not_block_the_next(phone, db, world):
    jid = world.job.id
    batch = [mutation("fix_note", jid, fault_kind="volcano", text=""),
             mutation("teleport", jid),
             mutation("check_in", 424242, lat=1, lon=2),
             mutation("check_in", jid, lat="north", lon=2),
             note(jid)]
    r = results(push(phone, batch))
    assert [x["status"] for x in r] == ["rejected"] * 4 + ["applied"]
    assert "故障类型" in r[0]["message"] and "teleport" in r[1]["message"]
    assert "424242" in r[2]["message"] and "位置" in r[3]["message"]
    assert facts(db) == 1
    again = results(push(phone, batch))
    assert [x["status"] for x in again] == [x["status"] for x in r]  # stored, not re-judged
    assert facts(db) == 1


def test_push_refuses_what_is_not_a_push(phone, client, world):
    token = csrf_token(phone)
    bad_id = {"id": "not-a-uuid", "name": "fix_note", "args": {}}
    r = phone.post("/sync/push", json={"client_id": "p", "mutations": [bad_id]},
                   headers={"x-csrftoken": token, **JSON})
    # one malformed entry is refused alone, so it cannot jam the outbox behind it (issue 12)
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "rejected"
    too_many = [note(world.job.id) for _ in range(101)]
    r = phone.post("/sync/push", json={"client_id": "p", "mutations": too_many},
                   headers={"x-csrftoken": token, **JSON})
    assert r.status_code == 400
    r = phone.post("/sync/push", json={"client_id": "p", "mutations": []}, headers=JSON)
    assert r.status_code == 403  # no CSRF token
    client.cookies.clear()
    assert client.post("/sync/push", json={"client_id": "p", "mutations": []},
                       headers=JSON).status_code in (401, 403)


def test_a_role_without_field_work_is_refused_per_mutation(client, db, world):
    add_staff(db, "lin.agent", "agent")
    login(client, "lin.agent")
    r = results(push(client, [note(world.job.id)]))[0]
    assert r["status"] == "rejected" and r["message"] == "您的角色无权执行此操作。"


def test_results_speak_the_engineers_language(phone, db, world):
    form_post(phone, "/language", {"locale": "en", "next": "/"})
    r = results(push(phone, [check_in(world.job.id, at=utcnow() + timedelta(hours=3))]))[0]
    assert "Checked in" in r["message"] and "clock" in r["message"]


def test_the_service_worker_keeps_an_outbox(client):
    sw = client.get("/sw.js").text
    for piece in ("indexedDB.open", "/sync/push", "/sync/pull", "X-Fieldops-Mutation",
                  "HX-Retarget", "last_mutation_id", '"sync"'):
        assert piece in sw, piece


def test_the_saved_on_this_phone_answer_is_a_fragment(phone):
    r = phone.get("/sync/saved")
    assert r.status_code == 200 and "已保存在本机" in r.text and "<html" not in r.text


@pytest.mark.parametrize(("minutes_ago", "offered"), [(25, True), (10, False)])
def test_a_p1_still_down_20_minutes_after_check_in_offers_a_swap(phone, world, minutes_ago,
                                                                 offered):
    """D8: the swap section opens with a prompt; before 20 minutes it stays quiet."""
    m = check_in(world.job.id, at=utcnow() - timedelta(minutes=minutes_ago))
    assert results(push(phone, [m]))[0]["status"] in ("applied", "flagged")
    page = phone.get(f"/field/jobs/{world.job.id}").text
    assert ("请用备用设备换机" in page) is offered
