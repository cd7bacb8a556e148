"""China channels speed: a customer's WeChat message -> the encrypted auto-reply, and a
WeCom customer-service backlog pulled with kf/sync_msg.

    .venv/bin/python bench/channels.py [--messages 200] [--backlog 1000]

A fresh SQLite database in a temporary folder, the app in-process (Litestar's test
client), the local fakes of tests/fakes/ on 127.0.0.1. Prints:

1. WeChat: a signed, encrypted callback -> the contact recorded -> the encrypted reply
   (WeChat waits 5 s before retrying): p50 / p95 / max in ms;
2. WeCom: one callback pulling a backlog of N messages (pages of 1000 as the platform
   allows; here pages of 100): seconds and messages per second, each recorded once.

Figures, not assertions (testing.md: benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from litestar.testing import TestClient  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from server.app import create_app  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.models import InboundMessage  # noqa: E402
from server.settings import Settings  # noqa: E402
from tests.fakes.services import FakeWeixin, KfMessage  # noqa: E402
from tests.fakes.weixin_crypto import AES_KEY, callback, open_reply  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=1000)
    args = parser.parse_args()
    weixin = FakeWeixin(page_size=100).start()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/fieldops.db"
        upgrade(db_url)
        settings = replace(Settings(data_dir=Path(tmp), database_url=db_url, demo_data=False,
                                    background_loop=False, push_enabled=False).with_secrets(),
                           wechat_app_id=FakeWeixin.APP_ID, wechat_token="t",
                           wechat_encoding_aes_key=AES_KEY, wecom_corp_id=FakeWeixin.CORP_ID,
                           wecom_kf_secret=FakeWeixin.KF_SECRET, wecom_callback_token="t",
                           wecom_callback_aes_key=AES_KEY, wecom_api_base=weixin.url)
        app = create_app(settings)
        with TestClient(app=app) as client:
            took = []
            for i in range(args.messages):
                inner = (f"<xml><ToUserName>gh</ToUserName><FromUserName>o{i % 40}</FromUserName>"
                         f"<CreateTime>1</CreateTime><MsgType>text</MsgType>"
                         f"<Content>推流失败 {i}</Content><MsgId>{10_000 + i}</MsgId></xml>")
                params, body = callback("t", AES_KEY, FakeWeixin.APP_ID, inner, nonce=f"n{i}")
                start = time.perf_counter()
                r = client.post("/channels/wechat", params=params, content=body)
                took.append((time.perf_counter() - start) * 1000)
                assert open_reply("t", AES_KEY, FakeWeixin.APP_ID, r.text)["Content"]
            took.sort()
            print(f"WeChat callback -> encrypted auto-reply, {args.messages} messages: "
                  f"p50 {statistics.median(took):.1f} ms, p95 {took[int(len(took) * .95) - 1]:.1f} ms, "
                  f"max {took[-1]:.1f} ms")

            weixin.add_kf(*(KfMessage(f"kf{i}", f"wm{i % 50}", f"消息 {i}")
                            for i in range(args.backlog)))
            params, body = callback("t", AES_KEY, FakeWeixin.CORP_ID,
                                    "<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event>"
                                    f"<Token>x</Token><OpenKfId>{FakeWeixin.OPEN_KFID}</OpenKfId></xml>")
            start = time.perf_counter()
            r = client.post("/channels/wecom", params=params, content=body)
            seconds = time.perf_counter() - start
            with Session(app.state.engine) as db:
                kf = db.exec(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.channel == "wecom")).one()
            print(f"WeCom kf/sync_msg backlog of {args.backlog}: {seconds:.2f} s "
                  f"({kf / seconds:.0f} messages/s), {kf} recorded, answer {r.status_code}")
    weixin.stop()


if __name__ == "__main__":
    main()
