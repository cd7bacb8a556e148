"""Deterministic demo data: a busy night at a Shanghai live-stream equipment rental.

``load_demo`` fills an empty, migrated database with customers at real Shanghai venues,
the emergency reserve, rental orders, ~40 staff with their S8/S13 records, published
rosters for this month and the next, and support requests at every stage with their SLA
clocks, jobs, field facts, feedback and audit timeline. Everything comes from one seeded
``random.Random``, so the same ``now`` always gives the same rows. All text a user sees
is Simplified Chinese. It never loads twice (``AppMeta['demo_loaded']``).

The rosters are built by a deterministic rotation, not the CP-SAT solver (which is not
deterministic under a time limit), and checked with ``roster_violations``.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from server import demo_inbound
from server.actions.audit import record
from server.demo_equipment import add_equipment_desk
from server.demo_history import add_history
from server.domain.calendar import DayOverride, SpecialCalendar
from server.domain.geo import check_in_flag, distance_to_venue_m, to_wgs84, wgs84_to_gcj02
from server.domain.qualification import StaffProfile, eligibility_reasons
from server.domain.roster import Assignment, Rostered, roster_violations
from server.domain.shifts import ShiftSlot
from server.domain.sla import deadline, target_minutes
from server.models import (
    AppMeta,
    CalendarOverride,
    Contact,
    Customer,
    DayOffRequest,
    Depot,
    Feedback,
    FieldFact,
    Job,
    OrderLine,
    RentalOrder,
    Roster,
    RosterBackup,
    Shift,
    SlaClock,
    SlaEvent,
    Staff,
    StaffRole,
    SupportRequest,
    SwapRequest,
    TrainingRecord,
    Unit,
    UnitSwap,
    Venue,
)
from server.security import hash_password

SEED = 20261126
DEMO_PASSWORD = "fieldops-demo"
META_KEY = "demo_loaded"

# (role, username, password, Chinese role label)
DEMO_LOGINS: list[tuple[str, str, str, str]] = [
    ("agent", "agent", DEMO_PASSWORD, "客服专员"),
    ("dispatcher", "dispatcher", DEMO_PASSWORD, "值班调度"),
    ("remote", "remote", DEMO_PASSWORD, "远程工程师"),
    ("onsite", "onsite", DEMO_PASSWORD, "现场工程师"),
    ("equipment", "equipment", DEMO_PASSWORD, "设备管理员"),
    ("manager", "manager", DEMO_PASSWORD, "支持经理"),
    ("admin", "admin", DEMO_PASSWORD, "系统管理员"),
]

# -- static data ------------------------------------------------------------------------
# fmt: off

# (username, display name, role, group, region); the first of each role is its demo login.
STAFF: list[tuple[str, str, str, str | None, str | None]] = [
    ("agent", "林晓雯", "agent", None, None), ("zhou.ting", "周婷", "agent", None, None),
    ("chen.siyuan", "陈思远", "agent", None, None), ("huang.jiayi", "黄佳怡", "agent", None, None),
    ("dispatcher", "王建国", "dispatcher", None, None), ("liu.yang", "刘洋", "dispatcher", None, None),
    ("sun.lei", "孙磊", "dispatcher", None, None),
    ("remote", "张伟", "remote", "remote", None), ("li.na", "李娜", "remote", "remote", None),
    ("wang.lei", "王磊", "remote", "remote", None), ("zhao.min", "赵敏", "remote", "remote", None),
    ("qian.kun", "钱坤", "remote", "remote", None), ("wu.hao", "吴昊", "remote", "remote", None),
    ("zheng.kai", "郑凯", "remote", "remote", None), ("feng.xue", "冯雪", "remote", "remote", None),
    ("he.jun", "何俊", "remote", "remote", None), ("xu.chen", "许晨", "remote", "remote", None),
    ("han.bing", "韩冰", "remote", "remote", None), ("cao.yu", "曹宇", "remote", "remote", None),
    ("onsite", "张强", "onsite", "onsite", "urban"), ("yang.fan", "杨帆", "onsite", "onsite", "urban"),
    ("zhu.lei", "朱磊", "onsite", "onsite", "urban"), ("hu.bin", "胡斌", "onsite", "onsite", "urban"),
    ("gao.xiang", "高翔", "onsite", "onsite", "urban"), ("luo.hao", "罗浩", "onsite", "onsite", "urban"),
    ("ma.chao", "马超", "onsite", "onsite", "urban"),
    ("liang.zhigang", "梁志刚", "onsite", "onsite", "suburban"),
    ("song.tao", "宋涛", "onsite", "onsite", "suburban"),
    ("tang.liang", "唐亮", "onsite", "onsite", "suburban"),
    ("deng.peng", "邓鹏", "onsite", "onsite", "suburban"),
    ("xie.fei", "谢飞", "onsite", "onsite", "suburban"),
    ("shen.yang", "沈阳", "onsite", "onsite", "suburban"),
    ("jiang.chuan", "蒋川", "onsite", "onsite", "suburban"),
    ("equipment", "陆文斌", "equipment", None, None), ("peng.li", "彭丽", "equipment", None, None),
    ("manager", "徐海峰", "manager", None, None), ("admin", "严志明", "admin", None, None),
]

# Engineers who are not qualified yet, and why (S8, S13).
NOT_QUALIFIED = {
    "cao.yu": "onboarding",  # 14 h of 20 h, no exam yet
    "han.bing": "exam",  # practical exam failed
    "ma.chao": "age",  # 21 years old
    "jiang.chuan": "experience",  # 8 months of support experience
}

CUSTOMERS = [
    "星耀直播传媒（上海）有限公司", "云帆文化传播有限公司", "上海视界互动科技有限公司",
    "乐享直播文化传媒有限公司", "上海声动演艺有限公司", "极光影视制作有限公司",
    "上海潮音文化发展有限公司", "无界数字传媒有限公司", "上海麦田演出经纪有限公司",
    "蓝海会展服务有限公司", "上海映像空间文化传播有限公司", "锐拍直播科技有限公司",
    "上海弧光舞台技术有限公司", "青橙互娱文化传媒有限公司", "上海万象赛事运营有限公司",
    "浦江云播科技有限公司", "上海合鸣音乐文化有限公司", "新维度活动策划有限公司",
    "上海远帆体育文化有限公司", "光年影像传媒有限公司", "上海繁星演艺经纪有限公司",
    "鲸鱼直播电商有限公司", "上海一点到位会务服务有限公司", "红枫文化传媒有限公司",
    "上海跃动赛事传播有限公司", "金色大厅演出服务有限公司", "上海森林音乐节文化有限公司",
    "海湾假日活动策划有限公司", "临港新视听科技有限公司", "上海长三角会展服务有限公司",
]

# (name, address, WGS-84 lat, lon, region, check-in radius or None for the setting)
VENUES: list[tuple[str, str, float, float, str, int | None]] = [
    ("梅赛德斯-奔驰文化中心", "上海市浦东新区世博大道1200号", 31.1906, 121.4919, "urban", 400),
    ("上海体育场", "上海市徐汇区天钥桥路666号", 31.1830, 121.4376, "urban", 400),
    ("上海大剧院", "上海市黄浦区人民大道300号", 31.2304, 121.4737, "urban", None),
    ("上海展览中心", "上海市静安区延安中路1000号", 31.2264, 121.4526, "urban", None),
    ("上海国际会议中心", "上海市浦东新区滨江大道2727号", 31.2393, 121.4969, "urban", None),
    ("东方明珠广播电视塔", "上海市浦东新区世纪大道1号", 31.2397, 121.4998, "urban", None),
    ("上海东方体育中心", "上海市浦东新区泳耀路300号", 31.1547, 121.4770, "urban", 500),
    ("上海音乐厅", "上海市黄浦区延安东路523号", 31.2296, 121.4783, "urban", None),
    ("上海交响乐团音乐厅", "上海市徐汇区复兴中路1380号", 31.2107, 121.4428, "urban", None),
    ("上海国际时尚中心", "上海市杨浦区杨树浦路2866号", 31.2733, 121.5510, "urban", None),
    ("静安体育中心", "上海市静安区江宁路428号", 31.2369, 121.4497, "urban", None),
    ("西岸艺术中心", "上海市徐汇区龙腾大道2555号", 31.1663, 121.4582, "urban", None),
    ("上海新国际博览中心", "上海市浦东新区龙阳路2345号", 31.2043, 121.5588, "urban", 600),
    ("上海文化广场", "上海市黄浦区永嘉路36号", 31.2137, 121.4612, "urban", None),
    ("虹口足球场", "上海市虹口区东江湾路444号", 31.2727, 121.4783, "urban", 400),
    ("源深体育中心", "上海市浦东新区源深路655号", 31.2317, 121.5320, "urban", None),
    ("1933老场坊", "上海市虹口区沙泾路10号", 31.2558, 121.4907, "urban", None),
    ("上海国际舞蹈中心", "上海市长宁区虹桥路1650号", 31.1990, 121.4060, "urban", None),
    ("国家会展中心（上海）", "上海市青浦区崧泽大道333号", 31.1913, 121.3033, "suburban", 800),
    ("上海国际赛车场", "上海市嘉定区伊宁路2000号", 31.3389, 121.2197, "suburban", 1000),
    ("上海欢乐谷", "上海市松江区林湖路888号", 31.0960, 121.2140, "suburban", 600),
    ("上海迪士尼度假区", "上海市浦东新区川沙新镇黄赵路310号", 31.1440, 121.6570, "suburban", 1000),
    ("临港滴水湖", "上海市浦东新区南汇新城镇环湖西一路", 30.9001, 121.9312, "suburban", 800),
    ("朱家角古镇", "上海市青浦区朱家角镇美周路", 31.1088, 121.0560, "suburban", 500),
    ("奉贤碧海金沙", "上海市奉贤区海湾镇海湾路", 30.8460, 121.5300, "suburban", 600),
    ("东平国家森林公园", "上海市崇明区北沿公路2188号", 31.6780, 121.4720, "suburban", 800),
    ("上海辰山植物园", "上海市松江区辰花公路3888号", 31.0787, 121.1851, "suburban", 600),
    ("上海保利大剧院", "上海市嘉定区白银路159号", 31.3434, 121.2460, "suburban", None),
    ("金山城市沙滩", "上海市金山区新城路", 30.7120, 121.3560, "suburban", 500),
    ("广富林文化遗址", "上海市松江区广富林路3159号", 31.0680, 121.2130, "suburban", 500),
]
# Venues whose coordinates were copied from a Chinese map service (D15).
GCJ02_VENUES = {"上海音乐厅", "虹口足球场", "上海欢乐谷", "上海辰山植物园"}

DEPOTS = [
    ("徐汇应急备件库", "上海市徐汇区宜山路700号", "urban", 31.1750, 121.4250),
    ("松江应急备件库", "上海市松江区新桥镇新飞路1500号", "suburban", 31.0580, 121.3170),
]

# device type -> (asset tag prefix, number of units, models)
UNIT_TYPES: dict[str, tuple[str, int, list[str]]] = {
    "camera": ("CAM", 64, ["Sony PXW-Z190", "Panasonic AG-CX350", "Sony PXW-FX9", "Canon XF605",
                           "Blackmagic URSA Broadcast G2"]),
    "encoder": ("ENC", 48, ["LiveU Solo", "Kiloview P3", "Magewell Ultra Encode",
                            "Teradek Vidiu X", "Kiloview E3"]),
    "mixer": ("MIX", 36, ["Blackmagic ATEM Mini Pro", "Roland V-8HD",
                          "Blackmagic ATEM Television Studio HD8", "Roland V-160HD"]),
    "audio": ("AUD", 52, ["Shure ULXD4", "Sennheiser EW-DX EM 2", "Yamaha MG16XU",
                          "Rode Wireless PRO"]),
}
KIT = ["camera", "encoder", "mixer", "audio", "camera"]  # what an order of n units holds
RESERVE_PER_TYPE = 10

SCENARIOS = ["演唱会直播", "电商带货直播", "新品发布会直播", "体育赛事直播", "音乐节直播",
             "企业年会直播", "展会现场直播", "综艺晚会直播"]

SYMPTOMS: dict[tuple[str, str], list[str]] = {
    ("camera", "onsite"): ["摄像机无法开机", "摄像机 SDI 输出无信号", "镜头卡口松动，画面抖动",
                           "电池仓接触不良，频繁断电"],
    ("camera", "remote"): ["摄像机画面偏色，白平衡异常", "摄像机录制格式设置错误",
                           "摄像机菜单被误改，无法输出 1080p50"],
    ("encoder", "remote"): ["推流失败，直播中断", "推流码率不稳定，画面卡顿",
                            "编码器无法连接推流地址", "直播平台提示推流鉴权失败"],
    ("encoder", "onsite"): ["编码器无法开机", "编码器 4G 聚合模块无信号", "编码器 HDMI 输入口损坏"],
    ("mixer", "remote"): ["导播台画面卡顿", "导播台切换无响应", "导播软件无法识别导播台"],
    ("mixer", "onsite"): ["SDI 信号中断", "导播台电源故障，无法开机", "导播台多路输入画面黑屏"],
    ("audio", "remote"): ["无线话筒有杂音，疑似频点干扰", "调音台无声音输出", "直播声音与画面不同步"],
    ("audio", "onsite"): ["无线接收机无法开机", "音频线缆接触不良，声音断续", "调音台推子损坏"],
}
FIX_NOTES = {
    "remote": ["指导客户重新设置推流地址和密钥后恢复", "远程协助将码率调整为 6 Mbps，画面恢复流畅",
               "指导客户恢复出厂设置并重新配置输出格式", "指导客户更换频点后杂音消失",
               "协助客户重启设备并更新固件，故障排除"],
    "onsite": ["更换 SDI 线缆后信号恢复", "重新插拔电源适配器，设备正常开机",
               "清洁接口并紧固卡口，画面恢复稳定", "更换音频线缆后声音正常",
               "更换 4G 物联网卡后推流恢复"],
}
SWAP_REASON = "设备硬件故障，现场无法修复，更换备用机"
COMMENTS = {
    5: ["工程师响应很快，问题当场解决", "远程指导很清楚，几分钟就恢复了", "处理及时，直播基本没受影响"],
    4: ["问题解决了，就是等待接通稍久", "到场及时，希望备用设备再多一些"],
    3: ["到场比预期慢，但最终解决了", "沟通还可以，直播中断了十几分钟"],
}
NO_FEEDBACK_REASON = "客户连续三次未接听回访电话"
CANCEL_REASON = "客户来电告知已自行解决，取消需求"
TRAINING_TOPICS = ["4K 摄像机常见故障排查", "推流编码器参数与网络切换", "导播台信号链路与 SDI 排障",
                   "无线音频频点规划", "应急换机流程与资产登记"]
DRILL_NOTE = "季度应急演练：大型晚会直播中断，多家客户同时来电；书面复盘已提交"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
GIVEN_NAMES = ["晓明", "丽华", "志强", "静", "婷婷", "俊杰", "雪梅", "浩然", "佳琪", "建华",
               "思雨", "宇航", "欣怡", "子豪", "文静", "国栋", "海燕", "晨曦", "立新", "梦瑶"]
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "158", "159", "166", "177", "180", "181", "186", "187", "188", "189",
                   "199"]

# fmt: on
STAGE_ORDER = ["handoff", "assign", "accept", "en_route", "arrive", "resolved", "feedback"]


# -- in-memory shapes -----------------------------------------------------------------


@dataclass
class _Order:
    row: RentalOrder
    customer: Customer
    contact: Contact
    venue: Venue
    kind: str  # past | ongoing | upcoming
    lines: list[tuple[OrderLine, Unit]] = field(default_factory=list)

    def active(self, at: datetime) -> bool:
        return self.row.starts_at <= at <= self.row.ends_at

    def units_at(self, at: datetime) -> list[tuple[OrderLine, Unit]]:
        return [
            (line, unit)
            for line, unit in self.lines
            if line.added_at <= at and (line.removed_at is None or line.removed_at > at)
        ]


@dataclass
class _Plan:
    """What one support request should look like; the loader fills in the rest."""

    stage: str  # new | handed_off | assigned | in_progress | resolved | closed | cancelled
    classification: str  # remote | onsite
    priority: str  # P1 | P2 | P3
    region: str | None = None  # onsite open requests pick a venue in this region
    job_state: str = ""  # in_progress: accepted | en_route | on_site
    assignee: str | None = None  # a demo login that gets this job
    received_at: datetime | None = None
    late_handoff: bool = False
    late_arrival: bool = False
    flagged: bool = False
    flag_resolved: bool = False
    late_sync: bool = False
    swap: bool = False
    no_feedback: bool = False


@dataclass
class _Req:
    plan: _Plan
    received: datetime
    t: dict[str, datetime]  # the events that have happened, as instants
    order: _Order
    unit: Unit
    region: str
    symptom: str
    channel: str
    stream_state: str
    stream_starts_at: datetime | None
    agent: int
    dispatcher: int
    jobs: list[dict[str, Any]] = field(default_factory=list)
    swap: dict[str, Any] | None = None
    row: SupportRequest | None = None
    check_in: FieldFact | None = None
    score: int | None = None


# -- the loader -------------------------------------------------------------------------


def load_demo(db: Session, now: datetime, settings) -> dict:
    """Fill an empty, migrated database with the demo; ``{"skipped": True}`` if already there."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if db.get(AppMeta, META_KEY) is not None:
        return {"skipped": True}
    if db.exec(select(func.count()).select_from(Staff)).one():
        return {"skipped": True, "reason": "database not empty"}
    return _Loader(db, now, settings).run()


