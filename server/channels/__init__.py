"""One small module per outside service in mainland China (architecture.md, "Outside
services"): WeChat official account, WeCom (application messages and customer service),
the call center's webhook, SMS. Each speaks its protocol (signatures, encryption, tokens)
behind plain functions; each base URL is a setting so the tests point it at a local fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ChannelError(Exception):
    """The outside service refused or could not be reached; ``str()`` says why."""


class BadCallback(Exception):
    """A callback whose signature, encryption or shape is wrong: answer 4xx, record nothing."""


@dataclass(frozen=True)
class Incoming:
    """One customer message as the services send it, in plain terms."""

    channel: str  # wechat | wecom | hotline
    external_id: str  # the service's own message id: recorded once
    sender: str  # openid / external_userid / phone number
    kind: str  # text | image | voice | call | missed_call | other
    text: str
    received_at: datetime
    media_id: str = ""
    reply_to: str = ""  # WeCom customer service: the open_kfid to answer from
