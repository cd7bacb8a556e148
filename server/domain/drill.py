"""Emergency drill scripts (S14, D12): who calls when, about what, in a simulated event.

A script is a list of steps, each a simulated customer call ``at_minute`` minutes after
the drill starts. The drill runs in the real system: each step becomes a real request
(marked as drill) through the intake actions, with the real clocks, duty and phones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.text import N_

DRILL_MARK = "【演练】"  # prefixed to every simulated customer: visible on every screen


@dataclass(frozen=True)
class Step:
    at_minute: float
    customer: str
    device_type: str
    symptom_kind: str
    symptom: str
    stream_state: str = "none"  # live: a P1 (D4)
    region: str = "urban"
    classification: str = "remote"


@dataclass(frozen=True)
class Script:
    key: str
    title: str  # msgid
    summary: str  # msgid
    steps: tuple[Step, ...]


SCRIPTS: dict[str, Script] = {
    s.key: s
    for s in (
        Script(
            "big_event", N_("A big event fails: five customers call within ten minutes"),
            N_("Five calls in ten minutes during an evening concert stream; two streams are "
               "live (P1), one venue is suburban."),
            (
                Step(0, "演练客户A（音乐节主舞台）", "encoder", "push_failed",
                     "推流失败，直播中断，观众大量流失", "live", "urban", "onsite"),
                Step(2, "演练客户B（分会场）", "camera", "no_signal",
                     "两台摄像机同时无信号", "none", "urban", "remote"),
                Step(4, "演练客户C（郊区外场）", "mixer", "no_power",
                     "导播台无法开机，直播中断", "live", "suburban", "onsite"),
                Step(6, "演练客户D（后台采访间）", "audio", "settings",
                     "无线话筒有杂音", "none", "urban", "remote"),
                Step(9, "演练客户E（直播间）", "encoder", "operation",
                     "不知道如何切换备用推流地址", "none", "urban", "remote"),
            ),
        ),
        Script(
            "night_p1", N_("One live P1 at night"),
            N_("A single live stream fails at night: the whole chain for one P1."),
            (Step(0, "演练客户F（夜间直播）", "encoder", "push_failed",
                  "推流失败，直播中断", "live", "urban", "onsite"),),
        ),
    )
}


def due_steps(script: Script, started_at: datetime, now: datetime, done: int) -> list[Step]:
    """The steps due by ``now`` that have not been injected yet (``done`` were)."""
    due = [s for s in script.steps if started_at + timedelta(minutes=s.at_minute) <= now]
    return due[done:]


def step_form(step: Step, number: int, received_at: datetime) -> dict[str, str]:
    """The request form an agent would have typed for this call (S3)."""
    return {
        "channel": "hotline",
        "customer_name": f"{DRILL_MARK}{step.customer}",
        "contact_name": f"演练联系人{number}",
        "phone": f"1390000{number:04d}",
        "address": "演练地址（无需出发前往）",
        "device_type": step.device_type,
        "symptom": f"{DRILL_MARK}{step.symptom}",
        "symptom_kind": step.symptom_kind,
        "stream_state": step.stream_state,
        "region": step.region,
        "received_at": received_at.isoformat(),
    }