class _Loader:
    def __init__(self, db: Session, now: datetime, settings) -> None:
        self.db = db
        self.now = now.astimezone(UTC)
        self.settings = settings
        self.sla = settings.sla
        self.rules = settings.roster
        self.rng = random.Random(SEED)
        self.tz = ZoneInfo(settings.time_zone)
        self.today = self.now.astimezone(self.tz).date()
        overrides = [
            DayOverride(o.day, o.kind, o.name) for o in db.exec(select(CalendarOverride)).all()
        ]
        self.cal = SpecialCalendar(overrides, tz_name=settings.time_zone)
        self.staff: dict[str, Staff] = {}
        self.eligible: set[int] = set()
        self.pools: dict[tuple[str, str | None], list[int]] = {}
        self.duty: list[tuple[int, str, str | None, datetime, datetime]] = []
        self.orders: list[_Order] = []
        self.reserve: dict[str, list[Unit]] = defaultdict(list)
        self.counts: dict[str, int] = {}
        self.audit_count = 0
        self.swapped: list[_Order] = []  # one swap per order keeps the story simple

    def run(self) -> dict:
        self._staff()
        self._training()
        self._customers_and_venues()
        self._equipment()
        self._rosters()
        self._requests()
        self.counts["inbound_contacts"] = demo_inbound.load(self.db, self.now)  # issue 17
        self.counts.update(add_history(self.db, self.now, self.settings))  # KPIs (issue 16)
        self.counts |= add_equipment_desk(self.db, self.now)  # issue 15: spares, repairs
        for status in ("rented", "reserve", "in_repair", "in_transit"):
            self.counts[f"units_{status}"] = sum(1 for u in self.units if u.status == status)
        self.db.add(AppMeta(key=META_KEY, value=self.now.isoformat()))
        self.db.flush()
        return self.counts

    # -- small helpers ----------------------------------------------------------------

    def _minutes(self, a: float, b: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(a, b))

    def _mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _local(self, d: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(d, time(hour, minute), tzinfo=self.tz).astimezone(UTC)

    def _id(self, username: str) -> int:
        return self.staff[username].id

    def _add(self, rows: list) -> list:
        self.db.add_all(rows)
        self.db.flush()
        return rows

    # -- staff, qualifications and training (S8, S13, S14) ------------------------------

    def _staff(self) -> None:
        password_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow: hash once
        rng = self.rng
        rows = []
        for username, name, _role, group, region in STAFF:
            newcomer = username in NOT_QUALIFIED
            days = rng.uniform(20, 50) if newcomer else rng.uniform(200, 1500)
            staff = Staff(
                username=username,
                password_hash=password_hash,
                display_name=name,
                phone=self._mobile(),
                email=f"{username}@fieldops.example",
                group=group,
                region=region,
                created_at=self.now - timedelta(days=days),
            )
            if group is not None:
                staff.birth_date = date(
                    rng.randint(1984, 2000), rng.randint(1, 12), rng.randint(1, 28)
                )
                staff.degree = rng.choice(["associate", "bachelor", "bachelor", "master"])
                staff.support_experience_months = rng.randint(14, 96)
                if NOT_QUALIFIED.get(username) == "age":
                    t = self.today
                    staff.birth_date = date(t.year - 21, t.month, min(t.day, 28)) - timedelta(
                        days=100
                    )
                elif NOT_QUALIFIED.get(username) == "experience":
                    staff.support_experience_months = 8
            rows.append(staff)
            self.staff[username] = staff
        self._add(rows)
        self._add(
            [
                StaffRole(staff_id=s.id, role=r)
                for (u, _n, r, _g, _rg), s in zip(STAFF, rows, strict=True)
            ]
        )
        self.counts["staff"] = len(rows)

    def _training(self) -> None:
        rng = self.rng
        rows: list[TrainingRecord] = []
        profiles: dict[int, StaffProfile] = {}
        for username, _name, _role, group, _region in STAFF:
            if group is None:
                continue
            staff = self.staff[username]
            why = NOT_QUALIFIED.get(username)
            start = staff.created_at.astimezone(self.tz).date() + timedelta(days=2)
            total = 14.0 if why == "onboarding" else float(rng.choice([20, 21, 22, 24]))
            first = 8.0 if why == "onboarding" else 12.0
            exam_passed = why not in ("exam", "onboarding")  # a short onboarding: no exam yet
            records = [
                ("onboarding", start, first, None, "入职培训：设备原理与故障分类"),
                ("onboarding", start + timedelta(days=3), total - first, None,
                 "入职培训：特殊时段支持流程与系统操作"),
            ]  # fmt: skip
            if why != "onboarding":
                result = "，通过" if exam_passed else "，未通过，需补考"
                records.append(("exam", start + timedelta(days=7), 0, exam_passed,
                                "实操考核：模拟推流失败与信号中断处置" + result))  # fmt: skip
            for back in range(3, -1, -1):  # the monthly sessions of the last months (S14)
                y, m = self.today.year, self.today.month - back
                if m < 1:
                    y, m = y - 1, m + 12
                topic = TRAINING_TOPICS[(y * 12 + m) % len(TRAINING_TOPICS)]
                records.append(("monthly", date(y, m, 15), 2, None, "月度培训：" + topic))
            records.append(("drill", self._last_drill_day(), 3, None, DRILL_NOTE))  # S14
            rows += [
                TrainingRecord(staff_id=staff.id, kind=kind, held_on=held, hours=hours,
                               passed=passed, notes=notes)
                for kind, held, hours, passed, notes in records
                if start <= held <= self.today
            ]  # fmt: skip
            profiles[staff.id] = StaffProfile(
                id=staff.id,
                birth_date=staff.birth_date,
                degree=staff.degree,
                support_experience_months=staff.support_experience_months,
                onboarding_hours=total,
                exam_passed=exam_passed,
            )
        self._add(rows)
        self.counts["training_records"] = len(rows)
        self.eligible = {
            sid for sid, p in profiles.items() if not eligibility_reasons(p, self.today, self.rules)
        }
        for username, _name, _role, group, region in STAFF:
            sid = self.staff[username].id
            if group is not None and sid in self.eligible:
                self.pools.setdefault((group, region), []).append(sid)
        self.counts["qualified_engineers"] = len(self.eligible)

    def _last_drill_day(self) -> date:
        """The quarterly drill is held on the 20th of each quarter's middle month."""
        y, m = self.today.year, self.today.month
        while True:
            if m % 3 == 2 and date(y, m, 20) <= self.today:
                return date(y, m, 20)
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)

    # -- customers, contacts, venues ----------------------------------------------------

    def _customers_and_venues(self) -> None:
        rng = self.rng
        customers = self._add(
            [
                Customer(
                    name=name, phone=f"021-{rng.randint(5000, 6999)}{rng.randrange(10**4):04d}"
                )
                for name in CUSTOMERS
            ]
        )
        contacts: list[Contact] = []
        for c in customers:
            for _ in range(rng.choice([1, 1, 2])):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
                contacts.append(Contact(customer_id=c.id, name=name, phone=self._mobile()))
        self._add(contacts)
        venues = []
        for c, (name, address, lat, lon, region, radius) in zip(customers, VENUES, strict=True):
            datum = "GCJ-02" if name in GCJ02_VENUES else "WGS-84"
            if datum == "GCJ-02":
                lat, lon = wgs84_to_gcj02(lat, lon)
            venues.append(
                Venue(
                    customer_id=c.id,
                    name=name,
                    address=address,
                    lat=round(lat, 6),
                    lon=round(lon, 6),
                    datum=datum,
                    region=region,
                    radius_m=radius,
                )
            )
        self._add(venues)
        by_customer: dict[int, list[Contact]] = defaultdict(list)
        for contact in contacts:
            by_customer[contact.customer_id].append(contact)
        self.customers = [(c, by_customer[c.id], v) for c, v in zip(customers, venues, strict=True)]
        self.counts.update(customers=len(customers), contacts=len(contacts), venues=len(venues))

    # -- equipment: depots, units, rental orders (D13) ----------------------------------

    def _equipment(self) -> None:
        rng = self.rng
        depots = self._add(
            [Depot(name=n, address=a, region=r, lat=lat, lon=lon) for n, a, r, lat, lon in DEPOTS]
        )
        by_type: dict[str, list[Unit]] = {}
        units: list[Unit] = []
        for device_type, (prefix, count, models) in UNIT_TYPES.items():
            batch = [
                Unit(
                    asset_tag=f"{prefix}-{i:04d}",
                    device_type=device_type,
                    model=models[(i * 7 + rng.randrange(2)) % len(models)],
                    status="rented",
                )
                for i in range(1, count + 1)
            ]
            units.extend(batch)
            shuffled = batch[:]
            rng.shuffle(shuffled)
            by_type[device_type] = shuffled
        self._add(units)

        for device_type, pool in by_type.items():  # the emergency reserve, split between depots
            for i in range(RESERVE_PER_TYPE):
                unit = pool.pop()
                unit.status, unit.depot_id = "reserve", depots[i % 2].id
                self.reserve[device_type].append(unit)
        for device_type, status in (
            ("camera", "in_repair"),
            ("audio", "in_repair"),
            ("camera", "in_transit"),
            ("encoder", "in_transit"),
            ("mixer", "in_transit"),
        ):
            by_type[device_type].pop().status = status

        specs = self._order_specs()
        orders: list[_Order] = []
        seq: dict[str, int] = defaultdict(int)
        for kind, starts, ends, (customer, contacts, venue) in specs:
            month = starts.astimezone(self.tz).strftime("%Y-%m")
            seq[month] += 1
            contact = rng.choice(contacts)
            row = RentalOrder(
                order_no=f"RO-{month}-{seq[month]:04d}",
                customer_id=customer.id,
                contact_id=contact.id,
                venue_id=venue.id,
                scenario=rng.choice(SCENARIOS),
                starts_at=starts,
                ends_at=ends,
            )
            orders.append(_Order(row, customer, contact, venue, kind))
        self._add([o.row for o in orders])

        current = [o for o in orders if o.kind != "past"]
        rentable = sum(len(p) for p in by_type.values())
        sizes = [1] * len(current)
        for _ in range(rentable - len(current)):
            i = rng.choice([k for k, s in enumerate(sizes) if s < 5])
            sizes[i] += 1
        lines: list[OrderLine] = []
        for order, size in zip(current, sizes, strict=True):
            shipped = order.row.starts_at - self._minutes(120, 720)
            if order.kind == "upcoming":
                shipped = min(shipped, self.now - self._minutes(60, 1800))
            for k in range(size):
                want = KIT[k]
                if not by_type[want]:
                    want = max(by_type, key=lambda t: len(by_type[t]))
                unit = by_type[want].pop()
                line = OrderLine(order_id=order.row.id, unit_id=unit.id, added_at=shipped)
                order.lines.append((line, unit))
                lines.append(line)
        # Finished orders: their units came back to the reserve (closed lines only).
        spare = {t: pool[:] for t, pool in self.reserve.items()}
        for order in (o for o in orders if o.kind == "past"):
            for k in range(rng.randint(2, 4)):
                unit = spare[KIT[k]].pop()
                line = OrderLine(
                    order_id=order.row.id,
                    unit_id=unit.id,
                    added_at=order.row.starts_at - timedelta(hours=6),
                    removed_at=order.row.ends_at + timedelta(hours=6),
                )
                order.lines.append((line, unit))
                lines.append(line)
        self.swap_spares = spare  # reserve units never on an order: safe to swap in
        self._add(lines)
        self.orders = orders
        self.units = units
        self.counts.update(depots=len(depots), units=len(units), orders=len(orders))

    def _order_specs(self) -> list[tuple[str, datetime, datetime, tuple]]:
        rng, now = self.rng, self.now
        specs = []
        for i in range(40):  # ongoing: the first 30 visit every customer once
            who = self.customers[i] if i < 30 else rng.choice(self.customers)
            starts = now - timedelta(hours=rng.uniform(2, 33 * 24))
            specs.append(("ongoing", starts, now + timedelta(hours=rng.uniform(3, 240)), who))
        for _ in range(12):
            starts = now + timedelta(hours=rng.uniform(4, 144))
            specs.append(
                (
                    "upcoming",
                    starts,
                    starts + timedelta(hours=rng.uniform(24, 96)),
                    rng.choice(self.customers),
                )
            )
        for _ in range(8):
            starts = now - timedelta(hours=rng.uniform(12 * 24, 34 * 24))
            ends = min(starts + timedelta(hours=rng.uniform(24, 96)), now - timedelta(days=2))
            specs.append(("past", starts, ends, rng.choice(self.customers)))
        specs.sort(key=lambda s: s[1])
        return specs

    # -- rosters (S9-S12, D10) ------------------------------------------------------------

    def _rosters(self) -> None:
        rng = self.rng
        y, m = self.today.year, self.today.month
        months = [(y, m), (y + m // 12, m % 12 + 1)]
        by_month = {ym: self.cal.month_slots(*ym) for ym in months}
        slots = sorted(s for ym in months for s in by_month[ym])
        demo = [self._id("remote"), self._id("onsite")]

        # Days off some engineers asked for; the rotation respects them.
        engineers = sorted(sid for sid in self.eligible if sid not in demo)
        days = sorted({s.day for s in slots})
        day_off: set[tuple[int, date]] = set()
        while len(day_off) < 8:
            day_off.add((rng.choice(engineers), rng.choice(days)))
        self._add([DayOffRequest(staff_id=sid, day=d) for sid, d in sorted(day_off)])

        forced: dict[tuple[date, str], list[int]] = {}
        now_slot = self.cal.slot_at(self.now)
        if now_slot is not None and (now_slot.day.year, now_slot.day.month) in months:
            forced[now_slot.key] = demo
        assigned = self._rotate(slots, forced, day_off)

        manager = self._id("manager")
        published = [
            self._local(date(y, m, 1) - timedelta(days=10), 10),  # the 22nd-ish of last month
            min(self._local(date(y, m, 22), 10), self.now - timedelta(hours=1)),
        ]
        people = {s.id: Rostered(s.id, s.group, s.region) for s in self.staff.values() if s.group}
        shifts, backups_rows, rosters = [], [], []
        for k, ym in enumerate(months):
            roster = Roster(
                month=f"{ym[0]:04d}-{ym[1]:02d}",
                status="published",
                published_at=published[k],
                published_by=manager,
            )
            rosters.append(roster)
        self._add(rosters)
        for k, (ym, roster) in enumerate(zip(months, rosters, strict=True)):
            month_slots = by_month[ym]
            assignments = [Assignment(sid, s.key) for s in month_slots for sid in assigned[s.key]]
            backups = self._backups(k, demo)
            errors = [
                v
                for v in roster_violations(
                    month_slots, assignments, people, self.eligible, backups, self.rules
                )
                if v.severity == "error"
            ]
            if errors:
                raise RuntimeError(
                    "demo roster breaks the rules: "
                    + "; ".join(v.message.render() for v in errors[:5])
                )
            first = month_slots[0].starts_at
            if first - roster.published_at < timedelta(days=self.rules.publish_min_days):
                raise RuntimeError("demo roster published too late")
            for s in month_slots:
                for sid in assigned[s.key]:
                    person = people[sid]
                    shifts.append(
                        Shift(
                            roster_id=roster.id,
                            staff_id=sid,
                            day=s.day,
                            kind=s.kind,
                            starts_at=s.starts_at.astimezone(UTC),
                            ends_at=s.ends_at.astimezone(UTC),
                            group=person.group,
                            region=person.region,
                        )
                    )
                    self.duty.append(
                        (
                            sid,
                            person.group,
                            person.region,
                            s.starts_at.astimezone(UTC),
                            s.ends_at.astimezone(UTC),
                        )
                    )
            backups_rows += [
                RosterBackup(roster_id=roster.id, staff_id=sid) for sid in sorted(backups)
            ]
        self._add(shifts)
        self._add(backups_rows)
        self._swap_request(shifts, people)
        self.counts.update(rosters=len(rosters), shifts=len(shifts), days_off=len(day_off))

    def _rotate(self, slots: list[ShiftSlot], forced, day_off) -> dict[tuple[date, str], list[int]]:
        """Fill every slot in order, least-loaded first, never on touching shifts and never
        more than the allowed nights in a row; relax only if a slot cannot be filled."""
        worked: dict[int, list[ShiftSlot]] = defaultdict(list)
        nights: dict[int, set[date]] = defaultdict(set)
        load: dict[int, int] = defaultdict(int)
        out: dict[tuple[date, str], list[int]] = defaultdict(list)
        by_key = {s.key: s for s in slots}

        def place(sid: int, slot: ShiftSlot) -> None:
            worked[sid].append(slot)
            load[sid] += 1
            if slot.kind == "night":
                nights[sid].add(slot.day)
            out[slot.key].append(sid)

        def free(sid: int, slot: ShiftSlot, strict: bool) -> bool:
            if (sid, slot.day) in day_off:
                return False
            for s in worked[sid]:
                if s.starts_at < slot.ends_at and slot.starts_at < s.ends_at:
                    return False
                if strict and (s.starts_at == slot.ends_at or s.ends_at == slot.starts_at):
                    return False
            if strict and slot.kind == "night":
                run, d = 1, slot.day - timedelta(days=1)
                while d in nights[sid]:
                    run, d = run + 1, d - timedelta(days=1)
                d = slot.day + timedelta(days=1)
                while d in nights[sid]:
                    run, d = run + 1, d + timedelta(days=1)
                if run > self.rules.max_consecutive_nights_warning:
                    return False
            return True

        for key, sids in forced.items():
            for sid in sids:
                place(sid, by_key[key])
        needs = [(("remote", None), self.rules.remote_min_per_shift)] + [
            (("onsite", region), self.rules.onsite_min_per_region_per_shift)
            for region in self.rules.regions
        ]
        for idx, slot in enumerate(slots):
            for pool_key, need in needs:
                pool = self.pools.get(pool_key, [])
                have = sum(1 for sid in out[slot.key] if sid in pool)
                for strict in (True, False):
                    if have >= need:
                        break
                    candidates = [
                        p for p in pool if p not in out[slot.key] and free(p, slot, strict)
                    ]
                    candidates.sort(
                        key=lambda p, pool=pool: (load[p], (pool.index(p) - idx) % len(pool))
                    )
                    for sid in candidates[: need - have]:
                        place(sid, slot)
                        have += 1
                if have < need:
                    raise RuntimeError(f"demo roster cannot cover {slot.day} {slot.kind}")
        return out

    def _backups(self, k: int, demo: list[int]) -> set[int]:
        """S12: 3-5 backups a month, qualified, taken in turn from each group."""
        want = max(self.rules.backups_min, min(4, self.rules.backups_max))
        picks: list[int] = []
        pools = [p for key, p in sorted(self.pools.items(), key=lambda kv: str(kv[0]))]
        i = 0
        while len(picks) < want and i < 100:
            pool = [sid for sid in pools[i % len(pools)] if sid not in demo and sid not in picks]
            if pool:
                picks.append(pool[(k * 2 + i) % len(pool)])
            i += 1
        return set(picks)

    def _swap_request(self, shifts: list[Shift], people) -> None:
        """One pending shift swap (S11), asked for well ahead, waiting for the manager."""
        demo = {self._id("remote"), self._id("onsite")}
        by_person: dict[int, list[Shift]] = defaultdict(list)
        for s in shifts:
            by_person[s.staff_id].append(s)
        for shift in shifts:
            if (
                shift.group != "onsite"
                or shift.staff_id in demo
                or shift.starts_at < self.now + timedelta(days=self.rules.swap_min_days + 2)
            ):
                continue
            for other in self.pools.get(("onsite", shift.region), []):
                if other in demo or other == shift.staff_id:
                    continue
                if all(
                    s.ends_at < shift.starts_at - timedelta(hours=24)
                    or s.starts_at > shift.ends_at + timedelta(hours=24)
                    for s in by_person[other]
                ):
                    self._add(
                        [
                            SwapRequest(
                                shift_id=shift.id,
                                from_staff_id=shift.staff_id,
                                to_staff_id=other,
                                status="pending",
                                requested_at=self.now - timedelta(hours=3),
                                reason="家中老人住院需要陪护，申请与同事换班",
                            )
                        ]
                    )
                    self.counts["swap_requests"] = 1
                    return

    def _on_duty(self, group: str, region: str | None, at: datetime) -> list[int]:
        return sorted(
            {
                sid
                for sid, g, r, start, end in self.duty
                if g == group and (region is None or r == region) and start <= at < end
            }
        )

    def _pick(self, group: str, region: str | None, at: datetime, exclude: set[int]) -> int:
        """D11: someone of the right group and region on duty then; else anyone qualified."""
        on_duty = [sid for sid in self._on_duty(group, region, at) if sid not in exclude]
        if not on_duty:
            on_duty = [sid for sid in self.pools.get((group, region), []) if sid not in exclude]
        return self.rng.choice(on_duty)

    # -- support requests -------------------------------------------------------------

    def _open_plans(self) -> list[_Plan]:
        P = _Plan
        return [
            P("new", "remote", "P1"),
            P("new", "onsite", "P2", "urban"),
            P("new", "remote", "P3"),
            P("new", "onsite", "P3", "suburban"),
            P("handed_off", "onsite", "P1", "suburban"),
            P("handed_off", "remote", "P2"),
            P("handed_off", "remote", "P3"),
            P("handed_off", "onsite", "P2", "urban"),
            P("handed_off", "remote", "P3"),
            P("handed_off", "onsite", "P3", "urban"),
            P("handed_off", "remote", "P2"),
            P("assigned", "remote", "P1", assignee="remote"),
            P("assigned", "remote", "P3"),
            P("assigned", "onsite", "P2", "urban", assignee="onsite"),
            P("assigned", "onsite", "P3", "suburban"),
            P("in_progress", "remote", "P2", job_state="accepted", assignee="remote"),
            P("in_progress", "remote", "P3", job_state="accepted"),
            P("in_progress", "onsite", "P1", "urban", job_state="en_route", assignee="onsite"),
            P("in_progress", "onsite", "P1", "suburban", job_state="on_site", flagged=True),
            P("resolved", "remote", "P2"),
            P("resolved", "onsite", "P1", "urban"),
            P("resolved", "remote", "P3"),
            P("resolved", "onsite", "P3", "suburban"),
            P("resolved", "remote", "P1"),
            P("resolved", "onsite", "P2", "urban"),
        ]

    def _closed_plans(self) -> list[_Plan]:
        rng = self.rng
        times = []
        while len(times) < 30:
            t = self.now - timedelta(hours=rng.uniform(36, 30 * 24))
            if self.cal.is_special(t) and any(o.active(t) for o in self.orders):
                times.append(t)
        times.sort()
        plans = []
        for t in times:
            classification = "onsite" if rng.random() < 0.45 else "remote"
            priority = rng.choices(["P1", "P2", "P3"], weights=[30, 30, 40])[0]
            plans.append(_Plan("closed", classification, priority, received_at=t))
        onsite = [p for p in plans if p.classification == "onsite"]
        for p in onsite[-2:]:
            p.swap = True  # recent enough that the swapped-in unit is still on the order
        onsite[0].late_arrival = True
        onsite[1].flagged = onsite[1].flag_resolved = True
        onsite[2].late_sync = True
        plans[3].late_handoff = True
        plans[len(plans) // 2].no_feedback = True
        cancelled = _Plan(
            "cancelled",
            "remote",
            "P3",
            received_at=self.now - timedelta(hours=rng.uniform(48, 120)),
        )
        return plans + [cancelled]

    def _timeline(self, plan: _Plan, region: str | None) -> dict[str, timedelta]:
        """Offsets from receipt of every step this request could reach."""
        m, p1 = self._minutes, plan.priority == "P1"
        off = {"handoff": m(11, 14) if plan.late_handoff else m(1.5, 8)}
        off["assign"] = off["handoff"] + m(0.5, 3)
        off["accept"] = off["assign"] + (m(0.3, 2.5) if p1 else m(1, 8))
        off["accept_remote"] = off["assign"] + m(0.3, 2)
        if plan.classification == "onsite":
            off["en_route"] = off["accept"] + m(0.5, 3)
            target = target_minutes("arrival", plan.priority, region or "urban", self.sla)
            travel = (
                m(1.05 * target, 1.25 * target)
                if plan.late_arrival
                else m(0.35 * target, 0.85 * target)
            )
            off["arrive"] = max(off["assign"] + travel, off["en_route"] + m(3, 8))
            off["resolved"] = off["arrive"] + (m(8, 25) if p1 else m(12, 45))
        else:
            off["resolved"] = off["accept"] + (m(5, 25) if p1 else m(8, 50))
        off["feedback"] = off["resolved"] + m(50, 20 * 60)
        off["cancel"] = off["handoff"] + m(3, 15)
        return off

    def _reached(self, plan: _Plan, off: dict[str, timedelta]) -> list[str]:
        if plan.stage == "cancelled":
            return ["handoff", "cancel"]
        last = {
            "new": None,
            "handed_off": "handoff",
            "assigned": "assign",
            "in_progress": {"accepted": "accept", "en_route": "en_route", "on_site": "arrive"}.get(
                plan.job_state, "accept"
            ),
            "resolved": "resolved",
            "closed": "feedback",
        }[plan.stage]
        if last is None:
            return []
        steps = [k for k in STAGE_ORDER if k in off]
        return steps[: steps.index(last) + 1]

    def _choose_order(self, at: datetime, region: str | None, swap: bool) -> _Order:
        def ok(o: _Order, strict: bool) -> bool:
            return (
                (not strict or o.active(at))
                and (region is None or o.venue.region == region)
                and bool(o.units_at(at) if strict else o.lines)
                and (not swap or (o.row.ends_at > self.now and o not in self.swapped))
            )

        candidates = [o for o in self.orders if ok(o, True)] or [
            o for o in self.orders if ok(o, False)
        ]
        return self.rng.choice(candidates)

    def _plan_request(self, plan: _Plan) -> _Req:
        rng = self.rng
        if plan.received_at is not None:  # closed and cancelled: the time was chosen first
            received = plan.received_at
            order = self._choose_order(received, plan.region, plan.swap)
            off = self._timeline(plan, order.venue.region)
        else:
            off = self._timeline(plan, plan.region)
            steps = self._reached(plan, off)
            last = off[steps[-1]] if steps else timedelta(0)
            wait = {
                "new": (1.5, 9),
                "handed_off": (1, 12),
                "assigned": (0.3, 2.5),
                "in_progress": (3, 20),
                "resolved": (60, 18 * 60),
            }[plan.stage]
            received = self.now - last - self._minutes(*wait)
            for _ in range(20):  # requests that waited for hours came in a special period
                if plan.stage != "resolved" or self.cal.is_special(received):
                    break
                received = self.now - last - self._minutes(*wait)
            order = self._choose_order(received, plan.region, False)
        region = order.venue.region
        reached = self._reached(plan, off)
        t = {k: received + off[k] for k in reached}
        if "assign" in t:
            t["accept_remote"] = received + off["accept_remote"]
        line_units = order.units_at(received) or [(ln, u) for ln, u in order.lines]
        line, unit = rng.choice(line_units)
        classification = plan.classification
        symptom = rng.choice(SYMPTOMS[(unit.device_type, classification)])
        if plan.priority == "P1":
            state, starts = "live", received - self._minutes(15, 150)
        elif plan.priority == "P2":
            state, starts = "upcoming", received + self._minutes(90, 20 * 60)
        elif rng.random() < 0.3:
            state, starts = "upcoming", received + self._minutes(26 * 60, 72 * 60)
        else:
            state, starts = "none", None
        is_open = plan.received_at is None
        agents = [self._id(u) for u, _n, r, _g, _rg in STAFF if r == "agent"]
        dispatchers = [self._id(u) for u, _n, r, _g, _rg in STAFF if r == "dispatcher"]
        req = _Req(
            plan=plan,
            received=received,
            t=t,
            order=order,
            unit=unit,
            region=region,
            symptom=symptom,
            channel="hotline"
            if plan.priority == "P1" and rng.random() < 0.7
            else rng.choices(["hotline", "wechat", "wecom"], weights=[50, 25, 25])[0],
            stream_state=state,
            stream_starts_at=starts,
            agent=self._id("agent") if is_open else rng.choice(agents),
            dispatcher=self._id("dispatcher") if is_open else rng.choice(dispatchers),
        )
        self._plan_jobs(req)
        if plan.swap and "resolved" in t:
            self._plan_swap(req, line)
        return req

    def _plan_jobs(self, req: _Req) -> None:
        plan, t = req.plan, req.t
        if "assign" not in t:
            return
        demo = {self._id("remote"), self._id("onsite")}
        stage = plan.stage
        if stage == "assigned":
            state = "offered"
        elif stage == "in_progress":
            state = plan.job_state or "accepted"
        else:
            state = "done"
        active = state != "done"
        kind = plan.classification
        if plan.assignee:
            who = self._id(plan.assignee)
        else:
            who = self._pick(
                kind,
                req.region if kind == "onsite" else None,
                t["assign"],
                demo if active else set(),
            )
        req.jobs.append({"kind": kind, "assignee": who, "state": state, "primary": True})
        if kind == "onsite" and plan.priority == "P1":  # D8a: live stream, guide remotely at once
            if stage == "assigned":
                rstate = "offered"
            elif "arrive" in t:
                rstate = "done"
            else:
                rstate = "accepted"
            rwho = self._pick("remote", None, t["assign"], demo if rstate != "done" else set())
            req.jobs.append({"kind": "remote", "assignee": rwho, "state": rstate, "primary": False})

    def _plan_swap(self, req: _Req, line: OrderLine) -> None:
        """D13: the faulty unit leaves the order for repair; a reserve unit takes its place."""
        at = req.t["resolved"] - self._minutes(2, 6)
        unit_out = req.unit
        unit_in = self.swap_spares[unit_out.device_type].pop()
        line.removed_at = at
        unit_out.status, unit_out.depot_id = "in_repair", None
        unit_in.status, unit_in.depot_id = "rented", None
        new_line = OrderLine(order_id=req.order.row.id, unit_id=unit_in.id, added_at=at)
        req.order.lines.append((new_line, unit_in))
        self.db.add(new_line)
        req.swap = {"at": at, "out": unit_out, "in": unit_in}
        self.swapped.append(req.order)

    def _requests(self) -> None:
        reqs = [self._plan_request(p) for p in self._closed_plans()]
        reqs += [self._plan_request(p) for p in self._open_plans()]
        reqs.sort(key=lambda r: r.received)
        seq: dict[str, int] = defaultdict(int)
        for req in reqs:
            day = req.received.astimezone(self.tz).strftime("%Y%m%d")
            seq[day] += 1
            req.row = self._request_row(req, f"FO-{day}-{seq[day]:04d}")
        self._add([r.row for r in reqs])
        jobs = self._add([job for r in reqs for job in self._job_rows(r)])
        facts: list[FieldFact] = []
        clocks: list[SlaClock] = []
        feedback: list[Feedback] = []
        for r in reqs:
            facts += self._facts(r)
            feedback += self._feedback(r)
        self._add(facts)
        swaps = [self._swap_row(r) for r in reqs if r.swap]
        self._add(swaps)
        for r in reqs:
            clocks += self._clocks(r)
        self._add(clocks)
        self._add(feedback)
        events = self._add([e for c in clocks for e in self._events(c)])
        for r in reqs:
            self._audit(r)
        self.db.flush()
        statuses: dict[str, int] = defaultdict(int)
        for r in reqs:
            statuses[r.row.status] += 1
        self.counts.update(
            requests=len(reqs),
            **{
                f"requests_{s}": statuses[s]
                for s in (
                    "new",
                    "handed_off",
                    "assigned",
                    "in_progress",
                    "resolved",
                    "closed",
                    "cancelled",
                )
            },
            jobs=len(jobs),
            field_facts=len(facts),
            unit_swaps=len(swaps),
            sla_clocks=len(clocks),
            sla_events=len(events),
            feedback=len(feedback),
            audit_entries=self.audit_count,
        )

    def _request_row(self, req: _Req, number: str) -> SupportRequest:
        plan, t, order = req.plan, req.t, req.order
        row = SupportRequest(
            number=number,
            channel=req.channel,
            received_at=req.received,
            recorded_by=req.agent,
            customer_id=order.customer.id,
            customer_name=order.customer.name,
            contact_name=order.contact.name,
            phone=order.contact.phone,
            address=order.venue.address,
            venue_id=order.venue.id,
            region=req.region,
            order_id=order.row.id,
            order_no=order.row.order_no,
            device_type=req.unit.device_type,
            device_model=req.unit.model,
            unit_id=req.unit.id,
            scenario=order.row.scenario,
            symptom=req.symptom,
            fault_started_at=req.received - self._minutes(1, 15),
            stream_state=req.stream_state,
            stream_starts_at=req.stream_starts_at,
            classification=plan.classification,
            priority=plan.priority,
            status=plan.stage,
            handed_off_at=t.get("handoff"),
            resolved_at=t.get("resolved"),
        )
        if plan.stage == "closed":
            row.closed_at = t["feedback"]
            if plan.no_feedback:
                row.close_reason = NO_FEEDBACK_REASON
        elif plan.stage == "cancelled":
            row.closed_at, row.close_reason = t["cancel"], CANCEL_REASON
        return row

    def _job_rows(self, req: _Req) -> list[Job]:
        t, rows = req.t, []
        for job in req.jobs:
            state, primary = job["state"], job["primary"]
            accepted = t.get("accept") if primary else t.get("accept_remote")
            row = Job(
                request_id=req.row.id,
                kind=job["kind"],
                assignee_id=job["assignee"],
                status=state,
                assigned_at=t["assign"],
                assigned_by=req.dispatcher,
            )
            if state != "offered":
                row.accepted_at = accepted
            if primary and job["kind"] == "onsite" and "arrive" in t:
                row.arrived_at = t["arrive"]
            if state == "done":
                if primary:
                    row.finished_at = t["resolved"]
                    row.outcome = (
                        "swapped"
                        if req.swap
                        else ("fixed" if job["kind"] == "onsite" else "solved")
                    )
                    row.notes = SWAP_REASON if req.swap else self.rng.choice(FIX_NOTES[job["kind"]])
                else:
                    row.finished_at, row.outcome = t["arrive"], "needs_onsite"
                    row.notes = "远程指导未能恢复，现场工程师已到场接手"
            job["row"] = row
            rows.append(row)
        return rows

    def _fact(self, req: _Req, job: Job, kind: str, at: datetime, **kw: Any) -> FieldFact:
        delay = kw.pop("delay", None) or self._minutes(0.02, 0.5)
        return FieldFact(
            id=self._uuid(),
            job_id=job.id,
            request_id=req.row.id,
            author_id=job.assignee_id,
            kind=kind,
            device_time=at,
            effective_at=at,
            received_at=at + delay,
            **kw,
        )

    def _facts(self, req: _Req) -> list[FieldFact]:
        """D14: what the onsite engineer's phone recorded, with the device's own times."""
        primary = next((j for j in req.jobs if j["primary"]), None)
        if primary is None or primary["kind"] != "onsite":
            return []
        job, t, plan, rng = primary["row"], req.t, req.plan, self.rng
        out = []
        if "accept" in t:
            out.append(self._fact(req, job, "accept", t["accept"]))
        if "en_route" in t:
            out.append(self._fact(req, job, "en_route", t["en_route"]))
        if "arrive" in t:
            venue = req.order.venue
            v_lat, v_lon = to_wgs84(venue.lat, venue.lon, venue.datum)
            radius = venue.radius_m or self.settings.venue_radius_m
            accuracy = round(rng.uniform(20, 40) if plan.flagged else rng.uniform(5, 25), 1)
            away = radius + rng.uniform(250, 450) if plan.flagged else rng.uniform(15, 120)
            bearing = rng.uniform(0, 2 * math.pi)
            lat = v_lat + away * math.cos(bearing) / 111_320
            lon = v_lon + away * math.sin(bearing) / (111_320 * math.cos(math.radians(v_lat)))
            distance = distance_to_venue_m(lat, lon, venue.lat, venue.lon, venue.datum)
            flagged = check_in_flag(distance, accuracy, radius)
            fact = self._fact(
                req,
                job,
                "check_in",
                t["arrive"],
                lat=round(lat, 6),
                lon=round(lon, 6),
                accuracy_m=accuracy,
                distance_m=round(distance, 1),
                data={"venue": venue.name},
                delay=timedelta(minutes=52) if plan.late_sync else None,
            )
            if flagged:
                fact.flagged = True
                fact.flag_reason = f"签到位置距场馆 {distance:.0f} 米，超出 {radius} 米签到范围"
                if plan.flag_resolved:
                    fact.flag_resolved_at = t["arrive"] + self._minutes(10, 40)
                    fact.flag_resolved_by = req.dispatcher
            req.check_in = fact
            out.append(fact)
        if "resolved" in t:
            out.append(
                self._fact(
                    req,
                    job,
                    "fix_note",
                    t["resolved"] - self._minutes(3, 8),
                    data={"text": job.notes},
                )
            )
            if req.swap:
                swap = req.swap
                swap["fact"] = self._fact(
                    req,
                    job,
                    "swap",
                    swap["at"],
                    data={
                        "unit_out": swap["out"].asset_tag,
                        "unit_in": swap["in"].asset_tag,
                        "reason": SWAP_REASON,
                    },
                )
                out.append(swap["fact"])
            out.append(self._fact(req, job, "done", t["resolved"], data={"outcome": job.outcome}))
        return out

    def _swap_row(self, req: _Req) -> UnitSwap:
        s = req.swap
        return UnitSwap(
            fact_id=s["fact"].id,
            order_id=req.order.row.id,
            unit_out_id=s["out"].id,
            unit_in_id=s["in"].id,
            reason=SWAP_REASON,
            swapped_at=s["at"],
        )

    def _clocks(self, req: _Req) -> list[SlaClock]:
        """The clocks that have started (D5), with deadlines from the SLA rules (D8a)."""
        t, plan = req.t, req.plan
        end = t.get("cancel")  # a cancelled request stops every running clock

        def clock(kind: str, start: datetime, stop: datetime | None) -> SlaClock:
            due = deadline(kind, start, plan.priority, req.region, self.sla, req.stream_starts_at)
            return SlaClock(
                request_id=req.row.id,
                kind=kind,
                started_at=start,
                deadline_at=due,
                stopped_at=stop or end,
            )

        out = [clock("handoff", req.received, t.get("handoff"))]
        if "handoff" in t:
            accepts = [j["row"].accepted_at for j in req.jobs if j["row"].accepted_at]
            out.append(clock("first_response", t["handoff"], min(accepts) if accepts else None))
            out.append(clock("resolution", t["handoff"], t.get("resolved")))
        onsite = [j for j in req.jobs if j["kind"] == "onsite"]
        if onsite:
            out.append(clock("arrival", t["assign"], t.get("arrive")))
        if "resolved" in t:
            out.append(clock("follow_up", t["resolved"], t.get("feedback")))
        return out

    def _events(self, c: SlaClock) -> list[SlaEvent]:
        """D7: the warning and breach a stopped clock fired on its way (recorded for reports)."""
        if c.stopped_at is None:
            return []  # running clocks: the background loop fires (and notifies) them
        budget = c.deadline_at - c.started_at
        warn_at = c.started_at + budget * self.sla.warn_fraction
        out = []
        if c.stopped_at >= warn_at:
            out.append(SlaEvent(clock_id=c.id, level="warning", fired_at=warn_at))
        if c.stopped_at > c.deadline_at:
            out.append(SlaEvent(clock_id=c.id, level="breach", fired_at=c.deadline_at))
        return out

    def _feedback(self, req: _Req) -> list[Feedback]:
        if req.plan.stage != "closed":
            return []
        at = req.t["feedback"]
        if req.plan.no_feedback:
            return [
                Feedback(
                    request_id=req.row.id,
                    recorded_by=req.agent,
                    recorded_at=at,
                    reached=False,
                    no_feedback_reason=NO_FEEDBACK_REASON,
                )
            ]
        score = self.rng.choices([5, 4, 3], weights=[60, 32, 8])[0]
        req.score = score
        return [
            Feedback(
                request_id=req.row.id,
                recorded_by=req.agent,
                recorded_at=at,
                reached=True,
                score=score,
                resolved=True,
                comment=self.rng.choice(COMMENTS[score]),
            )
        ]

    def _audit(self, req: _Req) -> None:
        """The request's timeline, in order, with who did each step."""
        t, row, plan = req.t, req.row, req.plan
        n = 0

        def log(
            action: str,
            actor: int,
            at: datetime,
            entity: str = "request",
            entity_id: Any = None,
            **details: Any,
        ) -> None:
            nonlocal n
            record(
                self.db,
                action,
                actor,
                request_id=row.id,
                entity=entity,
                entity_id=row.id if entity_id is None else entity_id,
                at=at,
                **details,
            )
            n += 1

        log(
            "request.received", req.agent, req.received, channel=req.channel, priority=plan.priority
        )
        if "handoff" in t:
            log(
                "request.handed_off",
                req.agent,
                t["handoff"],
                classification=plan.classification,
                priority=plan.priority,
            )
        for job in req.jobs:
            j = job["row"]
            log(
                "job.assigned",
                req.dispatcher,
                j.assigned_at,
                "job",
                j.id,
                assignee_id=j.assignee_id,
                kind=j.kind,
            )
        for job in sorted(req.jobs, key=lambda x: x["row"].accepted_at or self.now):
            j = job["row"]
            if j.accepted_at:
                log("job.accepted", j.assignee_id, j.accepted_at, "job", j.id)
        fact = req.check_in
        primary = req.jobs[0]["row"] if req.jobs else None
        if fact is not None:
            log(
                "job.checked_in",
                fact.author_id,
                fact.effective_at,
                "job",
                fact.job_id,
                fact_id=fact.id,
                distance_m=fact.distance_m,
                flagged=fact.flagged,
            )
        if req.swap:
            log(
                "unit.swapped",
                primary.assignee_id,
                req.swap["at"],
                "unit",
                req.swap["in"].id,
                unit_out=req.swap["out"].asset_tag,
                unit_in=req.swap["in"].asset_tag,
            )
        if "resolved" in t:
            log("request.resolved", primary.assignee_id, t["resolved"], outcome=primary.outcome)
        if plan.stage == "closed":
            log(
                "feedback.recorded",
                req.agent,
                t["feedback"],
                reached=not plan.no_feedback,
                score=req.score,
            )
        if plan.stage == "cancelled":
            log("request.cancelled", req.agent, t["cancel"], reason=CANCEL_REASON)
        self.audit_count += n
