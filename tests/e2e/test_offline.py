"""The onsite engineer's phone without signal, in a real Chromium at 390 x 844.

Work offline (check in with a set position, a fix note, a photo, a device swap), reload
while still offline, come back online: the server holds each fact exactly once and the
dispatcher sees them. Then the same with the server killed (SIGKILL) and restarted while
the phone syncs.
"""

from __future__ import annotations

import io
import time

import pytest

from server.domain.geo import to_wgs84
from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, screenshot, sign_in, sql

pytestmark = pytest.mark.e2e

COUNT = "[data-sync-count]"
# Every control a thumb must hit is at least 44 x 44 CSS pixels (a radio or checkbox by its
# label), and every field has a label.
SMALL_TARGETS_JS = """
() => [...document.querySelectorAll('button, select, input:not([type=hidden]), textarea, .btn, a')]
  .filter(el => el.offsetParent !== null && !el.closest('.foot, .topbar, .skip') && !el.matches('.skip'))
  .map(el => ({el, r: (['radio', 'checkbox'].includes(el.type) && el.closest('label') || el)
                         .getBoundingClientRect()}))
  .filter(x => x.r.height < 44 || x.r.width < 44)
  .map(x => x.el.outerHTML.slice(0, 80) + ' ' + Math.round(x.r.width) + 'x' + Math.round(x.r.height))
"""
UNLABELLED_JS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML.slice(0, 80))
"""




def waiting(page, n: int, timeout: float = 20_000) -> None:
    try:
        page.wait_for_function(f"document.querySelector('{COUNT}').textContent === '{n}'",
                               timeout=timeout)
    except Exception:
        print("DEBUG online", page.evaluate("navigator.onLine"))
        print("DEBUG bar", page.inner_text("[data-syncbar]"))
        print("DEBUG status", page.evaluate("""new Promise(r => {
            navigator.serviceWorker.addEventListener('message', e => r(JSON.stringify(e.data)));
            navigator.serviceWorker.controller.postMessage({type: 'status'}); })"""))
        raise


def phone_ready(page, base: str) -> None:
    """Signed in, controlled by the service worker, my job pages kept on the phone."""
    sign_in(page, base, "onsite")
    page.goto(base + "/field")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    assert page.evaluate("!!navigator.serviceWorker.controller")
    page.wait_for_function("""caches.keys().then(names => Promise.all(names.filter(n => n.startsWith('pages-')).map(n => caches.open(n).then(c => c.keys())))).then(all => all.flat())
        .then(k => k.filter(r => r.url.includes('/field/jobs/')).length >= 1)""", polling=200)


def job_on_page(page, server: LiveServer) -> dict:
    job_id = int(page.get_attribute("#job", "data-job"))
    (request_id, unit_id, device_type, order_id, v_lat, v_lon, datum), = sql(
        server, """SELECT r.id, r.unit_id, r.device_type, r.order_id, v.lat, v.lon, v.datum
                   FROM job j JOIN support_request r ON r.id = j.request_id
                   JOIN venue v ON v.id = r.venue_id WHERE j.id = ?""", job_id)
    (unit_out,), = sql(server, """SELECT u.asset_tag FROM orderline l JOIN unit u ON u.id = l.unit_id
                                  WHERE l.order_id = ? AND l.removed_at IS NULL
                                  ORDER BY u.id = ? DESC LIMIT 1""", order_id, unit_id)
    (unit_in,), = sql(server, """SELECT asset_tag FROM unit WHERE status = 'reserve'
                                 AND device_type = ? AND held_for_request_id IS NULL
                                 AND id NOT IN (SELECT unit_id FROM orderline WHERE removed_at IS NULL)
                                 ORDER BY asset_tag LIMIT 1""", device_type)
    lat, lon = to_wgs84(v_lat, v_lon, datum)
    return {"id": job_id, "request_id": request_id, "unit_out": unit_out, "unit_in": unit_in,
            "lat": lat, "lon": lon}


def write_note(page, text: str) -> None:
    box = page.locator("details.fdetails", has=page.locator("[data-mutation=fix_note]"))
    if not box.get_attribute("open"):
        box.locator("summary").click()
    box.locator("label.kind").first.click()
    box.locator("textarea[name=text]").fill(text)
    box.get_by_role("button", name="保存记录").click()


def camera_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (3000, 2000), (40, 90, 160)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def each_once(server: LiveServer, kinds: list[str]) -> list[str]:
    """Every mutation the phone sent is logged once and made exactly one fact."""
    rows = sql(server, """SELECT m.mutation_id, m.result, (SELECT count(*) FROM field_fact f
                          WHERE f.id = m.mutation_id) FROM client_mutation m""")
    assert sorted(r[0] for r in rows) == sorted({r[0] for r in rows})
    assert all(r[2] == 1 for r in rows), rows
    got = sql(server, "SELECT kind FROM field_fact WHERE id IN (SELECT mutation_id FROM client_mutation)")
    assert sorted(k for (k,) in got) == sorted(kinds)
    return [r[0] for r in rows]


def test_a_job_worked_offline_reaches_the_server_once(server, new_context, tmp_path):
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    assert page.evaluate(SMALL_TARGETS_JS) == []
    screenshot(page, "field-my-jobs-phone")
    page.locator(".fcard-main").first.click()
    page.wait_for_selector("#job")
    job = job_on_page(page, server)
    ctx.grant_permissions(["geolocation"], origin=server.url)
    ctx.set_geolocation({"latitude": job["lat"] + 0.0003, "longitude": job["lon"], "accuracy": 12})
    for box in page.locator("details.fdetails:not([hidden])").all():
        box.locator("summary").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(SMALL_TARGETS_JS) == []
    assert page.evaluate(UNLABELLED_JS) == []
    for box in page.locator("details.fdetails:not([hidden])").all():
        box.locator("summary").click()
    screenshot(page, "field-job-phone")

    ctx.set_offline(True)
    page.get_by_role("button", name="到场签到").click()
    page.wait_for_selector("#sync-notice .outcome.queued")
    assert "已保存在本机" in page.inner_text("#sync-notice")
    waiting(page, 1)
    write_note(page, "接收机电源接口松动，重新固定后恢复")
    waiting(page, 2)

    photo = page.locator("details.fdetails", has=page.locator("[data-mutation=photo]"))
    photo.locator("summary").click()
    (tmp_path / "camera.jpg").write_bytes(camera_jpeg())
    photo.locator("input[type=file]").set_input_files(str(tmp_path / "camera.jpg"))
    page.wait_for_function("document.querySelector('#f-photo [name=image]').value.length > 100")
    photo.get_by_role("button", name="保存照片").click()
    waiting(page, 3)

    swap = page.locator("details.fdetails", has=page.locator("[data-mutation=swap]"))
    swap.locator("summary").click()
    swap.locator("input[name=unit_out]").fill(job["unit_out"])
    swap.locator("input[name=unit_in]").fill(job["unit_in"])
    swap.get_by_role("button", name="记录换机").click()
    waiting(page, 4)
    assert sql(server, "SELECT count(*) FROM client_mutation") == [(0,)]  # nothing got out

    page.reload()  # still offline: the page opens from the phone and shows what waits
    page.wait_for_selector("#job")
    waiting(page, 4)
    assert "离线" in page.inner_text("#netstate") and "最后更新" in page.inner_text("#netstate")
    listed = page.inner_text("[data-sync-waiting]")
    for label in ("签到", "维修记录", "照片", "换机"):
        assert label in listed, label
    screenshot(page, "field-offline-waiting-phone")

    ctx.set_offline(False)  # the phone syncs by itself
    waiting(page, 0, timeout=30_000)
    ids = each_once(server, ["check_in", "fix_note", "photo", "swap"])
    assert len(ids) == 4
    page.wait_for_function("document.querySelector('#job').innerText.includes('"
                           + job["unit_in"] + "')")
    (status,), = sql(server, "SELECT status FROM unit WHERE asset_tag = ?", job["unit_in"])
    assert status == "rented"
    (width,), = sql(server, "SELECT length(content) FROM photo")
    assert width < 300_000  # shrunk on the phone, not the camera's original
    assert page.is_hidden("#netstate") or "离线" not in page.inner_text("#netstate")
    screenshot(page, "field-synced-phone")

    desk = new_context(LAPTOP).new_page()
    sign_in(desk, server.url, "dispatcher")
    desk.goto(f"{server.url}/board/requests/{job['request_id']}")
    timeline = desk.inner_text("#timeline")
    assert "接收机电源接口松动" in timeline
    assert f"{job['unit_out']} → 换上 {job['unit_in']}" in timeline  # both units (issue 13)
    assert "签到" in timeline
    screenshot(desk, "field-facts-dispatcher-laptop")


def test_the_server_killed_while_the_phone_syncs(server, new_context):
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    page.locator(".fcard-main").first.click()
    page.wait_for_selector("#job")
    job = job_on_page(page, server)
    ctx.grant_permissions(["geolocation"], origin=server.url)
    ctx.set_geolocation({"latitude": job["lat"], "longitude": job["lon"], "accuracy": 8})

    ctx.set_offline(True)
    page.get_by_role("button", name="到场签到").click()
    waiting(page, 1)
    notes = 24
    for i in range(notes):  # more than one push's worth (20)
        write_note(page, f"第 {i + 1} 条维修记录")
        waiting(page, i + 2)

    ctx.set_offline(False)  # syncing starts ...
    deadline = time.monotonic() + 30
    while sql(server, "SELECT count(*) FROM client_mutation") == [(0,)]:
        assert time.monotonic() < deadline, "the phone never synced"
        time.sleep(0.01)
    server.kill()  # ... and the server dies mid-way, without a chance to clean up
    applied_before = sql(server, "SELECT count(*) FROM client_mutation")[0][0]
    assert 1 <= applied_before <= notes + 1
    page.get_by_role("button", name="立即同步").click()  # fails: the server is down
    page.wait_for_timeout(500)
    server.start()  # same data folder, same port
    page.get_by_role("button", name="立即同步").click()
    waiting(page, 0, timeout=30_000)
    each_once(server, ["check_in"] + ["fix_note"] * notes)
    screenshot(page, "field-after-crash-phone")
