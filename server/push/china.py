"""Delivery channels that reach people in mainland China (issue 17), behind the same
``Notifier`` interface as Web Push: WeCom application messages to a person, SMS as the
last channel for P1, and answers to customers on the channel they wrote from.

Each turns a claimed outbox row into one call of its ``server.channels`` module and never
raises: a ``ChannelError`` becomes a failed ``Outcome`` the outbox retries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.channels import ChannelError, sms, wechat, wecom
from server.push import links
from server.push.channels import Outcome, Outgoing


def _absolute(settings: Any, path: str) -> str:
    return settings.public_base_url.rstrip("/") + path


class WeComAppChannel:
    """企业微信应用消息: a card that opens the job; for an offered job, an accept link."""

    channel = "wecom_app"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def send(self, item: Outgoing) -> Outcome:
        if not item.wecom_userid:
            return Outcome(False, "no WeCom user id on the profile", final="no_device")
        p = item.payload
        accept = ""
        if p.get("accept") and p.get("job_id") and item.staff_id:
            token = links.make(self.settings.secret_key, item.id, int(p["job_id"]), item.staff_id,
                               datetime.now(UTC))
            accept = _absolute(self.settings, f"/a/{token}")
        title = f"【{p['priority']}】{p.get('title', '')}" if p.get("priority") else p.get("title", "")
        try:
            wecom.send_card(self.settings, item.wecom_userid, title, p.get("body", ""),
                            _absolute(self.settings, p.get("url") or "/"), accept,
                            (p.get("labels") or {}).get("accept", "接受任务"))
        except ChannelError as exc:
            return Outcome(False, str(exc))
        return Outcome(True)


class SmsChannel:
    """Template SMS (Aliyun): the last channel, for P1 assignments and escalations (D8b)."""

    channel = "sms"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def send(self, item: Outgoing) -> Outcome:
        if not item.phone:
            return Outcome(False, "no phone number on the profile", final="no_device")
        p = item.payload
        try:
            sms.send_template(self.settings, item.phone, self.settings.sms_template_alert,
                              {"title": str(p.get("title", ""))[:35],
                               "number": str(p.get("request_id") or "")})
        except ChannelError as exc:
            return Outcome(False, str(exc))
        return Outcome(True)


class CustomerChannel:
    """A message to a customer (their request number and status link, D19) on the channel
    they reached us on (or the agent chose): WeChat customer-service message, WeCom
    customer service, or SMS (a call, or ``sms`` to the request's mobile)."""

    channel = "customer"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def send(self, item: Outgoing) -> Outcome:
        to = item.payload.get("to") or {}
        s = self.settings
        try:
            if to.get("channel") == "wechat" and s.wechat_app_id and s.wechat_app_secret:
                wechat.send_text(s, to["sender"], item.payload.get("body", ""))
            elif to.get("channel") == "wecom" and s.wecom_kf_secret and to.get("reply_to"):
                wecom.send_kf_text(s, to["reply_to"], to["sender"], item.payload.get("body", ""))
            elif to.get("channel") in ("hotline", "sms") and s.sms_enabled and s.sms_template_status:
                sms.send_template(s, to.get("sender", ""), s.sms_template_status,
                                  {"number": to.get("number", ""), "url": to.get("url", "")})
            else:
                return Outcome(False, "no channel set up to reach this customer", final="off")
        except ChannelError as exc:
            return Outcome(False, str(exc))
        except Exception as exc:  # noqa: BLE001 - requests errors from wechat.py
            return Outcome(False, f"{type(exc).__name__}: {str(exc)[:100]}")
        return Outcome(True)
