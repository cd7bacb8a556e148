"""S2 "none may be missed": the background loop pulls WeCom customer service's messages
with the stored cursor when no callback came, exactly once with the callback path."""

from __future__ import annotations

from dataclasses import replace

from server.jobs import loop
from server.jobs.wecom_kf import wecom_kf_safety_pull
from tests.api.china.test_wecom import notify, recorded
from tests.fakes.services import FakeWeixin, KfMessage

TICK = loop.tick_name(wecom_kf_safety_pull)


def _round(engine, settings, clock) -> dict:
    loop.discover()
    assert wecom_kf_safety_pull in loop.registered()
    results = loop.run_once(engine, settings, clock.now)
    assert results[TICK] is None, results[TICK]
    return results


def test_messages_whose_callback_never_came_are_pulled_by_the_loop_once(
        china, china_client, weixin, db, clock):
    engine = china_client.app.state.engine
    weixin.add_kf(KfMessage("m1", "wmCust1", "推流失败"), KfMessage("m2", "wmCust1", "还在吗"),
                  KfMessage("m3", "wmCust2", "导播台黑屏"))
    _round(engine, china, clock)  # no callback at all: the account comes from kf/account/list
    assert recorded(db) == [("m1", "text", "推流失败"), ("m2", "text", "还在吗"),
                            ("m3", "text", "导播台黑屏")]
    assert [c["cursor"] for c in weixin.sync_calls] == ["", "2"]
    assert "token" not in weixin.sync_calls[0]  # no callback token: the plain rate

    calls = len(weixin.sync_calls)
    clock.advance(seconds=30)
    _round(engine, china, clock)  # read 30 s ago: not pulled again yet
    assert len(weixin.sync_calls) == calls
    # each new contact got the auto-reply once (the outbox's tick, this round or the last)
    assert sorted(m["touser"] for m in weixin.kf_sent) == ["wmCust1", "wmCust2"]

    # a callback brings the next message; the loop's pull after it records nothing twice
    weixin.add_kf(KfMessage("m4", "wmCust1", "好了"))
    assert notify(china_client, nonce="n2").status_code == 200
    clock.advance(seconds=61)
    _round(engine, china, clock)
    assert weixin.sync_calls[-1]["cursor"] == "4" and len(weixin.sync_calls) == calls + 2
    assert [r[0] for r in recorded(db)] == ["m1", "m2", "m3", "m4"]
    assert len(weixin.kf_sent) == 2


def test_a_callback_whose_later_pages_failed_is_finished_by_the_loop(
        china, china_client, weixin, db, clock):
    engine = china_client.app.state.engine
    weixin.add_kf(*(KfMessage(f"m{i}", "wmCust1", f"第 {i} 条") for i in range(1, 6)))
    weixin.fail_next["/cgi-bin/kf/sync_msg"] = [0, 500]  # the first page, then an outage
    assert notify(china_client).status_code == 200  # answered after the first page
    assert [r[0] for r in recorded(db)] == ["m1", "m2"]  # the rest failed after answering

    clock.advance(seconds=61)  # no new callback comes
    _round(engine, china, clock)
    assert [r[0] for r in recorded(db)] == ["m1", "m2", "m3", "m4", "m5"]
    assert [c["cursor"] for c in weixin.sync_calls[-2:]] == ["2", "4"]


def test_the_safety_pull_is_off_without_customer_service_or_when_set_to_zero(
        china, china_client, weixin, db, clock):
    engine = china_client.app.state.engine
    weixin.add_kf(KfMessage("m1", "wmCust1", "a"))
    for off in (replace(china, wecom_kf_secret=""), replace(china, wecom_kf_pull_seconds=0)):
        _round(engine, off, clock)
    assert weixin.sync_calls == [] and recorded(db) == []
    assert FakeWeixin.OPEN_KFID  # the account the fake lists
