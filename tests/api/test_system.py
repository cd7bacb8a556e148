"""Health, OpenAPI, the PWA manifest and the service worker."""

from __future__ import annotations

import json

from tests.conftest import login


def test_healthz_reports_database_and_version(client):
    r = client.get("/healthz", headers={"accept": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["backend"] == "sqlite"
    assert body["version"]


def test_openapi_document_only_for_signed_in_staff_and_no_ui_from_a_cdn(client, people):
    for path in ("/schema", "/schema/openapi.json"):
        assert client.get(path, headers={"accept": "application/json"}).status_code == 401
    login(client, "onsite")
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    assert "/healthz" in r.json()["paths"]
    assert client.get("/schema").json()["openapi"].startswith("3.")
    for ui in ("swagger", "redoc", "elements", "rapidoc", "scalar", "openapi.yaml"):
        r = client.get(f"/schema/{ui}")
        assert r.status_code == 404, ui
        assert "cdn" not in r.text.lower() and "unpkg" not in r.text.lower()


def test_manifest_makes_an_installable_app(client):
    r = client.get("/manifest.webmanifest")
    assert r.headers["content-type"].startswith("application/manifest+json")
    m = json.loads(r.text)
    assert m["display"] == "standalone" and m["start_url"] == "/" and m["theme_color"]
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in m["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in m["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and got.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_service_worker_precaches_a_versioned_shell(client):
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert r.headers["cache-control"] == "no-cache"
    first_line = r.text.splitlines()[0]
    assert first_line.startswith("const SHELL_VERSION = ")
    urls = json.loads(r.text.splitlines()[1].split("=", 1)[1].rstrip(";"))
    assert "/offline" in urls
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_htmx_is_served_from_the_app_pinned_to_2_0(client, people):
    login(client, "agent")
    html = client.get("/").text
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert "https://" not in html.split("<body")[0]  # nothing from a CDN in the head
    js = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert js.status_code == 200 and "2.0.11" in js.text


def test_pages_vary_on_hx_request(client, people):
    login(client, "agent")
    assert "HX-Request" in client.get("/").headers.get("vary", "")


def test_offline_page_is_public(client):
    r = client.get("/offline")
    assert r.status_code == 200 and "没有网络连接" in r.text


def test_home_links_each_open_job_to_its_screen(client, db, people):
    from datetime import UTC, datetime

    from server.models import Job, SupportRequest

    req = SupportRequest(number="FO-20261126-9001", channel="hotline", customer_name="客户",
                         contact_name="联系人", phone="13800138000", device_type="encoder",
                         symptom="推流失败", received_at=datetime.now(UTC), status="assigned")
    db.add(req)
    db.flush()
    onsite = Job(request_id=req.id, kind="onsite", assignee_id=people["onsite"].id)
    db.add(onsite)
    db.commit()
    login(client, "onsite")
    assert f'href="/field/jobs/{onsite.id}"' in client.get("/").text
