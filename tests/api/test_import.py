"""Import from CSV and XLSX: the dry run per row (created / updated / refused with row,
column and reason in the user's language), apply in one transaction, idempotent by
natural keys, Chinese headers, formula-like text kept as text, templates, 5,000 orders."""

from __future__ import annotations

import csv
import io
import re
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from server.actions import imports
from server.models import AuditEntry, Contact, Customer, Depot, OrderLine, RentalOrder, Unit, Venue
from tests.conftest import csrf_token, form_post, login, text_of

ZONE = ZoneInfo("Asia/Shanghai")
REGIONS = ("urban", "suburban")


def as_csv(rows: list[list]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def as_xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, kind: str, name: str, content: bytes):
    return client.post("/import", data={"kind": kind, "_csrf_token": csrf_token(client)},
                       files={"file": (name, content)}, follow_redirects=False)


def apply(client, html: str):
    """Press "apply" on a dry run's page (its hidden fields included)."""
    action = re.search(r'action="(/import/\w+/apply)"', html).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="(kind|refused)" value="([^"]*)"', html))
    return form_post(client, action, fields)


def result_rows(html: str) -> dict[int, tuple[str, str, str]]:
    """row -> (outcome chip text, column, reason) from the report table."""
    body = html.split('class="table import-report"', 1)[1]
    rows = {}
    for tr in re.findall(r"<tr class=\"\w+\">(.*?)</tr>", body, re.S):
        cells = [text_of(c).strip() for c in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        rows[int(cells[0])] = (cells[2], cells[3], cells[4])
    return rows


def count(db, model) -> int:
    db.rollback()
    db.expire_all()
    return db.exec(select(func.count()).select_from(model)).one()


def seed(db) -> None:
    customer = Customer(name="星耀直播传媒", phone="021-55550000")
    db.add(customer)
    db.add(Depot(name="徐汇应急备件库", address="宜山路700号", region="urban", lat=31.17, lon=121.42))
    db.flush()
    db.add(Venue(customer_id=customer.id, name="上海大剧院", address="人民大道300号", lat=31.2286,
                 lon=121.476, datum="GCJ-02", region="urban"))
    for i in range(1, 6):
        db.add(Unit(asset_tag=f"CAM-{i:04d}", device_type="camera", model="Z280", status="reserve"))
    db.commit()


def test_customers_with_chinese_headers_and_formula_like_text(client, people, db):
    login(client, "agent")
    rows = [["客户名称", "客户电话", "联系人", "联系人电话", "备注"],
            ["=HYPERLINK(\"http://x\",\"点我\")", "021-55550001", "李娜", "13800138000", "x"],
            ["=HYPERLINK(\"http://x\",\"点我\")", "021-55550001", "王磊", "13900139000", ""],
            ["晨光文化", "12345", "", "", ""],
            ["", "021-55550002", "", "", ""]]
    r = upload(client, "customers", "customers.xlsx", as_xlsx(rows))
    assert r.status_code == 200
    report = result_rows(r.text)
    assert report[2][0] == "新建" and report[3][0] == "更新"  # one customer, a second contact
    assert report[4] == ("拒绝", "客户电话", "不是中国大陆的电话号码：12345")
    assert report[5] == ("拒绝", "客户名称", "请输入客户名称。")
    assert "备注" in text_of(r.text)  # the unknown column is named
    assert count(db, Customer) == 0  # a dry run writes nothing
    dry = r.text
    r = apply(client, dry)
    assert r.status_code == 200
    assert count(db, Customer) == 1
    customer = db.exec(select(Customer)).one()
    assert customer.name == '=HYPERLINK("http://x","点我")'  # text, never evaluated
    assert count(db, Contact) == 2
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "import.applied")).one()
    # applying twice is refused; importing the file again changes nothing
    assert apply(client, dry).status_code == 422
    r = upload(client, "customers", "customers.xlsx", as_xlsx(rows))
    assert result_rows(r.text)[2][0] == "更新"
    apply(client, r.text)
    assert (count(db, Customer), count(db, Contact)) == (1, 2)


