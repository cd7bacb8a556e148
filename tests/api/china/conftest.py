"""Fixtures for the China channels' tests: the local fakes, settings pointing at them,
an app and a client on those settings. Import the fixtures into a test module."""

from __future__ import annotations

from dataclasses import replace

import pytest
from litestar.testing import TestClient

from server.channels import wechat, wecom
from tests.fakes.services import Callcenter, FakeAliyunSms, FakeWeixin
from tests.fakes.weixin_crypto import AES_KEY

WX_TOKEN, WECOM_TOKEN = "wx-callback-token", "wecom-callback-token"


@pytest.fixture
def weixin():
    fake = FakeWeixin().start()
    wecom.forget_tokens()
    wechat._tokens.clear()
    yield fake
    fake.stop()


@pytest.fixture
def sms_fake():
    fake = FakeAliyunSms().start()
    yield fake
    fake.stop()


@pytest.fixture
def callcenter() -> Callcenter:
    return Callcenter()


@pytest.fixture
def china(settings, weixin, sms_fake, callcenter):
    """Every channel set up, each base URL pointing at its local fake."""
    return replace(
        settings,
        public_base_url="https://fieldops.example.cn",
        wechat_app_id=FakeWeixin.APP_ID, wechat_app_secret=FakeWeixin.APP_SECRET_MP,
        wechat_token=WX_TOKEN, wechat_encoding_aes_key=AES_KEY, wechat_api_base=weixin.url,
        wecom_corp_id=FakeWeixin.CORP_ID, wecom_agent_id="1000002",
        wecom_app_secret=FakeWeixin.APP_SECRET, wecom_kf_secret=FakeWeixin.KF_SECRET,
        wecom_callback_token=WECOM_TOKEN, wecom_callback_aes_key=AES_KEY,
        wecom_api_base=weixin.url,
        callcenter_secret=callcenter.secret,
        sms_enabled=True, sms_access_key_id=FakeAliyunSms.KEY_ID,
        sms_access_key_secret=FakeAliyunSms.KEY_SECRET, sms_sign_name="FieldOps",
        sms_template_alert="SMS_0001", sms_template_status="SMS_0002", sms_api_base=sms_fake.url,
    )


@pytest.fixture
def china_app(china):
    from server.app import create_app

    return create_app(china)


@pytest.fixture
def china_client(china_app):
    with TestClient(app=china_app) as c:
        c.headers["accept"] = "text/html"
        yield c
