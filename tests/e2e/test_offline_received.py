"""A busy server answers "received" (issue 18), in a real Chromium at 390 x 844.

The server here never waits for a push's results (``FIELDOPS_SYNC_WAIT_SECONDS=0``), as
under a burst of phones: the phone shows its actions as received by the server, then
collects their results (a resend is answered from the server's log): the waiting list
empties, a refused action is shown once with its reason, and each fact is stored once.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PHONE, LiveServer, screenshot, sql
from tests.e2e.test_offline import each_once, job_on_page, phone_ready, waiting, write_note

pytestmark = pytest.mark.e2e


@pytest.fixture
def busy_server(tmp_path):
    live = LiveServer(tmp_path / "live", {"FIELDOPS_SYNC_WAIT_SECONDS": "0"}).start()
    yield live
    live.stop()


def test_the_phone_shows_received_then_the_results(busy_server, new_context):
    server = busy_server
    ctx = new_context(PHONE)
    page = ctx.new_page()
    phone_ready(page, server.url)
    page.locator(".fcard-main").first.click()
    page.wait_for_selector("#job")
    job = job_on_page(page, server)

    ctx.set_offline(True)
    write_note(page, "信号线接触不良，已重新插好")
    waiting(page, 1)
    swap = page.locator("details.fdetails", has=page.locator("[data-mutation=swap]"))
    swap.locator("summary").click()
    swap.locator("input[name=unit_out]").fill(job["unit_out"])
    swap.locator("input[name=unit_in]").fill("ENC-9999")  # a wrong tag: refused
    swap.get_by_role("button", name="记录换机").click()
    waiting(page, 2)

    # what the page shows on the way, however briefly (no polling race on a busy machine)
    page.evaluate("""window.__saw = {bar: false, fact: false};
      new MutationObserver(() => {
        if ([...document.querySelectorAll('[data-sync-waiting] li')]
            .some(li => li.textContent.includes('服务器已收到'))) __saw.bar = true;
        if ([...document.querySelectorAll('#job li.ffact.pending .tag')]
            .some(t => t.textContent === '服务器已收到')) __saw.fact = true;
      }).observe(document.body, {subtree: true, childList: true, characterData: true});""")
    ctx.set_offline(False)
    waiting(page, 0, timeout=30_000)  # the results came back: nothing left on the phone
    refused = page.locator("[data-sync-refused] li", has_text="ENC-9999")
    refused.wait_for()
    assert refused.count() == 1
    assert page.evaluate("window.__saw") == {"bar": True, "fact": True}  # "received" was shown
    screenshot(page, "field-received-then-results-phone")
    assert sql(server, "SELECT count(*) FROM sync_inbox") == [(0,)]
    rows = sql(server, "SELECT name, result FROM client_mutation ORDER BY seq")
    assert rows == [("fix_note", "applied"), ("swap", "rejected")]
    each_once(server, ["fix_note", "swap"])  # the refused swap is kept, flagged (D13)