def test_venues_wrong_datum_unknown_region_english_headers(client, people, db):
    seed(db)
    login(client, "dispatcher")
    rows = [["Customer name", "Customer phone", "Venue name", "Address", "Region", "Latitude",
             "Longitude", "Datum"],
            ["星耀直播传媒", "021-55550000", "东方体育中心", "济阳路", "市区", "31.1553", "121.4855", "gcj02"],
            ["星耀直播传媒", "021-55550000", "松江大学城", "文汇路", "北区", "31.05", "121.21", "GCJ-02"],
            ["星耀直播传媒", "021-55550000", "佘山", "林荫新路", "suburban", "31.09", "121.19", "BD-09"],
            ["无此客户", "021-55559999", "X", "Y", "urban", "31.1", "121.1", "WGS-84"],
            ["星耀直播传媒", "021-55550000", "首尔馆", "Seoul", "urban", "37.5665", "126.978", "GCJ-02"]]
    r = upload(client, "venues", "venues.csv", as_csv(rows))
    report = result_rows(r.text)
    assert report[2][0] == "新建"
    assert report[3][:2] == ("拒绝", "Region") and "未知区域：北区" in report[3][2]
    assert report[4][:2] == ("拒绝", "Datum") and "未知坐标系：BD-09" in report[4][2]
    assert report[5][:2] == ("拒绝", "Customer name") and "未知客户" in report[5][2]
    apply(client, r.text)
    assert count(db, Venue) == 3
    seoul = db.exec(select(Venue).where(Venue.name == "首尔馆")).one()
    assert seoul.datum == "WGS-84"  # outside the mainland GCJ-02 does not apply
    assert db.exec(select(Venue).where(Venue.name == "东方体育中心")).one().region == "urban"


def test_orders_with_units_duplicates_and_a_unit_on_another_order(client, people, db):
    seed(db)
    login(client, "agent")
    head = ["订单号", "客户名称", "客户电话", "联系人", "联系人电话", "场地名称", "使用场景",
            "开始时间", "结束时间", "设备资产编号"]
    rows = [head,
            ["RO-1", "星耀直播传媒", "021-55550000", "李娜", "13800138000", "上海大剧院", "跨年晚会",
             "2026-12-31 18:00", "2027-01-01 02:00", "CAM-0001；CAM-0002"],
            ["RO-2", "新客户", "021-66660000", "", "", "", "+cmd|' /C calc'!A0", "", "", "cam-0002"],
            ["RO-1", "星耀直播传媒", "021-55550000", "", "", "", "", "", "", ""],
            ["RO-3", "星耀直播传媒", "021-55550000", "", "", "无此场地", "", "明天", "", "CAM-9999"],
            ["RO-4", "新客户", "021-66660000", "", "", "", "@SUM(1+1)", "", "", "CAM-0003"]]
    r = upload(client, "orders", "orders.xlsx", as_xlsx(rows))
    report = result_rows(r.text)
    assert report[2][0] == "新建"
    assert report[3] == ("拒绝", "设备资产编号", "CAM-0002 已在订单 RO-1 上。")
    assert report[4] == ("拒绝", "订单号", "与第 2 行重复。")
    assert report[5][0] == "拒绝" and report[5][1] in ("场地名称", "开始时间", "设备资产编号")
    assert report[6][0] == "新建"
    r = apply(client, r.text)
    assert r.status_code == 200, text_of(r.text)
    assert count(db, RentalOrder) == 2
    ro4 = db.exec(select(RentalOrder).where(RentalOrder.order_no == "RO-4")).one()
    assert ro4.scenario == "@SUM(1+1)"
    lines = db.exec(select(OrderLine.unit_id).where(OrderLine.removed_at.is_(None))).all()
    assert len(lines) == 3 == len(set(lines))
    assert db.exec(select(Unit).where(Unit.asset_tag == "CAM-0001")).one().status == "rented"
    assert db.exec(select(Customer).where(Customer.name == "新客户")).one()  # made on the way


