"""One typed settings object, read once from FIELDOPS_* environment variables.

Nothing else in the code reads ``os.environ``. Secrets that are not given are made on
first start and kept in the data folder, so a restart keeps sessions and push keys.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from server.domain.calendar import OfficeHours
from server.domain.equipment import EquipmentRules
from server.domain.roster import RosterRules
from server.domain.sla import SlaTargets

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = ROOT / "var"
    database_url: str = ""  # default: sqlite:///<data_dir>/fieldops.db
    secret_key: str = ""  # default: generated into <data_dir>/secret_key
    time_zone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    demo_data: bool = True  # load the demo data on first start
    debug: bool = False
    secure_cookies: bool = False  # set behind HTTPS
    vapid_private_key: str = ""  # default: generated into <data_dir>/vapid_private.pem
    vapid_public_key: str = ""
    vapid_subject: str = "mailto:ops@fieldops.example"
    wecom_webhook_url: str = ""
    push_enabled: bool = True
    push_allow_insecure_endpoints: bool = False  # http:// to loopback: local tests only
    background_loop: bool = True
    # SQLite: commit a sync push with synchronous=FULL (README "Durability"); 0 only to
    # measure the cost (bench/sync.py)
    sqlite_durable_sync: bool = True
    loop_interval_seconds: float = 5.0
    # a sync push with nothing queued before it waits this long for its results before
    # answering "received" (server.sync.inbox); 0: always answer at receipt
    sync_wait_seconds: float = 10.0
    # apply the sync inbox in a process of its own (server.sync.applier_process); ``serve``
    # turns it on unless FIELDOPS_SYNC_APPLIER_PROCESS=0
    sync_applier_process: bool = False
    login_max_failures: int = 5  # failed sign-ins per address and username within the window
    login_max_failures_per_address: int = 30  # failed sign-ins per address, any usernames
    login_window_seconds: int = 900  # the sliding window of both limits
    session_idle_minutes: int = 720  # a session unused this long ends
    session_absolute_hours: int = 168  # a session ends this long after sign-in, used or not
    venue_radius_m: int = 300  # D15
    office_hours: str = "08:00-18:00"  # D17: working days' office hours, local time
    # Reaching people in mainland China (issue 17): each service's base URL is a setting
    # so tests point it at a local fake. Empty credentials switch a channel off.
    public_base_url: str = "http://127.0.0.1:8000"  # links in WeCom cards and customer messages
    wechat_app_id: str = ""  # official account (公众号) AppID
    wechat_app_secret: str = ""
    wechat_token: str = ""  # callback Token (signature check)
    wechat_encoding_aes_key: str = ""  # callback EncodingAESKey (43 chars, safe mode)
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_corp_id: str = ""  # 企业微信 CorpID
    wecom_agent_id: str = ""  # the FieldOps application's AgentId
    wecom_app_secret: str = ""  # the application's Secret (application messages)
    wecom_kf_secret: str = ""  # 微信客服 Secret (kf/sync_msg, kf/send_msg)
    wecom_callback_token: str = ""  # callback Token
    wecom_callback_aes_key: str = ""  # callback EncodingAESKey
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    # S2: the loop pulls each customer-service account not read for this long (a lost
    # callback leaves no message unrecorded); 0: only when a callback comes
    wecom_kf_pull_seconds: int = 60
    callcenter_secret: str = ""  # HMAC-SHA256 key of the call center's webhook
    callcenter_max_skew_seconds: int = 300  # webhook timestamps older than this are refused
    sms_enabled: bool = False  # SMS: the last channel for P1 assignments and escalations
    sms_access_key_id: str = ""  # Aliyun SMS (dysmsapi) AccessKey
    sms_access_key_secret: str = ""
    sms_sign_name: str = ""  # 短信签名
    sms_template_alert: str = ""  # template code: job alert, params ${title} ${number}
    sms_template_status: str = ""  # template code: status link, params ${number} ${url}
    sms_api_base: str = "https://dysmsapi.aliyuncs.com"
    inbox_agent_alert_minutes: int = 2  # an unhandled contact alerts every agent (D18)
    inbox_lead_alert_minutes: int = 10  # ... and the on-duty lead (S4's 10 minutes)
    status_link_hours_after_close: int = 24  # D19: the customer's link expires then
    rental_api_rate_per_minute: int = 300  # requests per integration token per minute
    feedback_link_days: int = 7  # S6: how long the customer's private feedback link works
    feedback_link_max_guesses: int = 10  # wrong links per address within the login window
    # Tests and demos only: the server's clock starts at this ISO instant (with its offset,
    # e.g. 2026-12-01T13:26:00+08:00) and runs on from there (server.clock). Empty: wall clock.
    clock_start: str = ""
    sla: SlaTargets = field(default_factory=SlaTargets)
    roster: RosterRules = field(default_factory=RosterRules)
    equipment: EquipmentRules = field(default_factory=EquipmentRules)  # low-stock thresholds

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'fieldops.db'}"

    @property
    def office(self) -> OfficeHours:
        return OfficeHours.parse(self.office_hours)

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in ("sla", "roster", "equipment"):
                continue
            raw = env.get(f"FIELDOPS_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.type, raw, f.name)
        values["sla"] = _nested(SlaTargets(), "FIELDOPS_SLA_", env)
        values["roster"] = _nested(RosterRules(), "FIELDOPS_ROSTER_", env)
        values["equipment"] = _nested(EquipmentRules(), "FIELDOPS_EQUIPMENT_", env)
        values.update(overrides)
        made = cls(**values)
        made.office  # noqa: B018 - a bad FIELDOPS_OFFICE_HOURS stops the start, with the reason
        return made

    def with_secrets(self) -> Settings:
        """Fill in generated secrets, kept in the data folder across restarts."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = self.secret_key or _kept(self.data_dir / "secret_key", lambda: secrets.token_hex(32))
        priv, pub = self.vapid_private_key, self.vapid_public_key
        if not priv:
            from server.push.vapid import load_or_create_keys

            priv, pub = load_or_create_keys(self.data_dir)
        return replace(self, secret_key=secret, vapid_private_key=priv, vapid_public_key=pub)


def _kept(path: Path, make) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def _parse(kind: Any, raw: str, name: str) -> Any:
    kind = str(kind)
    try:
        if kind in ("int", "<class 'int'>"):
            return int(raw)
        if kind in ("float", "<class 'float'>"):
            return float(raw)
        if kind in ("bool", "<class 'bool'>"):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes", "on")
        if kind in ("Path", "<class 'pathlib.Path'>"):
            return Path(raw)
    except ValueError as exc:
        raise ValueError(f"FIELDOPS_{name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw


def _nested(default: Any, prefix: str, env: dict[str, str]) -> Any:
    """Scalar fields of a rules object can be set as e.g. FIELDOPS_SLA_WARN_FRACTION=0.75."""
    changes = {}
    for f in fields(default):
        raw = env.get(prefix + f.name.upper())
        if raw is not None and isinstance(getattr(default, f.name), (int, float)):
            changes[f.name] = _parse(type(getattr(default, f.name)).__name__, raw, prefix[9:] + f.name)
    return replace(default, **changes) if changes else default
