"""The demo's fixed data: people, customers, venues, units, faults and their fixes.

All text a user sees is Simplified Chinese (it is user data, not UI text)."""

from __future__ import annotations

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

# WeCom user ids (企业微信 UserID, as an admin would set them on /admin/people) of the demo
# logins; everyone else's is their username in pinyin, e.g. zhou.ting -> ZhouTing. With the
# WeCom settings on, the demo's alerts arrive as WeCom application cards (issue 17).
WECOM_USERIDS = {
    "agent": "LinXiaoWen", "dispatcher": "WangJianGuo", "remote": "ZhangWei",
    "onsite": "ZhangQiang", "equipment": "LuWenBin", "manager": "XuHaiFeng",
    "admin": "YanZhiMing",
}


def wecom_userid(username: str) -> str:
    return WECOM_USERIDS.get(username) or "".join(p.capitalize() for p in username.split("."))


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
# The kind of each demo symptom (the intake form's "kind of fault", S4), so the KPI
# dashboard's faults-by-kind chart reads like a real month.
SYMPTOM_KIND: dict[str, str] = {
    "摄像机无法开机": "no_power", "摄像机 SDI 输出无信号": "no_signal",
    "镜头卡口松动，画面抖动": "physical_damage", "电池仓接触不良，频繁断电": "no_power",
    "摄像机画面偏色，白平衡异常": "settings", "摄像机录制格式设置错误": "settings",
    "摄像机菜单被误改，无法输出 1080p50": "settings",
    "推流失败，直播中断": "push_failed", "推流码率不稳定，画面卡顿": "push_failed",
    "编码器无法连接推流地址": "push_failed", "直播平台提示推流鉴权失败": "push_failed",
    "编码器无法开机": "no_power", "编码器 4G 聚合模块无信号": "no_signal",
    "编码器 HDMI 输入口损坏": "physical_damage",
    "导播台画面卡顿": "operation", "导播台切换无响应": "operation",
    "导播软件无法识别导播台": "settings", "SDI 信号中断": "no_signal",
    "导播台电源故障，无法开机": "no_power", "导播台多路输入画面黑屏": "no_signal",
    "无线话筒有杂音，疑似频点干扰": "settings", "调音台无声音输出": "no_signal",
    "直播声音与画面不同步": "settings", "无线接收机无法开机": "no_power",
    "音频线缆接触不良，声音断续": "cabling", "调音台推子损坏": "physical_damage",
}
# What fixed each fault (S8a): the fix note always matches the symptom.
FIXES: dict[str, str] = {
    "摄像机无法开机": "更换电源适配器后摄像机正常开机", "摄像机 SDI 输出无信号": "更换 SDI 线缆后信号恢复",
    "镜头卡口松动，画面抖动": "重新安装并紧固镜头卡口，画面恢复稳定",
    "电池仓接触不良，频繁断电": "清洁电池触点并改用外接电源，不再断电",
    "摄像机画面偏色，白平衡异常": "指导客户重新做白平衡，画面颜色恢复正常",
    "摄像机录制格式设置错误": "远程指导客户改回 1080p50 录制格式",
    "摄像机菜单被误改，无法输出 1080p50": "指导客户恢复出厂设置并重新配置输出格式",
    "推流失败，直播中断": "指导客户重新设置推流地址和密钥后恢复",
    "推流码率不稳定，画面卡顿": "远程协助将码率调整为 6 Mbps，画面恢复流畅",
    "编码器无法连接推流地址": "指导客户更正推流地址并切换到有线网络，推流恢复",
    "直播平台提示推流鉴权失败": "协助客户在平台重新生成推流密钥，鉴权通过",
    "编码器无法开机": "更换编码器电源适配器后正常开机",
    "编码器 4G 聚合模块无信号": "更换 4G 物联网卡后推流恢复",
    "编码器 HDMI 输入口损坏": "改用 SDI 输入并更换转换器，画面恢复",
    "导播台画面卡顿": "指导客户关闭多余的多画面监看，导播画面恢复流畅",
    "导播台切换无响应": "协助客户重启导播台并更新固件，切换恢复",
    "导播软件无法识别导播台": "指导客户重装驱动并更换 USB 线，软件识别正常",
    "SDI 信号中断": "更换 SDI 线缆后信号恢复",
    "导播台电源故障，无法开机": "更换导播台电源模块后正常开机",
    "导播台多路输入画面黑屏": "重新插拔并固定输入线缆，各路画面恢复",
    "无线话筒有杂音，疑似频点干扰": "指导客户更换频点后杂音消失",
    "调音台无声音输出": "指导客户打开主输出推子并改正路由，声音恢复",
    "直播声音与画面不同步": "协助客户在编码器设置 120 毫秒音频延迟，声画同步",
    "无线接收机无法开机": "更换无线接收机电源线后正常开机",
    "音频线缆接触不良，声音断续": "更换音频线缆后声音正常",
    "调音台推子损坏": "把信号改接到备用通道并贴标，声音恢复",
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