def test_apply_is_all_or_nothing_when_the_data_changed_since_the_dry_run(client, people, db):
    seed(db)
    login(client, "agent")
    rows = [["Order number", "Customer name", "Customer phone", "Asset tags"],
            ["RO-1", "星耀直播传媒", "021-55550000", "CAM-0001"],
            ["RO-2", "星耀直播传媒", "021-55550000", "CAM-0002"]]
    r = upload(client, "orders", "orders.csv", as_csv(rows))
    dry = r.text
    # meanwhile someone puts CAM-0002 on another order
    other = RentalOrder(order_no="RO-X", customer_id=db.exec(select(Customer.id)).first())
    db.add(other)
    db.flush()
    db.add(OrderLine(order_id=other.id, unit_id=db.exec(
        select(Unit.id).where(Unit.asset_tag == "CAM-0002")).one()))
    db.commit()
    r = apply(client, dry)
    assert r.status_code == 422
    assert "第 3 行" in text_of(r.text) and "未导入任何数据" in text_of(r.text)
    assert count(db, RentalOrder) == 1  # RO-1 was not written either


def test_units_import_and_refusals(client, people, db):
    seed(db)
    login(client, "equipment")
    rows = [["资产编号", "设备类型", "型号", "仓库", "状态"],
            ["ENC-0001", "编码/推流设备", "LiveU Solo", "徐汇应急备件库", "备用"],
            ["CAM-0001", "camera", "Z280", "", "in_repair"],
            ["ENC-0002", "toaster", "X", "无此仓库", ""],
            ["ENC-0001", "encoder", "LiveU Solo", "", ""]]
    r = upload(client, "units", "units.csv", as_csv(rows))
    report = result_rows(r.text)
    assert report[2][0] == "新建" and report[3][0] == "更新"
    assert report[4][:2] == ("拒绝", "设备类型")
    assert report[5] == ("拒绝", "资产编号", "与第 2 行重复。")
    apply(client, r.text)
    assert db.exec(select(Unit).where(Unit.asset_tag == "ENC-0001")).one().device_type == "encoder"
    assert db.exec(select(Unit).where(Unit.asset_tag == "CAM-0001")).one().status == "in_repair"
    # the agent cannot import units, the equipment manager cannot import orders
    assert upload(client, "orders", "o.csv", b"x").status_code == 403


def test_broken_files_are_refused_with_a_reason(client, people, db):
    login(client, "agent")
    r = upload(client, "orders", "orders.csv", as_csv([["订单号", "客户名称"], ["RO-1", "X"]]))
    assert r.status_code == 422 and "缺少必需的列" in text_of(r.text) and "客户电话" in text_of(r.text)
    r = upload(client, "orders", "orders.xlsx", b"not a zip file")
    assert r.status_code == 422 and "无法读取此 XLSX 文件" in text_of(r.text)
    r = upload(client, "orders", "orders.pdf", b"%PDF")
    assert r.status_code == 422 and ".csv" in text_of(r.text)
    r = upload(client, "orders", "orders.csv", b"")
    assert r.status_code == 422


def test_templates_download_and_read_back(client, people, db):
    login(client, "agent")
    for kind in ("customers", "venues", "orders"):
        r = client.get(f"/import/template/{kind}.xlsx")
        assert r.status_code == 200
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert [c.value for c in sheet[1]][0] in ("客户名称", "订单号")
        r = client.get(f"/import/template/{kind}.csv?lang=en")
        assert r.content.decode("utf-8-sig").split(",")[0] in ("Customer name", "Order number")


def test_dry_run_of_5000_orders(db):
    """5,000 orders with 2 units each, checked against the database in one pass (the
    time is printed by bench/import_orders.py)."""
    seed(db)
    customer_id = db.exec(select(Customer.id)).first()
    db.add_all([Unit(asset_tag=f"ENC-{i:05d}", device_type="encoder", model="S", status="reserve")
                for i in range(10_000)])
    db.add(RentalOrder(order_no="RO-00001", customer_id=customer_id))
    db.commit()
    rows = [["订单号", "客户名称", "客户电话", "场地名称", "开始时间", "结束时间", "设备资产编号"]]
    for i in range(5000):
        rows.append([f"RO-{i:05d}", "星耀直播传媒", "021-55550000", "上海大剧院",
                     "2026-12-31 18:00", "2027-01-01 02:00", f"ENC-{2 * i:05d}, ENC-{2 * i + 1:05d}"])
    rows[4000][6] = "ENC-00000"  # already on row 2's order
    report = imports.dry_run(db, "orders", "big.csv", as_csv(rows), REGIONS, ZONE)
    counts = report.counts
    assert (counts["created"], counts["updated"], counts["refused"]) == (4998, 1, 1)
    assert [(r.row, r.column) for r in report.refused] == [(4001, "设备资产编号")]
